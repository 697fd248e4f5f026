"""The App loses access: `installation_repositories` `removed` and `installation` `deleted`/`suspend` make it
forget what it kept (configs, the installation's token and client), as GitHub calls show; the run history stays in
the store (marked removed, deleted by retention): runs that happened do not change."""

from __future__ import annotations

import pytest
from helpers import CI_WORKFLOW, add_baseline, ci_jobs, official_payload

TOKEN = ("POST", "/app/installations/{installation_id}/access_tokens")
CONFIG = ("GET", "/repos/{owner}/{repo}/contents/{path}")
LIST_RUNS = ("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs")


@pytest.fixture
async def compared(world):
    """A repository with a baseline and a pull request whose run the App has compared once."""
    github = world.github
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation)
    workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=CI_WORKFLOW)
    add_baseline(github, repo, workflow, 8)
    github.commit(repo, "feature", {"src/app.py": "x = 1\n"})
    pr = await github.open_pull_request(repo, "feature", deliver=False)
    run = github.add_run(repo, workflow, head_sha=pr.head_sha, head_branch="feature", event="pull_request")
    run_again = github.add_run(
        repo, workflow, head_sha=pr.head_sha, head_branch="feature", event="pull_request", jobs=ci_jobs(build=310)
    )
    await github.deliver_workflow_run(run)
    await world.settle()

    async def compare_again() -> None:
        await github.deliver_workflow_run(run_again)
        await world.settle()

    return github, installation, repo, compare_again


async def deliver_lost(world, event: str, fixture: str, installation_id: int, repositories: list[str]) -> None:
    payload = official_payload(event, fixture, installation_id=installation_id)
    payload["installation"] = {**payload["installation"], "id": installation_id}
    key = "repositories_removed" if event == "installation_repositories" else "repositories"
    payload[key] = [{"id": 1, "name": name.split("/")[1], "full_name": name, "private": False} for name in repositories]
    await world.github.deliver(event, payload)
    await world.settle()


async def test_a_removed_repository_is_read_again_from_github(world, compared):
    github, installation, repo, compare_again = compared
    known = github.calls.copy()
    await compare_again()  # still known: neither the config nor the run list is read again
    assert github.calls[LIST_RUNS] == known[LIST_RUNS] and github.calls[CONFIG] == known[CONFIG]

    await deliver_lost(world, "installation_repositories", "removed.payload.json", installation.id, [repo.full_name])
    await compare_again()
    assert github.calls[LIST_RUNS] == known[LIST_RUNS]  # the history is still true: read from the store
    assert github.calls[CONFIG] > known[CONFIG]  # the config was forgotten
    assert github.calls[TOKEN] == known[TOKEN]  # the installation itself stays
    assert await world.state.store.repository(repo.full_name) is None  # marked removed


@pytest.mark.parametrize("fixture", ["deleted.payload.json", "suspend.payload.json"])
async def test_a_deleted_or_suspended_installation_loses_its_token_and_client(world, compared, fixture):
    github, installation, repo, compare_again = compared
    state = world.state
    client = state.services.github.for_installation(installation.id)
    tokens_minted = github.calls[TOKEN]
    await deliver_lost(world, "installation", fixture, installation.id, [repo.full_name])
    assert state.services.github.for_installation(installation.id) is not client
    await compare_again()
    assert github.calls[TOKEN] == tokens_minted + 1
