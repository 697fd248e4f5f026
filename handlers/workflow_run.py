"""`workflow_run` completed: compare a pull request's run with its base branch (base-branch runs refresh baselines)."""

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
