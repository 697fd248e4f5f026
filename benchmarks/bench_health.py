"""Health reports: how well change points are found, what they find in real CI timings, and how long a report takes.

    python benchmarks/bench_health.py                       # all three parts (about 10 minutes, most of it filling
                                                            # the store; --database keeps it for the next run)
    python benchmarks/bench_health.py --parts detection --seeds 500
    python benchmarks/bench_health.py --parts report --runs 50000 --jobs-per-run 20 --database /tmp/health.sqlite3

1. detection: synthetic series (log-normal durations, σ of log-duration 0.10 or 0.30, or 0.10 with 5 % of runs
   3–6× slower, as slow runners make them) with a step at a known run, over `--seeds` seeds each: the share of
   series where the change is found within 3 runs of where it is, where changes are found only further away,
   and where a false change is reported (any change in a series without one, or more than one in a series with
   one). Same rules as the report: α = 0.05 shared over 20 series (0.0025 each), 5 runs on each side, at least
   10 % and 30 s.
2. replay: the change points found in tests/fixtures/ci-timings/bitcoin_ci_master.json (87 successful runs of
   bitcoin/bitcoin's CI on master, 18 jobs each) in the wall time and each job's duration.
3. report: a store with `--runs` runs and `--runs × --jobs-per-run` jobs over 180 days (five workflows, 30 % of
   runs on the default branch, a flaky job per workflow, one slowdown), then the report of the last 30 days:
   queries, analysis and the three renderings, best of 3. Reference in the same run: one full read of the
   window's jobs (`count` and `sum` of their run seconds), the least any report that reads every job must do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bot.health import HealthOptions, build_report
from bot.health.changepoints import find_changes
from bot.health.export import report_json
from bot.health.html import render_html
from bot.health.markdown import render_markdown
from bot.store import Installation, Repository, Store, database_url, schema
from bot.testing.history import Incidents, SyntheticHistory, SyntheticJob

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "ci-timings" / "bitcoin_ci_master.json"
SERIES_IN_A_REPORT = 20
RULES = {
    "level": 0.05 / SERIES_IN_A_REPORT,
    "min_segment": 5,
    "threshold_percent": 10.0,
    "threshold_seconds": 30.0,
}
NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)


# ---- 1. detection ------------------------------------------------------------------------------------------------


def synthetic(rng: random.Random, before: int, after: int, change: float, noise: str) -> list[float]:
    """`before` runs around 600 s, then `after` runs around 600 × (1 + change)."""
    sigma = 0.3 if noise == "σ 0.30" else 0.1
    values = []
    for index in range(before + after):
        value = 600.0 * (1 + change * (index >= before)) * math.exp(rng.gauss(0, sigma))
        if noise == "σ 0.10 + 5 % slow runners" and rng.random() < 0.05:
            value *= rng.uniform(3, 6)
        values.append(value)
    return values


def detection(seeds: int) -> None:
    print(f"\n1. Change points in synthetic series, {seeds} seeds per row (α {RULES['level']:g} per series)")
    print(
        f"{'noise':<28} {'runs before+after':>17} {'true change':>11} {'found ±3 runs':>13} {'found elsewhere':>15} "
        f"{'false changes':>13}"
    )
    for noise in ("σ 0.10", "σ 0.30", "σ 0.10 + 5 % slow runners"):
        for before, after in ((30, 30), (60, 15), (100, 100)):
            for change in (0.0, 0.1, 0.2, 0.3, 0.5):
                detected = elsewhere = false = 0
                for seed in range(seeds):
                    values = synthetic(random.Random(seed), before, after, change, noise)
                    found = [split.index for split in find_changes(values, **RULES)]
                    near = [index for index in found if abs(index - before) <= 3]
                    detected += bool(change and near)
                    elsewhere += bool(change and found and not near)
                    # A series without a change: any change is false. With one: any beyond the one found near it.
                    false += bool(len(found) > 1 or (found and not change))

                def share(count: int) -> str:
                    return f"{100 * count / seeds:.1f} %"

                print(
                    f"{noise:<28} {f'{before}+{after}':>17} {f'+{100 * change:.0f} %':>11} "
                    f"{share(detected) if change else '–':>13} {share(elsewhere) if change else '–':>15} "
                    f"{share(false):>13}"
                )


# ---- 2. replay ---------------------------------------------------------------------------------------------------


def replay() -> None:
    document = json.loads(FIXTURE.read_text())
    runs = sorted(document["runs"], key=lambda run: run["t"])
    jobs = sorted({name for run in runs for name in run["jobs"]})
    series = {"wall time": [(run["t"], run["id"], float(run["wall"])) for run in runs]}
    for name in jobs:
        series[name] = [(run["t"], run["id"], float(run["jobs"][name])) for run in runs if name in run["jobs"]]
    level = 0.05 / len(series)
    print(f"\n2. Replay of {FIXTURE.name}: {len(runs)} runs, {len(series)} series, α 0.05 shared ({level:.2g} each)")
    found_any = 0
    for name, points in series.items():
        values = [value for _t, _id, value in points]
        splits = find_changes(values, **{**RULES, "level": level})
        found_any += bool(splits)
        for split in splits:
            moment, run_id, _value = points[split.index]
            day = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d")
            change = 100 * (split.after_median / split.before_median - 1)
            print(
                f"  {name[:48]:<48} run {split.index + 1:>2}/{len(points)} ({day}, id {run_id}): "
                f"{split.before_median:7.0f} s → {split.after_median:7.0f} s ({change:+.0f} %), p = {split.p_value:.1e}"
            )
    print(f"  change points in {found_any} of {len(series)} series; the others: none")


# ---- 3. report ---------------------------------------------------------------------------------------------------


async def fill(store: Store, runs: int, jobs_per_run: int) -> None:
    repository = Repository(42, "octo-org/big", 7, "main")
    jobs = [
        SyntheticJob(f"job {i}", 60 + 37 * i, ("windows-latest",) if i % 4 == 0 else ("ubuntu-latest",))
        for i in range(jobs_per_run)
    ]
    workflows = 5
    per_day = runs / workflows / 180
    for number in range(workflows):
        history = SyntheticHistory(
            repository,
            Installation(7, "octo-org"),
            NOW,
            days=180,
            runs_per_day=0.3 * per_day,
            pr_runs_per_day=0.7 * per_day,
            workflow_id=100 + number,
            workflow_name=f"workflow {number}",
            workflow_path=f".github/workflows/w{number}.yml",
            jobs=jobs,
            incidents=Incidents(slow_job="job 5", slow_from_day=160, flaky_job="job 3", flaky_probability=0.1),
            first_run_id=10_000_000 * (number + 1),
            seed=number,
        )
        batch: list = []
        for event in history.events():
            batch.append(event)
            if len(batch) >= 20_000:
                await store.ingest(batch)
                batch = []
        await store.ingest(batch)
        print(f"  filled workflow {number + 1}/{workflows}", flush=True)


async def report(database: Path | None, runs: int, jobs_per_run: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-health-"))
    url = database_url(None, folder) if database is None else f"sqlite+aiosqlite:///{database}"
    store = await Store.open(url)
    try:
        counts = await store.counts()
        if counts["jobs"] == 0:
            started = time.perf_counter()
            await fill(store, runs, jobs_per_run)
            counts = await store.counts()
            print(f"  filled in {time.perf_counter() - started:.0f} s")
        print(f"\n3. Report of a repository with {counts['runs']:,} run attempts and {counts['jobs']:,} jobs ({url})")
        options = HealthOptions()
        jobs = schema.jobs
        window_scan = select(func.count(), func.sum(jobs.c.duration_seconds)).where(
            jobs.c.repository_id == 42, jobs.c.created_at >= NOW - timedelta(days=30), jobs.c.created_at < NOW
        )
        reference, timings = [], []
        for _ in range(3):
            started = time.perf_counter()
            async with store.engine.connect() as connection:
                window_jobs = (await connection.execute(window_scan)).first()
            reference.append(time.perf_counter() - started)
            started, cpu_started = time.perf_counter(), time.process_time()
            data = await store.health.health_data(42, "octo-org/big", "main", now=NOW, options=options)
            queried = time.perf_counter()
            built = build_report(data, options)
            analysed = time.perf_counter()
            sizes = (len(render_markdown(built)), len(render_html(built)), len(json.dumps(report_json(built))))
            cpu = time.process_time() - cpu_started  # this process, SQLite's thread included
            timings.append((time.perf_counter() - started, queried - started, analysed - queried, sizes, cpu))
        best = min(timings)
        print(f"  window: {window_jobs[0]:,} jobs; default-branch runs read: {len(data.runs):,}; series points: "
              f"{len(data.job_points):,}; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        print(f"  report, best of 3: {best[0]:.2f} s (queries {best[1]:.2f} s, analysis {best[2]:.2f} s, rendering "
              f"{best[0] - best[1] - best[2]:.2f} s); target < 2 s")  # fmt: skip
        print(f"  CPU time of that report (SQLite's thread included; what it takes on an idle machine): "
              f"{best[4]:.2f} s")  # fmt: skip
        print(f"  reference (one read of the window's jobs): {min(reference):.2f} s; report ÷ reference: "
              f"{best[0] / min(reference):.1f}×")  # fmt: skip
        print(f"  markdown {best[3][0]:,} characters, HTML {best[3][1]:,}, JSON {best[3][2]:,}; median of 3 "
              f"{statistics.median(t[0] for t in timings):.2f} s")  # fmt: skip
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="detection,replay,report", help="any of detection, replay, report")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=50_000)
    parser.add_argument("--jobs-per-run", type=int, default=20)
    parser.add_argument("--database", type=Path, help="a SQLite file to fill once and reuse (default: a new one)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    if "detection" in parts:
        detection(args.seeds)
    if "replay" in parts:
        replay()
    if "report" in parts:
        asyncio.run(report(args.database, args.runs, args.jobs_per_run))
    return 0


if __name__ == "__main__":
    sys.exit(main())
