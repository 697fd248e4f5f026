"""Find the line of a job in a workflow file from the job's name as the Actions API reports it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

_EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
_MATRIX_SUFFIX = re.compile(r"^(?P<base>.*?) \((?P<values>[^()]*)\)$", re.DOTALL)
UNKNOWN_LINE = 1


@dataclass(frozen=True, slots=True)
class WorkflowJob:
    """A job of a workflow file: its key, its `name:` (if any) and the 1-based line of its key."""

    key: str
    name: str | None
    line: int


def workflow_jobs(workflow_text: str) -> tuple[WorkflowJob, ...]:
    """The jobs of a workflow file with their lines; empty when the text is not a workflow."""
    try:
        document = YAML(typ="rt", pure=True).load(workflow_text)
    except YAMLError:
        return ()
    if not isinstance(document, CommentedMap):
        return ()
    jobs = document.get("jobs")
    if not isinstance(jobs, CommentedMap):
        return ()
    found = []
    for key, body in jobs.items():
        name = body.get("name") if isinstance(body, dict) else None
        line, _column = jobs.lc.key(key)
        found.append(WorkflowJob(key=str(key), name=name if isinstance(name, str) else None, line=line + 1))
    return tuple(found)


def _name_pattern(name: str) -> re.Pattern[str]:
    """`name:` as a pattern in which each `${{ ... }}` expression matches any text."""
    parts = _EXPRESSION.split(name)
    return re.compile(".*".join(re.escape(part) for part in parts), re.DOTALL)


def job_line(job_name: str, jobs: tuple[WorkflowJob, ...]) -> int:
    """The line of the job that produced `job_name`, or UNKNOWN_LINE (1).

    Tries, in order: the `name:` (expressions as wildcards; the one with the most literal text wins) or
    key equal to the whole name; then the name without a matrix suffix, `test (ubuntu, 3.11)` → `test`;
    then the caller part of a reusable workflow's `caller / called job`.
    """
    candidates = [job_name]
    matrix_leg = _MATRIX_SUFFIX.match(job_name)
    if matrix_leg:
        candidates.append(matrix_leg.group("base"))
    if " / " in job_name:
        candidates.append(job_name.split(" / ", 1)[0])
    for candidate in candidates:
        named = [job for job in jobs if job.name is not None and _name_pattern(job.name).fullmatch(candidate)]
        if named:  # the most specific name wins: `${{ matrix.name }}` alone matches anything
            return max(named, key=lambda job: len(_EXPRESSION.sub("", job.name or ""))).line
        for job in jobs:
            if job.key == candidate:
                return job.line
    return UNKNOWN_LINE
