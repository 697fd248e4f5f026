""" "Re-run" on the App's workflow review check run: review the pull request again. The buttons of a test session's
check run: "Re-run failed legs" and "Run again"."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.flows import test_on_demand
from bot.flows.comment_commands import WRITE_PERMISSIONS
from bot.flows.review_pull_request import REVIEW_CHECK, review_again
from bot.github import events
from bot.ondemand.render import RERUN_FAILED, RUN_AGAIN

router = routing.Router()
log = logging.getLogger(__name__)


@router.register("check_run", action="rerequested")
async def rerun_review(event: sansio.Event, gh: Any, services: Services) -> None:
    check = events.check_run_event(event.data)
    if check.name != REVIEW_CHECK or check.app_id != services.settings.app_id:
        return
    await review_again(services.provider(gh, check.repository), check.head_sha, check.pull_numbers)


@router.register("check_run", action="requested_action")
async def test_session_button(event: sansio.Event, gh: Any, services: Services) -> None:
    clicked = events.requested_action(event.data)
    if clicked.app_id != services.settings.app_id:
        return
    repo = clicked.repository
    place = services.testing_place(gh, repo.full_name, repo.id, events.installation_id(event.data), repo.default_branch)
    session_id = await place.records.by_check_run(clicked.check_run_id)
    if session_id is None:
        log.info("button %r on check run %s: no test session", clicked.identifier, clicked.check_run_id)
        return
    if await place.provider.permission(clicked.sender) not in WRITE_PERMISSIONS:
        log.info("button %r by %s refused: no write permission", clicked.identifier, clicked.sender)
        return
    now = datetime.now(UTC)
    if clicked.identifier == RERUN_FAILED:
        outcome = await test_on_demand.rerun_failed(place, session_id, now)
    elif clicked.identifier == RUN_AGAIN:
        outcome = await test_on_demand.run_again(place, session_id, clicked.sender, now)
    else:
        return
    if isinstance(outcome, test_on_demand.Refusal):
        log.info("button %r on session %s: %s", clicked.identifier, session_id, outcome.message)
