"""Backfill: a repository's default-branch history into the store, newest first, within a budget, resumable."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from helpers import ci_jobs

from bot.github.backfill import RateBudget, backfill_repository
from bot.store import Repository

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
LIST_RUNS = ("GET", "/repos/{owner}/{repo}/actions/runs")
JOBS = ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs")


def history(world, runs: int = 150, hours_apart: int = 6):
    """`runs` push runs on main, the newest an hour before NOW, and a pull request's run on `feature`."""
    github = world.github
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n"})
    workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content="name: CI\n")
    for i in range(runs):
        sha = github.commit(repo, "main", {"src/app.py": f"version = {i}\n"})
        created = NOW - dt.timedelta(hours=1 + hours_apart * (runs - 1 - i))
        github.add_run(repo, workflow, head_sha=sha, head_branch="main", created_at=created, jobs=ci_jobs())
    github.commit(repo, "feature", {"src/app.py": "feature\n"})
    github.add_run(repo, workflow, head_branch="feature", event="pull_request", created_at=NOW, jobs=ci_jobs())
    gh = world.state.services.github.for_installation(installation.id)
    return gh, Repository(repo.id, repo.full_name, installation.id, "main"), workflow


def unlimited() -> RateBudget:
    return RateBudget(1e9)


async def test_a_backfill_records_the_default_branch_runs_of_the_period_with_their_jobs(world):
    gh, repository, workflow = history(world)
    store = world.state.store
    before = Counter(world.github.calls)
    progress = await backfill_repository(gh, repository, store, unlimited(), days=30, clock=lambda: NOW)
    calls = Counter(
        {call: n for call, n in (Counter(world.github.calls) - before).items() if call[1].startswith("/repos")}
    )
    in_period = 1 + (30 * 24 - 1) // 6  # runs created in the last 30 days, one every 6 hours
    stored = await store.baseline_runs(repository.id, workflow.id, ["main", "feature"], count=1000)
    assert len(stored) == in_period == progress.runs_fetched
    assert all(run.jobs_complete and [job.name for job in run.run.jobs] == ["build", "test"] for run in stored)
    assert {run.run.head_branch for run in stored} == {"main"}
    assert progress.finished_at == NOW and progress.branch == "main"
    assert calls == {LIST_RUNS: 2, JOBS: in_period}  # 100 runs a page; each run's jobs once

    again = Counter(world.github.calls)
    assert await backfill_repository(gh, repository, store, unlimited(), days=30, clock=lambda: NOW) == progress
    assert Counter(world.github.calls) == again  # a finished backfill that reaches back far enough is kept


class StopAfter(RateBudget):
    """A budget whose calls run out: the App stopped in the middle of a backfill."""

    def __init__(self, calls: int) -> None:
        super().__init__(1e9)
        self.left = calls

    async def spend(self, calls: int = 1) -> None:
        self.left -= calls
        if self.left < 0:
            raise ConnectionResetError("stopped")


async def test_a_stopped_backfill_resumes_from_its_last_page_and_fetches_nothing_twice(world):
    gh, repository, workflow = history(world, runs=250, hours_apart=1)
    store = world.state.store
    with pytest.raises(ConnectionResetError):
        await backfill_repository(gh, repository, store, StopAfter(150), days=30, clock=lambda: NOW)
    saved = await store.backfill_progress(repository.id)
    assert saved is not None and saved.finished_at is None and saved.runs_fetched == 100 and saved.cursor

    progress = await backfill_repository(gh, repository, store, unlimited(), days=30, clock=lambda: NOW)
    assert progress.finished_at == NOW and progress.runs_fetched == 250
    assert world.github.calls[JOBS] == 250  # no run's jobs were fetched twice
    assert len(await store.baseline_runs(repository.id, workflow.id, ["main"], count=1000)) == 250


async def test_the_budget_spends_at_most_its_share_per_hour():
    clock, slept = [0.0], []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    budget = RateBudget(3600 * 0.2, clock=lambda: clock[0], sleep=sleep)  # 20 % of 3,600 calls an hour
    for _ in range(12):  # a minute's worth at once
        await budget.spend()
    assert slept == []
    for _ in range(720):
        await budget.spend()
    assert clock[0] == pytest.approx(3600, rel=0.01)  # then 720 calls take an hour
