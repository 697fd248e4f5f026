"""`installation` created, `installation_repositories` added: record them and backfill their history. `installation`
deleted or suspended, `installation_repositories` removed: forget what the App keeps for them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.github import events

router = routing.Router()


@router.register("installation", action="created")
@router.register("installation_repositories", action="added")
async def backfill_added_repositories(event: sansio.Event, gh: Any, services: Services) -> None:
    added = events.repositories_added(event.data)
    await services.store.record_installation(added.installation, added.repositories or [], now=datetime.now(UTC))
    services.backfills.add(added.installation.id, added.repositories)


@router.register("installation", action="deleted")
@router.register("installation", action="suspend")
async def forget_installation(event: sansio.Event, gh: Any, services: Services) -> None:
    lost = events.installation_lost(event.data)
    services.forget_installation(lost.installation_id, lost.repositories)
    await services.store.remove_installation(lost.installation_id, now=datetime.now(UTC))


@router.register("installation_repositories", action="removed")
async def forget_repositories(event: sansio.Event, gh: Any, services: Services) -> None:
    lost = events.repositories_removed(event.data)
    services.forget_repositories(lost.repositories)
    removed = [await services.store.repository(name) for name in lost.repositories]
    await services.store.remove_repositories([r.id for r in removed if r is not None], now=datetime.now(UTC))
