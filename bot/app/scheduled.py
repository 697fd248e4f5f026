"""The App's scheduled check: every few seconds, the on-demand test sessions that need attention (timeouts,
batched check-run edits, paused dispatching, push sessions waiting for a slot). Their state is in the store, so
whichever instance runs the check finishes what another started."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from bot.app.services import Services
from bot.flows.test_on_demand import Place, sweep
from bot.ondemand.session import SuiteSession

log = logging.getLogger(__name__)

CHECK_EVERY_SECONDS = 5.0


async def check_test_sessions(services: Services, now: datetime) -> list[str]:
    """One scheduled check; the ids of the sessions it looked at."""
    store = services.store
    if store is None:
        return []

    def place_of(session: SuiteSession) -> Place:
        if session.installation_id is None:
            raise ValueError(f"test session {session.id} names no installation")
        gh = services.github.for_installation(session.installation_id)
        provider = services.provider(gh, session.repository)
        return Place(
            provider,
            store.sessions,
            session.repository_id,
            session.installation_id,
            session.default_branch,
            services.testing,
        )

    batch_after = timedelta(seconds=services.testing.publish_every_seconds)
    return await sweep(store.sessions, place_of, now, batch_after=batch_after)


async def run_scheduled_checks(services: Services, every: float = CHECK_EVERY_SECONDS) -> None:
    """Run the check every `every` seconds until cancelled; a failing check is logged and the next one runs."""
    while True:
        await asyncio.sleep(every)
        try:
            await check_test_sessions(services, datetime.now(UTC))
        except Exception:
            log.exception("the scheduled check of test sessions failed")
