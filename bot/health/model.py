"""What the health report is computed from (plain records a store query gives) and what it says (typed findings).

Inputs are already aggregated where a repository's history is large (job totals, flaky commits, queue-time
histograms, minutes per label set); only the default branch's run and job series come as one record per run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from bot.comparison.statistics import RateEstimate


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open span of time [start, end)."""

    start: datetime
    end: datetime

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class HealthOptions:
    """How the report decides; the defaults are those of the `health:` config section."""

    window_days: int = 30
    alpha: float = 0.05
    min_runs: int = 10
    min_segment: int = 5
    threshold_percent: float = 10.0
    threshold_seconds: float = 30.0
    flaky_recovery_days: int = 14
    broken_after: int = 3
    queue_p90_seconds: float = 300.0
    jobs: int = 20


# ---- inputs ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunPoint:
    """The latest attempt of one default-branch run of a workflow."""

    workflow_id: int
    workflow_name: str
    workflow_path: str
    run_id: int
    attempt: int
    head_sha: str
    conclusion: str | None
    created_at: datetime
    wall_seconds: float | None
    html_url: str | None = None


@dataclass(frozen=True, slots=True)
class JobPoint:
    """One successful execution of a job on the default branch (a series point for trends and change points)."""

    workflow_name: str
    job_name: str
    run_id: int
    head_sha: str
    created_at: datetime
    seconds: float
    html_url: str | None = None


@dataclass(frozen=True, slots=True)
class FlakyCommit:
    """A job that both failed and succeeded on the same commit (in re-runs or in several runs of it)."""

    workflow_name: str
    job_name: str
    head_sha: str
    failures: int
    successes: int
    failed_seconds: float  # runner time of the failed executions: what the flake cost
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class JobExecutions:
    """How many commits a job ran on in the report's window (all branches): the flaky rate's denominator."""

    workflow_name: str
    job_name: str
    commits: int


@dataclass(frozen=True, slots=True)
class JobOutcomes:
    """A job's final outcomes (after re-runs) on the default branch in the window: how many runs decided (passed
    or failed: cancelled and skipped left out), how many failed, and the run of its last success."""

    workflow_name: str
    job_name: str
    decided: int
    failures: int
    last_success_run_id: int | None
    latest_run_id: int  # the newest run where it passed or failed


@dataclass(frozen=True, slots=True)
class JobFailure:
    """A final failure of a job on the default branch after its last success in the window (its failing streak)."""

    workflow_name: str
    job_name: str
    run_id: int
    head_sha: str
    created_at: datetime
    html_url: str | None = None


@dataclass(frozen=True, slots=True)
class QueueTimes:
    """How many jobs of one runner label set waited `seconds` (whole seconds) for a runner, in one period."""

    labels: str  # the job's `runs-on` labels, joined with ", "
    current: bool  # True: the report's window; False: the window before it
    seconds: int
    jobs: int


@dataclass(frozen=True, slots=True)
class MinutesRow:
    """Runner time of the jobs of one workflow on one label set in the window, first attempts or re-runs."""

    workflow_name: str
    labels: str
    rerun: bool  # jobs of attempt 2 or later
    jobs: int
    seconds: float
    billed_minutes: int  # each job rounded up to a whole minute, as GitHub bills


@dataclass(frozen=True)
class HealthData:
    """Everything the report of one repository is computed from, for a window ending at `now`."""

    repository: str
    default_branch: str
    now: datetime
    window: Period
    previous: Period
    runs: tuple[RunPoint, ...] = ()
    job_points: tuple[JobPoint, ...] = ()
    flaky_commits: tuple[FlakyCommit, ...] = ()
    job_executions: tuple[JobExecutions, ...] = ()
    job_outcomes: tuple[JobOutcomes, ...] = ()
    failing_streaks: tuple[JobFailure, ...] = ()
    queue: tuple[QueueTimes, ...] = ()
    minutes: tuple[MinutesRow, ...] = ()


# ---- outputs -----------------------------------------------------------------------------------------------


class Direction(Enum):
    SLOWER = "slower"
    FASTER = "faster"


@dataclass(frozen=True, slots=True)
class Quantiles:
    """p50 and p90 of a sample of durations (seconds), with its size."""

    count: int
    p50: float | None
    p90: float | None


@dataclass(frozen=True, slots=True)
class WeeklyQuantiles:
    """p50/p90 of one 7-day bucket ending at `end`."""

    start: datetime
    end: datetime
    quantiles: Quantiles


@dataclass(frozen=True, slots=True)
class ShiftTest:
    """A comparison of the window with the previous window: medians, the change, a one-sided p-value, a verdict.

    `direction` is set only when the change is significant at `level` and at least the configured percent and
    seconds; None otherwise (also when either side has fewer than the minimum runs: `enough` is False).
    """

    before: Quantiles
    after: Quantiles
    change_seconds: float | None
    change_percent: float | None
    p_value: float | None
    level: float
    enough: bool
    direction: Direction | None


@dataclass(frozen=True, slots=True)
class SuccessRate:
    """Success rate of a workflow's completed runs in the window and the previous one (Wilson 95 % intervals).

    Cancelled and skipped runs are left out of both the numerator and the denominator.
    `dropped` is True when the window's rate is lower by a one-sided Fisher exact test at `level` and by at
    least `RATE_DROP_FLOOR` (and both windows have enough runs).
    """

    current: RateEstimate
    previous: RateEstimate
    left_out: int  # cancelled and skipped runs in the window
    p_value: float | None
    level: float
    enough: bool
    dropped: bool


@dataclass(frozen=True, slots=True)
class ChangePoint:
    """A durable shift in a workflow's wall time or a job's duration on the default branch, from `head_sha` on."""

    workflow_name: str
    job_name: str | None  # None: the workflow's wall time
    head_sha: str
    run_id: int
    created_at: datetime
    html_url: str | None
    before_median: float
    after_median: float
    before_count: int
    after_count: int
    p_value: float
    level: float
    direction: Direction

    @property
    def change_seconds(self) -> float:
        return self.after_median - self.before_median

    @property
    def change_percent(self) -> float:
        return 100.0 * (self.after_median / self.before_median - 1.0) if self.before_median > 0 else 0.0

    @property
    def confidence(self) -> float:
        """1 − p: how sure the test is that the level moved here (not the size of the move)."""
        return 1.0 - self.p_value

    @property
    def key(self) -> str:
        return f"change:{self.workflow_name}:{self.job_name or ''}:{self.head_sha}:{self.direction.value}"


@dataclass(frozen=True, slots=True)
class WorkflowHealth:
    """One workflow on the default branch."""

    workflow_id: int
    name: str
    path: str
    success: SuccessRate
    wall_time: ShiftTest
    weekly: tuple[WeeklyQuantiles, ...]
    change_points: tuple[ChangePoint, ...]


@dataclass(frozen=True, slots=True)
class JobTrend:
    """One of the jobs with the most runner time on the default branch, its weekly p50 and its change."""

    workflow_name: str
    job_name: str
    total_seconds: float
    shift: ShiftTest
    weekly_p50: tuple[float | None, ...]
    change_points: tuple[ChangePoint, ...]


@dataclass(frozen=True, slots=True)
class FlakyJob:
    """A job that failed and passed on the same commit; listed until `flaky_recovery_days` without a flake."""

    workflow_name: str
    job_name: str
    flaky_commits: int
    commits: int
    rate: RateEstimate  # flaky commits out of commits run, in the window
    last_seen: datetime
    failed_runs: int  # failed executions that a pass on the same commit showed to be flakes
    wasted_seconds: float

    @property
    def key(self) -> str:
        return f"flaky:{self.workflow_name}:{self.job_name}"


@dataclass(frozen=True, slots=True)
class BrokenJob:
    """A job failing on the default branch after re-runs: its `streak` latest runs in a row, or most of its runs."""

    workflow_name: str
    job_name: str
    streak: int
    failures: RateEstimate  # failed runs out of runs that passed or failed, in the window
    since_sha: str  # first commit of the failing streak (in the window)
    since_run_id: int
    since_at: datetime
    html_url: str | None  # the latest failure
    reason: str

    @property
    def key(self) -> str:
        return f"broken:{self.workflow_name}:{self.job_name}:{self.since_sha}"


@dataclass(frozen=True, slots=True)
class QueueHealth:
    """Queue time (job created → started on a runner) of one runner label set."""

    labels: str
    current: Quantiles
    previous: Quantiles
    p_value: float | None
    level: float
    longer: bool  # significantly longer than in the previous window (and by the configured floor)
    starved: bool  # p90 above `queue_p90_seconds`, or longer

    @property
    def key(self) -> str:
        return f"queue:{self.labels}"


@dataclass(frozen=True, slots=True)
class MinutesEstimate:
    """Billable-minute estimate of one workflow on one operating system, with what re-runs added."""

    workflow_name: str
    runner_os: str  # Linux, Windows, macOS, self-hosted, unknown
    multiplier: float
    jobs: int
    runner_minutes: float
    billable_minutes: float
    rerun_billable_minutes: float


@dataclass(frozen=True)
class HealthReport:
    """The health of one repository's CI over a window, against the previous window."""

    repository: str
    default_branch: str
    now: datetime
    window: Period
    previous: Period
    options: HealthOptions
    series_tested: int  # series searched for change points: the family α is shared over
    workflows: tuple[WorkflowHealth, ...] = ()
    jobs: tuple[JobTrend, ...] = ()
    flaky: tuple[FlakyJob, ...] = ()
    broken: tuple[BrokenJob, ...] = ()
    queue: tuple[QueueHealth, ...] = ()
    minutes: tuple[MinutesEstimate, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def change_points(self) -> tuple[ChangePoint, ...]:
        found = [point for workflow in self.workflows for point in workflow.change_points]
        found += [point for job in self.jobs for point in job.change_points]
        return tuple(sorted(found, key=lambda point: point.created_at, reverse=True))

    def problems(self) -> dict[str, str]:
        """Every finding that something is wrong, by a stable key, with one line saying what it is (plain text)."""
        found: dict[str, str] = {}
        for point in self.change_points:
            if point.direction is Direction.SLOWER:
                what = f"{point.workflow_name} / {point.job_name or 'wall time'}"
                found[point.key] = f"{what}: {point.change_percent:+.0f} % from {point.head_sha[:7]}"
        for job in self.broken:
            found[job.key] = f"{job.workflow_name} / {job.job_name}: broken ({job.reason})"
        for flaky in self.flaky:
            found[flaky.key] = f"{flaky.workflow_name} / {flaky.job_name}: flaky on {flaky.flaky_commits} commits"
        for workflow in self.workflows:
            if workflow.success.dropped:
                found[f"success:{workflow.name}"] = f"{workflow.name}: success rate dropped"
        for label in self.queue:
            if label.starved:
                found[label.key] = f"runners {label.labels}: long queue times"
        return found

    def alerts(self) -> dict[str, str]:
        """The problems worth a mention of the configured team: slowdowns at a commit and broken jobs."""
        return {key: text for key, text in self.problems().items() if key.startswith(("change:", "broken:"))}
