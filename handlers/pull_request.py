"""`pull_request` opened, new commits, reopened or ready: review the workflow files it changes."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.flows.review_pull_request import review_pull_request
from bot.github import events

router = routing.Router()


@router.register("pull_request", action="opened")
@router.register("pull_request", action="synchronize")
@router.register("pull_request", action="reopened")
@router.register("pull_request", action="ready_for_review")
async def review_workflow_changes(event: sansio.Event, gh: Any, services: Services) -> None:
    pr = events.pull_request_event(event.data)
    provider = services.provider(gh, pr.repository)
    provider.note_pull_request_event(pr.action, pr.pull, pr.happened_at)
    await review_pull_request(provider, pr.pull)
