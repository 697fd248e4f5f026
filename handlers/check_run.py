""" "Re-run" on the App's workflow review check run: review the pull request again."""

from __future__ import annotations

from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.flows.review_pull_request import REVIEW_CHECK, review_again
from bot.github import events

router = routing.Router()


@router.register("check_run", action="rerequested")
async def rerun_review(event: sansio.Event, gh: Any, services: Services) -> None:
    check = events.check_run_event(event.data)
    if check.name != REVIEW_CHECK or check.app_id != services.settings.app_id:
        return
    await review_again(services.provider(gh, check.repository), check.head_sha, check.pull_numbers)
