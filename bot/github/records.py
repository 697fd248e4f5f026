"""GitHub's workflow-run and job JSON as the provider-neutral records of `bot.comparison.model`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.comparison.model import JobRecord, RunRecord, StepRecord, parse_timestamp


def _text(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _integer(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _step_from_github(step: Mapping[str, Any]) -> StepRecord:
    return StepRecord(
        name=_text(step.get("name")),
        number=_integer(step.get("number"), 0),
        conclusion=_optional_text(step.get("conclusion")),
        started_at=parse_timestamp(step.get("started_at")),
        completed_at=parse_timestamp(step.get("completed_at")),
    )


def job_from_github(job: Mapping[str, Any], default_attempt: int = 1) -> JobRecord:
    """A JobRecord from one item of GitHub's `jobs` list (OpenAPI schema `job`)."""
    steps = job.get("steps") or ()
    return JobRecord(
        name=_text(job.get("name")),
        conclusion=_optional_text(job.get("conclusion")),
        created_at=parse_timestamp(job.get("created_at")),
        started_at=parse_timestamp(job.get("started_at")),
        completed_at=parse_timestamp(job.get("completed_at")),
        steps=tuple(_step_from_github(step) for step in steps if isinstance(step, Mapping)),
        run_attempt=_integer(job.get("run_attempt"), default_attempt),
        html_url=_optional_text(job.get("html_url")),
        id=_integer(job.get("id"), 0) or None,
    )


def run_from_github(run: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> RunRecord:
    """A RunRecord from GitHub's `workflow-run` JSON and the `job` items of the same attempt.

    Each job keeps its own `run_attempt`: after a partial re-run, jobs that were not re-run carry
    the attempt they ran in.
    """
    run_attempt = _integer(run.get("run_attempt"), 1)
    return RunRecord(
        id=_integer(run.get("id"), 0),
        workflow_id=run.get("workflow_id") if isinstance(run.get("workflow_id"), int) else None,
        workflow_name=_text(run.get("name")),
        workflow_path=_text(run.get("path")),
        head_sha=_text(run.get("head_sha")),
        head_branch=_optional_text(run.get("head_branch")),
        event=_optional_text(run.get("event")),
        status=_optional_text(run.get("status")),
        conclusion=_optional_text(run.get("conclusion")),
        run_attempt=run_attempt,
        created_at=parse_timestamp(run.get("created_at")),
        run_started_at=parse_timestamp(run.get("run_started_at")),
        updated_at=parse_timestamp(run.get("updated_at")),
        html_url=_optional_text(run.get("html_url")),
        jobs=tuple(job_from_github(job, run_attempt) for job in jobs if isinstance(job, Mapping)),
    )
