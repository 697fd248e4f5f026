"""Shared fixtures: the App running against the local GitHub, with every request checked against GitHub's OpenAPI."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from aiohttp import web
from contract import OpenAPIContract
from helpers import WEBHOOK_SECRET, make_settings, private_key_pem

from bot.app.server import STATE, create_app
from bot.testing.simulator import GitHubSimulator

pytest_plugins = ["databases"]  # database_url, store: each store test on SQLite and on PostgreSQL


@pytest.fixture(scope="session")
def openapi_contract() -> OpenAPIContract:
    return OpenAPIContract()


@dataclass
class World:
    """The local GitHub and the App under test, wired together."""

    github: GitHubSimulator
    app: web.Application
    slept: list[float]

    @property
    def state(self):
        return self.app[STATE]

    async def settle(self) -> None:
        """Wait until the App has handled every delivery it accepted, and the local GitHub has played every run
        the App started (dispatches, re-runs), with the deliveries those sent handled too."""
        while True:
            await self.github.played()
            await self.state.dispatcher.join()
            if not self.github.playing:
                return


@pytest.fixture
async def world(aiohttp_server, openapi_contract):
    """The simulator (REST + deliveries) and the App (a real aiohttp server on loopback) with time faked for retries."""
    simulator = GitHubSimulator(
        app_id=1, webhook_secret=WEBHOOK_SECRET, private_key_pem=private_key_pem(), contract=openapi_contract
    )
    base_url = await simulator.start()
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    app = create_app(make_settings(base_url), sleep=fake_sleep, rng=random.Random(0))
    server = await aiohttp_server(app)
    simulator.webhook_url = str(server.make_url("/webhooks"))
    yield World(simulator, app, slept)
    await simulator.close()
    assert simulator.contract_violations == [], "\n".join(simulator.contract_violations)
