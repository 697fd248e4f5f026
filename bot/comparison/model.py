"""Provider-neutral records of CI runs, jobs and steps, and the adapter from GitHub's REST JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


def _seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from `start` to `end`, or None when either is missing or the span is negative."""
    if start is None or end is None:
        return None
    seconds = (end - start).total_seconds()
    return seconds if seconds >= 0 else None


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One step of a job as the CI provider reported it."""

    name: str
    number: int
    conclusion: str | None
    started_at: datetime | None
    completed_at: datetime | None
    # Seconds the step ran, or None when a timestamp is missing; computed once, as comparisons read
    # it for every step of every baseline run.
    duration: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration", _seconds_between(self.started_at, self.completed_at))


@dataclass(frozen=True, slots=True)
class JobRecord:
    """One job of a run; matrix legs are separate jobs with names like `test (ubuntu-latest, 3.11)`."""

    name: str
    conclusion: str | None
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    steps: tuple[StepRecord, ...] = ()
    run_attempt: int = 1
    html_url: str | None = None
    # Seconds the job ran on its runner (`started_at` to `completed_at`) and waited for one (`created_at`
    # to `started_at`), or None; computed once, as comparisons read them for every job of every baseline run.
    duration: float | None = field(init=False, repr=False, compare=False)
    queue_time: float | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "duration", _seconds_between(self.started_at, self.completed_at))
        object.__setattr__(self, "queue_time", _seconds_between(self.created_at, self.started_at))


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One attempt of a workflow run with the jobs of that attempt."""

    id: int
    workflow_id: int | None
    workflow_name: str
    workflow_path: str
    head_sha: str
    head_branch: str | None
    event: str | None
    status: str | None
    conclusion: str | None
    run_attempt: int
    created_at: datetime | None
    run_started_at: datetime | None
    updated_at: datetime | None
    html_url: str | None
    jobs: tuple[JobRecord, ...] = ()

    @property
    def duration(self) -> float | None:
        """Wall time of this attempt in seconds (`run_started_at` to `updated_at`)."""
        return _seconds_between(self.run_started_at, self.updated_at)

    @property
    def queue_time(self) -> float | None:
        """Seconds from the run's creation until this attempt started (`created_at` to `run_started_at`)."""
        return _seconds_between(self.created_at, self.run_started_at)

    @property
    def total_job_time(self) -> float | None:
        """Sum of the durations of all jobs that have both timestamps; None when no job has them."""
        durations = [job.duration for job in self.jobs]
        known = [seconds for seconds in durations if seconds is not None]
        return sum(known) if known else None


def parse_timestamp(value: object) -> datetime | None:
    """An ISO 8601 timestamp (GitHub writes `Z` or an offset) as an aware datetime; None if absent or invalid."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


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
