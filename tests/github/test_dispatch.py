"""Dispatching through the GitHub provider: run details, refusals, and rate limits that pause instead of waiting."""

from __future__ import annotations

import aiohttp
import pytest
from helpers import WEBHOOK_SECRET, private_key_pem

from bot.flows.provider import DispatchedRun, DispatchPaused, DispatchRefused
from bot.github.client import TokenClient
from bot.github.provider import GitHubCaches, GitHubProvider
from bot.store import Repository, Store
from bot.store.database import IN_MEMORY
from bot.testing.simulator import GitHubSimulator

WORKFLOW = "on:\n  workflow_dispatch:\n    inputs:\n      n: {required: true}\njobs: {}\n"


@pytest.fixture
async def provider(openapi_contract):
    github = GitHubSimulator(
        app_id=1, webhook_secret=WEBHOOK_SECRET, private_key_pem=private_key_pem(), contract=openapi_contract
    )
    await github.start()
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation)
    github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=WORKFLOW)
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with aiohttp.ClientSession() as session, Store.opened(IN_MEMORY) as store:
        gh = TokenClient(session, github.personal_token(installation), base_url=github.base_url, sleep=sleep)
        repository = Repository(repo.id, repo.full_name, installation.id, "main")
        yield github, GitHubProvider(gh, repository, GitHubCaches(store=store)), slept
    await github.close()
    assert github.contract_violations == []


async def test_a_dispatch_answers_its_run(provider):
    github, gh_provider, _ = provider
    run = await gh_provider.dispatch("ci.yml", "main", {"n": "1"})
    assert isinstance(run, DispatchedRun) and run.run_id in github.state.runs and "/actions/runs/" in run.html_url
    github.state.run_details = False
    assert await gh_provider.dispatch("ci.yml", "main", {"n": "2"}) == DispatchedRun(None, None)
    with pytest.raises(DispatchRefused, match="Unexpected inputs"):
        await gh_provider.dispatch("ci.yml", "main", {"m": "1"})


@pytest.mark.parametrize(("kind", "retry_after"), [("secondary", 42), ("secondary", None), ("primary", None)])
async def test_a_rate_limit_pauses_the_dispatch_instead_of_waiting(provider, kind, retry_after):
    github, gh_provider, slept = provider
    github.faults.queue_rate_limit(kind, retry_after=retry_after, reset_in=120)
    with pytest.raises(DispatchPaused) as paused:
        await gh_provider.dispatch("ci.yml", "main", {"n": "1"})
    expected = {("secondary", 42): 42, ("secondary", None): 60}.get((kind, retry_after))
    assert paused.value.seconds == pytest.approx(expected or 121, abs=2)
    assert slept == [] and len(github.state.runs) == 0  # nothing waited for, nothing dispatched
    await gh_provider.api.repository()  # other calls still wait in the client as before
    assert (await gh_provider.dispatch("ci.yml", "main", {"n": "1"})).run_id is not None
