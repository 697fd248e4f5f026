"""The foundation against the local GitHub: token minting and caching, faults, rate limits, call counting."""

from __future__ import annotations

import json
import random

import pytest
from gidgethub import routing
from helpers import WEBHOOK_SECRET, make_settings, official_payload, private_key_pem, signed_headers

from bot.app.server import STATE, create_app
from bot.testing.simulator import GitHubSimulator

TOKEN_ROUTE = ("POST", "/app/installations/{installation_id}/access_tokens")
REPO_ROUTE = ("GET", "/repos/{owner}/{repo}")


@pytest.fixture
async def app_and_github(aiohttp_client, openapi_contract):
    """The App with one handler that reads the delivery's repository, against the simulator."""
    github = GitHubSimulator(
        app_id=1, webhook_secret=WEBHOOK_SECRET, private_key_pem=private_key_pem(), contract=openapi_contract
    )
    base_url = await github.start()
    installation = github.add_installation("octo-org")
    github.add_repo("octo-org/octo-repo", installation)
    router = routing.Router()
    outcomes: list[str] = []

    @router.register("workflow_run", action="completed")
    async def read_repository(event, gh, services):
        repo = await gh.getitem("/repos/{owner}/{repo}", url_vars={"owner": "octo-org", "repo": "octo-repo"})
        outcomes.append(repo["full_name"])

    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    client = await aiohttp_client(create_app(make_settings(base_url), router, sleep=fake_sleep, rng=random.Random(0)))
    body = official_payload("workflow_run", "completed.payload.json", installation_id=installation.id)

    async def deliver(count: int = 1) -> None:
        raw = json.dumps(body).encode()
        for _ in range(count):
            response = await client.post("/webhooks", data=raw, headers=signed_headers("workflow_run", raw))
            assert response.status == 202
        await client.app[STATE].dispatcher.join()

    yield github, deliver, outcomes, slept, client
    await github.close()
    assert github.contract_violations == [], "\n".join(github.contract_violations)


async def test_a_thousand_deliveries_for_one_installation_mint_one_token(app_and_github):
    github, deliver, outcomes, _, _ = app_and_github
    await deliver(1000)
    assert len(outcomes) == 1000
    assert github.calls[TOKEN_ROUTE] == 1
    assert github.calls[REPO_ROUTE] == 1000


async def test_an_expired_token_is_replaced_once_and_the_call_succeeds(app_and_github):
    github, deliver, outcomes, _, _ = app_and_github
    await deliver()
    github.faults.expire_tokens()
    await deliver()
    assert outcomes == ["octo-org/octo-repo"] * 2
    assert github.calls[TOKEN_ROUTE] == 2


async def test_server_errors_and_resets_are_retried_with_backoff(app_and_github):
    github, deliver, outcomes, slept, _ = app_and_github
    await deliver()
    github.faults.queue_errors(502, count=2)
    github.faults.queue_connection_resets(2)
    await deliver()
    assert outcomes == ["octo-org/octo-repo"] * 2
    assert len(slept) >= 3 and all(0 <= delay <= 30 for delay in slept)


async def test_secondary_rate_limit_waits_as_github_asks(app_and_github):
    github, deliver, outcomes, slept, _ = app_and_github
    await deliver()
    github.faults.queue_rate_limit(kind="secondary", retry_after=42)
    await deliver()
    assert outcomes == ["octo-org/octo-repo"] * 2 and slept == [42.0]


async def test_primary_rate_limit_beyond_the_budget_keeps_the_delivery_for_later(app_and_github, caplog):
    github, deliver, outcomes, slept, client = app_and_github
    await deliver()
    github.faults.queue_rate_limit(kind="primary", reset_in=3 * 3600)
    await deliver()
    assert outcomes == ["octo-org/octo-repo"] and slept == []
    (warning,) = [r for r in caplog.records if "primary rate limit" in r.getMessage() and r.name.endswith("dispatcher")]
    assert warning.levelname == "WARNING" and not warning.exc_info  # GitHub's limit, not the App's fault
    metrics = await (await client.get("/metrics")).text()
    assert 'outcome="unavailable"' in metrics
    state = client.app[STATE]
    await state.journal.close([], timeout=5)  # writes what waits: the delivery is queued to be tried again
    (waiting,) = await state.store.deliveries.unfinished()
    assert waiting.state == "queued" and waiting.attempts == 1 and "primary rate limit" in (waiting.error or "")


async def test_each_delivery_logs_its_github_calls(app_and_github, caplog):
    _, deliver, _, _, _ = app_and_github
    caplog.set_level("INFO", logger="bot.app.dispatcher")
    await deliver()
    assert any("handled workflow_run.completed with 2 GitHub calls" in r.getMessage() for r in caplog.records)
