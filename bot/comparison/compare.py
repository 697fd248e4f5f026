"""Compare one workflow run with the base branch's recent history of the same workflow.

How the comparison decides (defaults in brackets, all in `ComparisonOptions`):

* Baseline. The caller passes the last completed runs of the same workflow on the base branch
  [`main`], created before the pull request's run; they are taken oldest first. Run durations come
  only from successful runs; job and step durations from successful jobs and steps (also in runs that
  failed in another job); failure rates from every baseline run in which the job ran.
* What is measured. The run's wall time (this attempt's `run_started_at` to `updated_at`), its total
  job time (the sum of its jobs' durations), every job (matched by its exact name, so each matrix leg
  such as `test (ubuntu-latest, 3.11)` is compared with the same leg) and every step of every job
  (matched by name and position among steps of that name). Jobs only in the pull request are `new`,
  jobs only in the baseline are `removed`. Queue time (a job's `created_at` to `started_at`) measures
  runner availability, not the code, so it is reported apart and never judged. An attempt that re-ran
  only some jobs is no new sample of the run's measures (its wall time covers the re-run jobs alone):
  they are judged on the pull request's complete attempts.
* Verdict for a duration. `regression` or `improvement` only when the change is BOTH statistically
  significant AND large: at least [10] % and at least [30] seconds away from the baseline median.
  With fewer than [5] successful baseline samples the verdict is `not-enough-history`; the duration
  of a run, job or step that did not succeed is shown but not judged: `not-compared`.
* Significance (`durations`): log-durations against the base branch's history as a noise model: the
  level of its last 10 runs, the spread of all of them, its modes (cache hit and miss) and how much
  consecutive runs move together. Jobs are also judged net of their run's speed (`run_speed`): the
  run's other jobs are the control for a slow runner. α [0.01] is the level of each *family* (the
  run's two measures, the jobs, the steps), shared with Holm's procedure; each sample on its own must
  look slower at √(α / N) for a family of N measures.
* Confirmation [`confirm=False`; the App confirms]. With `confirm=True`, one sample that looks slower is
  not called slower but `needs-confirmation`: `RunComparison.confirm_jobs` names the jobs to re-run,
  `confirm_run` says the run's measures need a complete re-run (only when no job is judged). With two
  or more samples (`pr_samples`: the re-run, earlier attempts, earlier pushes of the pull request; a job
  carried over by a partial re-run counts once), more than half must look slower on their own and
  their mean must pass the family's test: one slow spike never makes a verdict. A lone sample that is
  never confirmed counts ten times less. The run's measures never wait for a re-run of their own when
  jobs are judged: a lone sample of theirs is called slower when jobs called slower account for its
  change (queueing is not the code).
* What could be seen: every judged job and the run's measures carry the smallest slowdown the
  comparison could have called with this history and procedure (`smallest_detectable_percent`).
* Failures, per job (`failure`, `timed_out` and `startup_failure` count as failing). A job that
  fails now and passed in at least [90] % of the baseline runs where it ran (or never ran there) is a
  `new-failure`; a job that fails now and fails more often than that on the base branch is
  `already-failing-on-base`; a job that failed in an earlier attempt of the same
  commit (`earlier_attempts`) and passes now is `flaky`. Pass rates carry a 95 % Wilson score interval.
* A run that was cancelled or skipped, or has not completed, is reported as such and nothing is compared.

Calibration: tests/test_comparison_calibration.py (simulated noise of five kinds, through the App's
procedure) and benchmarks/bench_replay.py (real CI timings); the figures are in the README.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from bot.comparison.durations import (
    Call,
    DecisionRules,
    Measure,
    change_of,
    judge_family,
    log_seconds,
    worth_reading,
)
from bot.comparison.model import JobRecord, RunRecord
from bot.comparison.run_speed import CONTROL_MIN_SENSITIVITY, baseline_levels, sensitivities, speed_factors
from bot.comparison.statistics import RateEstimate, median, wilson_interval

SUCCESS = "success"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FAILED_CONCLUSIONS = frozenset({"failure", "timed_out", "startup_failure"})


class Verdict(StrEnum):
    """What a duration comparison concluded."""

    REGRESSION = "regression"
    IMPROVEMENT = "improvement"
    UNCHANGED = "unchanged"
    # Looks slower in one sample; not called slower before a second sample (a re-run) agrees.
    NEEDS_CONFIRMATION = "needs-confirmation"
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
    alpha: float = 0.01
    pass_rate_for_new_failure: float = 0.9
    baseline_branch: str = "main"
    # May a verdict wait for a second sample? True: one sample that looks slower is `needs-confirmation`
    # (the caller re-runs those jobs, see `RunComparison.confirm_jobs`); False: one sample is judged at
    # once, at the stricter single-sample level. Pass False once no further sample will come.
    confirm: bool = False

    def __post_init__(self) -> None:
        if self.min_runs < 2:
            raise ValueError("min_runs must be at least 2 (a spread needs two samples)")
        if not 0.0 < self.alpha < 0.5:
            raise ValueError("alpha must be between 0 and 0.5")
        if not 0.0 <= self.pass_rate_for_new_failure <= 1.0:
            raise ValueError("pass_rate_for_new_failure must be between 0 and 1")

    def decision_rules(self, *, confirm: bool) -> DecisionRules:
        return DecisionRules(
            alpha=self.alpha,
            threshold_percent=self.threshold_percent,
            threshold_seconds=self.threshold_seconds,
            confirm=confirm,
        )


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
    # The smallest slowdown (%) the comparison could have called with this history and procedure; a
    # change of this size is caught about half of the time. None when nothing was judged.
    smallest_detectable_percent: float | None = None


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
    def confirm_jobs(self) -> tuple[str, ...]:
        """Names of the jobs that look slower in one sample and await a second (re-run them to decide)."""
        return tuple(job.name for job in self.jobs if job.duration.verdict is Verdict.NEEDS_CONFIRMATION)

    @property
    def confirm_run(self) -> bool:
        """The run's wall time or total job time looks slower in one sample and awaits a complete re-run."""
        return Verdict.NEEDS_CONFIRMATION in (self.wall_time.verdict, self.total_job_time.verdict)

    @property
    def awaiting_confirmation(self) -> bool:
        """Some verdict waits for a second sample: the report shows "checking" until it comes."""
        return self.confirm_run or bool(self.confirm_jobs)

    @property
    def has_regression(self) -> bool:
        """True when the run or any job got significantly slower."""
        return (
            self.wall_time.verdict is Verdict.REGRESSION
            or self.total_job_time.verdict is Verdict.REGRESSION
            or any(job.duration.verdict is Verdict.REGRESSION for job in self.jobs)
        )


@dataclass(slots=True)
class _Durations:
    """One measure before judging: baseline durations, this run's value, other samples from the PR."""

    baseline: Sequence[float]
    current: float | None
    other_samples: Sequence[float] = ()
    comparable: bool = True
    # Log-offsets of the common-mode control (see `run_speed`): one per baseline value, one per sample
    # (`current` first), None where a sample has none; both None without a control.
    baseline_offsets: Sequence[float] | None = None
    sample_offsets: Sequence[float | None] | None = None
    # See `durations.Measure`.
    lone_strictness: float | None = None
    reachable_lone_strictness: float | None = None

    @property
    def samples(self) -> list[float]:
        """`current` and the other samples (only asked of a measure that has a current value)."""
        return [self.current or 0.0, *self.other_samples]


def _unjudged(item: _Durations, options: ComparisonOptions) -> DurationComparison | None:
    """The comparison of a measure that gets no verdict (nothing to judge, too little history); else None."""
    baseline = item.baseline
    if item.current is not None and item.comparable and len(baseline) >= max(1, options.min_runs):
        return None
    baseline_median = median(baseline) if baseline else None
    if item.current is None:
        return DurationComparison(Verdict.NOT_COMPARED, None, baseline_median, len(baseline))
    if not item.comparable:
        return DurationComparison(Verdict.NOT_COMPARED, item.current, baseline_median, len(baseline))
    change = None if baseline_median is None else item.current - baseline_median
    return DurationComparison(
        Verdict.NOT_ENOUGH_HISTORY,
        item.current,
        baseline_median,
        len(baseline),
        change_seconds=change,
        change_percent=_percent(change, baseline_median),
    )


_VERDICTS = {
    Call.SLOWER: Verdict.REGRESSION,
    Call.FASTER: Verdict.IMPROVEMENT,
    Call.NO_CHANGE: Verdict.UNCHANGED,
    Call.NEEDS_CONFIRMATION: Verdict.NEEDS_CONFIRMATION,
}


def _compare_family(
    items: Sequence[_Durations],
    options: ComparisonOptions,
    *,
    confirm: bool,
    detectable: bool = True,
    by_duration: bool = True,
) -> list[DurationComparison]:
    """Judge the measures of one family together (see `durations.judge_family` and `DecisionRules`).

    With `detectable=False` (steps: hundreds of measures, most of which barely move) a change too small
    to be worth reading is settled here, without the statistics; it still counts in the family's size.
    """
    rules = options.decision_rules(confirm=confirm)
    results = [_unjudged(item, options) for item in items]
    judged = [index for index, result in enumerate(results) if result is None]
    family_size = len(judged)
    if not detectable:
        for index in judged:
            item = items[index]
            baseline_median = median(item.baseline)
            change, percent = change_of(baseline_median, item.samples)
            if not worth_reading(change, percent, rules):
                results[index] = _duration_comparison(item, Verdict.UNCHANGED, baseline_median, change, percent)
        judged = [index for index in judged if results[index] is None]
    judgements = judge_family(
        [
            Measure(
                item.baseline,
                item.samples,
                item.baseline_offsets,
                item.sample_offsets,
                item.lone_strictness,
                item.reachable_lone_strictness,
            )
            for item in (items[index] for index in judged)
        ],
        rules,
        detectable=detectable,
        family_size=family_size,
        by_duration=by_duration,
    )
    for index, judgement in zip(judged, judgements, strict=True):
        results[index] = _duration_comparison(
            items[index],
            _VERDICTS[judgement.call],
            judgement.baseline_median,
            judgement.change_seconds,
            judgement.change_percent,
            judgement.smallest_detectable_percent,
        )
    return [result for result in results if result is not None]


def _duration_comparison(
    item: _Durations,
    verdict: Verdict,
    baseline_median: float,
    change_seconds: float,
    change_percent: float | None,
    smallest_detectable_percent: float | None = None,
) -> DurationComparison:
    sample_count = 1 + len(item.other_samples)
    return DurationComparison(
        verdict,
        item.current,
        baseline_median,
        len(item.baseline),
        change_seconds=change_seconds,
        change_percent=change_percent,
        method="prediction-interval" if sample_count == 1 else "prediction-interval-of-mean",
        sample_count=sample_count,
        smallest_detectable_percent=smallest_detectable_percent,
    )


def compare_durations(
    baseline: Sequence[float],
    current: float | None,
    options: ComparisonOptions,
    other_samples: Sequence[float] = (),
    *,
    comparable: bool = True,
) -> DurationComparison:
    """Judge `current` (plus `other_samples` from the same pull request) against baseline durations, alone.

    `comparable=False` (a failed job, say) keeps the numbers but judges nothing: `not-compared`.
    """
    return _compare_family(
        [_Durations(baseline, current, other_samples, comparable)], options, confirm=options.confirm
    )[0]


def _percent(change: float | None, reference: float | None) -> float | None:
    if change is None or not reference:
        return None
    return change / reference * 100.0


def _step_keys(job: JobRecord) -> tuple[tuple[str, int], ...]:
    """(name, how many earlier steps share the name) for each step, so repeated names stay apart."""
    return _keys_for_names(tuple([step.name for step in job.steps]))


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
        # Per job name, each run's step names and step durations (None for a step that did not succeed).
        self._step_names: dict[tuple[str, ...], tuple[str, ...]] = {}
        self._step_rows: dict[str, list[tuple[tuple[str, ...], tuple[float | None, ...]]]] = defaultdict(list)
        self.order: dict[str, None] = {}  # every job name seen, in first-seen order
        # The run and job record of each entry of `durations`, in the same order.
        self.duration_sources: dict[str, list[tuple[RunRecord, JobRecord]]] = defaultdict(list)
        for run in runs:
            for job in run.jobs:
                self._add(run, job)

    def _add(self, run: RunRecord, job: JobRecord) -> None:
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
            self.duration_sources[name].append((run, job))
        if job.steps:
            names = tuple([step.name for step in job.steps])
            self._step_rows[name].append(
                (
                    self._step_names.setdefault(names, names),  # one object per list of names
                    tuple([step.duration if step.conclusion == SUCCESS else None for step in job.steps]),
                )
            )

    def step_durations(self, name: str) -> dict[tuple[str, int], list[float]]:
        """Durations of job `name`'s successful steps, by step key (see `_step_keys`), runs in order."""
        rows = self._step_rows.get(name, ())
        if not rows:
            return {}
        names = rows[0][0]
        if [row_names for row_names, _ in rows].count(names) == len(rows):  # usually the same steps every run
            columns = zip(*(durations for _, durations in rows), strict=True)
            return {
                key: list(column) if None not in column else [value for value in column if value is not None]
                for key, column in zip(_keys_for_names(names), columns, strict=True)
            }
        by_key: dict[tuple[str, int], list[float]] = defaultdict(list)
        for row_names, durations in rows:
            for key, value in zip(_keys_for_names(row_names), durations, strict=True):
                if value is not None:
                    by_key[key].append(value)
        return by_key

    def knows(self, name: str) -> bool:
        return name in self.order

    def pass_rate(self, name: str) -> RateEstimate | None:
        trials = self.ran.get(name, 0)
        return wilson_interval(self.passes.get(name, 0), trials) if trials else None


def _attempt_logs(run: RunRecord) -> dict[int, dict[str, float]]:
    """Log-durations of the run's successful jobs, grouped by the attempt each job ran in."""
    groups: dict[int, dict[str, float]] = defaultdict(dict)
    for job in run.jobs:
        duration = job.duration
        if job.conclusion == SUCCESS and duration is not None:
            groups[job.run_attempt][job.name] = log_seconds(duration)
    return groups


class _CommonMode:
    """The control for common-mode slowness (`run_speed`) fitted on the baseline runs."""

    def __init__(self, baseline: Sequence[RunRecord], min_runs: int) -> None:
        self._groups: dict[tuple[int, int], dict[int, dict[str, float]]] = {
            (run.id, run.run_attempt): _attempt_logs(run) for run in baseline
        }
        groups = [group for attempts in self._groups.values() for group in attempts.values()]
        self.levels = baseline_levels(groups, min_runs)
        self._factors: dict[tuple[int, int], dict[int, dict[str, float]]] = {
            key: {attempt: speed_factors(logs, self.levels) for attempt, logs in attempts.items()}
            for key, attempts in self._groups.items()
        }
        self.sensitivities = sensitivities(
            [
                (self._groups[key][attempt], factors)
                for key, attempts in self._factors.items()
                for attempt, factors in attempts.items()
            ],
            self.levels,
        )

    def _factor(self, run: RunRecord, job: JobRecord) -> float | None:
        """The speed factor of `job`'s attempt in `run`; None when that attempt has none for it."""
        key = (run.id, run.run_attempt)
        attempts = self._factors.get(key)
        if attempts is None:
            attempts = {attempt: speed_factors(logs, self.levels) for attempt, logs in _attempt_logs(run).items()}
            self._factors[key] = attempts
        return attempts.get(job.run_attempt, {}).get(job.name)

    def offsets(self, name: str, sources: Sequence[tuple[RunRecord, JobRecord]]) -> list[float | None] | None:
        """β × the speed factor of job `name` in each (run, job) of `sources`; None when the job has no control."""
        sensitivity = self.sensitivities.get(name, 0.0)
        if sensitivity < CONTROL_MIN_SENSITIVITY:  # no control, or a job that moves on its own
            return None
        factors = [self._factor(run, job) for run, job in sources]
        return [None if factor is None else sensitivity * factor for factor in factors]


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


def _job_measures(
    current: RunRecord, job: JobRecord, history: _JobHistory, pr_history: _JobHistory, control: _CommonMode
) -> tuple[_Durations, list[_Durations]]:
    """The job's duration and its steps' durations as measures to judge."""
    name = job.name
    baseline_steps = history.step_durations(name)
    pr_steps = pr_history.step_durations(name)
    job_succeeded = job.conclusion == SUCCESS
    steps = [
        _Durations(
            baseline_steps.get(key, ()),
            step.duration,
            pr_steps.get(key, ()),
            comparable=job_succeeded and step.conclusion == SUCCESS,
        )
        for key, step in zip(_step_keys(job), job.steps, strict=False)
    ]
    baseline_offsets = control.offsets(name, history.duration_sources.get(name, ()))
    sample_offsets = control.offsets(name, [(current, job), *pr_history.duration_sources.get(name, ())])
    duration = _Durations(
        history.durations.get(name, ()),
        job.duration,
        pr_history.durations.get(name, ()),
        comparable=job_succeeded,
        baseline_offsets=None if baseline_offsets is None else [offset or 0.0 for offset in baseline_offsets],
        sample_offsets=sample_offsets,
    )
    return duration, steps


def _job_comparison(
    job: JobRecord,
    duration: DurationComparison,
    step_durations: Sequence[DurationComparison],
    history: _JobHistory,
    failed_earlier: set[str],
    options: ComparisonOptions,
) -> JobComparison:
    name = job.name
    pass_rate = history.pass_rate(name)
    queue_times = history.queue_times.get(name)
    return JobComparison(
        name=name,
        presence=Presence.BOTH if history.knows(name) else Presence.NEW,
        conclusion=job.conclusion,
        duration=duration,
        queue_time=job.queue_time,
        baseline_queue_median=median(queue_times) if queue_times else None,
        baseline_pass_rate=pass_rate,
        failure=_failure_verdict(job, pass_rate, failed_earlier, options),
        steps=tuple(
            StepComparison(name=step.name, number=step.number, conclusion=step.conclusion, duration=step_duration)
            for step, step_duration in zip(job.steps, step_durations, strict=False)
        ),
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


def _run_measures(
    current: RunRecord, baseline: Sequence[RunRecord], other_samples: Sequence[RunRecord], *, comparable: bool
) -> tuple[_Durations, _Durations]:
    """Wall time and total job time as measures; their samples are the PR's complete attempts.

    An attempt that re-ran only some jobs has a wall time of those jobs alone, and a total job time that
    repeats the carried-over jobs: it is no new sample of either. So when `current` is such an attempt,
    the run's measures are those of the latest complete attempt among `other_samples`; without one, the
    wall time is not compared and the total job time of `current` (every job once) is the one sample.
    """
    complete = [run for run in other_samples if not _reran_partially(run)]
    if not _reran_partially(current):
        shown: RunRecord | None = current
    else:
        shown = max(complete, key=lambda run: (run.id, run.run_attempt), default=None)
    others = [run for run in complete if run is not shown]
    wall_time = _Durations(
        _known(run.duration for run in baseline if not _reran_partially(run)),
        shown.duration if shown else None,
        _known(run.duration for run in others),
        comparable=comparable,
    )
    total_job_time = _Durations(
        _known(run.total_job_time for run in baseline),
        (shown or current).total_job_time,
        _known(run.total_job_time for run in others),
        comparable=comparable,
    )
    return wall_time, total_job_time


def _backed(
    run_measures: tuple[_Durations, _Durations], job_durations: Sequence[DurationComparison], options: ComparisonOptions
) -> tuple[_Durations, _Durations]:
    """The run's measures, told how a lone sample of theirs may be called slower when jobs are judged.

    The wall time is queueing plus the jobs, and queueing is runner availability, not the code; the
    total job time is the sum of the jobs, and one slow spike of a job is a spike of the sum. So with
    judged jobs, the run's measures never ask for a complete re-run of their own (the App re-runs the
    jobs), and a lone sample of theirs is called slower only when jobs called slower back it: their extra
    seconds account for its change (up to `threshold_seconds`). Complete samples (later pushes, complete
    re-runs) are judged as usual.
    """
    if not any(duration.method is not None for duration in job_durations):
        return run_measures
    backing = sum(
        duration.change_seconds or 0.0 for duration in job_durations if duration.verdict is Verdict.REGRESSION
    )

    def told(item: _Durations) -> _Durations:
        change = None if item.current is None or not item.baseline else item.current - median(item.baseline)
        backed = backing > 0 and change is not None and change <= backing + options.threshold_seconds
        return replace(item, lone_strictness=1.0 if backed else math.inf, reachable_lone_strictness=1.0)

    wall_time, total_job_time = run_measures
    return told(wall_time), told(total_job_time)


def _known(values: Iterable[float | None]) -> list[float]:
    return [value for value in values if value is not None]


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
    # Oldest first: how consecutive runs move together is part of the noise (see `durations`).
    baseline = sorted(
        (run for run in baseline if run.id != current.id),
        key=lambda run: (run.created_at is None, run.created_at or _EPOCH, run.id),
    )
    successful_baseline = [run for run in baseline if run.conclusion == SUCCESS]
    other_samples = [
        run
        for run in pr_samples
        if run.conclusion == SUCCESS and (run.id, run.run_attempt) != (current.id, current.run_attempt)
    ]
    history = _JobHistory(baseline)
    pr_history = _JobHistory(_without_repeated_jobs(other_samples, current))
    failed_earlier = {job.name for run in earlier_attempts for job in run.jobs if job.conclusion in FAILED_CONCLUSIONS}

    run_succeeded = current.conclusion == SUCCESS
    partial_rerun = _reran_partially(current)
    control = _CommonMode(baseline, options.min_runs)
    job_measures = [_job_measures(current, job, history, pr_history, control) for job in current.jobs]
    # Every job, and every step, is a test of its own: each family shares α (Holm), so that a run with no
    # real change gets a false "slower" job (or step) at most about α of the time, not once per job.
    job_durations = _compare_family([duration for duration, _ in job_measures], options, confirm=options.confirm)
    # Steps never ask for a re-run of their own: they are details of their job.
    step_durations = iter(
        _compare_family([step for _, steps in job_measures for step in steps], options, confirm=False, detectable=False)
    )
    wall_time, total_job_time = _compare_family(
        _backed(
            _run_measures(current, successful_baseline, other_samples, comparable=run_succeeded),
            job_durations,
            options,
        ),
        options,
        confirm=options.confirm and not any(duration.method is not None for duration in job_durations),
        by_duration=False,  # a wall time and a sum of jobs: seconds of different kinds
    )
    jobs = [
        _job_comparison(
            job,
            duration,
            [next(step_durations) for _ in steps],
            history,
            failed_earlier,
            options,
        )
        for job, duration, (_, steps) in zip(current.jobs, job_durations, job_measures, strict=True)
    ]
    current_names = {job.name for job in current.jobs}
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
