"""No check run of the App stays pending: the watchdog completes those left in progress too long."""

from __future__ import annotations

import asyncio

from bot.app.periodic import PeriodicTask, Schedule
from bot.report import Report
from bot.store import Repository


def repository(repo) -> Repository:
    return Repository(repo.id, repo.full_name, repo.installation_id)


async def test_a_check_run_left_in_progress_is_completed_neutral_with_the_reason(world):
    github = world.github
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n"})
    services = world.state.services
    gh = services.github.for_installation(repo.installation_id)
    publisher = services.caches.publisher
    sha = repo.branches["main"]
    waiting = Report(None, "Checking: re-running build to confirm", "build looked slower; re-running it.")
    check_run_id = await publisher.upsert_check_run(gh, repository(repo), sha, "CI comparison: CI", waiting)
    (check,) = github.check_runs_for(repo, sha)
    assert check.status == "in_progress" and check.conclusion is None

    assert await publisher.complete_stale(older_than_seconds=3600) == []  # not stale yet
    stale = await publisher.complete_stale(older_than_seconds=0)
    assert [s.check_run_id for s in stale] == [check_run_id]
    (check,) = github.check_runs_for(repo, sha)
    assert check.status == "completed" and check.conclusion == "neutral"
    assert "Checking: re-running build to confirm" in check.output["summary"]
    assert await publisher.complete_stale(older_than_seconds=0) == []  # done once


async def test_a_completed_report_takes_the_check_run_off_the_watch(world):
    github = world.github
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n"})
    services = world.state.services
    gh = services.github.for_installation(repo.installation_id)
    publisher, sha = services.caches.publisher, repo.branches["main"]
    await publisher.upsert_check_run(gh, repository(repo), sha, "x", Report(None, "waiting", "..."))
    await publisher.upsert_check_run(gh, repository(repo), sha, "x", Report("success", "done", "..."))
    assert await publisher.complete_stale(older_than_seconds=0) == []
    assert [c.conclusion for c in github.check_runs_for(repo, sha)] == ["success"]


async def test_the_schedule_runs_a_task_again_after_it_fails_and_stops():
    runs: list[int] = []
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(0)

    async def task() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise RuntimeError("first round fails")

    schedule = Schedule(sleep)
    schedule.start(PeriodicTask("probe", 60.0, task))
    while len(runs) < 3:
        await asyncio.sleep(0)
    await schedule.stop()
    assert runs[:3] == [0, 1, 2] and set(slept) == {60.0}
