"""The health reports' periodic task: nothing while the App has no store. (What a tick does, against the local
GitHub and a store, is in tests/e2e/test_e2e_health.py.)"""

from __future__ import annotations

from datetime import UTC, datetime

from helpers import make_settings

from bot.app.periodic import refresh_health_reports
from bot.app.services import Services


async def test_without_a_store_no_report_is_refreshed():
    services = Services(settings=make_settings(), github=None)  # type: ignore[arg-type]
    assert services.store is None
    assert await refresh_health_reports(services, datetime.now(UTC)) == []
