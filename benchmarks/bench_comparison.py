"""Benchmark: one comparison against a 50-run baseline, and the GitHub calls the App makes per PR event.

Part 1 times the pure core (compare_run + render_comment + render_check_run). The data is a workflow
of 30 jobs × 20 steps; the baseline holds 50 runs of it, built as GitHub REST JSON and read with
`run_from_github`. The reference, measured in the same process, is `json.dumps` of that same JSON (the
current run and the 50 baseline runs with all their jobs), so the ratio says how many times longer a
comparison takes than serialising its input once. Target: < 20 ms per comparison.

Run `python -m benchmarks.bench_comparison` from the repository root.

Part 2 runs the whole App in-process against the local GitHub simulator (both on 127.0.0.1), with its
history store, and counts the REST calls each pull request run costs (its `workflow_job` deliveries and its
`workflow_run` `completed`), from the simulator's own call log, by route. The App is installed on an
organization with two repositories of 20 runs each on main (30 jobs × 20 steps) and backfills them; then,
cold (first event of each repository, config not read yet), a run with nothing flagged and one with a job
twice as slow; warm, a second PR's run, a new push to a PR and a re-run of that push. `comment: always`, so
that both writes happen on every event. Targets: cold ≤ 4 after the backfill, warm ≤ 2 (the writes).
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's code, not an installed copy

from bot.app.server import STATE
from bot.comparison import ComparisonOptions, compare_run, render_check_run, render_comment
from bot.github.records import run_from_github
from bot.testing.demo import app_on_local_github
from bot.testing.simulator import GitHubSimulator, JobSpec, StepSpec, WorkflowRun

BASELINE_RUNS = 50
HISTORY_RUNS = 20  # part 2: runs on main per repository, the default baseline
JOBS = 30
STEPS = 20
REPEATS = 30
TARGET_MS = 20.0
TARGET_WARM_CALLS = 2  # the writes: the comment and the check run
TARGET_COLD_CALLS = 4
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
    github: GitHubSimulator, settle: Callable[[], Awaitable[None]], *deliveries: Awaitable[object]
) -> Counter:
    """The REST calls the App made while handling what `deliveries` deliver."""
    before = Counter(github.calls)
    for delivering in deliveries:
        await delivering
    await settle()
    return Counter(github.calls) - before


async def count_calls_per_event() -> list[tuple[str, Counter]]:
    """Install the App, let it backfill, then play pull-request runs; the calls of each run's deliveries (its
    `workflow_job` events and its `workflow_run` `completed`), in order."""
    async with app_on_local_github() as (github, app, _):
        state = app[STATE]

        async def settle() -> None:
            await state.dispatcher.join()
            await state.services.backfills.join()
            await state.dispatcher.join()

        rng = random.Random(11)
        installation = github.add_installation("octo-org")
        config = "comparison:\n  comment: always\n"  # the comment is posted for unflagged runs too: both writes
        repos, workflows = [], []
        for name in ("octo-org/app", "octo-org/lib"):
            repo = github.add_repo(
                name, installation, files={"README.md": "hi\n", ".github/ci-orchestrator.yml": config}
            )
            workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=simulated_workflow())
            for i in range(HISTORY_RUNS):
                sha = github.commit(repo, "main", {"src/app.py": f"version = {i}\n"}, message=f"Change {i}")
                created = datetime.now(UTC) - timedelta(hours=HISTORY_RUNS + 10 - i)
                github.add_run(
                    repo, workflow, head_sha=sha, head_branch="main", created_at=created, jobs=simulated_jobs(rng)
                )
            repos.append(repo)
            workflows.append(workflow)
        results = [
            (
                f"backfill at installation: 2 repositories × {HISTORY_RUNS} runs (once)",
                await calls_of(github, settle, github.deliver_installation_created(installation)),
            )
        ]

        async def pr_run(repo, workflow, branch: str, *, slowdown: float, new_push: bool = False) -> WorkflowRun:
            """Open a PR from `branch` (or push to it again), uncounted; its completed run, still to deliver."""
            if new_push:
                pr = next(p for p in github.state.pulls.values() if p.repo is repo and p.head_branch == branch)
                await github.synchronize(pr, {"src/app.py": f"again = {rng.random()}\n"})
            else:
                github.commit(repo, branch, {"src/app.py": f"branch = {branch!r}\n"})
                pr = await github.open_pull_request(repo, branch)
            await settle()
            return github.add_run(
                repo,
                workflow,
                head_sha=pr.head_sha,
                head_branch=branch,
                event="pull_request",
                created_at=datetime.now(UTC),
                jobs=simulated_jobs(rng, slowdown=slowdown),
            )

        def delivered(run: WorkflowRun) -> tuple[Awaitable[object], Awaitable[object]]:
            return github.deliver_workflow_jobs(run), github.deliver_workflow_run(run)

        (app_repo, lib_repo), (app_workflow, lib_workflow) = repos, workflows
        run = await pr_run(app_repo, app_workflow, "first", slowdown=1.0)
        results.append(
            ("cold: first PR run after the backfill, nothing flagged", await calls_of(github, settle, *delivered(run)))
        )
        run = await pr_run(lib_repo, lib_workflow, "first", slowdown=2.0)
        results.append(
            ("cold: first PR run after the backfill, a job flagged", await calls_of(github, settle, *delivered(run)))
        )
        run = await pr_run(app_repo, app_workflow, "second", slowdown=1.0)
        results.append(("warm: a second PR's run, nothing flagged", await calls_of(github, settle, *delivered(run))))
        pushed = await pr_run(lib_repo, lib_workflow, "first", slowdown=2.0, new_push=True)
        results.append(("warm: a new push to a PR, a job flagged", await calls_of(github, settle, *delivered(pushed))))
        rerun = await github.rerun(pushed, simulated_jobs(rng, slowdown=2.0), deliver=False)
        results.append(("warm: a re-run of that push (attempt 2)", await calls_of(github, settle, *delivered(rerun))))

        comments = [c for c in github.state.comments.values() if "ci-orchestrator:comparison" in c.body]
        checks = [c for c in github.state.check_runs.values() if c.name == "CI comparison: CI"]
        if len(comments) != 3 or len(checks) != 4:  # one comment per PR, one check run per head commit
            raise RuntimeError(
                f"the App posted {len(comments)} comparison comments and {len(checks)} check runs, expected 3 and 4"
            )
        return results


def print_calls_table(results: list[tuple[str, Counter]]) -> None:
    width = max(len(label) for label, _ in results)
    print(
        f"\nGitHub calls per PR workflow_run event (its workflow_job events included; {HISTORY_RUNS}-run baseline, "
        f"{JOBS} jobs × {STEPS} steps; targets: cold ≤ {TARGET_COLD_CALLS} after the backfill, warm ≤ "
        f"{TARGET_WARM_CALLS})"
    )
    print(f"{'event':<{width}}  calls  {'':6}  by route")
    for label, calls in results:
        total = sum(calls.values())
        target = TARGET_COLD_CALLS if label.startswith("cold") else TARGET_WARM_CALLS
        verdict = "" if label.startswith("backfill") else ("met" if total <= target else "MISSED")
        routes = ", ".join(
            f"{method} {route.removeprefix('/repos/{owner}/{repo}')} ×{n}"
            for (method, route), n in sorted(calls.items())
        )
        print(f"{label:<{width}}  {total:>5}  {verdict:<6}  {routes}")


if __name__ == "__main__":
    main()
    print_calls_table(asyncio.run(count_calls_per_event()))
