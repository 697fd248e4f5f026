"""`installation` created, `installation_repositories` added: record them and backfill their history."""

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
