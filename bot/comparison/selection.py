"""Which runs a comparison is about: baseline runs, workflows compared, jobs left out, and results worth a comment."""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Iterable, Sequence

from bot.comparison.compare import FailureVerdict, RunComparison, Verdict
from bot.comparison.model import RunRecord

WORTH_A_COMMENT = frozenset({Verdict.REGRESSION, Verdict.IMPROVEMENT, FailureVerdict.NEW_FAILURE, FailureVerdict.FLAKY})


def is_baseline_run(
    run: RunRecord, *, from_this_repository: bool, baseline_branches: Iterable[str], baseline_events: Sequence[str]
) -> bool:
    """A run of the repository itself (not a fork) on a baseline branch, started by a baseline event."""
    return from_this_repository and run.head_branch in set(baseline_branches) and run.event in baseline_events


def is_compared_workflow(workflow_path: str, patterns: Sequence[str]) -> bool:
    """Whether the workflow file is one the configuration compares (all of them when `patterns` is empty)."""
    name = workflow_path.rsplit("/", 1)[-1]
    return not patterns or any(fnmatch.fnmatch(name, pattern) for pattern in patterns)


def without_ignored_jobs(run: RunRecord, patterns: Sequence[str]) -> RunRecord:
    """The run without the jobs whose names match one of the glob `patterns`."""
    if not patterns:
        return run
    kept = tuple(job for job in run.jobs if not any(fnmatch.fnmatchcase(job.name, p) for p in patterns))
    return dataclasses.replace(run, jobs=kept)


def worth_a_comment(cmp: RunComparison) -> bool:
    """A comparison says something a reader should see: slower, faster, a new failure, or a flaky job."""
    verdicts = {cmp.wall_time.verdict, *(job.duration.verdict for job in cmp.jobs), *(job.failure for job in cmp.jobs)}
    return bool(verdicts & WORTH_A_COMMENT)
