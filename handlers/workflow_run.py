"""`workflow_run`: compare a pull request's completed run with its base branch; note runs that start; follow the
runs of on-demand test sessions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.flows.compare_run import compare_completed_run
from bot.flows.test_on_demand import follow_run
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


@router.register("workflow_run")
async def follow_test_run(event: sansio.Event, gh: Any, services: Services) -> None:
    repo = events.repository(event.data)
    place = services.testing_place(gh, repo.full_name, repo.id, events.installation_id(event.data), repo.default_branch)
    if place is not None:
        await follow_run(place, events.dispatched_run_seen(event.data), datetime.now(UTC))
