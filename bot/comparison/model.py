"""Provider-neutral records of CI runs, jobs and steps: what every comparison and report works on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
    id: int | None = None  # the provider's id of this job execution (GitHub: to re-run just this job)
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
