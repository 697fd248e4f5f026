"""`push`: refresh what the App knows of the default branch, and check a changed `.github/ci-orchestrator.yml`."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.flows.check_config import check_pushed_config
from bot.github import events

router = routing.Router()


@router.register("push")
async def refresh_and_check_config(event: sansio.Event, gh: Any, services: Services) -> None:
    push = events.push_event(event.data)
    if push is not None:
        await check_pushed_config(services.provider(gh, events.repository(event.data)), push)
