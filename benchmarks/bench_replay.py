"""Replay real base-branch CI timings through the comparison, exactly as the App would judge a pull request.

Input: one or more series files, `{"runs": [{"id", "t" (epoch s), "wall" (s or null), "jobs": {name: s}}]}`,
oldest first (the format of tests/fixtures/ci-timings/bitcoin_ci_master.json). For each position i from
BASELINE_RUNS to the fourth-last run:

* baseline = runs i−20 … i−1; the pull request's first sample = run i (attempt 1);
* `compare_run` with confirmation allowed (or not, `--confirm never`). If the result awaits a second
  sample, the next run i+1 stands in for the re-run the App would ask for: a complete re-run (attempt 2
  = all of run i+1) when the run's measures await one (`confirm_run`), otherwise a re-run of just the
  `confirm_jobs` (attempt 2 = run i with those jobs taken from run i+1, the others carried over). The
  second comparison gets both attempts as samples and, the re-run budget spent, no further confirmation:
  its verdicts are final. (`--rounds N` allows N rounds, runs i+1 … i+N standing in.)
* An unchanged pull request: a "slower" call on a measure is a false alarm when it is transient, i.e.
  runs i+1 … i+3 do not all stay ≥ 10 % above the baseline median of that measure (a persistent one is
  a real shift on the base branch, a correct call).
* Detection: +30 % and +50 % injected into run i and its stand-in re-run: one job of baseline median
  ≥ 300 s at a time (its extra seconds added to the wall time), or the whole run for wall-only series.

Run `python benchmarks/bench_replay.py --series tests/fixtures/ci-timings/bitcoin_ci_master.json`
(`--help` for sub-series, the wall-only view, each job as its own series and `--confirm never`).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.comparison import ComparisonOptions, JobRecord, RunComparison, RunRecord, Verdict, compare_run

BASELINE_RUNS = 20
PERSISTENCE_RUNS = 3
PERSISTENT_RATIO = 1.10
LONG_JOB_SECONDS = 300.0
SLOWDOWNS = (0.30, 0.50)
NOISE_BANDS = ((0.12, "σ ≤ 0.12"), (0.25, "0.12 < σ ≤ 0.25"), (math.inf, "σ > 0.25"))
RUN = "run"  # the name of the run measure in a Sample


@dataclass(frozen=True, slots=True)
class Sample:
    """One run of a series: its wall time (None when unknown) and job durations, all in seconds."""

    created: datetime
    wall: float | None
    jobs: Mapping[str, float]

    def slowed(self, job: str | None, factor: float) -> Sample:
        """This run with `job` (None: the whole run) `factor` times as long, the extra seconds added to the wall."""
        if job is None:
            return replace(self, wall=None if self.wall is None else self.wall * factor)
        extra = self.jobs[job] * (factor - 1.0)
        return replace(
            self,
            wall=None if self.wall is None else self.wall + extra,
            jobs={**self.jobs, job: self.jobs[job] * factor},
        )

    def value(self, measure: str) -> float | None:
        if measure == RUN:
            return self.wall
        return self.jobs.get(measure)


def load_series(path: Path, *, wall_only: bool, runs: slice) -> list[Sample]:
    data = json.loads(path.read_text())
    samples = []
    for entry in data["runs"]:
        jobs = {} if wall_only else {name: float(seconds) for name, seconds in entry.get("jobs", {}).items()}
        wall = entry.get("wall")
        samples.append(Sample(datetime.fromtimestamp(entry["t"], UTC), None if wall is None else float(wall), jobs))
    return samples[runs]


def job_series(series: Sequence[Sample]) -> dict[str, list[Sample]]:
    """Each job of median ≥ 300 s, in at least half the runs, as a series of its own (its duration as the wall)."""
    names = {name for sample in series for name in sample.jobs}
    jobs = {}
    for name in sorted(names):
        own = [Sample(sample.created, sample.jobs[name], {}) for sample in series if name in sample.jobs]
        if len(own) * 2 >= len(series) and statistics.median(values_of(own, RUN)) >= LONG_JOB_SECONDS:
            jobs[name] = own
    return jobs


def record(
    sample: Sample, run_id: int, *, attempt: int = 1, job_attempts: Mapping[str, int] | None = None
) -> RunRecord:
    """A RunRecord of `sample`: every job starts with the run; `job_attempts` marks jobs carried over."""
    job_attempts = job_attempts or {}
    jobs = tuple(
        JobRecord(
            name=name,
            conclusion="success",
            created_at=sample.created,
            started_at=sample.created,
            completed_at=sample.created + timedelta(seconds=seconds),
            run_attempt=job_attempts.get(name, attempt),
        )
        for name, seconds in sample.jobs.items()
    )
    return RunRecord(
        id=run_id,
        workflow_id=1,
        workflow_name="CI",
        workflow_path=".github/workflows/ci.yml",
        head_sha=f"{run_id:040x}",
        head_branch="main",
        event="push",
        status="completed",
        conclusion="success",
        run_attempt=attempt,
        created_at=sample.created,
        run_started_at=sample.created,
        updated_at=None if sample.wall is None else sample.created + timedelta(seconds=sample.wall),
        html_url=None,
        jobs=jobs,
    )


def rerun_of(first: Sample, stand_in: Sample, jobs: Iterable[str], run_id: int, attempt: int = 2) -> RunRecord:
    """Attempt 2 after re-running `jobs`: their durations from `stand_in`, the other jobs carried over."""
    rerun = {name: stand_in.jobs[name] for name in jobs if name in stand_in.jobs}
    wall = max(rerun.values(), default=0.0)  # this attempt's wall time covers only the re-run jobs
    carried = {name: 1 for name in first.jobs if name not in rerun}
    return record(
        replace(first, wall=wall, jobs={**first.jobs, **rerun}), run_id, attempt=attempt, job_attempts=carried
    )


@dataclass(slots=True)
class Outcome:
    """The first and final comparisons of one replayed pull request and what the App asked for on the way."""

    first: RunComparison
    final: RunComparison
    rerun_jobs: tuple[str, ...] = ()
    full_rerun: bool = False


def judge(
    first: Sample, stand_ins: Sequence[Sample], baseline: Sequence[RunRecord], run_id: int, confirm: bool
) -> Outcome:
    """The App's procedure: compare; while a sample is awaited and the budget lasts, re-run and decide on all."""
    options = ComparisonOptions(confirm=confirm)
    attempts = [record(first, run_id)]
    first_comparison = comparison = compare_run(attempts[0], baseline, options)
    rerun: list[str] = []
    full_rerun = False
    for round_number, stand_in in enumerate(stand_ins, start=1):
        if not comparison.awaiting_confirmation:
            break
        attempt = len(attempts) + 1
        if comparison.confirm_run:
            full_rerun = True
            rerun.extend(first.jobs)
            second = record(stand_in, run_id, attempt=attempt)
        else:
            rerun.extend(comparison.confirm_jobs)
            second = rerun_of(first, stand_in, comparison.confirm_jobs, run_id, attempt)
        attempts.append(second)
        last = round_number == len(stand_ins)
        comparison = compare_run(second, baseline, replace(options, confirm=confirm and not last), pr_samples=attempts)
    return Outcome(first_comparison, comparison, rerun_jobs=tuple(rerun), full_rerun=full_rerun)


def called_slower(comparison: RunComparison, measure: str) -> bool:
    if measure == RUN:
        return Verdict.REGRESSION in (comparison.wall_time.verdict, comparison.total_job_time.verdict)
    return any(job.name == measure and job.duration.verdict is Verdict.REGRESSION for job in comparison.jobs)


def values_of(samples: Iterable[Sample], measure: str) -> list[float]:
    return [value for sample in samples if (value := sample.value(measure)) is not None]


def persistent(measure: str, baseline: Sequence[Sample], following: Sequence[Sample]) -> bool:
    """The following runs all stay at least 10 % above the baseline median: a real shift on the base branch."""
    level = statistics.median(values_of(baseline, measure)) * PERSISTENT_RATIO
    return all((value := sample.value(measure)) is not None and value >= level for sample in following)


def log_spread(values: Sequence[float]) -> float | None:
    logs = [math.log(value) for value in values if value > 0]
    return statistics.stdev(logs) if len(logs) >= 2 else None


@dataclass(slots=True)
class SeriesReport:
    name: str
    runs: int
    positions: int = 0
    false_run: int = 0
    false_job: int = 0
    persistent_calls: int = 0
    confirmations: int = 0
    full_reruns: int = 0
    rerun_seconds: float = 0.0
    job_seconds: float = 0.0
    run_detectable: list[float] = field(default_factory=list)
    job_detectable: list[float] = field(default_factory=list)
    run_spreads: list[float] = field(default_factory=list)
    # (measure, slowdown) → [detected, trials]; measure is RUN or a job name
    detection: dict[tuple[str, float], list[int]] = field(default_factory=dict)
    job_spreads: dict[str, list[float]] = field(default_factory=dict)
    # Slowdowns of exactly the smallest detectable size the first comparison claimed: [called, trials].
    at_smallest: list[int] = field(default_factory=lambda: [0, 0])


@dataclass(frozen=True, slots=True)
class Position:
    """One replayed pull request: run i of the series against the runs before it."""

    baseline_samples: Sequence[Sample]
    baseline: Sequence[RunRecord]
    first: Sample
    stand_ins: Sequence[Sample]  # runs i+1, … standing in for re-runs
    following: Sequence[Sample]  # runs i+1 … i+3, to tell a transient call from a persistent shift
    run_id: int

    def values(self, measure: str) -> list[float]:
        return values_of(self.baseline_samples, measure)


def positions(series: Sequence[Sample], rounds: int) -> Iterable[Position]:
    records = [record(sample, index + 1) for index, sample in enumerate(series)]
    for i in range(BASELINE_RUNS, len(series) - PERSISTENCE_RUNS):
        yield Position(
            baseline_samples=series[i - BASELINE_RUNS : i],
            baseline=records[i - BASELINE_RUNS : i],
            first=series[i],
            stand_ins=series[i + 1 : i + 1 + rounds],
            following=series[i + 1 : i + 1 + PERSISTENCE_RUNS],
            run_id=1_000_000 + i,
        )


def replay_unchanged(report: SeriesReport, position: Position, confirm: bool) -> RunComparison:
    """The next run as an unchanged pull request: false alarms, re-runs asked for, what could have been seen."""
    first = position.first
    outcome = judge(first, position.stand_ins, position.baseline, position.run_id, confirm)
    calls = [measure for measure in (RUN, *first.jobs) if called_slower(outcome.final, measure)]
    transient = [measure for measure in calls if not persistent(measure, position.baseline_samples, position.following)]
    report.positions += 1
    report.persistent_calls += len(calls) - len(transient)
    report.false_run += RUN in transient
    report.false_job += any(measure != RUN for measure in transient)
    report.confirmations += bool(outcome.rerun_jobs) or outcome.full_rerun
    report.full_reruns += outcome.full_rerun
    report.job_seconds += sum(first.jobs.values())
    report.rerun_seconds += sum(first.jobs.get(job, 0.0) for job in outcome.rerun_jobs)
    spread = log_spread(position.values(RUN))
    if spread is not None:
        report.run_spreads.append(spread)
    # What the App could have seen: the first comparison's figures, which count the confirmation to come.
    if (smallest := outcome.first.wall_time.smallest_detectable_percent) is not None:
        report.run_detectable.append(smallest)
    for job in outcome.first.jobs:
        smallest = job.duration.smallest_detectable_percent
        if smallest is not None and statistics.median(position.values(job.name)) >= LONG_JOB_SECONDS:
            report.job_detectable.append(smallest)
    return outcome.first


def replay_slowdowns(report: SeriesReport, position: Position, confirm: bool, unchanged: RunComparison) -> None:
    """Each job of median ≥ 300 s (the whole run for a wall-only series) made slower in run i and its re-run.

    Also by the smallest detectable change the unchanged comparison claimed for it (caught about half of the time).
    """
    first = position.first
    targets = [
        job
        for job in first.jobs
        if len(values := position.values(job)) >= 5 and statistics.median(values) >= LONG_JOB_SECONDS
    ]
    if not first.jobs and first.wall is not None:
        targets = [RUN]
    for target in targets:
        job = None if target == RUN else target
        if job is not None and (spread := log_spread(position.values(job))) is not None:
            report.job_spreads.setdefault(job, []).append(spread)
        claimed = (
            unchanged.wall_time
            if job is None
            else next(comparison.duration for comparison in unchanged.jobs if comparison.name == job)
        ).smallest_detectable_percent
        for slowdown in (*SLOWDOWNS, None):
            if slowdown is None and (claimed is None or math.isinf(claimed)):
                continue
            factor = 1.0 + (claimed / 100.0 if slowdown is None else slowdown)
            stand_ins = [
                later.slowed(job, factor) if job is None or job in later.jobs else later for later in position.stand_ins
            ]
            outcome = judge(first.slowed(job, factor), stand_ins, position.baseline, position.run_id, confirm)
            tally = report.at_smallest if slowdown is None else report.detection.setdefault((target, slowdown), [0, 0])
            tally[0] += called_slower(outcome.final, target)
            tally[1] += 1


def replay(name: str, series: Sequence[Sample], *, confirm: bool, rounds: int = 1) -> SeriesReport:
    report = SeriesReport(name, len(series))
    for position in positions(series, rounds):
        replay_slowdowns(report, position, confirm, replay_unchanged(report, position, confirm))
    return report


def percent(count: float, total: float) -> str:
    return f"{count / total * 100:.1f} %" if total else "–"


def band_of(spread: float) -> str:
    return next(label for limit, label in NOISE_BANDS if spread <= limit)


def print_report(report: SeriesReport, *, per_job: bool) -> None:
    positions = report.positions
    print(f"\n== {report.name}: {report.runs} runs, {positions} replayed pull requests")
    if report.run_spreads:
        print(f"local σ of the run measure (median over positions): {statistics.median(report.run_spreads):.3f}")
    print(f"false alarms, run measure: {report.false_run}/{positions} = {percent(report.false_run, positions)}")
    print(f"false alarms, some job:    {report.false_job}/{positions} = {percent(report.false_job, positions)}")
    print(f"persistent shifts called (correct calls): {report.persistent_calls}")
    print(
        f"confirmations asked: {report.confirmations}/{positions} = {percent(report.confirmations, positions)} "
        f"({report.full_reruns} complete re-runs); re-run job time "
        f"{percent(report.rerun_seconds, report.job_seconds)} of the replayed job time"
    )
    if report.run_detectable:
        print(f"median smallest detectable slowdown, run measure: +{statistics.median(report.run_detectable):.0f} %")
    if report.job_detectable:
        print(
            f"median smallest detectable slowdown, jobs ≥ {LONG_JOB_SECONDS:.0f} s: "
            f"+{statistics.median(report.job_detectable):.0f} %"
        )
    if report.at_smallest[1]:
        print(
            f"called at the smallest detectable slowdown claimed (about half expected): "
            f"{percent(*report.at_smallest)} of {report.at_smallest[1]}"
        )
    rows: dict[str, dict[float, list[int]]] = {}
    for (target, slowdown), tally in report.detection.items():
        label = "whole run" if target == RUN else band_of(statistics.median(report.job_spreads[target]))
        cell = rows.setdefault(label, {}).setdefault(slowdown, [0, 0])
        cell[0] += tally[0]
        cell[1] += tally[1]
    print("detection      " + "".join(f"  +{slowdown * 100:.0f} %      " for slowdown in SLOWDOWNS))
    for label in [*(label for _, label in NOISE_BANDS), "whole run", "all"]:
        cells = (
            {
                slowdown: [sum(row[slowdown][k] for row in rows.values() if slowdown in row) for k in (0, 1)]
                for slowdown in SLOWDOWNS
            }
            if label == "all"
            else rows.get(label)
        )
        if not cells or (label == "all" and len(rows) < 2):
            continue
        print(
            f"{label:<15}"
            + "".join(f"  {percent(*cells[slowdown]):>7} of {cells[slowdown][1]:<4}" for slowdown in SLOWDOWNS)
        )
    if per_job:
        print(f"{'job':<50} {'σ':>6} " + " ".join(f"+{slowdown * 100:.0f} %" for slowdown in SLOWDOWNS))
        for target in sorted(report.job_spreads, key=lambda name: statistics.median(report.job_spreads[name])):
            cells = " ".join(percent(*report.detection[(target, slowdown)]).rjust(6) for slowdown in SLOWDOWNS)
            print(f"{target[:50]:<50} {statistics.median(report.job_spreads[target]):6.3f} {cells}")


def print_each_job(reports: Sequence[SeriesReport]) -> None:
    """One line per job replayed as its own series, then the false alarms and detection by noise band."""
    print(f"\n== each job as its own series: {len(reports)} series")
    print(f"{'series':<50} {'σ':>6} {'false alarms':>13} {'re-runs':>8} {'+30 %':>7} {'+50 %':>7} {'smallest':>9}")
    bands: dict[str, list[int]] = {}
    for report in sorted(reports, key=lambda report: statistics.median(report.run_spreads)):
        spread = statistics.median(report.run_spreads)
        found = {slowdown: report.detection[(RUN, slowdown)] for slowdown in SLOWDOWNS}
        print(
            f"{report.name[:50]:<50} {spread:6.3f} {report.false_run:>6}/{report.positions:<6} "
            f"{percent(report.confirmations, report.positions):>8} "
            + " ".join(f"{percent(*found[slowdown]):>7}" for slowdown in SLOWDOWNS)
            + f" {statistics.median(report.run_detectable):>+8.0f}%"
        )
        totals = bands.setdefault(band_of(spread), [0, 0, 0, 0, 0, 0])
        for index, value in enumerate((report.false_run, report.positions, *found[SLOWDOWNS[0]], *found[SLOWDOWNS[1]])):
            totals[index] += value
    at_smallest = [sum(report.at_smallest[k] for report in reports) for k in (0, 1)]
    print(f"called at the smallest detectable slowdown claimed (about half expected): {percent(*at_smallest)}")
    for label, (false, positions_, hit_30, tried_30, hit_50, tried_50) in bands.items():
        print(
            f"{label:<15} false alarms {percent(false, positions_)} of {positions_}; "
            f"detected +30 % {percent(hit_30, tried_30)}, +50 % {percent(hit_50, tried_50)}"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=Path, action="append", required=True, help="a series file (repeatable)")
    parser.add_argument("--wall-only", action="store_true", help="ignore the jobs: judge the wall time alone")
    parser.add_argument("--runs", default=":", help="a sub-series as START:END (Python slice of the runs)")
    parser.add_argument("--confirm", choices=("rerun", "never"), default="rerun")
    parser.add_argument("--rounds", type=int, default=1, help="confirmation rounds the budget allows (default 1)")
    parser.add_argument("--per-job", action="store_true", help="detection per job")
    parser.add_argument(
        "--each-job", action="store_true", help="also replay each job of median ≥ 300 s as a series of its own"
    )
    args = parser.parse_args(argv)
    start, _, end = args.runs.partition(":")
    runs = slice(int(start) if start else None, int(end) if end else None)
    for path in args.series:
        series = load_series(path, wall_only=args.wall_only, runs=runs)
        view = " (wall only)" if args.wall_only else ""
        label = f"{path.stem}{view}, runs [{args.runs}], confirm: {args.confirm}"
        confirm = args.confirm == "rerun"
        print_report(replay(label, series, confirm=confirm, rounds=args.rounds), per_job=args.per_job)
        if args.each_job:
            print_each_job(
                [
                    replay(name, own, confirm=confirm, rounds=args.rounds)
                    for name, own in job_series(load_series(path, wall_only=False, runs=runs)).items()
                ]
            )


if __name__ == "__main__":
    main()
