"""Compare one workflow run with the base branch's recent history of the same workflow.

How the comparison decides (defaults in brackets, all in `ComparisonOptions`):

* Baseline. The caller passes the last completed runs of the same workflow on the base branch
  [`main`], created before the pull request's run. Run durations come only from successful runs; job
  and step durations from successful jobs and steps (also in runs that failed in another job); failure
  rates from every baseline run in which the job ran (succeeded or failed).
* What is measured. The run's wall time (this attempt's `run_started_at` to `updated_at`; not
  compared after a partial re-run, whose attempt covers only the re-run jobs, and such baseline runs
  are left out of it), its total job time (the sum of its jobs' durations), every job (matched by
  its exact name, so each matrix leg such as `test (ubuntu-latest, 3.11)` is compared with the same
  leg) and every step of every job (matched by name and position among steps of that name). Jobs
  only in the pull request are `new`,
  jobs only in the baseline are `removed`. Queue time (a job's `created_at` to `started_at`) measures
  runner availability, not the code, so it is reported apart and never judged.
* Verdict for a duration. `regression` or `improvement` only when the change is BOTH statistically
  significant AND large: at least [10] % and at least [30] seconds away from the baseline. With fewer
  than [5] successful baseline samples the verdict is `not-enough-history` and the numbers are shown
  without a verdict. The duration of a run, job or step that did not succeed is shown but not judged:
  `not-compared`.
* Significance with one sample from the pull request: a one-sided prediction interval (at the
  level below) on log-durations: Student's t with n − 1 degrees of freedom and scale s·√(1 + 1/n), where
  n is the number of baseline samples (durations below 1 s count as 1 s). The size is the difference
  from the baseline median.
* Significance with several samples (`pr_samples`: successful earlier attempts or earlier pushes of
  the pull request, together with this run; a job carried over by a partial re-run counts once): a
  one-sided Mann–Whitney U test (at the level below) (exact for small samples without
  ties, normal approximation with tie correction otherwise); the size is the Hodges–Lehmann shift
  (the median of all pairwise differences; in percent, from log-durations).
* Multiplicity (Bonferroni within each family). α is the level of each family, not of each test:
  the run's two measures (wall time, total job time) are each tested at α/2; each job at α divided
  by the number of jobs; each step at α divided by the number of steps in the run. So a run with no
  real change is called slower at most α of the time, and a large workflow does not get a false
  "slower" job in most runs (measured: 30 jobs, 76 % of unchanged runs without this, 4.3 % with it).
* Failures, per job (`failure`, `timed_out` and `startup_failure` count as failing). A job that
  fails now and passed in at least [90] % of the baseline runs where it ran (or never ran there) is a
  `new-failure`; a job that fails now and fails more often than that on the base branch is
  `already-failing-on-base`; a job that failed in an earlier attempt of the same
  commit (`earlier_attempts`) and passes now is `flaky`. Pass rates carry a 95 % Wilson score interval.
* A run that was cancelled or skipped, or has not completed, is reported as such and nothing is compared.

Calibration (tests/test_comparison_calibration.py: 20 baseline runs, hosted-runner noise of 10 % as σ
of log-duration, 1,000 trials): with one sample from the pull request it calls 3.1 % of unchanged runs
slower (2.5 % expected; 2.54 % over 20,000 trials), 40 % of the runs that are 20 % slower, 67 % at +30 %,
88 % at +40 % and 96 % at +50 %; with three samples (e.g. three attempts) 2.0 % of unchanged runs, 71 %
at +20 %, 95 % at +30 % and 99 % at +40 %.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from bot.comparison.model import JobRecord, RunRecord
from bot.comparison.statistics import (
    RateEstimate,
    hodges_lehmann_shift,
    mann_whitney_u,
    median,
    prediction_bounds,
    wilson_interval,
)

SUCCESS = "success"
FAILED_CONCLUSIONS = frozenset({"failure", "timed_out", "startup_failure"})
# Durations are whole seconds on GitHub; shorter ones count as this many seconds on the log scale.
SHORTEST_LOGGED_SECONDS = 1.0


class Verdict(StrEnum):
    """What a duration comparison concluded."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    UNCHANGED = "unchanged"
    NOT_ENOUGH_HISTORY = "not-enough-history"
    NOT_COMPARED = "not-compared"


class FailureVerdict(StrEnum):
    """What a job's failure (or recovery) means against the base branch."""

    NEW_FAILURE = "new-failure"
    ALREADY_FAILING_ON_BASE = "already-failing-on-base"
    FLAKY = "flaky"


class Presence(StrEnum):
    """Whether a job ran in this run, in the baseline, or both."""

    BOTH = "both"
    NEW = "new"
    REMOVED = "removed"


class ComparisonStatus(StrEnum):
    """Whether the run was compared at all."""

    COMPARED = "compared"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    INCOMPLETE = "incomplete"


@dataclass(frozen=True, slots=True)
class ComparisonOptions:
    """Thresholds of the comparison; see the module docstring for how they are used."""

    min_runs: int = 5
    threshold_percent: float = 10.0
    threshold_seconds: float = 30.0
    alpha: float = 0.05
    pass_rate_for_new_failure: float = 0.9
    baseline_branch: str = "main"

    def __post_init__(self) -> None:
        if self.min_runs < 2:
            raise ValueError("min_runs must be at least 2 (a spread needs two samples)")
        if not 0.0 < self.alpha < 0.5:
            raise ValueError("alpha must be between 0 and 0.5")
        if not 0.0 <= self.pass_rate_for_new_failure <= 1.0:
            raise ValueError("pass_rate_for_new_failure must be between 0 and 1")


@dataclass(frozen=True, slots=True)
class DurationComparison:
    """A duration of this run against its baseline samples (all in seconds)."""

    verdict: Verdict
    current: float | None
    baseline_median: float | None
    baseline_count: int
    change_seconds: float | None = None
    change_percent: float | None = None
    method: str | None = None
    sample_count: int = 0


@dataclass(frozen=True, slots=True)
class StepComparison:
    """One step of a job in this run."""

    name: str
    number: int
    conclusion: str | None
    duration: DurationComparison


@dataclass(frozen=True, slots=True)
class JobComparison:
    """One job (matrix leg) matched by name between this run and the baseline."""

    name: str
    presence: Presence
    conclusion: str | None
    duration: DurationComparison
    queue_time: float | None
    baseline_queue_median: float | None
    baseline_pass_rate: RateEstimate | None
    failure: FailureVerdict | None = None
    steps: tuple[StepComparison, ...] = ()
    run_attempt: int | None = None
    html_url: str | None = None

    @property
    def verdict(self) -> str:
        """The one word to show for this job: a failure finding, else new/removed, else the duration verdict."""
        if self.failure is not None:
            return self.failure.value
        if self.presence is not Presence.BOTH:
            return self.presence.value
        return self.duration.verdict.value


@dataclass(frozen=True, slots=True)
class BaselineRun:
    """A baseline run as the report lists it."""

    id: int
    html_url: str | None
    created_at: datetime | None
    duration: float | None
    conclusion: str | None
    used_for_durations: bool


@dataclass(frozen=True, slots=True)
class RunComparison:
    """Everything the report needs about one run compared with its baseline."""

    status: ComparisonStatus
    options: ComparisonOptions
    workflow_name: str
    workflow_path: str
    run_id: int
    run_attempt: int
    run_html_url: str | None
    head_sha: str
    conclusion: str | None
    wall_time: DurationComparison
    total_job_time: DurationComparison
    jobs: tuple[JobComparison, ...] = ()
    baseline_runs: tuple[BaselineRun, ...] = ()
    pr_sample_count: int = 1
    # Some jobs were carried over from an earlier attempt: the wall time is not comparable.
    partial_rerun: bool = False

    @property
    def successful_baseline_count(self) -> int:
        return sum(1 for run in self.baseline_runs if run.used_for_durations)

    @property
    def baseline_period(self) -> tuple[datetime, datetime] | None:
        """Creation time of the oldest and newest baseline run, or None when unknown."""
        times = [run.created_at for run in self.baseline_runs if run.created_at is not None]
        return (min(times), max(times)) if times else None

    def jobs_with(self, verdict: str) -> tuple[JobComparison, ...]:
        """Jobs whose shown verdict (see `JobComparison.verdict`) is `verdict`."""
        return tuple(job for job in self.jobs if job.verdict == verdict)

    @property
    def new_failures(self) -> tuple[JobComparison, ...]:
        return self.jobs_with(FailureVerdict.NEW_FAILURE)

    @property
    def has_regression(self) -> bool:
        """True when the run or any job got significantly slower."""
        return (
            self.wall_time.verdict is Verdict.REGRESSION
            or self.total_job_time.verdict is Verdict.REGRESSION
            or any(job.duration.verdict is Verdict.REGRESSION for job in self.jobs)
        )


def compare_durations(
    baseline: Sequence[float],
    current: float | None,
    options: ComparisonOptions,
    other_samples: Sequence[float] = (),
    *,
    comparable: bool = True,
) -> DurationComparison:
    """Judge `current` (plus `other_samples` from the same pull request) against baseline durations.

    `comparable=False` (a failed job, say) keeps the numbers but judges nothing: `not-compared`.
    """
    baseline_median = median(baseline) if baseline else None
    if current is None:
        return DurationComparison(Verdict.NOT_COMPARED, None, baseline_median, len(baseline))
    if not comparable:
        return DurationComparison(Verdict.NOT_COMPARED, current, baseline_median, len(baseline))
    if baseline_median is None or len(baseline) < options.min_runs:
        change = None if baseline_median is None else current - baseline_median
        return DurationComparison(
            Verdict.NOT_ENOUGH_HISTORY,
            current,
            baseline_median,
            len(baseline),
            change_seconds=change,
            change_percent=_percent(change, baseline_median),
        )
    samples = [current, *other_samples]
    if len(samples) == 1:
        change_seconds = current - baseline_median
        change_percent = _percent(change_seconds, baseline_median)
        method = "prediction-interval"
    else:
        change_seconds = hodges_lehmann_shift(baseline, samples)
        log_shift = hodges_lehmann_shift(
            [_log_seconds(value) for value in baseline], [_log_seconds(value) for value in samples]
        )
        change_percent = math.expm1(log_shift) * 100.0
        method = "mann-whitney"
    large = abs(change_seconds) >= options.threshold_seconds and (
        change_percent is None or abs(change_percent) >= options.threshold_percent
    )
    verdict = Verdict.UNCHANGED
    # Significance is tested only for changes large enough to matter: most steps stop here.
    if large and change_seconds > 0 and _significantly_shifted(baseline, samples, options.alpha, slower=True):
        verdict = Verdict.REGRESSION
    elif large and change_seconds < 0 and _significantly_shifted(baseline, samples, options.alpha, slower=False):
        verdict = Verdict.IMPROVEMENT
    return DurationComparison(
        verdict,
        current,
        baseline_median,
        len(baseline),
        change_seconds=change_seconds,
        change_percent=change_percent,
        method=method,
        sample_count=len(samples),
    )


def _significantly_shifted(baseline: Sequence[float], samples: Sequence[float], alpha: float, *, slower: bool) -> bool:
    """One-sided test at `alpha`: prediction interval for one sample, Mann–Whitney U for several."""
    if len(samples) == 1:
        bounds = prediction_bounds([_log_seconds(value) for value in baseline], alpha)
        value = _log_seconds(samples[0])
        return value > bounds.upper if slower else value < bounds.lower
    test = mann_whitney_u(baseline, samples)
    return (test.p_greater if slower else test.p_less) <= alpha


def _log_seconds(seconds: float) -> float:
    """ln(seconds), counting durations under SHORTEST_LOGGED_SECONDS as that long."""
    return math.log(seconds) if seconds > SHORTEST_LOGGED_SECONDS else 0.0


def _percent(change: float | None, reference: float | None) -> float | None:
    if change is None or not reference:
        return None
    return change / reference * 100.0


def _step_keys(job: JobRecord) -> tuple[tuple[str, int], ...]:
    """(name, how many earlier steps share the name) for each step, so repeated names stay apart."""
    return _keys_for_names(tuple(step.name for step in job.steps))


@lru_cache(maxsize=4096)
def _keys_for_names(names: tuple[str, ...]) -> tuple[tuple[str, int], ...]:
    seen: dict[str, int] = defaultdict(int)
    keys = []
    for name in names:
        keys.append((name, seen[name]))
        seen[name] += 1
    return tuple(keys)


class _JobHistory:
    """Durations, queue times, pass counts and step durations per job name over a set of runs."""

    def __init__(self, runs: Iterable[RunRecord]) -> None:
        self.durations: dict[str, list[float]] = defaultdict(list)
        self.queue_times: dict[str, list[float]] = defaultdict(list)
        self.passes: dict[str, int] = defaultdict(int)
        self.ran: dict[str, int] = defaultdict(int)
        self.step_durations: dict[str, dict[tuple[str, int], list[float]]] = defaultdict(lambda: defaultdict(list))
        self.order: dict[str, None] = {}  # every job name seen, in first-seen order
        for run in runs:
            for job in run.jobs:
                self._add(job)

    def _add(self, job: JobRecord) -> None:
        name = job.name
        self.order.setdefault(name)
        queue_time = job.queue_time
        if queue_time is not None:
            self.queue_times[name].append(queue_time)
        if job.conclusion in FAILED_CONCLUSIONS:
            self.ran[name] += 1
        if job.conclusion != SUCCESS:
            return
        self.ran[name] += 1
        self.passes[name] += 1
        duration = job.duration
        if duration is not None:
            self.durations[name].append(duration)
        steps = self.step_durations[name]
        for key, step in zip(_step_keys(job), job.steps, strict=False):
            step_duration = step.duration
            if step_duration is not None and step.conclusion == SUCCESS:
                steps[key].append(step_duration)

    def knows(self, name: str) -> bool:
        return name in self.order

    def pass_rate(self, name: str) -> RateEstimate | None:
        trials = self.ran.get(name, 0)
        return wilson_interval(self.passes.get(name, 0), trials) if trials else None


def _not_compared() -> DurationComparison:
    return DurationComparison(Verdict.NOT_COMPARED, None, None, 0)


def _failure_verdict(
    job: JobRecord,
    pass_rate: RateEstimate | None,
    failed_earlier: set[str],
    options: ComparisonOptions,
) -> FailureVerdict | None:
    if job.conclusion in FAILED_CONCLUSIONS:
        if pass_rate is None or pass_rate.rate >= options.pass_rate_for_new_failure:
            return FailureVerdict.NEW_FAILURE
        return FailureVerdict.ALREADY_FAILING_ON_BASE
    if job.conclusion == SUCCESS and job.name in failed_earlier:
        return FailureVerdict.FLAKY
    return None


def _compare_job(
    job: JobRecord,
    history: _JobHistory,
    pr_history: _JobHistory,
    failed_earlier: set[str],
    options: ComparisonOptions,
    step_options: ComparisonOptions,
) -> JobComparison:
    name = job.name
    pass_rate = history.pass_rate(name)
    baseline_steps = history.step_durations.get(name, {})
    pr_steps = pr_history.step_durations.get(name, {})
    job_succeeded = job.conclusion == SUCCESS
    steps = []
    for key, step in zip(_step_keys(job), job.steps, strict=False):
        steps.append(
            StepComparison(
                name=step.name,
                number=step.number,
                conclusion=step.conclusion,
                duration=compare_durations(
                    baseline_steps.get(key, ()),
                    step.duration,
                    step_options,
                    pr_steps.get(key, ()),
                    comparable=job_succeeded and step.conclusion == SUCCESS,
                ),
            )
        )
    queue_times = history.queue_times.get(name)
    return JobComparison(
        name=name,
        presence=Presence.BOTH if history.knows(name) else Presence.NEW,
        conclusion=job.conclusion,
        duration=compare_durations(
            history.durations.get(name, ()),
            job.duration,
            options,
            pr_history.durations.get(name, ()),
            comparable=job_succeeded,
        ),
        queue_time=job.queue_time,
        baseline_queue_median=median(queue_times) if queue_times else None,
        baseline_pass_rate=pass_rate,
        failure=_failure_verdict(job, pass_rate, failed_earlier, options),
        steps=tuple(steps),
        run_attempt=job.run_attempt,
        html_url=job.html_url,
    )


def _removed_job(name: str, history: _JobHistory) -> JobComparison:
    durations = history.durations.get(name, ())
    queue_times = history.queue_times.get(name)
    return JobComparison(
        name=name,
        presence=Presence.REMOVED,
        conclusion=None,
        duration=DurationComparison(
            Verdict.NOT_COMPARED, None, median(durations) if durations else None, len(durations)
        ),
        queue_time=None,
        baseline_queue_median=median(queue_times) if queue_times else None,
        baseline_pass_rate=history.pass_rate(name),
    )


def _reran_partially(run: RunRecord) -> bool:
    """Some jobs were carried over from an earlier attempt, so this attempt's wall time covers only the rest."""
    return any(job.run_attempt < run.run_attempt for job in run.jobs)


def _without_repeated_jobs(samples: Sequence[RunRecord], current: RunRecord) -> list[RunRecord]:
    """The samples without job executions already in `current` or in an earlier sample.

    A partial re-run lists the jobs it carried over again (with their old `run_attempt`); counting
    them twice would pretend to have more evidence than there is.
    """
    seen = {(current.id, job.run_attempt, job.name) for job in current.jobs}
    unique = []
    for run in samples:
        jobs = []
        for job in run.jobs:
            execution = (run.id, job.run_attempt, job.name)
            if execution not in seen:
                seen.add(execution)
                jobs.append(job)
        unique.append(replace(run, jobs=tuple(jobs)))
    return unique


def _status_of(run: RunRecord) -> ComparisonStatus:
    if run.conclusion == "cancelled":
        return ComparisonStatus.CANCELLED
    if run.conclusion == "skipped":
        return ComparisonStatus.SKIPPED
    if run.status != "completed" or run.conclusion is None:
        return ComparisonStatus.INCOMPLETE
    return ComparisonStatus.COMPARED


def compare_run(
    current: RunRecord,
    baseline: Sequence[RunRecord],
    options: ComparisonOptions,
    *,
    pr_samples: Sequence[RunRecord] = (),
    earlier_attempts: Sequence[RunRecord] = (),
) -> RunComparison:
    """Compare `current` with `baseline` runs of the same workflow on the base branch.

    `pr_samples` are further runs of the same pull request (earlier pushes or attempts); only their
    successful runs and jobs are used, and an entry equal to `current` (same id and attempt) is ignored.
    `earlier_attempts` are earlier attempts of the same head SHA, used to recognise flaky jobs.
    """
    status = _status_of(current)
    identity: dict[str, Any] = {
        "options": options,
        "workflow_name": current.workflow_name,
        "workflow_path": current.workflow_path,
        "run_id": current.id,
        "run_attempt": current.run_attempt,
        "run_html_url": current.html_url,
        "head_sha": current.head_sha,
        "conclusion": current.conclusion,
    }
    if status is not ComparisonStatus.COMPARED:
        return RunComparison(status=status, wall_time=_not_compared(), total_job_time=_not_compared(), **identity)
    baseline = [run for run in baseline if run.id != current.id]
    successful_baseline = [run for run in baseline if run.conclusion == SUCCESS]
    other_samples = [
        run
        for run in pr_samples
        if run.conclusion == SUCCESS and (run.id, run.run_attempt) != (current.id, current.run_attempt)
    ]
    history = _JobHistory(baseline)
    pr_history = _JobHistory(_without_repeated_jobs(other_samples, current))
    failed_earlier = {job.name for run in earlier_attempts for job in run.jobs if job.conclusion in FAILED_CONCLUSIONS}

    def known(values: Iterable[float | None]) -> list[float]:
        return [value for value in values if value is not None]

    run_succeeded = current.conclusion == SUCCESS
    partial_rerun = _reran_partially(current)
    # The run is one family of two tests (wall time, total job time): each gets half of α.
    run_options = replace(options, alpha=options.alpha / 2)
    wall_time = compare_durations(
        known(run.duration for run in successful_baseline if not _reran_partially(run)),
        current.duration,
        run_options,
        known(run.duration for run in other_samples if not _reran_partially(run)),
        comparable=run_succeeded and not partial_rerun,
    )
    total_job_time = compare_durations(
        known(run.total_job_time for run in successful_baseline),
        current.total_job_time,
        run_options,
        known(run.total_job_time for run in other_samples),
        comparable=run_succeeded,
    )
    current_names = {job.name for job in current.jobs}
    # Every job, and every step, is a test of its own: share α within each family (Bonferroni) so that
    # a run with no real change gets a false "slower" job (or step) at most α of the time, not once per run.
    job_options = replace(options, alpha=options.alpha / max(1, len(current.jobs)))
    step_options = replace(options, alpha=options.alpha / max(1, sum(len(job.steps) for job in current.jobs)))
    jobs = [_compare_job(job, history, pr_history, failed_earlier, job_options, step_options) for job in current.jobs]
    jobs.extend(_removed_job(name, history) for name in history.order if name not in current_names)
    return RunComparison(
        status=status,
        wall_time=wall_time,
        total_job_time=total_job_time,
        jobs=tuple(jobs),
        baseline_runs=tuple(
            BaselineRun(
                id=run.id,
                html_url=run.html_url,
                created_at=run.created_at,
                duration=run.duration,
                conclusion=run.conclusion,
                used_for_durations=run.conclusion == SUCCESS,
            )
            for run in baseline
        ),
        pr_sample_count=1 + len(other_samples),
        partial_rerun=partial_rerun,
        **identity,
    )


def median_step_durations(runs: Iterable[RunRecord]) -> dict[tuple[str, str], float]:
    """Median seconds of each (job name, step name) over the successful jobs and steps of `runs`."""
    samples: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run in runs:
        for job in run.jobs:
            if job.conclusion != SUCCESS:
                continue
            for step in job.steps:
                if step.conclusion == SUCCESS and step.duration is not None:
                    samples[(job.name, step.name)].append(step.duration)
    return {key: median(values) for key, values in samples.items()}
