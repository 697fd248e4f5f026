"""`ci-orchestrator demo`: the App against the built-in local GitHub, end to end, with no credentials or network.

The story: a repository with 20 CI runs on `main`; a pull request that edits the workflow (the review
check annotates the changed lines), adds a job, makes the build slower and one test fail (the comparison
comment and check run say so); a re-run in which the test passes (the comment is updated in place
and calls the test flaky); then `/ci test python-matrix` on the pull request: six legs dispatched, one fails
(the suite's check run and the reply to the comment say so). What the App posted is printed as a person would
read it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import re
import secrets
import sys
import tempfile
import textwrap
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.app.dispatcher import Dispatcher
from bot.app.server import STATE, create_app
from bot.app.settings import Secret, Settings
from bot.flows.test_on_demand import DispatchPolicy
from bot.testing.simulator import GitHubSimulator, JobSpec, PullRequest, Repo, StepSpec, new_app_private_key

WORKFLOW = """\
name: CI
on:
  push:
    branches: [main]
  pull_request:
concurrency:
  group: ci-${{ github.ref }}
  cancel-in-progress: true
jobs:
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - run: pip install -r requirements.txt
      - run: python -m build
  test:
    runs-on: ubuntu-latest
    timeout-minutes: 30
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - run: pip install -r requirements.txt
      - run: python -m pytest
"""

# The pull request checks out the full history in `build` and adds a `lint` job (no timeout, no pip cache).
PR_WORKFLOW = (
    WORKFLOW.replace(
        """      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - run: pip install -r requirements.txt
      - run: python -m build""",
        """      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
          cache: pip
      - run: pip install -r requirements.txt
      - run: python -m build""",
    )
    + """  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install ruff
      - run: ruff check .
"""
)


MATRIX_WORKFLOW = """\
name: Matrix
run-name: Python ${{ inputs.python-version }} on ${{ inputs.os }}
on:
  workflow_dispatch:
    inputs:
      python-version: {required: true}
      os: {type: choice, options: [ubuntu-latest, macos-latest]}
jobs:
  test:
    runs-on: ${{ inputs.os }}
    steps:
      - uses: actions/checkout@v4
      - run: python -m pytest
"""
MATRIX_TEST_LINE = 9  # `test:` in MATRIX_WORKFLOW
SUITES = """\
suites:
  python-matrix:
    workflow: matrix.yml
    matrix:
      python-version: ["3.11", "3.12", "3.13"]
      os: [ubuntu-latest, macos-latest]
    expect: {conclusion: success, max_duration: 15m}
"""


def _matrix_leg(inputs: dict[str, str]) -> list[JobSpec]:
    """A leg of the matrix: Python 3.13 on macOS fails its tests."""
    failing = (inputs.get("python-version"), inputs.get("os")) == ("3.13", "macos-latest")
    conclusion = "failure" if failing else "success"
    duration = 250.0 if inputs.get("os") == "macos-latest" else 180.0
    steps = [StepSpec("Run actions/checkout@v4", 4.0), StepSpec("Run python -m pytest", duration - 4.0, conclusion)]
    return [JobSpec("test", duration=duration, queue=8.0, conclusion=conclusion, steps=steps)]


def _jobs(build: float, test: float, *, test_passes: bool = True, lint: float | None = None) -> list[JobSpec]:
    def steps(work: str, total: float, conclusion: str = "success") -> list[StepSpec]:
        return [
            StepSpec("Run actions/checkout@v4", 4.0),
            StepSpec("Run actions/setup-python@v5", 8.0),
            StepSpec("Run pip install -r requirements.txt", 30.0),
            StepSpec(work, total - 42.0, conclusion),
        ]

    test_conclusion = "success" if test_passes else "failure"
    jobs = [
        JobSpec("build", duration=build, queue=6.0, steps=steps("Run python -m build", build)),
        JobSpec(
            "test",
            duration=test,
            queue=6.0,
            conclusion=test_conclusion,
            steps=steps("Run python -m pytest", test, test_conclusion),
        ),
    ]
    if lint is not None:
        jobs.append(JobSpec("lint", duration=lint, queue=6.0, steps=steps("Run ruff check .", lint)))
    return jobs


def _for_terminal(markdown: str, width: int = 100) -> str:
    """Markdown as a person reads it in a terminal: no HTML comments or tags, long lines wrapped."""
    text = re.sub(r"<!--.*?-->", "", markdown, flags=re.S)
    text = re.sub(r"</?(details|summary)>", "", text)
    lines = []
    for line in text.strip().splitlines():
        if line.startswith("|") or line.startswith("    ") or len(line) <= width:
            lines.append(line)
        else:
            lines.extend(textwrap.wrap(line, width))
    return "\n".join(lines)


def _section(title: str, body: str) -> str:
    bar = "═" * 100
    return f"\n{bar}\n {title}\n{bar}\n{body}\n"


def _check_run_text(check) -> str:
    lines = [
        f"conclusion: {check.conclusion}",
        f"title: {check.output.get('title')}",
        "",
        _for_terminal(check.output.get("summary") or ""),
    ]
    if check.annotations:
        lines += ["", f"annotations ({len(check.annotations)}):"]
        lines += [
            f"  {a.path}:{a.start_line}: {a.annotation_level}: {a.title or ''}: {a.message}" for a in check.annotations
        ]
    return "\n".join(lines)


@contextlib.asynccontextmanager
async def app_on_local_github() -> AsyncIterator[tuple[GitHubSimulator, web.Application, str]]:
    """The local GitHub and the App on loopback (with a store in a temporary directory), wired to each other with a
    generated key and secret."""
    private_key, secret = new_app_private_key(), secrets.token_hex(16)
    github = GitHubSimulator(app_id=1, webhook_secret=secret, private_key_pem=private_key)
    api_url = await github.start()
    with tempfile.TemporaryDirectory(prefix="ci-orchestrator-demo-") as data_dir:  # the store, gone afterwards
        settings = Settings(
            app_id=1,
            private_key=Secret(private_key),
            webhook_secret=Secret(secret),
            github_api_url=api_url,
            log_level="WARNING",
            data_dir=Path(data_dir),
        )
        app = create_app(settings)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        app_url = f"http://{host}:{port}"
        github.webhook_url = f"{app_url}/webhooks"
        services = app[STATE].services
        assert services is not None, "the App has started"
        services.testing = DispatchPolicy(interval_seconds=0.1)  # the local GitHub has no secondary rate limit
        try:
            yield github, app, app_url
        finally:
            await runner.cleanup()
            await github.close()


async def play(out=sys.stdout) -> int:
    """Run the story; return the number of problems found (0 when the App posted everything expected)."""
    async with app_on_local_github() as (github, app, app_url):
        dispatcher = app[STATE].dispatcher
        assert dispatcher is not None, "the App has started"
        print(f"local GitHub at {github.base_url}, the App at {app_url} (loopback only)", file=out)
        installation = github.add_installation("octo-org")
        repo = github.add_repo("octo-org/webshop", installation, files={"requirements.txt": "flask\n"})
        workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=WORKFLOW)
        rng, start = random.Random(2026), dt.datetime(2026, 11, 1, 8, tzinfo=dt.UTC)
        for i in range(20):
            sha = await github.push(repo, "main", {"app.py": f"VERSION = {i}\n"}, message=f"Release {i}")
            run = github.add_run(
                repo,
                workflow,
                head_sha=sha,
                head_branch="main",
                event="push",
                created_at=start + dt.timedelta(hours=3 * i),
                jobs=_jobs(rng.uniform(290, 320), rng.uniform(190, 215)),
            )
            await github.deliver_workflow_run(run)
        print("played 20 pushes to main, each with a completed CI run", file=out)

        github.commit(
            repo,
            "faster-builds",
            {".github/workflows/ci.yml": PR_WORKFLOW, "app.py": "VERSION = 'next'\n"},
            message="Add lint, build with full history",
        )
        pr = await github.open_pull_request(
            repo, "faster-builds", title="Add lint, build with full history", user="octocat"
        )
        pr_created = start + dt.timedelta(hours=61)
        run = github.add_run(
            repo,
            workflow,
            head_sha=pr.head_sha,
            head_branch="faster-builds",
            event="pull_request",
            created_at=pr_created,
            jobs=_jobs(545.0, 206.0, test_passes=False, lint=75.0),
        )
        await github.deliver_workflow_run(run)
        await dispatcher.join()
        print(f"opened PR #{pr.number}, its CI run completed (build slower, test failed)", file=out)
        await github.rerun(run, jobs=_jobs(552.0, 203.0, lint=74.0), started_at=pr_created + dt.timedelta(minutes=20))
        await dispatcher.join()
        print("re-ran the PR's CI: the test passed this time", file=out)

        comments = [c for c in github.issue_comments(repo, pr.number) if "ci-orchestrator:comparison" in c.body]
        checks = sorted(github.check_runs_for(repo, pr.head_sha), key=lambda c: c.name)
        for comment in comments:
            print(
                _section(
                    f"PR #{pr.number} comment by the App (edited in place, {comment.updated_at:%H:%M:%S})",
                    _for_terminal(comment.body),
                ),
                file=out,
            )
        for check in checks:
            print(_section(f"check run “{check.name}” on {pr.head_sha[:7]}", _check_run_text(check)), file=out)
        problems = _missing(comments, [c.name for c in checks])
        problems += await _test_on_demand(github, dispatcher, repo, pr, out)
        for problem in problems:
            print(f"demo problem: {problem}", file=out)
        print(
            "demo finished: "
            + ("everything the App should post is there" if not problems else f"{len(problems)} problem(s)"),
            file=out,
        )
        return len(problems)


async def _test_on_demand(
    github: GitHubSimulator, dispatcher: Dispatcher, repo: Repo, pr: PullRequest, out: Any
) -> list[str]:
    """`/ci test python-matrix` on the pull request; print the suite's check run and the reply; what is missing."""
    github.commit(repo, "main", {".github/ci-testing.yml": SUITES}, message="Add test suites")
    matrix = github.add_workflow(repo, ".github/workflows/matrix.yml", "Matrix")
    github.commit(repo, "main", {".github/workflows/matrix.yml": MATRIX_WORKFLOW}, message="Matrix workflow")
    await github.synchronize(pr, {".github/workflows/matrix.yml": MATRIX_WORKFLOW}, message="Matrix workflow")
    github.script_dispatches(matrix, _matrix_leg)
    github.set_collaborator(repo, "octocat", "write")
    comment = await github.add_issue_comment(pr, "Let's try the Python matrix:\n/ci test python-matrix")
    for _ in range(5):
        await dispatcher.join()
        await github.played()
    await dispatcher.join()
    print("commented `/ci test python-matrix` on the PR: six legs dispatched, followed by webhooks", file=out)
    checks = [c for c in github.check_runs_for(repo, pr.head_sha) if c.name == "test suite: python-matrix"]
    replies = [c for c in github.issue_comments(repo, pr.number) if "ci-orchestrator:test-session" in c.body]
    for check in checks:
        print(_section(f"check run “{check.name}” on {pr.head_sha[:7]}", _check_run_text(check)), file=out)
    for reply in replies:
        print(
            _section(f"the App's reply to comment {comment.id} (edited in place)", _for_terminal(reply.body)), file=out
        )
    dispatched = [r for r in github.requests if r.route.endswith("/dispatches")]
    problems = []
    if checks and [a.start_line for a in checks[0].annotations] != [MATRIX_TEST_LINE]:
        problems.append("the failing leg is not annotated at its job's line")
    if len(dispatched) != 6:
        problems.append(f"expected six dispatched legs, found {len(dispatched)}")
    if len(checks) != 1 or checks[0].conclusion != "failure" or len(checks[0].annotations) != 1:
        problems.append("expected one failed suite check run with one annotated leg")
    if len(replies) != 1:
        problems.append(f"expected one reply to the command, found {len(replies)}")
    return problems


def _missing(comments: Sequence, check_names: Sequence[str]) -> list[str]:
    problems = []
    if len(comments) != 1:
        problems.append(f"expected one comparison comment, found {len(comments)}")
    elif "flaky" not in comments[0].body:
        problems.append("the comment does not call the re-run test flaky")
    for name in ("CI comparison: CI", "workflow review"):
        if name not in check_names:
            problems.append(f"no check run named {name!r}")
    return problems


def main(argv: Sequence[str] = ()) -> int:
    if argv:
        print("usage: ci-orchestrator demo (no arguments)", file=sys.stderr)
        return 2
    return 0 if asyncio.run(play()) == 0 else 1
