"""Benchmark: one comparison against a 50-run baseline, and the GitHub calls the App makes per PR event.

Part 1 times the pure core (compare_run + render_comment + render_check_run). The data is a workflow
of 30 jobs × 20 steps; the baseline holds 50 runs of it, built as GitHub REST JSON and read with
`run_from_github`. The reference, measured in the same process, is `json.dumps` of that same JSON (the
current run and the 50 baseline runs with all their jobs), so the ratio says how many times longer a
comparison takes than serialising its input once. Target: < 20 ms per comparison.

Run `python -m benchmarks.bench_comparison` from the repository root.

Part 2 runs the whole App in-process against the local GitHub simulator (both on 127.0.0.1) with the
same shape of baseline and counts the REST calls each pull request `workflow_run` event costs, from
the simulator's own call log: cold (first event, nothing cached), then warm (baseline and config
cached) for a second PR on the same base, a new push to the first PR, and a re-run of that push.
Target: ≤ 4 calls per PR event when the baseline is cached.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app.server import STATE
from bot.comparison import ComparisonOptions, compare_run, render_check_run, render_comment
from bot.github.records import run_from_github
from bot.testing.demo import app_on_local_github
from bot.testing.simulator import GitHubSimulator, JobSpec, StepSpec, WorkflowRun

BASELINE_RUNS = 50
JOBS = 30
STEPS = 20
REPEATS = 30
TARGET_MS = 20.0
TARGET_WARM_CALLS = 4
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
            steps.append(
                {
                    "name": f"Step {step_index}",
                    "status": "completed",
                    "conclusion": "success",
                    "number": step_index + 1,
                    "started_at": _timestamp(clock),
                    "completed_at": _timestamp(clock + timedelta(seconds=seconds)),
                }
            )
            clock += timedelta(seconds=seconds)
        longest = max(longest, (clock - created).total_seconds())
        jobs.append(
            {
                "id": run_id * 100 + job_index,
                "run_id": run_id,
                "name": f"test (ubuntu-latest, 3.{job_index})",
                "status": "completed",
                "conclusion": "success",
                "run_attempt": 1,
                "created_at": _timestamp(job_created),
                "started_at": _timestamp(job_started),
                "completed_at": _timestamp(clock),
                "steps": steps,
                "html_url": f"https://github.com/o/r/actions/runs/{run_id}/job/{run_id * 100 + job_index}",
            }
        )
    run = {
        "id": run_id,
        "name": "CI",
        "path": ".github/workflows/ci.yml",
        "workflow_id": 1,
        "head_sha": f"{run_id:040x}",
        "head_branch": "main",
        "event": "push",
        "status": "completed",
        "conclusion": "success",
        "run_attempt": 1,
        "created_at": _timestamp(created),
        "run_started_at": _timestamp(created),
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
        for action, samples in zip(actions, timings, strict=False):
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
    print(
        f"compare_run + render_comment + render_check_run: {comparison_ms:.2f} ms per comparison "
        f"(median of {REPEATS}; target < {TARGET_MS:.0f} ms: {'met' if comparison_ms < TARGET_MS else 'MISSED'})"
    )
    print(
        f"reference json.dumps of the same GitHub JSON: {reference_ms:.2f} ms; "
        f"ratio {comparison_ms / reference_ms:.1f}×"
    )


# ---- part 2: GitHub calls per pull request `workflow_run` event ------------------------------------------------


def simulated_jobs(rng: random.Random, slowdown: float = 1.0) -> list[JobSpec]:
    """30 jobs × 20 steps with log-normal step durations; `slowdown` stretches job 0 only."""
    jobs = []
    for job_index in range(JOBS):
        factor = slowdown if job_index == 0 else 1.0
        steps = [
            StepSpec(f"Step {i}", round(10 * (1 + i % 4) * factor * rng.lognormvariate(0, 0.1))) for i in range(STEPS)
        ]
        jobs.append(
            JobSpec(
                f"job-{job_index:02d}",
                duration=sum(step.duration for step in steps),
                queue=rng.uniform(2, 20),
                steps=steps,
            )
        )
    return jobs


def simulated_workflow() -> str:
    jobs = "".join(
        f"  job-{i:02d}:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make part-{i}\n" for i in range(JOBS)
    )
    return f"name: CI\non: [push, pull_request]\njobs:\n{jobs}"


async def calls_of(
    github: GitHubSimulator, settle: Callable[[], Awaitable[None]], delivering: Awaitable[object]
) -> Counter:
    """The REST calls the App made while handling what `delivering` delivers."""
    before = Counter(github.calls)
    await delivering
    await settle()
    return Counter(github.calls) - before


async def count_calls_per_event() -> list[tuple[str, Counter]]:
    """Play the PR events against the simulator; the calls of each `workflow_run` event, in order."""
    async with app_on_local_github() as (github, app, _):
        settle = app[STATE].dispatcher.join
        rng = random.Random(11)
        installation = github.add_installation("octo-org")
        config = f"comparison:\n  baseline_runs: {BASELINE_RUNS}\n"  # all 50 runs, not the default 20
        repo = github.add_repo(
            "octo-org/app", installation, files={"README.md": "hi\n", ".github/ci-orchestrator.yml": config}
        )
        workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=simulated_workflow())
        for i in range(BASELINE_RUNS):
            sha = github.commit(repo, "main", {"src/app.py": f"version = {i}\n"}, message=f"Change {i}")
            github.add_run(
                repo,
                workflow,
                head_sha=sha,
                head_branch="main",
                event="push",
                created_at=START + timedelta(hours=i),
                jobs=simulated_jobs(rng),
            )

        async def pr_run(branch: str, *, new_push: bool, hours_later: int) -> WorkflowRun:
            """Open a PR from `branch` (or push to it again), uncounted; its completed run, still to deliver."""
            if new_push:
                pr = next(p for p in github.state.pulls.values() if p.head_branch == branch)
                await github.synchronize(pr, {"src/app.py": f"again = {rng.random()}\n"})
            else:
                github.commit(repo, branch, {"src/app.py": f"branch = {branch!r}\n"})
                pr = await github.open_pull_request(repo, branch)
            await settle()
            created_at = START + timedelta(hours=BASELINE_RUNS + hours_later)
            return github.add_run(
                repo,
                workflow,
                head_sha=pr.head_sha,
                head_branch=branch,
                event="pull_request",
                created_at=created_at,
                jobs=simulated_jobs(rng, slowdown=2.0),
            )

        first = await pr_run("first", new_push=False, hours_later=1)
        results = [
            (
                "cold: first PR's run (nothing cached)",
                await calls_of(github, settle, github.deliver_workflow_run(first)),
            )
        ]
        second = await pr_run("second", new_push=False, hours_later=2)
        results.append(
            (
                "warm: a second PR's run on the same base",
                await calls_of(github, settle, github.deliver_workflow_run(second)),
            )
        )
        pushed = await pr_run("first", new_push=True, hours_later=3)
        results.append(
            (
                "warm: first PR's run after a new push",
                await calls_of(github, settle, github.deliver_workflow_run(pushed)),
            )
        )
        rerun = github.rerun(
            pushed, simulated_jobs(rng, slowdown=2.0), started_at=START + timedelta(hours=BASELINE_RUNS + 4)
        )
        results.append(("warm: re-run of that push (attempt 2)", await calls_of(github, settle, rerun)))
        comments = [c for c in github.state.comments.values() if "ci-orchestrator:comparison" in c.body]
        checks = [c for c in github.state.check_runs.values() if c.name == "CI comparison: CI"]
        if len(comments) != 2 or len(checks) != 3:  # one comment per PR, one check run per head commit
            raise RuntimeError(
                f"the App posted {len(comments)} comparison comments and {len(checks)} check runs, expected 2 and 3"
            )
        return results


def print_calls_table(results: list[tuple[str, Counter]]) -> None:
    width = max(len(label) for label, _ in results)
    print(
        f"\nGitHub calls per PR workflow_run event ({BASELINE_RUNS}-run baseline, {JOBS} jobs × {STEPS} steps; "
        f"target ≤ {TARGET_WARM_CALLS} when warm)"
    )
    print(f"{'event':<{width}}  calls  {'':6}  by route")
    for label, calls in results:
        total = sum(calls.values())
        verdict = "" if label.startswith("cold") else ("met" if total <= TARGET_WARM_CALLS else "MISSED")
        routes = ", ".join(
            f"{method} {route.removeprefix('/repos/{owner}/{repo}')} ×{n}"
            for (method, route), n in sorted(calls.items())
        )
        print(f"{label:<{width}}  {total:>5}  {verdict:<6}  {routes}")


if __name__ == "__main__":
    main()
    print_calls_table(asyncio.run(count_calls_per_event()))
