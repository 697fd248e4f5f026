"""Test helpers: keys, settings, signed deliveries built from GitHub's official example payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
import tempfile
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.app.settings import Secret, Settings
from bot.testing.simulator import new_app_private_key

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_SECRET = "test-webhook-secret"


@lru_cache(maxsize=1)
def private_key_pem() -> str:
    return new_app_private_key()


def make_settings(api_url: str = "http://127.0.0.1:9", **overrides: Any) -> Settings:
    """Settings for an App under test; its SQLite store goes to a fresh temporary directory unless told otherwise."""
    values: dict[str, Any] = {
        "data_dir": Path(tempfile.mkdtemp(prefix="ci-orchestrator-test-")),
        "app_id": 1,
        "private_key": Secret(private_key_pem()),
        "webhook_secret": Secret(WEBHOOK_SECRET),
        "github_api_url": api_url,
        "shutdown_grace_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


def official_payload(event: str, name: str, *, installation_id: int | None = 1) -> dict[str, Any]:
    """One of GitHub's official example bodies, with `installation` added as App deliveries have."""
    data = json.loads((FIXTURES / "github-webhooks" / event / name).read_text())
    if installation_id is not None:
        data["installation"] = {"id": installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    return data


def signed_headers(
    event: str, body: bytes, *, delivery_id: str | None = None, secret: str = WEBHOOK_SECRET
) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={signature}",
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
    }


CI_WORKFLOW = """name: CI
on:
  push:
    branches: [main]
  pull_request:
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
      - run: make build
  test:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
      - run: make test
"""


def ci_jobs(
    build: float = 300.0,
    test: float = 200.0,
    *,
    test_conclusion: str = "success",
    queue: float = 5.0,
    test_name: str = "test",
):
    """The jobs of one CI run: `build` and `test`, each with checkout and one work step."""
    from bot.testing.simulator import JobSpec, StepSpec

    def steps(total: float, work: str, conclusion: str = "success"):
        return [StepSpec("Run actions/checkout@v4", 5.0), StepSpec(work, total - 5.0, conclusion)]

    return [
        JobSpec("build", duration=build, queue=queue, steps=steps(build, "make build")),
        JobSpec(
            test_name,
            duration=test,
            queue=queue,
            conclusion=test_conclusion,
            steps=steps(test, "make test", test_conclusion),
        ),
    ]


def add_runs_on_main(github, repo, workflow, jobs_of_run, count: int = 20, *, start=None):
    """`count` completed push runs on main, one an hour from `start` (1 November), with the jobs `jobs_of_run(i)`."""
    import datetime as dt

    start = start or dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    runs = []
    for i in range(count):
        sha = github.commit(repo, "main", {"src/app.py": f"version = {i}\n"}, message=f"Change {i}")
        runs.append(
            github.add_run(
                repo,
                workflow,
                head_sha=sha,
                head_branch="main",
                event="push",
                created_at=start + dt.timedelta(hours=i),
                jobs=jobs_of_run(i),
            )
        )
    return runs


def add_baseline(github, repo, workflow, count: int = 20, *, seed: int = 7, start=None, **job_options):
    """`count` completed push runs on main, one an hour, with ±5 % noise: the base branch's history."""
    import random as rnd

    rng = rnd.Random(seed)
    build, test = job_options.pop("build", 300.0), job_options.pop("test", 200.0)
    return add_runs_on_main(
        github,
        repo,
        workflow,
        lambda _: ci_jobs(build * rng.uniform(0.95, 1.05), test * rng.uniform(0.95, 1.05), **job_options),
        count,
        start=start,
    )
