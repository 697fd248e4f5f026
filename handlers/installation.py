"""`installation` deleted or suspended, `installation_repositories` removed: forget what the App keeps for them."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.github import events

router = routing.Router()


@router.register("installation", action="deleted")
@router.register("installation", action="suspend")
async def forget_installation(event: sansio.Event, gh: Any, services: Services) -> None:
    lost = events.installation_lost(event.data)
    services.forget_installation(lost.installation_id, lost.repositories)


@router.register("installation_repositories", action="removed")
async def forget_repositories(event: sansio.Event, gh: Any, services: Services) -> None:
    services.forget_repositories(events.repositories_removed(event.data).repositories)
