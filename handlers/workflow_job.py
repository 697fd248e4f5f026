"""`workflow_job`: record every job, with its steps and runner, in the history store (no API call); follow the jobs
of runs the App dispatched for on-demand test sessions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.flows.test_on_demand import follow_run
from bot.github import events

router = routing.Router()


@router.register("workflow_job")
async def record_job(event: sansio.Event, gh: Any, services: Services) -> None:
    await services.store.ingest([events.workflow_job_history(event.data)])


@router.register("workflow_job")
async def follow_test_job(event: sansio.Event, gh: Any, services: Services) -> None:
    repo = events.repository(event.data)
    place = services.testing_place(gh, repo.full_name, repo.id, events.installation_id(event.data), repo.default_branch)
    await follow_run(place, events.job_run_seen(event.data), datetime.now(UTC))
