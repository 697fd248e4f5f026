"""The GitHub client seam: retry decisions, backoff, rate limits, token cache, JWT, write serialisation."""

from __future__ import annotations

import asyncio
import random
import time

import aiohttp
import gidgethub
import jwt
import pytest
from aiohttp import web
from helpers import make_settings

from bot.app import metrics
from bot.github import client as github
from bot.github.client import (
    Done,
    GitHubApp,
    GitHubUnavailable,
    GiveUp,
    InstallationTokens,
    RefreshToken,
    Refused,
    Retry,
    calls_in_delivery,
    next_attempt,
)


def decide(status, headers=None, body=b"", **kw):
    options = {"attempt": 1, "now": 1000.0, "budget_left": 300.0, "token_refreshed": False, "rng": random.Random(1)}
    options.update(kw)
    return next_attempt(status, headers or {}, body, **options)


class TestRetryDecisions:
    def test_success_and_plain_errors_are_final(self):
        assert decide(200) == Done()
        assert decide(404) == Done()
        assert decide(422) == Done()
        assert (
            decide(403, {"x-ratelimit-remaining": "4999"}, b'{"message": "Resource not accessible by integration"}')
            == Done()
        )

    @pytest.mark.parametrize("status", [None, 500, 502, 503, 504])
    def test_server_errors_and_connection_failures_back_off_exponentially_with_jitter(self, status):
        delays = [decide(status, attempt=n, rng=random.Random(n)).delay for n in range(1, 5)]
        caps = [1, 2, 4, 8]
        assert all(0 <= d <= cap for d, cap in zip(delays, caps, strict=False))
        assert isinstance(decide(status, attempt=github.MAX_ATTEMPTS), GiveUp)

    def test_backoff_never_exceeds_the_budget(self):
        assert isinstance(decide(502, attempt=4, budget_left=0.0, rng=random.Random(3)), GiveUp)

    def test_primary_rate_limit_waits_until_reset(self):
        decision = decide(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}, now=1000.0)
        assert decision == Retry(31.0, "primary rate limit")
        assert isinstance(decide(429, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}), Retry)

    def test_primary_rate_limit_beyond_budget_gives_up_cleanly(self):
        decision = decide(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "5000"}, now=1000.0)
        assert isinstance(decision, GiveUp) and "4001 s" in decision.reason

    def test_secondary_rate_limit_honours_retry_after(self):
        assert decide(403, {"retry-after": "7", "x-ratelimit-remaining": "10"}) == Retry(
            7.0, "secondary rate limit (retry-after)"
        )

    def test_secondary_rate_limit_without_retry_after_waits_at_least_a_minute_and_grows(self):
        body = (
            b'{"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}'
        )
        first = decide(403, {"x-ratelimit-remaining": "10"}, body, attempt=1)
        second = decide(403, {"x-ratelimit-remaining": "10"}, body, attempt=2)
        assert first.delay == 60 and second.delay == 120
        assert isinstance(decide(429, {}, b"{}", attempt=1), Retry)

    def test_401_refreshes_the_token_once(self):
        assert decide(401) == RefreshToken()
        assert decide(401, token_refreshed=True) == Done()


async def test_concurrent_token_requests_share_one_mint():
    minted = 0

    async def mint(installation_id):
        nonlocal minted
        minted += 1
        await asyncio.sleep(0.01)
        return f"tok-{installation_id}-{minted}", time.time() + 3600

    tokens = InstallationTokens(mint)
    results = await asyncio.gather(*(tokens.get(7) for _ in range(1000)))
    assert set(results) == {"tok-7-1"} and minted == 1
    assert await tokens.get(8) == "tok-8-2"


async def test_token_is_refreshed_before_it_expires_and_after_invalidation():
    expiries = iter([time.time() + 200, time.time() + 3600, time.time() + 3600])

    async def mint(installation_id):
        return f"tok{next(tokens_issued)}", next(expiries)

    tokens_issued = iter(range(10))
    tokens = InstallationTokens(mint)
    assert await tokens.get(1) == "tok0"  # expires in 200 s: inside the 5-minute margin, so not reused
    assert await tokens.get(1) == "tok1"
    assert await tokens.get(1) == "tok1"
    tokens.invalidate(1, "stale-token-from-elsewhere")
    assert await tokens.get(1) == "tok1"
    tokens.invalidate(1, "tok1")
    assert await tokens.get(1) == "tok2"


class ScriptedGitHub:
    """A tiny GitHub that answers from a script and records what it was sent."""

    def __init__(self, script):
        self.script = list(script)
        self.requests: list[tuple] = []
        self.concurrent_writes = 0
        self.max_concurrent_writes = 0

    async def handle(self, request: web.Request) -> web.Response:
        if request.path.endswith("/access_tokens"):
            token = jwt.decode(request.headers["Authorization"].split()[1], options={"verify_signature": False})
            assert token["exp"] - token["iat"] <= 600 and token["iat"] <= time.time() - 59
            return web.json_response(
                {"token": f"t{len(self.requests)}", "expires_at": "2099-01-01T00:00:00Z"}, status=201
            )
        self.requests.append((request.method, request.path, request.headers.copy()))
        if request.method != "GET":
            self.concurrent_writes += 1
            self.max_concurrent_writes = max(self.max_concurrent_writes, self.concurrent_writes)
            await asyncio.sleep(0.01)
            self.concurrent_writes -= 1
        status, headers, body = self.script.pop(0) if self.script else (200, {}, {"ok": True})
        if status == "reset":
            request.transport.close()
            return web.Response()
        return web.json_response(body, status=status, headers=headers)


@pytest.fixture
async def scripted(aiohttp_server):
    async def make(script):
        fake = ScriptedGitHub(script)
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", fake.handle)
        server = await aiohttp_server(app)
        session = aiohttp.ClientSession()
        slept: list[float] = []
        clock = [0.0]

        async def fake_sleep(seconds):
            slept.append(seconds)
            clock[0] += seconds

        gh_app = GitHubApp(
            session,
            make_settings(str(server.make_url("")).rstrip("/")),
            sleep=fake_sleep,
            clock=lambda: clock[0],
            rng=random.Random(0),
        )
        return fake, gh_app.for_installation(5), slept, session

    sessions = []

    async def tracked(script):
        made = await make(script)
        sessions.append(made[3])
        return made

    yield tracked
    for session in sessions:
        await session.close()


async def test_requests_carry_api_version_and_installation_token(scripted):
    fake, gh, _, _ = await scripted([])
    await gh.getitem("/repos/o/r")
    _, _, headers = fake.requests[0]
    assert headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert headers["Authorization"].startswith("token t")


async def test_server_errors_and_resets_are_retried_with_backoff(scripted):
    fake, gh, slept, _ = await scripted([(502, {}, {}), ("reset", {}, {}), (503, {}, {}), (200, {}, {"name": "r"})])
    assert await gh.getitem("/repos/o/r") == {"name": "r"}
    assert len(fake.requests) == 4
    # aiohttp itself retries a GET once on a reset keep-alive connection; every other failure cost a backoff.
    assert len(slept) in (2, 3) and all(delay <= github.BACKOFF_CAP_SECONDS for delay in slept)


async def test_persistent_outage_gives_up_with_a_plain_error(scripted):
    fake, gh, _, _ = await scripted([(500, {}, {})] * 10)
    with pytest.raises(GitHubUnavailable, match="GitHub answered 500 5 times"):
        await gh.getitem("/repos/o/r")
    assert len(fake.requests) == github.MAX_ATTEMPTS


async def test_secondary_rate_limit_waits_retry_after_then_succeeds(scripted):
    fake, gh, slept, _ = await scripted(
        [
            (403, {"retry-after": "42", "x-ratelimit-remaining": "100"}, {"message": "secondary rate limit"}),
            (200, {}, {}),
        ]
    )
    await gh.post("/repos/o/r/issues/1/comments", data={"body": "hi"})
    assert slept == [42.0] and len(fake.requests) == 2


async def test_primary_rate_limit_waits_for_reset(scripted):
    reset = str(int(time.time()) + 20)
    _fake, gh, slept, _ = await scripted(
        [
            (403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset}, {"message": "API rate limit exceeded"}),
            (200, {}, {}),
        ]
    )
    await gh.getitem("/repos/o/r")
    assert 19 <= slept[0] <= 22


async def test_expired_token_is_refreshed_once(scripted):
    fake, gh, _, _ = await scripted([(401, {}, {"message": "Bad credentials"}), (200, {}, {"ok": 1})])
    assert await gh.getitem("/repos/o/r") == {"ok": 1}
    first, second = fake.requests[0][2]["Authorization"], fake.requests[1][2]["Authorization"]
    assert first != second


async def test_writes_are_sent_one_at_a_time_per_installation(scripted):
    fake, gh, _, _ = await scripted([])
    await asyncio.gather(
        *(gh.post("/repos/o/r/issues/1/comments", data={"body": str(i)}) for i in range(5)),
        *(gh.getitem("/repos/o/r") for _ in range(5)),
    )
    assert fake.max_concurrent_writes == 1 and len(fake.requests) == 10


async def test_etag_answers_are_reused_per_installation(aiohttp_server):
    hits: list[str | None] = []

    async def handle(request):
        if request.path.endswith("/access_tokens"):
            return web.json_response({"token": "t", "expires_at": "2099-01-01T00:00:00Z"}, status=201)
        hits.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"ETag": '"v1"'})
        return web.json_response({"v": 1}, headers={"ETag": '"v1"'})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    server = await aiohttp_server(app)
    async with aiohttp.ClientSession() as session:
        gh_app = GitHubApp(session, make_settings(str(server.make_url("")).rstrip("/")))
        one, other = gh_app.for_installation(1), gh_app.for_installation(2)
        assert await one.getitem("/x") == {"v": 1}
        assert await one.getitem("/x") == {"v": 1}
        assert await other.getitem("/x") == {"v": 1}
    assert hits == [None, '"v1"', None]


async def test_calls_are_labelled_by_their_url_template_never_by_names_from_pull_requests(scripted):
    fake, gh, _, _ = await scripted([])
    next_page = f'<{gh.base_url}/repositories/1/pulls/2/files?page=2>; rel="next"'
    fake.script = [(200, {}, {"id": 1}), (200, {"Link": next_page}, [{"n": 1}]), (200, {}, [{"n": 2}])]
    calls: dict = {}
    token = calls_in_delivery.set(calls)
    try:
        workflow = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}"
        await gh.getitem(workflow, url_vars={"owner": "o", "repo": "r", "workflow_id": "pwned-by-a-PR.yml"})
        files = "/repos/{owner}/{repo}/pulls/{number}/files{?per_page}"
        pages = [item async for item in gh.getiter(files, url_vars={"owner": "o", "repo": "r", "number": "2"})]
    finally:
        calls_in_delivery.reset(token)
    assert pages == [{"n": 1}, {"n": 2}]
    assert calls == {
        ("POST", "/app/installations/{installation_id}/access_tokens", 201): 1,
        ("GET", workflow, 200): 1,
        ("GET", "/repos/{owner}/{repo}/pulls/{number}/files", 200): 2,  # the second page is named as the first
    }
    exposition = metrics.exposition()[0].decode()
    assert "pwned" not in exposition and 'route="/repos/{owner}/{repo}/actions/workflows/{workflow_id}"' in exposition


@pytest.mark.parametrize("status", [403, 404, 410])
async def test_a_refusal_names_what_was_refused_and_is_still_a_bad_request(scripted, status):
    _fake, gh, slept, _ = await scripted([(status, {}, {"message": "Not Found"})])
    with pytest.raises(Refused) as refused:
        await gh.getitem("/repos/{owner}/{repo}/pulls/{number}", url_vars={"owner": "o", "repo": "r", "number": "1"})
    assert refused.value.request == "GET /repos/{owner}/{repo}/pulls/{number}" and refused.value.status_code == status
    assert isinstance(refused.value, gidgethub.BadRequest) and slept == []


async def test_a_forgotten_installation_gets_a_new_token_and_client(aiohttp_server):
    fake = ScriptedGitHub([])
    server = web.Application()
    server.router.add_route("*", "/{tail:.*}", fake.handle)
    base_url = str((await aiohttp_server(server)).make_url("")).rstrip("/")
    async with aiohttp.ClientSession() as session:
        app = GitHubApp(session, make_settings(base_url))
        first = app.for_installation(5)
        await first.getitem("/repos/o/r")
        assert app.for_installation(5) is first
        app.forget_installation(5)
        second = app.for_installation(5)
        await second.getitem("/repos/o/r")
    assert second is not first
    assert fake.requests[0][2]["Authorization"] != fake.requests[1][2]["Authorization"]  # a new token was minted
