"""`push`: refresh what the App knows of the default branch, check a changed `.github/ci-orchestrator.yml`, and run
the test suites that run on pushes to the default branch."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.flows.check_config import check_pushed_config
from bot.flows.test_on_demand import start_push_suites
from bot.github import events

router = routing.Router()


@router.register("push")
async def refresh_and_check_config(event: sansio.Event, gh: Any, services: Services) -> None:
    push = events.push_event(event.data)
    if push is not None:
        await check_pushed_config(services.provider(gh, events.repository(event.data)), push)


@router.register("push")
async def run_push_suites(event: sansio.Event, gh: Any, services: Services) -> None:
    push = events.push_event(event.data)
    repo = events.repository(event.data)
    if push is None or push.branch != push.default_branch:
        return
    place = services.testing_place(gh, repo.full_name, repo.id, events.installation_id(event.data), repo.default_branch)
    pusher = events.pusher(event.data)
    await start_push_suites(place, branch=push.branch, after=push.after, pusher=pusher, now=datetime.now(UTC))
