"""The health scheduler's loop: it ticks every interval, a failing tick is logged and the loop goes on, stop() ends it.
(What a tick does, against the local GitHub and a store, is in tests/e2e/test_e2e_health.py.)"""

from __future__ import annotations

import asyncio
import logging

from bot.app.health_scheduler import HealthScheduler


async def test_the_loop_ticks_every_interval_survives_a_failing_tick_and_stops(caplog):
    scheduler = HealthScheduler(store=None, github=None, caches=None, interval=0.01)  # type: ignore[arg-type]
    ticks = []

    async def tick(now=None):
        ticks.append(now)
        if len(ticks) == 2:
            raise RuntimeError("GitHub is down")
        return []

    scheduler.tick = tick  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="bot.app.health_scheduler"):
        scheduler.start()
        for _ in range(200):
            if len(ticks) >= 4:
                break
            await asyncio.sleep(0.01)
        await scheduler.stop()
    assert len(ticks) >= 4
    assert "health schedule tick failed" in caplog.text
    count = len(ticks)
    await asyncio.sleep(0.05)
    assert len(ticks) == count  # stopped
