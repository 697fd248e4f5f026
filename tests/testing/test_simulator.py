"""The local GitHub: REST endpoints, auth, pagination, ETags, faults, webhook deliveries and the OpenAPI contract."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import jwt
import pytest
from aiohttp import web
from contract import OpenAPIContract
from gidgethub import BadRequest, ValidationFailure, sansio
from gidgethub.aiohttp import GitHubAPI

from bot.testing.simulator import (
    GitHubSimulator,
    Installation,
    JobSpec,
    PullRequest,
    Repo,
    StepSpec,
    Workflow,
    new_app_private_key,
)
from bot.testing.simulator.state import commentable_lines, hunk_for_line, matches_created, unified_patch

APP_ID = 4242
SECRET = "webhook-secret"
WORKFLOW_PATH = ".github/workflows/ci.yml"
WORKFLOW_TEXT = "name: CI\non: [push, pull_request, workflow_dispatch]\njobs: {}\n"


@pytest.fixture(scope="module")
def app_key() -> bytes:
    return new_app_private_key().encode()


@dataclass
class Receiver:
    """The App's side of webhooks: verifies each delivery with gidgethub, as the App does."""

    url: str = ""
    events: list[sansio.Event] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    answer: int = 202

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            event = sansio.Event.from_http(request.headers, body, secret=SECRET)
        except (ValidationFailure, BadRequest, KeyError) as error:
            return web.Response(status=400, text=type(error).__name__)
        self.events.append(event)
        self.headers.append(dict(request.headers))
        return web.Response(status=self.answer)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recorder = Receiver()
    app = web.Application()
    app.router.add_post("/webhook", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    recorder.url = f"http://{host}:{port}/webhook"
    yield recorder
    await runner.cleanup()


@pytest.fixture
async def sim(app_key: bytes, openapi_contract: OpenAPIContract, receiver: Receiver) -> AsyncIterator[GitHubSimulator]:
    simulator = GitHubSimulator(
        app_id=APP_ID,
        private_key_pem=app_key,
        webhook_secret=SECRET,
        webhook_url=receiver.url,
        contract=openapi_contract,
    )
    await simulator.start()
    yield simulator
    await simulator.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@dataclass
class World:
    installation: Installation
    repo: Repo
    workflow: Workflow
    pr: PullRequest


@pytest.fixture
async def sim_world(sim: GitHubSimulator) -> World:
    installation = sim.add_installation("octo-org")
    repo = sim.add_repo(
        "octo-org/app",
        installation=installation,
        files={
            "README.md": "hello\n",
            "src/app.py": "import os\n\n\ndef main():\n    return 1\n",
            "docs/old.md": "unchanged text\n",
            "obsolete.txt": "gone soon\n",
            WORKFLOW_PATH: WORKFLOW_TEXT,
        },
    )
    workflow = sim.add_workflow(repo, WORKFLOW_PATH, "CI")
    sim.commit(
        repo,
        "feature",
        {
            "src/app.py": "import os\n\n\ndef main():\n    return 2\n",
            "new.txt": "new\n",
            "docs/new.md": "unchanged text\n",
        },
        deleted=["docs/old.md", "obsolete.txt"],
    )
    pr = await sim.open_pull_request(repo, head="feature", title="Change main")
    return World(installation, repo, workflow, pr)


def app_jwt(key: bytes, issued: float | None = None, lifetime: int = 600, iss: int = APP_ID) -> str:
    issued = time.time() - 60 if issued is None else issued
    return jwt.encode({"iat": int(issued), "exp": int(issued) + lifetime, "iss": str(iss)}, key, algorithm="RS256")


async def mint_token(sim: GitHubSimulator, http: aiohttp.ClientSession, key: bytes, installation: Installation) -> str:
    url = f"{sim.base_url}/app/installations/{installation.id}/access_tokens"
    async with http.post(url, headers={"Authorization": f"Bearer {app_jwt(key)}"}) as response:
        assert response.status == 201
        return (await response.json())["token"]


def auth(token: str) -> dict[str, str]:
    return {
        "Authorization": f"token {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": "2022-11-28",
    }


async def test_token_minting_verifies_the_app_jwt(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    url = f"{sim.base_url}/app/installations/{sim_world.installation.id}/access_tokens"
    async with http.post(url, headers={"Authorization": f"Bearer {app_jwt(app_key)}"}) as response:
        assert response.status == 201
        body = await response.json()
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=59) < expires - datetime.now(UTC) <= timedelta(hours=1)
    assert body["repository_selection"] == "selected" and body["permissions"]["checks"] == "write"

    bad_jwts = {
        "other key": app_jwt(new_app_private_key().encode()),
        "other app": app_jwt(app_key, iss=APP_ID + 1),
        "lifetime over 10 minutes": app_jwt(app_key, lifetime=900),
        "expired": app_jwt(app_key, issued=time.time() - 3600),
        "garbage": "not-a-jwt",
    }
    for reason, token in bad_jwts.items():
        async with http.post(url, headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 401, reason
    async with http.post(
        f"{sim.base_url}/app/installations/999/access_tokens", headers={"Authorization": f"Bearer {app_jwt(app_key)}"}
    ) as response:
        assert response.status == 404
    assert sim.contract_violations == [], "\n".join(sim.contract_violations)


async def test_installation_tokens_are_checked(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    token = await mint_token(sim, http, app_key, sim_world.installation)
    repo_url = f"{sim.base_url}/repos/octo-org/app"
    for headers in ({}, {"Authorization": "token nope"}, {"Authorization": f"Basic {token}"}):
        async with http.get(repo_url, headers=headers) as response:
            assert response.status == 401
            assert (await response.json())["documentation_url"].startswith("https://docs.github.com")
    async with http.get(repo_url, headers={"Authorization": "token nope"}) as response:
        assert (await response.json())["message"] == "Bad credentials"
    async with http.get(repo_url, headers={"Authorization": f"BEARER {token}"}) as response:
        assert response.status == 200
        assert (await response.json())["full_name"] == "octo-org/app"

    other = sim.add_installation("someone-else")
    sim.add_repo("someone-else/private", installation=other)
    async with http.get(f"{sim.base_url}/repos/someone-else/private", headers=auth(token)) as response:
        assert response.status == 404

    sim.faults.expire_tokens()
    async with http.get(repo_url, headers=auth(token)) as response:
        assert response.status == 401
    fresh = await mint_token(sim, http, app_key, sim_world.installation)
    async with http.get(repo_url, headers=auth(fresh)) as response:
        assert response.status == 200
    assert sim.contract_violations == [], "\n".join(sim.contract_violations)


async def test_every_endpoint_answers_within_the_contract(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    repo, pr = sim_world.repo, sim_world.pr
    run = sim.add_run(
        repo,
        sim_world.workflow,
        head_branch="feature",
        event="pull_request",
        jobs=[JobSpec("test", steps=(StepSpec("checkout", 2.0), StepSpec("pytest", 60.0)))],
    )
    token = await mint_token(sim, http, app_key, sim_world.installation)
    gh = GitHubAPI(http, "ci-orchestrator-tests", oauth_token=token, base_url=sim.base_url)
    r = "/repos/octo-org/app"

    assert (await gh.getitem(r))["default_branch"] == "main"
    content = await gh.getitem(f"{r}/contents/src/app.py?ref=feature")
    assert base64.b64decode(content["content"]).decode().endswith("return 2\n")
    assert {e["name"] for e in await gh.getitem(f"{r}/contents/src")} == {"app.py"}
    assert (await gh.getitem(f"{r}/actions/workflows/ci.yml"))["id"] == sim_world.workflow.id
    runs = await gh.getitem(f"{r}/actions/workflows/{sim_world.workflow.id}/runs?branch=feature")
    assert [item["id"] for item in runs["workflow_runs"]] == [run.id]
    assert runs["workflow_runs"][0]["pull_requests"][0]["number"] == pr.number
    assert (await gh.getitem(f"{r}/actions/runs?event=pull_request"))["total_count"] == 1
    assert (await gh.getitem(f"{r}/actions/runs/{run.id}"))["conclusion"] == "success"
    assert (await gh.getitem(f"{r}/actions/runs/{run.id}/attempts/1"))["run_attempt"] == 1
    jobs = await gh.getitem(f"{r}/actions/runs/{run.id}/attempts/1/jobs")
    assert [s["name"] for s in jobs["jobs"][0]["steps"]] == ["checkout", "pytest"]
    assert (await gh.getitem(f"{r}/actions/runs/{run.id}/jobs?filter=all"))["total_count"] == 1
    assert [p["number"] for p in await gh.getitem(f"{r}/commits/{pr.head_sha}/pulls")] == [pr.number]
    assert [p["number"] for p in await gh.getitem(f"{r}/pulls?head=octo-org:feature&base=main")] == [pr.number]
    assert (await gh.getitem(f"{r}/pulls/{pr.number}"))["changed_files"] == 4
    assert len(await gh.getitem(f"{r}/pulls/{pr.number}/files")) == 4

    comment = await gh.post(f"{r}/issues/{pr.number}/comments", data={"body": "first"})
    await gh.patch(f"{r}/issues/comments/{comment['id']}", data={"body": "edited"})
    assert [c["body"] for c in await gh.getitem(f"{r}/issues/{pr.number}/comments")] == ["edited"]

    check = await gh.post(
        f"{r}/check-runs", data={"name": "ci-speed", "head_sha": pr.head_sha, "status": "in_progress"}
    )
    assert check["status"] == "in_progress" and check["conclusion"] is None
    annotation = {
        "path": "src/app.py",
        "start_line": 5,
        "end_line": 5,
        "annotation_level": "warning",
        "message": "slower",
    }
    await gh.patch(
        f"{r}/check-runs/{check['id']}",
        data={"conclusion": "neutral", "output": {"title": "t", "summary": "s", "annotations": [annotation]}},
    )
    assert (await gh.getitem(f"{r}/check-runs/{check['id']}"))["output"]["annotations_count"] == 1
    assert len(await gh.getitem(f"{r}/check-runs/{check['id']}/annotations")) == 1
    listed = await gh.getitem(f"{r}/commits/{pr.head_sha}/check-runs?check_name=ci-speed&app_id={APP_ID}")
    assert listed["total_count"] == 1 and listed["check_runs"][0]["conclusion"] == "neutral"

    review = await gh.post(
        f"{r}/pulls/{pr.number}/reviews",
        data={
            "event": "COMMENT",
            "body": "review",
            "comments": [{"path": "src/app.py", "line": 5, "side": "RIGHT", "body": "why 2?"}],
        },
    )
    assert review["state"] == "COMMENTED"
    review_comments = await gh.getitem(f"{r}/pulls/{pr.number}/comments")
    assert review_comments[0]["diff_hunk"].endswith("+    return 2")
    assert (await gh.getitem(f"{r}/collaborators/octo-org/permission"))["permission"] == "admin"
    sim.set_collaborator(repo, "bob", "maintain")
    bob = await gh.getitem(f"{r}/collaborators/bob/permission")
    assert (bob["permission"], bob["role_name"]) == ("write", "maintain")
    assert (await gh.getitem(f"{r}/collaborators/stranger/permission"))["permission"] == "read"
    details = await gh.post(
        f"{r}/actions/workflows/ci.yml/dispatches", data={"ref": "main", "return_run_details": True}
    )
    assert sim.state.runs[details["workflow_run_id"]].latest.status == "queued"
    await gh.post(f"{r}/actions/workflows/ci.yml/dispatches", data={"ref": "main"})

    assert [c.body for c in sim.issue_comments(repo, pr.number)] == ["edited"]
    assert [len(rv.comment_ids) for rv in sim.reviews(repo, pr.number)] == [1]
    assert sim.pull_request(repo, pr.number) is pr
    assert {run.id, details["workflow_run_id"]} < {item.id for item in sim.runs(repo)}

    assert sim.contract_violations == [], "\n".join(sim.contract_violations)
    assert sim.calls[("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")] == 1
    assert sim.calls[("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches")] == 2
    assert len(sim.calls) == 26
    assert all("authorization" not in request.headers for request in sim.requests)


async def test_lists_are_paginated_with_link_headers(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    token = await mint_token(sim, http, app_key, sim_world.installation)
    for number in range(5):
        await sim.add_issue_comment(sim_world.pr, f"comment {number}")
    url = f"{sim.base_url}/repos/octo-org/app/issues/{sim_world.pr.number}/comments"
    async with http.get(url, params={"per_page": "2"}, headers=auth(token)) as response:
        assert len(await response.json()) == 2
        assert 'rel="next"' in response.headers["Link"] and "page=3" in response.headers["Link"]
    async with http.get(url, params={"per_page": "2", "page": "3"}, headers=auth(token)) as response:
        assert [c["body"] for c in await response.json()] == ["comment 4"]
        assert 'rel="prev"' in response.headers["Link"] and 'rel="next"' not in response.headers["Link"]

    gh = GitHubAPI(http, "tests", oauth_token=token, base_url=sim.base_url)
    comments_url = f"/repos/octo-org/app/issues/{sim_world.pr.number}/comments?per_page=2"
    bodies = [c["body"] async for c in gh.getiter(comments_url)]
    assert bodies == [f"comment {n}" for n in range(5)]
    assert sim.calls[("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")] == 5
    assert sim.contract_violations == [], "\n".join(sim.contract_violations)


async def test_conditional_get_answers_304_without_using_the_rate_limit(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    token = await mint_token(sim, http, app_key, sim_world.installation)
    url = f"{sim.base_url}/repos/octo-org/app/pulls/{sim_world.pr.number}"
    async with http.get(url, headers=auth(token)) as response:
        etag = response.headers["ETag"]
        remaining = int(response.headers["x-ratelimit-remaining"])
        assert int(response.headers["x-ratelimit-reset"]) > time.time()
    async with http.get(url, headers={**auth(token), "If-None-Match": etag}) as response:
        assert response.status == 304
        assert int(response.headers["x-ratelimit-remaining"]) == remaining
    await sim.synchronize(sim_world.pr, files={"README.md": "changed\n"})
    async with http.get(url, headers={**auth(token), "If-None-Match": etag}) as response:
        assert response.status == 200
        assert int(response.headers["x-ratelimit-remaining"]) == remaining - 1
    assert sim.contract_violations == [], "\n".join(sim.contract_violations)


async def test_run_filters_order_and_attempts(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    start = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    old = sim.add_run(
        sim_world.repo, sim_world.workflow, created_at=start, jobs=[JobSpec("build", conclusion="failure")]
    )
    new = sim.add_run(
        sim_world.repo,
        sim_world.workflow,
        created_at=start + timedelta(days=2),
        jobs=[JobSpec("build", duration=120, queue=30, steps=(StepSpec("make", 100),)), JobSpec("lint", duration=20)],
    )
    gh = GitHubAPI(
        http, "tests", oauth_token=await mint_token(sim, http, app_key, sim_world.installation), base_url=sim.base_url
    )
    runs_url = "/repos/octo-org/app/actions/workflows/ci.yml/runs"

    async def ids(query: str) -> list[int]:
        return [run["id"] for run in (await gh.getitem(f"{runs_url}?{query}"))["workflow_runs"]]

    assert await ids("branch=main") == [new.id, old.id]
    assert await ids("status=failure") == [old.id]
    assert await ids("status=completed") == [new.id, old.id]
    assert await ids("created=<2026-01-11T00:00:00Z") == [old.id]
    assert await ids("created=>=2026-01-11") == [new.id]
    assert await ids(f"head_sha={sim_world.repo.branches['main']}&event=push&per_page=1&page=2") == [old.id]

    job = (await gh.getitem(f"/repos/octo-org/app/actions/runs/{new.id}/jobs"))["jobs"][0]
    assert job["created_at"] == "2026-01-12T12:00:00Z" and job["started_at"] == "2026-01-12T12:00:30Z"
    assert job["completed_at"] == "2026-01-12T12:02:30Z"

    await sim.rerun(
        new, jobs=[JobSpec("lint", duration=25)], partial=True, started_at=start + timedelta(days=2, hours=1)
    )
    latest = await gh.getitem(f"/repos/octo-org/app/actions/runs/{new.id}")
    assert latest["run_attempt"] == 2 and latest["previous_attempt_url"].endswith("/attempts/1")
    first = await gh.getitem(f"/repos/octo-org/app/actions/runs/{new.id}/attempts/1/jobs")
    assert {j["name"]: j["run_attempt"] for j in first["jobs"]} == {"build": 1, "lint": 1}
    second = await gh.getitem(f"/repos/octo-org/app/actions/runs/{new.id}/attempts/2/jobs")
    assert {j["name"]: j["run_attempt"] for j in second["jobs"]} == {"build": 1, "lint": 2}
    assert (await gh.getitem(f"/repos/octo-org/app/actions/runs/{new.id}/jobs?filter=all"))["total_count"] == 3
    assert len(await ids("branch=main")) == 2
    assert sim.contract_violations == [], "\n".join(sim.contract_violations)


async def test_fork_pull_requests_look_like_github(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes, receiver: Receiver
) -> None:
    fork = sim.add_fork(sim_world.repo, owner="mallory")
    sim.commit(fork, "evil", {"src/app.py": "print('hi')\n"}, message="Fork change", author="mallory")
    pr = await sim.open_pull_request(sim_world.repo, head="evil", head_repo=fork, user="mallory", title="From fork")
    run = sim.add_run(
        sim_world.repo,
        sim_world.workflow,
        head_sha=pr.head_sha,
        head_branch="evil",
        head_repo=fork,
        event="pull_request",
        actor="mallory",
    )
    same_repo_run = sim.add_run(sim_world.repo, sim_world.workflow, head_branch="feature", event="pull_request")
    await sim.deliver_workflow_run(run)
    payload = receiver.events[-1].data
    assert payload["workflow_run"]["pull_requests"] == []
    assert payload["workflow_run"]["head_repository"]["full_name"] == "mallory/app"
    assert len(sim.render.workflow_run(same_repo_run)["pull_requests"]) == 1

    gh = GitHubAPI(
        http, "tests", oauth_token=await mint_token(sim, http, app_key, sim_world.installation), base_url=sim.base_url
    )
    found = await gh.getitem(f"/repos/octo-org/app/commits/{pr.head_sha}/pulls")
    assert [p["number"] for p in found] == [pr.number]
    assert found[0]["head"]["repo"]["full_name"] == "mallory/app"
    files = await gh.getitem(f"/repos/octo-org/app/pulls/{pr.number}/files")
    assert [(f["filename"], f["status"]) for f in files] == [("src/app.py", "modified")]
    assert sim.contract_violations == [], "\n".join(sim.contract_violations)


async def test_pull_request_files_carry_real_patches(sim: GitHubSimulator, sim_world: World) -> None:
    pr = sim_world.pr
    files = {f["filename"]: f for f in (sim.render.diff_entry(pr, c) for c in sim.state.pull_files(pr))}
    assert files["docs/new.md"]["status"] == "renamed" and files["docs/new.md"]["previous_filename"] == "docs/old.md"
    assert files["obsolete.txt"]["status"] == "removed" and files["obsolete.txt"]["deletions"] == 1
    assert files["new.txt"] == files["new.txt"] | {"status": "added", "additions": 1, "patch": "@@ -0,0 +1 @@\n+new"}
    assert files["src/app.py"]["patch"] == ("@@ -2,4 +2,4 @@\n \n \n def main():\n-    return 1\n+    return 2")


async def test_output_limits_are_enforced(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    token = await mint_token(sim, http, app_key, sim_world.installation)
    r = f"{sim.base_url}/repos/octo-org/app"
    annotation = {"path": "src/app.py", "start_line": 1, "end_line": 1, "annotation_level": "notice", "message": "m"}
    async with http.post(
        f"{r}/check-runs",
        headers=auth(token),
        json={
            "name": "c",
            "head_sha": sim_world.pr.head_sha,
            "output": {"title": "t", "summary": "s", "annotations": [annotation] * 50},
        },
    ) as response:
        assert response.status == 201
        check_id = (await response.json())["id"]
    async with http.patch(
        f"{r}/check-runs/{check_id}",
        headers=auth(token),
        json={"output": {"title": "t", "summary": "s", "annotations": [annotation] * 51}},
    ) as response:
        assert response.status == 422
    async with http.patch(
        f"{r}/check-runs/{check_id}",
        headers=auth(token),
        json={"output": {"title": "t", "summary": "s", "annotations": [annotation] * 20}},
    ) as response:
        assert (await response.json())["output"]["annotations_count"] == 70
    async with http.patch(
        f"{r}/check-runs/{check_id}", headers=auth(token), json={"output": {"title": "t", "summary": "é" * 32_768}}
    ) as response:
        assert response.status == 422
    async with http.post(
        f"{r}/check-runs",
        headers=auth(token),
        json={"name": "c", "head_sha": sim_world.pr.head_sha, "status": "completed"},
    ) as response:
        assert response.status == 422
    async with http.post(
        f"{r}/issues/{sim_world.pr.number}/comments", headers=auth(token), json={"body": "x" * 65_537}
    ) as response:
        assert response.status == 422
    async with http.post(
        f"{r}/pulls/{sim_world.pr.number}/reviews",
        headers=auth(token),
        json={"event": "COMMENT", "comments": [{"path": "README.md", "line": 1, "body": "not in the diff"}]},
    ) as response:
        assert response.status == 422
        assert (await response.json())["errors"] == ["Path could not be resolved"]
    async with http.post(
        f"{r}/pulls/{sim_world.pr.number}/reviews",
        headers=auth(token),
        json={"event": "COMMENT", "comments": [{"path": "src/app.py", "line": 40, "body": "far away"}]},
    ) as response:
        assert (await response.json())["errors"] == ["Line could not be resolved"]
    assert len(sim.check_runs_for(sim_world.repo, sim_world.pr.head_sha)[0].annotations) == 70
    # GitHub's description states the annotation limit too (its summary limit counts characters, not bytes).
    assert len(sim.contract_violations) == 1
    assert sim.contract_violations[0].startswith(
        "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id} request body: at output.annotations: "
    )
    assert sim.contract_violations[0].endswith("is too long")


async def test_injected_faults(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    token = await mint_token(sim, http, app_key, sim_world.installation)
    url = f"{sim.base_url}/repos/octo-org/app"

    sim.faults.queue_errors(502, count=2)
    for _ in range(2):
        async with http.get(url, headers=auth(token)) as response:
            assert response.status == 502
    async with http.get(url, headers=auth(token)) as response:
        assert response.status == 200

    sim.faults.queue_rate_limit(kind="primary", reset_in=120)
    async with http.get(url, headers=auth(token)) as response:
        assert response.status == 403
        assert response.headers["x-ratelimit-remaining"] == "0"
        assert int(response.headers["x-ratelimit-reset"]) >= time.time() + 100
        assert "rate limit exceeded" in (await response.json())["message"]

    sim.faults.queue_rate_limit(kind="secondary", status=429, retry_after=7)
    async with http.get(url, headers=auth(token)) as response:
        assert response.status == 429 and response.headers["retry-after"] == "7"
        assert response.headers["x-ratelimit-remaining"] != "0"
        assert "secondary rate limit" in (await response.json())["message"]

    calls_before = sim.calls[("GET", "/repos/{owner}/{repo}")]
    sim.faults.queue_connection_resets(2)  # aiohttp's client retries an idempotent request once by itself
    with pytest.raises(aiohttp.ServerDisconnectedError):
        async with http.get(url, headers=auth(token)) as response:
            await response.read()
    assert sim.calls[("GET", "/repos/{owner}/{repo}")] == calls_before + 2

    sim.faults.server_error_rate = 1.0
    async with http.get(url, headers=auth(token)) as response:
        assert response.status == 502
    sim.faults.clear()

    sim.faults.latency = 5.0
    with pytest.raises(TimeoutError):
        async with http.get(url, headers=auth(token), timeout=aiohttp.ClientTimeout(total=0.2)) as response:
            await response.read()
    sim.faults.clear()
    assert sim.contract_violations == [], "\n".join(sim.contract_violations)


async def test_deliveries_are_signed_and_shaped_like_github(
    sim: GitHubSimulator, sim_world: World, receiver: Receiver, openapi_contract: OpenAPIContract
) -> None:
    sha = await sim.push(sim_world.repo, "main", {"README.md": "new\n"}, message="Docs")
    await sim.synchronize(sim_world.pr, files={"new.txt": "newer\n"})
    run = sim.add_run(sim_world.repo, sim_world.workflow, head_sha=sha, jobs=[JobSpec("build", conclusion="failure")])
    await sim.deliver_workflow_run(run, action="completed")
    check = sim.add_check_run(sim_world.repo, sim_world.pr.head_sha, "ci-speed")
    await sim.deliver_check_run(check, "rerequested")
    await sim.deliver_check_run(check, "requested_action", requested_action="rerun")
    await sim.add_issue_comment(sim_world.pr, "/ci-orchestrator rerun")
    await sim.deliver_installation_created(sim_world.installation)
    await sim.deliver_ping(sim_world.installation)

    kinds = [(e.event, e.data.get("action")) for e in receiver.events]
    assert kinds == [
        ("pull_request", "opened"),
        ("push", None),
        ("pull_request", "synchronize"),
        ("workflow_run", "completed"),
        ("check_run", "rerequested"),
        ("check_run", "requested_action"),
        ("issue_comment", "created"),
        ("installation", "created"),
        ("ping", None),
    ]
    assert all(e.data["installation"]["id"] == sim_world.installation.id for e in receiver.events)
    assert all(d.status_code == 202 for d in sim.deliveries)
    headers = receiver.headers[0]
    assert headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert headers["X-GitHub-Hook-Installation-Target-ID"] == str(APP_ID)
    assert headers["X-Hub-Signature"].startswith("sha1=")

    by_event = {e.event: e.data for e in receiver.events}
    assert by_event["push"]["after"] == sha and by_event["push"]["head_commit"]["message"] == "Docs"
    assert by_event["workflow_run"]["workflow_run"]["conclusion"] == "failure"
    assert by_event["workflow_run"]["workflow"]["path"] == WORKFLOW_PATH
    assert by_event["check_run"]["requested_action"] == {"identifier": "rerun"}
    assert by_event["issue_comment"]["issue"]["pull_request"]["url"].endswith(f"/pulls/{sim_world.pr.number}")
    assert by_event["installation"]["repositories"][0]["full_name"] == "octo-org/app"
    synchronize = receiver.events[2].data
    assert synchronize["after"] == sim_world.pr.head_sha == synchronize["pull_request"]["head"]["sha"]

    await sim.push(sim_world.repo, "topic", {"topic.txt": "t\n"}, message="Topic")
    new_branch = receiver.events[-1].data
    assert new_branch["created"] is True and [c["message"] for c in new_branch["commits"]] == ["Topic"]
    assert new_branch["commits"][0]["added"] == ["topic.txt"]

    problems = [problem for e in receiver.events for problem in openapi_contract.check_webhook(e.event, e.data)]
    assert problems == [], "\n".join(problems)

    custom = await sim.deliver("pull_request", dict(receiver.events[0].data, action="labeled"))
    assert custom.status_code == 202 and receiver.events[-1].data["action"] == "labeled"
    sim.webhook_secret = "not-the-apps-secret"
    assert (await sim.deliver_ping(sim_world.installation)).status_code == 400
    sim.webhook_secret = SECRET

    receiver.answer = 500
    again = await sim.redeliver(sim.deliveries[0])
    assert again.guid == sim.deliveries[0].guid == receiver.events[-1].delivery_id
    assert again.status_code == 500
    assert sim.contract_violations == [], "\n".join(sim.contract_violations)


async def test_contract_reports_bad_requests_readably(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    token = await mint_token(sim, http, app_key, sim_world.installation)
    r = f"{sim.base_url}/repos/octo-org/app"
    async with http.post(
        f"{r}/check-runs",
        headers=auth(token),
        json={"name": "c", "head_sha": sim_world.pr.head_sha, "conclusion": "bogus"},
    ) as response:
        assert response.status == 422
    async with http.post(f"{r}/check-runs", headers=auth(token), json={"head_sha": sim_world.pr.head_sha}) as response:
        assert response.status == 422
    async with http.get(f"{r}/no-such-thing", headers=auth(token)) as response:
        assert response.status == 404
        assert (await response.json())["message"] == "Not Found"
    async with http.delete(f"{r}/check-runs", headers=auth(token)) as response:
        assert response.status == 404
    no_dispatch = sim.add_workflow(sim_world.repo, ".github/workflows/push-only.yml", "Push only", content="on: push\n")
    async with http.post(
        f"{r}/actions/workflows/{no_dispatch.id}/dispatches", headers=auth(token), json={"ref": "main"}
    ) as response:
        assert response.status == 422
        assert "workflow_dispatch" in (await response.json())["message"]
    violations = sim.contract_violations
    assert any(
        v.startswith("POST /repos/{owner}/{repo}/check-runs request body: at conclusion:") and "'bogus'" in v
        for v in violations
    ), violations
    assert any("'name' is a required property" in v for v in violations), violations
    assert "GET /repos/octo-org/app/no-such-thing: not an operation of GitHub's REST API" in violations
    assert "DELETE /repos/octo-org/app/check-runs: not an operation of GitHub's REST API" in violations
    assert len(violations) == 4, violations


def test_contract_reports_bad_responses(openapi_contract: OpenAPIContract) -> None:
    run = {"id": "seven", "status": "queued"}
    problems = openapi_contract.check_response("GET", "http://x/repos/o/r/actions/runs/1", 200, {}, run)
    assert any(p.startswith("GET /repos/{owner}/{repo}/actions/runs/{run_id} response 200: at id:") for p in problems)
    assert any("'head_sha' is a required property" in p for p in problems)
    assert openapi_contract.check_response("POST", "http://x/repos/o/r/check-runs", 202, {}, {}) == [
        "POST /repos/{owner}/{repo}/check-runs response: status 202 is not a documented answer"
    ]
    assert openapi_contract.check_response("GET", "http://x/repos/o/r", 304, {}, None) == []


async def test_every_supported_delivery_fits_githubs_webhook_schemas(
    sim: GitHubSimulator, sim_world: World, receiver: Receiver, openapi_contract: OpenAPIContract
) -> None:
    queued = sim.add_run(sim_world.repo, sim_world.workflow, jobs=[JobSpec("build", status="queued")])
    running = sim.add_run(
        sim_world.repo, sim_world.workflow, jobs=[JobSpec("build", status="in_progress", steps=(StepSpec("make"),))]
    )
    await sim.deliver_workflow_run(queued, action="requested")
    await sim.deliver_workflow_run(running, action="in_progress")
    finished = sim.add_run(sim_world.repo, sim_world.workflow, jobs=[JobSpec("build"), JobSpec("test")])
    await sim.deliver_workflow_jobs(finished)
    check = sim.add_check_run(sim_world.repo, sim_world.pr.head_sha, "ci-speed", status="in_progress")
    await sim.deliver_check_run(check, "created")
    done = sim.add_check_run(sim_world.repo, sim_world.pr.head_sha, "ci-speed", conclusion="failure")
    await sim.deliver_check_run(done, "completed")
    await sim.close_pull_request(sim_world.pr)
    await sim.reopen_pull_request(sim_world.pr)
    draft_head = sim.commit(sim_world.repo, "draft", {"draft.txt": "d\n"})
    draft = await sim.open_pull_request(sim_world.repo, head="draft", draft=True)
    await sim.ready_for_review(draft)
    await sim.close_pull_request(draft, merged=True)

    kinds = [(e.event, e.data["action"]) for e in receiver.events[1:]]
    assert kinds == [
        ("workflow_run", "requested"),
        ("workflow_run", "in_progress"),
        ("workflow_job", "completed"),
        ("workflow_job", "completed"),
        ("check_run", "created"),
        ("check_run", "completed"),
        ("pull_request", "closed"),
        ("pull_request", "reopened"),
        ("pull_request", "opened"),
        ("pull_request", "ready_for_review"),
        ("pull_request", "closed"),
    ]
    assert receiver.events[2].data["workflow_run"]["status"] == "in_progress"
    assert [e.data["workflow_job"]["name"] for e in receiver.events[3:5]] == ["build", "test"]
    assert receiver.events[-1].data["pull_request"]["merged"] is True
    assert receiver.events[-1].data["pull_request"]["head"]["sha"] == draft_head
    problems = [problem for e in receiver.events for problem in openapi_contract.check_webhook(e.event, e.data)]
    assert problems == [], "\n".join(problems)
    bad = dict(receiver.events[0].data, number="one")
    assert openapi_contract.check_webhook("pull_request", bad) == [
        "webhook pull-request-opened: at number: 'one' is not of type 'integer'"
    ]


def test_created_qualifiers_match_githubs_search_syntax() -> None:
    moment = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    assert matches_created(moment, "2026-01-10")
    assert matches_created(moment, "<=2026-01-10") and not matches_created(moment, "<2026-01-10")
    assert matches_created(moment, ">=2026-01-10T11:59:59Z") and not matches_created(moment, ">2026-01-10")
    assert matches_created(moment, "2026-01-01..2026-01-10") and not matches_created(moment, "2026-01-11..*")


def test_commentable_lines_follow_the_hunks() -> None:
    patch = unified_patch("a\nb\nc\nd\ne\nf\ng\nh\n", "a\nb\nc\nD\ne\nf\ng\nh\n")
    assert patch.startswith("@@ -1,7 +1,7 @@")
    assert commentable_lines(patch) == {"RIGHT": {1, 2, 3, 4, 5, 6, 7}, "LEFT": {1, 2, 3, 4, 5, 6, 7}}
    assert hunk_for_line(patch, 4, "RIGHT").splitlines()[-1] == "+D"
    assert hunk_for_line(patch, 4, "LEFT").splitlines()[-1] == "-d"


async def test_githubs_record_of_deliveries_lists_and_redelivers_them_as_documented(
    sim: GitHubSimulator, sim_world: World, receiver: Receiver, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    """`GET /app/hook/deliveries` (newest first, cursor pages, status filter) and `POST …/{id}/attempts`, App JWT."""
    receiver.answer = 503
    failed = await sim.deliver_workflow_run(sim.add_run(sim_world.repo, sim_world.workflow), action="completed")
    receiver.answer = 202
    jwt_headers = {"Authorization": f"Bearer {app_jwt(app_key)}", "Accept": "application/vnd.github+json"}
    url = f"{sim.base_url}/app/hook/deliveries"

    async with http.get(url, params={"per_page": "1"}, headers=jwt_headers) as response:
        assert response.status == 200
        (newest,) = await response.json()
        next_page = response.links["next"]["url"]
    assert newest["guid"] == failed.guid and newest["redelivery"] is False
    assert (newest["status_code"], newest["status"], newest["event"]) == (
        503,
        "Invalid HTTP Response: 503",
        "workflow_run",
    )
    assert newest["repository_id"] == sim_world.repo.id and newest["installation_id"] == sim_world.installation.id
    async with http.get(str(next_page), headers=jwt_headers) as response:
        (opened,) = await response.json()
    assert opened["event"] == "pull_request" and opened["status"] == "OK" and opened["id"] < newest["id"]
    async with http.get(url, params={"status": "failure"}, headers=jwt_headers) as response:
        assert [d["guid"] for d in await response.json()] == [failed.guid]

    token = await mint_token(sim, http, app_key, sim_world.installation)
    async with http.get(url, headers=auth(token)) as response:
        assert response.status == 401  # the App's JWT only
    async with http.post(f"{url}/{newest['id']}/attempts", headers=jwt_headers) as response:
        assert response.status == 202
    await sim.settle_redeliveries()
    assert [e.delivery_id for e in receiver.events[-1:]] == [failed.guid]
    async with http.get(url, headers=jwt_headers) as response:
        latest = (await response.json())[0]
    assert (latest["guid"], latest["redelivery"], latest["status_code"]) == (failed.guid, True, 202)
    async with http.post(f"{url}/999/attempts", headers=jwt_headers) as response:
        assert response.status == 404
    assert sim.contract_violations == [], "\n".join(sim.contract_violations)


async def test_installations_their_repositories_and_the_rate_limit(
    sim: GitHubSimulator, sim_world: World, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    jwt_headers = {"Authorization": f"Bearer {app_jwt(app_key)}", "Accept": "application/vnd.github+json"}
    async with http.get(f"{sim.base_url}/app/installations", headers=jwt_headers) as response:
        assert [i["id"] for i in await response.json()] == [sim_world.installation.id]
    async with http.get(f"{sim.base_url}/repos/octo-org/app/installation", headers=jwt_headers) as response:
        assert (await response.json())["account"]["login"] == "octo-org"
    token = await mint_token(sim, http, app_key, sim_world.installation)
    async with http.get(f"{sim.base_url}/installation/repositories", headers=auth(token)) as response:
        listed = await response.json()
    assert [r["full_name"] for r in listed["repositories"]] == ["octo-org/app"] and listed["total_count"] == 1
    async with http.get(f"{sim.base_url}/rate_limit", headers=auth(token)) as response:
        first = (await response.json())["resources"]["core"]
    async with http.get(f"{sim.base_url}/rate_limit", headers=auth(token)) as response:
        second = (await response.json())["resources"]["core"]
    assert first["limit"] == 5000 and second["used"] == first["used"]  # asking is free
    assert sim.contract_violations == [], "\n".join(sim.contract_violations)


DISPATCH_WORKFLOW = """\
name: Matrix
run-name: Matrix ${{ inputs.python }}
on:
  workflow_dispatch:
    inputs:
      python: {required: true}
      os: {type: choice, options: [ubuntu-latest, macos-latest], default: ubuntu-latest}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: pytest
"""


async def test_workflow_dispatch_checks_inputs_plays_runs_and_cancels(
    sim: GitHubSimulator,
    sim_world: World,
    receiver: Receiver,
    http: aiohttp.ClientSession,
    app_key: bytes,
    openapi_contract: OpenAPIContract,
) -> None:
    repo = sim_world.repo
    workflow = sim.add_workflow(repo, ".github/workflows/matrix.yml", "Matrix", content=DISPATCH_WORKFLOW)
    sim.script_dispatches(
        workflow,
        lambda inputs: (
            None
            if inputs["python"] == "never"
            else [JobSpec("test", duration=60, conclusion="failure", steps=[StepSpec("Run pytest", 60, "failure")])]
        ),
    )
    token = await mint_token(sim, http, app_key, sim_world.installation)
    url = f"{sim.base_url}/repos/octo-org/app/actions/workflows/matrix.yml/dispatches"

    async def dispatch(body):
        async with http.post(url, headers=auth(token), json=body) as response:
            return response.status, (await response.json() if response.status != 204 else None)

    status, answer = await dispatch({"ref": "main", "inputs": {"python": "3.12"}, "return_run_details": True})
    assert status == 200 and set(answer) == {"workflow_run_id", "run_url", "html_url"}
    run = sim.state.runs[answer["workflow_run_id"]]
    assert run.inputs == {"python": "3.12"} and run.display_title == "Matrix 3.12" and run.event == "workflow_dispatch"
    assert await dispatch({"ref": "main", "inputs": {"pyton": "3.12"}}) == (
        422,
        {"message": 'Unexpected inputs provided: ["pyton"]', "documentation_url": "https://docs.github.com/rest"},
    )
    assert (await dispatch({"ref": "main", "inputs": {}}))[1]["message"] == "Required input 'python' not provided"
    status, answer = await dispatch({"ref": "main", "inputs": {"python": "3.12", "os": "windows-latest"}})
    assert status == 422 and "not in the list of allowed values" in answer["message"]
    assert (await dispatch({"ref": "no-branch", "inputs": {"python": "3"}}))[0] == 422
    sim.state.run_details = False
    assert await dispatch({"ref": "main", "inputs": {"python": "never"}, "return_run_details": True}) == (204, None)
    await sim.played()
    played = [(e.event, e.data["action"]) for e in receiver.events[1:]]
    assert played == [
        ("workflow_run", "requested"),
        ("workflow_job", "queued"),
        ("workflow_run", "in_progress"),
        ("workflow_job", "in_progress"),
        ("workflow_job", "completed"),
        ("workflow_run", "completed"),
        ("workflow_run", "requested"),  # the run that is never picked up
    ]
    completed_job = receiver.events[5].data["workflow_job"]
    assert completed_job["conclusion"] == "failure" and completed_job["steps"][0]["conclusion"] == "failure"
    problems = [problem for e in receiver.events for problem in openapi_contract.check_webhook(e.event, e.data)]
    assert problems == [], "\n".join(problems)

    waiting = max(sim.state.runs.values(), key=lambda r: r.id)
    cancel = f"{sim.base_url}/repos/octo-org/app/actions/runs/{waiting.id}/cancel"
    async with http.post(cancel, headers=auth(token)) as response:
        assert response.status == 202
    await sim.played()
    assert (
        waiting.latest.conclusion == "cancelled"
        and receiver.events[-1].data["workflow_run"]["conclusion"] == "cancelled"
    )
    async with http.post(cancel, headers=auth(token)) as response:
        assert response.status == 409

    comment = await sim.add_issue_comment(sim_world.pr, "/ci test")
    reactions = f"{sim.base_url}/repos/octo-org/app/issues/comments/{comment.id}/reactions"
    for expected in (201, 200):
        async with http.post(reactions, headers=auth(token), json={"content": "eyes"}) as response:
            assert response.status == expected and (await response.json())["content"] == "eyes"
    assert [r.content for r in sim.state.reactions[comment.id]] == ["eyes"]
    assert sim.contract_violations == []


async def test_re_running_one_job_or_a_whole_run_plays_a_new_attempt(
    sim: GitHubSimulator, sim_world: World, receiver: Receiver, http: aiohttp.ClientSession, app_key: bytes
) -> None:
    repo = sim_world.repo
    workflow = sim.add_workflow(repo, ".github/workflows/ci.yml", "CI", content="on: push\n")
    run = sim.add_run(repo, workflow, jobs=[JobSpec("build", duration=300), JobSpec("test", duration=200)])
    build, test = run.latest.jobs
    token = await mint_token(sim, http, app_key, sim_world.installation)
    sim.script_rerun(run, [JobSpec("build", duration=900)])
    async with http.post(
        f"{sim.base_url}/repos/octo-org/app/actions/jobs/{build.id}/rerun", headers=auth(token), json={}
    ) as response:
        assert response.status == 201 and await response.json() == {}
    await sim.played()
    second = run.latest
    assert second.number == 2 and [job.name for job in second.jobs] == ["test", "build"]
    rerun_build = next(job for job in second.jobs if job.name == "build")
    assert rerun_build.run_attempt == 2 and (rerun_build.completed_at - rerun_build.started_at).total_seconds() == 900
    assert next(job for job in second.jobs if job.name == "test").id == test.id  # kept from attempt 1
    delivered = receiver.events[-1].data
    assert receiver.events[-1].event == "workflow_run" and delivered["workflow_run"]["run_attempt"] == 2

    async with http.post(
        f"{sim.base_url}/repos/octo-org/app/actions/runs/{run.id}/rerun", headers=auth(token), json={}
    ) as response:
        assert response.status == 201
    await sim.played()
    assert run.latest.number == 3 and all(job.run_attempt == 3 for job in run.latest.jobs)
    async with http.post(
        f"{sim.base_url}/repos/octo-org/app/actions/jobs/99999/rerun", headers=auth(token), json={}
    ) as response:
        assert response.status == 404
