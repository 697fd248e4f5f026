"""`workflow_job`: record every job, with its steps and runner, in the history store (no API call)."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.github import events

router = routing.Router()


@router.register("workflow_job")
async def record_job(event: sansio.Event, gh: Any, services: Services) -> None:
    await services.store.ingest([events.workflow_job_history(event.data)])
