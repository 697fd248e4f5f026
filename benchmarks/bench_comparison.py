"""Benchmark: one comparison (compare_run + render_comment + render_check_run) against a 50-run baseline.

The data is a workflow of 30 jobs × 20 steps; the baseline holds 50 runs of it, built as GitHub REST
JSON and read with `run_from_github`. The reference, measured in the same process, is `json.dumps` of
that same JSON (the current run and the 50 baseline runs with all their jobs), so the ratio says how
many times longer a comparison takes than serialising its input once. Target: < 20 ms per comparison.
"""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.comparison import ComparisonOptions, compare_run, render_check_run, render_comment, run_from_github

BASELINE_RUNS = 50
JOBS = 30
STEPS = 20
REPEATS = 30
TARGET_MS = 20.0
START = datetime(2026, 11, 1, tzinfo=UTC)


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def github_run(rng: random.Random, run_id: int, slowdown: float = 1.0) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A `workflow-run` object and its `job` objects with log-normal step durations."""
    created = START + timedelta(hours=run_id)
    jobs, longest = [], 0.0
    for job_index in range(JOBS):
        job_created = created + timedelta(seconds=2)
        clock = job_created + timedelta(seconds=rng.uniform(2, 20))
        job_started = clock
        steps = []
        for step_index in range(STEPS):
            seconds = round(10 * (1 + step_index % 4) * slowdown * rng.lognormvariate(0, 0.1))
            steps.append({
                "name": f"Step {step_index}", "status": "completed", "conclusion": "success", "number": step_index + 1,
                "started_at": _timestamp(clock), "completed_at": _timestamp(clock + timedelta(seconds=seconds)),
            })
            clock += timedelta(seconds=seconds)
        longest = max(longest, (clock - created).total_seconds())
        jobs.append({
            "id": run_id * 100 + job_index, "run_id": run_id, "name": f"test (ubuntu-latest, 3.{job_index})",
            "status": "completed", "conclusion": "success", "run_attempt": 1,
            "created_at": _timestamp(job_created), "started_at": _timestamp(job_started),
            "completed_at": _timestamp(clock), "steps": steps,
            "html_url": f"https://github.com/o/r/actions/runs/{run_id}/job/{run_id * 100 + job_index}",
        })
    run = {
        "id": run_id, "name": "CI", "path": ".github/workflows/ci.yml", "workflow_id": 1, "head_sha": f"{run_id:040x}",
        "head_branch": "main", "event": "push", "status": "completed", "conclusion": "success", "run_attempt": 1,
        "created_at": _timestamp(created), "run_started_at": _timestamp(created),
        "updated_at": _timestamp(created + timedelta(seconds=longest + 10)),
        "html_url": f"https://github.com/o/r/actions/runs/{run_id}",
    }
    return run, jobs


def median_milliseconds(*actions: Callable[[], object], repeats: int = REPEATS) -> list[float]:
    """Median wall time in milliseconds of each action over `repeats` rounds.

    The actions alternate within each round (after one warm-up call each), so load from other
    processes on this noisy machine hits all of them alike and the ratio between them stays fair.
    """
    for action in actions:
        action()
    timings: list[list[float]] = [[] for _ in actions]
    for _ in range(repeats):
        for action, samples in zip(actions, timings):
            started = time.perf_counter()
            action()
            samples.append((time.perf_counter() - started) * 1000.0)
    return [statistics.median(samples) for samples in timings]


def main() -> None:
    rng = random.Random(7)
    baseline_json = [github_run(rng, run_id) for run_id in range(1, BASELINE_RUNS + 1)]
    current_json = github_run(rng, 1000, slowdown=1.3)
    baseline = [run_from_github(run, jobs) for run, jobs in baseline_json]
    current = run_from_github(*current_json)
    options = ComparisonOptions()
    marker = "<!-- ci-orchestrator:comparison workflow=1 -->"

    def one_comparison() -> None:
        comparison = compare_run(current, baseline, options)
        render_comment(comparison, marker=marker)
        render_check_run(comparison, fail_on="regression")

    comparison_ms, reference_ms = median_milliseconds(
        one_comparison, lambda: json.dumps([current_json, *baseline_json])
    )
    comparison = compare_run(current, baseline, options)
    print(f"baseline: {BASELINE_RUNS} runs × {JOBS} jobs × {STEPS} steps; verdict: {comparison.wall_time.verdict}")
    print(f"compare_run + render_comment + render_check_run: {comparison_ms:.2f} ms per comparison "
          f"(median of {REPEATS}; target < {TARGET_MS:.0f} ms: {'met' if comparison_ms < TARGET_MS else 'MISSED'})")
    print(f"reference json.dumps of the same GitHub JSON: {reference_ms:.2f} ms; "
          f"ratio {comparison_ms / reference_ms:.1f}×")


if __name__ == "__main__":
    main()
