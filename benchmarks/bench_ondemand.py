"""GitHub calls per leg of an on-demand test session, by route: the App against the local GitHub.

A comment `/ci test` starts a session of N legs (a matrix of two inputs); the legs' runs are then played one
after the other, `--spacing` seconds apart, each sending its `workflow_run` and `workflow_job` deliveries as
GitHub does. Every REST call the App makes is counted by route. Targets (issue #14): dispatches and writes
≤ 2 per leg (from 6 legs on: a session's ~6 fixed writes are shared by its legs), plus at most one check-run
edit per 5 s of activity (the time from the first dispatch to the last
leg's completion); no polling (no GET of runs or jobs).

    python benchmarks/bench_ondemand.py [--legs 6,24] [--spacing 0.5]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app.server import STATE, create_app  # noqa: E402
from bot.app.settings import Secret, Settings  # noqa: E402
from bot.testing.simulator import GitHubSimulator, JobSpec, StepSpec, new_app_private_key  # noqa: E402

WORKFLOW = """\
name: CI
on:
  workflow_dispatch:
    inputs:
      python-version: {required: true}
      os: {required: true}
jobs:
  test:
    runs-on: ${{ inputs.os }}
    steps:
      - run: pytest
"""
WRITES = ("POST", "PATCH", "PUT", "DELETE")
DISPATCH_ROUTE = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
CHECK_RUN_EDIT = ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")


def suites(legs: int) -> str:
    versions = [f'"3.{n}"' for n in range(legs // 2)]
    return (
        "suites:\n  matrix:\n    workflow: ci.yml\n    matrix:\n"
        f"      python-version: [{', '.join(versions)}]\n      os: [ubuntu-latest, macos-latest]\n"
        "max_legs: 256\n"
    )


async def session(legs: int, spacing: float) -> tuple[dict[tuple[str, str], int], float]:
    """Calls by (method, route) for one session of `legs` legs, and its seconds of activity."""
    key, secret = new_app_private_key(), "bench-secret"
    github = GitHubSimulator(app_id=1, webhook_secret=secret, private_key_pem=key)
    api_url = await github.start()
    with tempfile.TemporaryDirectory() as data_dir:  # the App's store
        settings = Settings(
            app_id=1,
            private_key=Secret(key),
            webhook_secret=Secret(secret),
            github_api_url=api_url,
            log_level="ERROR",
            data_dir=Path(data_dir),
        )
        app = create_app(settings, rng=random.Random(0))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        github.webhook_url = f"http://{host}:{port}/webhooks"
        try:
            installation = github.add_installation("octo-org")
            repo = github.add_repo("octo-org/app", installation, files={".github/ci-testing.yml": suites(legs)})
            workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=WORKFLOW)
            github.script_dispatches(workflow, lambda inputs: None)  # the benchmark plays the runs itself
            github.set_collaborator(repo, "mona", "write")
            github.commit(repo, "feature", {"src/app.py": "x = 1\n"})
            pr = await github.open_pull_request(repo, "feature", deliver=False)
            dispatcher = app[STATE].dispatcher
            assert dispatcher is not None
            github.calls.clear()
            started = time.monotonic()
            await github.add_issue_comment(pr, "/ci test matrix", user="mona")
            await dispatcher.join()
            await github.played()
            runs = sorted(github.runs(repo), key=lambda run: run.id)
            for run in runs:
                await asyncio.sleep(spacing)
                steps = [StepSpec("Run pytest", 60)]
                await github.play_run(run, [JobSpec("test", duration=60, steps=steps)])
            await dispatcher.join()
            activity = time.monotonic() - started
            await asyncio.sleep(6)  # the scheduled check publishes what was left batched
            await dispatcher.join()
            checks = [c for c in github.check_runs_for(repo, pr.head_sha) if c.name == "test suite: matrix"]
            assert len(checks) == 1 and checks[0].conclusion == "success", checks
            return dict(github.calls), activity
        finally:
            await runner.cleanup()
            await github.close()


def report(legs: int, calls: dict[tuple[str, str], int], activity: float) -> bool:
    print(f"\nsession of {legs} legs, {activity:.1f} s of activity")
    print(f"{'method':6} {'route':70} {'calls':>5} {'per leg':>8}")
    for (method, route), count in sorted(calls.items(), key=lambda item: (-item[1], item[0])):
        print(f"{method:6} {route:70} {count:5d} {count / legs:8.2f}")
    writes = sum(count for (method, _), count in calls.items() if method in WRITES)
    edits = calls.get(CHECK_RUN_EDIT, 0)
    polls = sum(count for (method, route), count in calls.items() if method == "GET" and "/actions/runs" in route)
    allowed_edits = max(1, int(activity // 5) + 1)
    per_leg = (writes - edits) / legs
    print(f"dispatches and writes other than check-run edits: {writes - edits} = {per_leg:.2f} per leg (target ≤ 2)")
    print(f"check-run edits: {edits} for {activity:.1f} s of activity, at most {allowed_edits} allowed (1 per 5 s)")
    print(f"polling calls (GET of runs or jobs): {polls} (target 0)")
    ok = per_leg <= 2 and edits <= allowed_edits and polls == 0
    print("PASS" if ok else "FAIL")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--legs", default="6,24", help="comma-separated session sizes (even numbers)")
    parser.add_argument("--spacing", type=float, default=0.5, help="seconds between two legs' runs")
    args = parser.parse_args()
    results = [report(n, *asyncio.run(session(n, args.spacing))) for n in (int(x) for x in args.legs.split(","))]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
