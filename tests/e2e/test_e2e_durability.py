"""Nothing lost, nothing done twice, on SQLite and on PostgreSQL: a burst of pull-request events through a GitHub
outage of several minutes (faked time), a `kill -9` of the App mid-burst, a stop with work left, and two App
processes on one PostgreSQL sharing the deliveries. Every report is posted exactly once afterwards: one comment
per pull request and one check run per (head commit, workflow)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from helpers import CI_WORKFLOW, WEBHOOK_SECRET, add_baseline, ci_jobs, make_settings, private_key_pem

from bot.app.journal import RECONCILE_SETTLE
from bot.app.server import STATE, create_app
from bot.app.settings import Secret
from bot.store import Store
from bot.testing.simulator import GitHubSimulator

PR_TIME = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
CHECK_NAME = "CI comparison: CI"
POST_COMMENT = ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
POST_CHECK_RUN = ("POST", "/repos/{owner}/{repo}/check-runs")
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Clock:
    """The App's clock for when deliveries are tried again: real time, moved ahead by the test."""

    ahead: dt.timedelta = field(default_factory=dt.timedelta)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.ahead

    def advance(self, **delta: float) -> None:
        self.ahead += dt.timedelta(**delta)


async def open_with_runs(github: GitHubSimulator, count: int):
    """A repository with a CI history on main and `count` open pull requests, each with a completed run whose build
    took three times as long (each one is reported), nothing delivered yet."""
    installation = github.add_installation("octo-org")
    config = "comparison:\n  confirm: never\n"  # one run decides: these tests are about intake, not re-runs
    repo = github.add_repo(
        "octo-org/app", installation, files={"README.md": "hi\n", ".github/ci-orchestrator.yml": config}
    )
    workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=CI_WORKFLOW)
    add_baseline(github, repo, workflow)
    pulls_and_runs = []
    for number in range(count):
        github.commit(repo, f"feature-{number}", {"src/app.py": f"change = {number}\n"})
        pr = await github.open_pull_request(repo, f"feature-{number}", title=f"Change {number}", deliver=False)
        run = github.add_run(
            repo,
            workflow,
            head_sha=pr.head_sha,
            head_branch=pr.head_branch,
            event="pull_request",
            created_at=PR_TIME + dt.timedelta(minutes=number),
            jobs=ci_jobs(build=900.0),
        )
        pulls_and_runs.append((pr, run))
    return repo, pulls_and_runs


def reports(github: GitHubSimulator, repo, pulls_and_runs) -> list[tuple[int, int]]:
    """(comparison comments, comparison check runs) of each pull request."""
    return [
        (
            len([c for c in github.issue_comments(repo, pr.number) if "ci-orchestrator:comparison" in c.body]),
            len([c for c in github.check_runs_for(repo, pr.head_sha) if c.name == CHECK_NAME]),
        )
        for pr, _ in pulls_and_runs
    ]


# ---- a GitHub outage, in process, with faked time ----------------------------------------------------------------


@pytest.fixture
async def app_with_clock(database_url, aiohttp_server, openapi_contract, tmp_path):
    github = GitHubSimulator(
        app_id=1, webhook_secret=WEBHOOK_SECRET, private_key_pem=private_key_pem(), contract=openapi_contract
    )
    base_url = await github.start()
    clock = Clock()

    async def no_wait(seconds: float) -> None:
        return None

    settings = make_settings(base_url, data_dir=tmp_path, database_url=Secret(database_url))
    app = create_app(settings, sleep=no_wait, rng=random.Random(0), journal_clock=clock)
    server = await aiohttp_server(app)
    github.webhook_url = str(server.make_url("/webhooks"))
    yield github, app, clock
    await github.close()
    assert github.contract_violations == [], "\n".join(github.contract_violations)


async def settle(app, clock: Clock) -> None:
    """Until nothing is due or in hand: handle what was accepted, record it, claim what is due now, and again."""
    state = app[STATE]
    while True:
        await state.dispatcher.join()
        await state.journal.flush()
        claimed = await state.journal.claim(state.dispatcher.submit_claimed, lambda: state.dispatcher.capacity)
        await state.dispatcher.join()
        unfinished = await state.store.deliveries.unfinished()
        if not claimed and all(s.state == "queued" for s in unfinished):  # due ones may wait behind others
            return
        await asyncio.sleep(0.05)  # the App's own claim loop may be handing something out


async def test_a_burst_survives_a_github_outage_of_several_minutes_and_each_report_is_posted_once(app_with_clock):
    github, app, clock = app_with_clock
    store: Store = app[STATE].store
    repo, pulls_and_runs = await open_with_runs(github, 4)

    github.faults.server_error_rate = 1.0  # GitHub is down: every answer is a 502
    for _, run in pulls_and_runs:
        await github.deliver_workflow_jobs(run)  # recorded in the store: no call to GitHub needed
        await github.deliver_workflow_run(run)
    await settle(app, clock)
    waiting = await store.deliveries.unfinished()
    assert sorted(s.delivery_id for s in waiting) == sorted(
        d.guid for d in github.deliveries if d.event == "workflow_run"
    )
    assert all(s.state == "queued" and "GitHub unavailable" in (s.error or "") for s in waiting)

    first_pr, first_run = pulls_and_runs[0]
    for minute in range(1, 9):  # eight minutes without GitHub: each delivery is tried again as its backoff says
        clock.advance(minutes=1)
        await settle(app, clock)
        if minute == 4:  # a re-run of the first pull request's run completes: it must wait behind the first attempt
            await github.rerun(first_run, ci_jobs(build=950.0), started_at=PR_TIME + dt.timedelta(hours=1))
            await settle(app, clock)
    assert reports(github, repo, pulls_and_runs) == [(0, 0)] * 4
    still = await store.deliveries.unfinished()
    assert len(still) == 5 and min(s.attempts for s in still if s.attempts) >= 3  # 30 s, 1 min, 2 min, 4 min apart

    github.faults.clear()  # GitHub is back
    clock.advance(minutes=30)
    await settle(app, clock)
    assert reports(github, repo, pulls_and_runs) == [(1, 1)] * 4
    first_comment = next(c for c in github.issue_comments(repo, first_pr.number) if "ci-orchestrator" in c.body)
    assert "attempt 2" in first_comment.body  # the re-run was handled after the first attempt, not before
    assert github.calls[POST_COMMENT] == 4 and github.calls[POST_CHECK_RUN] == 4
    assert await store.deliveries.unfinished() == []
    states = await store.deliveries.statuses([d.guid for d in github.deliveries])
    assert Counter(s.state for s in states.values()) == {"done": len(github.deliveries)}


LIST_JOBS = ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs")


async def test_jobs_told_by_webhooks_serve_the_comparison_and_a_late_job_webhook_is_listed_not_called_removed(
    app_with_clock,
):
    github, app, clock = app_with_clock
    repo, pulls_and_runs = await open_with_runs(github, 2)
    (first_pr, first_run), (second_pr, second_run) = pulls_and_runs

    await github.deliver_workflow_jobs(first_run)  # every job's webhook before the run's
    await github.deliver_workflow_run(first_run)
    await settle(app, clock)
    listed = github.calls[LIST_JOBS]

    await github.deliver_workflow_jobs(second_run, only={"test"})  # the build job's webhook is late
    await github.deliver_workflow_run(second_run)
    await settle(app, clock)

    assert reports(github, repo, pulls_and_runs) == [(1, 1), (1, 1)]
    for pr in (first_pr, second_pr):
        (comment,) = [c for c in github.issue_comments(repo, pr.number) if "ci-orchestrator:comparison" in c.body]
        assert "slower: build" in comment.body and "removed" not in comment.body
    assert github.calls[LIST_JOBS] == listed + 1  # the second run's jobs, listed once; the first's came by webhook


# ---- real processes: kill -9, a stop with work left, two instances ---------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppProcess:
    """`python -m bot serve` against the local GitHub, its JSON log in a file."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def handled(self) -> Counter[str]:
        """Deliveries this process handled (its "handled …" log lines), by id."""
        lines = [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]
        return Counter(line["delivery"] for line in lines if line.get("message", "").startswith("handled "))


def start_app(github: GitHubSimulator, database_url: str, data_dir: Path, name: str, **env: str) -> AppProcess:
    port = free_port()
    log = data_dir / f"{name}.log"
    environment = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        APP_ID="1",
        PRIVATE_KEY=private_key_pem(),
        WEBHOOK_SECRET=WEBHOOK_SECRET,
        GITHUB_API_URL=github.base_url,
        DATABASE_URL=database_url,
        DATA_DIR=str(data_dir),
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_FORMAT="json",
        LOG_LEVEL="INFO",
        DELIVERY_LEASE_SECONDS="3",
        **env,
    )
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve"], env=environment, stdout=output, stderr=output, cwd=ROOT
        )
    return AppProcess(process, f"http://127.0.0.1:{port}", log)


async def ready(app: AppProcess, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(f"{app.url}/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert app.process.poll() is None and time.monotonic() < deadline, app.log.read_text()[-3000:]
            await asyncio.sleep(0.1)


async def until(condition, timeout: float = 90.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.2)


def stop(app: AppProcess) -> int:
    if app.process.poll() is None:
        app.process.send_signal(signal.SIGTERM)
    return app.process.wait(timeout=60)


@pytest.fixture
async def github_alone(openapi_contract):
    github = GitHubSimulator(
        app_id=1, webhook_secret=WEBHOOK_SECRET, private_key_pem=private_key_pem(), contract=openapi_contract
    )
    await github.start()
    yield github
    await github.close()
    assert github.contract_violations == [], "\n".join(github.contract_violations)


async def all_done(database_url: str, github: GitHubSimulator) -> bool:
    """Every delivery GitHub sent is done in the store, and GitHub has no redelivery left to send."""
    await github.settle_redeliveries()
    store = await Store.open(database_url)
    try:
        states = await store.deliveries.statuses([d.guid for d in github.deliveries])
    finally:
        await store.close()
    return len(states) == len({d.guid for d in github.deliveries}) and all(s.state == "done" for s in states.values())


async def test_kill_9_mid_burst_then_a_restart_reconciles_and_each_report_is_posted_once(
    github_alone, database_url, tmp_path
):
    github = github_alone
    repo, pulls_and_runs = await open_with_runs(github, 8)
    first = start_app(github, database_url, tmp_path, "first")
    try:
        await ready(first)
        github.webhook_url = f"{first.url}/webhooks"
        for sent, (_, run) in enumerate(pulls_and_runs, start=1):
            await github.deliver_workflow_jobs(run)
            await github.deliver_workflow_run(run)
            if sent == len(pulls_and_runs) // 2:
                await asyncio.sleep(0.3)  # some are being handled now
                first.process.send_signal(signal.SIGKILL)
                first.process.wait(timeout=10)
        assert any(d.status_code is None for d in github.deliveries)  # sent while the App was down
    finally:
        if first.process.poll() is None:
            first.process.kill()

    if database_url.startswith("postgresql"):  # the dead process's leases run out, and what it received settles
        await asyncio.sleep(RECONCILE_SETTLE.total_seconds() + 0.5)
    second = start_app(github, database_url, tmp_path, "second")
    github.webhook_url = f"{second.url}/webhooks"  # where GitHub sends the redeliveries the restart asks for
    try:
        await ready(second)
        await until(lambda: all_done(database_url, github), what="every delivery handled")
        assert reports(github, repo, pulls_and_runs) == [(1, 1)] * 8
        assert github.calls[POST_COMMENT] == 8 and github.calls[POST_CHECK_RUN] == 8
    finally:
        assert stop(second) == 0


async def test_a_stop_leaves_unfinished_deliveries_in_the_store_and_the_next_start_handles_them(
    github_alone, database_url, tmp_path
):
    github = github_alone
    repo, pulls_and_runs = await open_with_runs(github, 4)
    first = start_app(github, database_url, tmp_path, "first", SHUTDOWN_GRACE_SECONDS="0.5")
    await ready(first)
    github.webhook_url = f"{first.url}/webhooks"
    github.faults.latency = 1.0  # GitHub is slow: the handlers are still at work when the stop comes
    for _, run in pulls_and_runs:
        await github.deliver_workflow_run(run)
    assert stop(first) == 75  # EX_TEMPFAIL: some deliveries were left for the next start
    lines = [json.loads(line) for line in first.log.read_text().splitlines() if line.startswith("{")]
    (left,) = [line["message"] for line in lines if "left unfinished in the store" in line.get("message", "")]
    assert all(d.guid in left for d in github.deliveries)  # the log names them

    github.faults.clear()
    second = start_app(github, database_url, tmp_path, "second")
    try:
        await ready(second)
        await until(lambda: all_done(database_url, github), what="the deliveries left by the stop")
        assert reports(github, repo, pulls_and_runs) == [(1, 1)] * 4
    finally:
        assert stop(second) == 0


async def test_two_app_processes_on_one_postgresql_share_the_deliveries_and_handle_each_once(
    github_alone, database_url, tmp_path
):
    if not database_url.startswith("postgresql"):
        pytest.skip("several instances need PostgreSQL (one SQLite file serves one instance)")
    github = github_alone
    repo, pulls_and_runs = await open_with_runs(github, 10)
    apps = [start_app(github, database_url, tmp_path, name) for name in ("one", "two")]
    try:
        await asyncio.gather(*(ready(app) for app in apps))
        rng = random.Random(12)

        async def deliver_to_either(send) -> None:
            github.webhook_url = f"{rng.choice(apps).url}/webhooks"
            await send

        sends = []
        for _, run in pulls_and_runs:
            sends += [github.deliver_workflow_jobs(run), github.deliver_workflow_run(run)]
        for send in sends:  # one at a time, each to either instance
            await deliver_to_either(send)
        for delivery in rng.sample([d for d in github.deliveries if d.event == "workflow_run"], 4):
            await deliver_to_either(github.redeliver(delivery))  # GitHub's "Redeliver", to either instance
        await until(lambda: all_done(database_url, github), what="every delivery handled")

        assert reports(github, repo, pulls_and_runs) == [(1, 1)] * 10
        assert github.calls[POST_COMMENT] == 10 and github.calls[POST_CHECK_RUN] == 10
        handled = apps[0].handled() + apps[1].handled()
        assert set(handled) == {d.guid for d in github.deliveries} and set(handled.values()) == {1}
        assert apps[0].handled() and apps[1].handled()  # both instances took part
    finally:
        assert [stop(app) for app in apps] == [0, 0]
