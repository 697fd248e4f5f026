"""`workflow_run`: compare a pull request's completed run with its base branch; note runs that start."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.flows.compare_run import compare_completed_run
from bot.github import events

router = routing.Router()


@router.register("workflow_run", action="completed")
async def compare_with_baseline(event: sansio.Event, gh: Any, services: Services) -> None:
    repo = events.repository(event.data)
    await compare_completed_run(services.provider(gh, repo.full_name), events.completed_run(event.data))


@router.register("workflow_run", action="requested")
@router.register("workflow_run", action="in_progress")
async def note_started_run(event: sansio.Event, gh: Any, services: Services) -> None:
    repo = events.repository(event.data)
    services.provider(gh, repo.full_name).note_workflow_run(events.completed_run(event.data).run)
