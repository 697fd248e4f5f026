"""`workflow_run`: record every run in the history store; compare a pull request's completed run with its base
branch; follow the runs of on-demand test sessions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.flows.compare_run import compare_completed_run
from bot.flows.test_on_demand import follow_run
from bot.github import events

router = routing.Router()


@router.register("workflow_run")
async def record_and_compare(event: sansio.Event, gh: Any, services: Services) -> None:
    """Any action: the run goes into the history (what later comparisons and "still running" read); a completed
    run of a pull request is compared with its base branch."""
    await services.store.ingest([events.workflow_run_history(event.data)])
    if event.data.get("action") == "completed":
        repository = events.repository(event.data)
        await compare_completed_run(services.provider(gh, repository), events.completed_run(event.data))


@router.register("workflow_run")
async def follow_test_run(event: sansio.Event, gh: Any, services: Services) -> None:
    repo = events.repository(event.data)
    place = services.testing_place(gh, repo.full_name, repo.id, events.installation_id(event.data), repo.default_branch)
    await follow_run(place, events.dispatched_run_seen(event.data), datetime.now(UTC))
