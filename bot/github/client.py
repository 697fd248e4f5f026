"""The one GitHub client seam: App auth, installation tokens, retries, rate limits, ETags, call counting.

Handlers receive an `InstallationClient`, which has gidgethub's `GitHubAPI` methods
(`getitem`, `getiter`, `post`, `patch`, `put`, `delete`) and never see HTTP, tokens or retries.
The retry policy is the pure function `next_attempt`, so it is tested without any I/O.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp
import cachetools
import gidgethub
import jwt
from gidgethub import aiohttp as gh_aiohttp

from bot.app import metrics
from bot.app.settings import Settings

API_VERSION = "2022-11-28"
USER_AGENT = "ci-orchestrator"
WRITE_METHODS = frozenset({"POST", "PATCH", "PUT", "DELETE"})
RETRIABLE_STATUSES = frozenset({500, 502, 503, 504})
MAX_WRITES_PER_DELIVERY = 60  # a comment, a few check runs with their annotation batches, a review: far below
# POSTs that may be sent twice without harm: a second token, a reaction GitHub already has (answered 200), a
# second redelivery (the App drops a delivery id it has already handled).
REPEATABLE_POSTS = frozenset(
    {
        "/app/installations/{installation_id}/access_tokens",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
        "/app/hook/deliveries/{delivery_id}/attempts",
    }
)  # URL templates as the calls name them (see `_route`)
MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0
SECONDARY_LIMIT_MIN_WAIT = 60.0
TOKEN_REFRESH_MARGIN_SECONDS = 300.0
CONCURRENT_REQUESTS_PER_INSTALLATION = 8
#: GitHub's answers when what a request names is gone, or the App may not (or no longer) see it, or GitHub does
#: not take it (422: an unknown commit, say): the request is not repeated, and the refusal is one line in the log.
REFUSED_STATUSES = frozenset({403, 404, 410, 422})

log = logging.getLogger(__name__)

#: GitHub calls made while handling the current delivery, keyed by (method, route, status).
calls_in_delivery: ContextVar[dict[tuple[str, str, int], int] | None] = ContextVar("calls_in_delivery", default=None)


class WriteOutcomeUnknown(Exception):
    """A write that is not safe to repeat was sent, but its answer was lost (connection reset, 5xx from a proxy).

    GitHub may or may not have performed it: the caller looks (by marker, by `external_id`) before sending
    it again, so a lost answer never doubles a comment or a check run.
    """


class WriteCapReached(Exception):
    """One delivery asked for more writes than `MAX_WRITES_PER_DELIVERY`; the rest are refused."""


class GitHubUnavailable(Exception):
    """GitHub could not be reached or kept refusing within the time budget; the message says why."""


class Refused(gidgethub.BadRequest):
    """GitHub answered 403 (not a rate limit), 404, 410 or 422: what was asked for is gone, or the App may not
    see it (a deleted repository, an uninstalled App, a missing permission), or GitHub does not take it.

    `request` says what was refused ("METHOD route template") and `reason` GitHub's message."""

    def __init__(self, error: gidgethub.BadRequest, request: str) -> None:
        super().__init__(error.status_code, *error.args, headers=error.headers)
        self.request = request
        self.reason = error.args[-1] if error.args and isinstance(error.args[-1], str) else error.status_code.phrase


#: The URL template of the request being made: its label in metrics and logs, never the URL filled in with
#: names from pull requests.
_route: ContextVar[str] = ContextVar("route", default="other")


class RateLimited(Exception):
    """GitHub asked to wait `seconds` (a rate limit), and the caller chose to stop rather than wait (`no_waiting`)."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(f"{reason}: GitHub asks to wait {seconds:.0f} s")
        self.seconds = seconds


#: False while a caller prefers `RateLimited` to waiting in the client (dispatching resumes later by itself).
wait_for_rate_limits: ContextVar[bool] = ContextVar("wait_for_rate_limits", default=True)


@dataclass(frozen=True)
class Retry:
    delay: float
    reason: str


@dataclass(frozen=True)
class RefreshToken:
    """The token was rejected (401): mint a new one and try once more."""


@dataclass(frozen=True)
class GiveUp:
    reason: str


@dataclass(frozen=True)
class Done:
    """The answer is final (success or an error the caller must see)."""


Decision = Retry | RefreshToken | GiveUp | Done


def backoff_delay(attempt: int, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return rng.uniform(0, min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1)))


def next_attempt(
    status: int | None,
    headers: Mapping[str, str],
    body: bytes,
    *,
    attempt: int,
    now: float,
    budget_left: float,
    token_refreshed: bool,
    rng: random.Random,
) -> Decision:
    """Decide what to do after one attempt. `status` is None when the connection failed or timed out."""
    if status is None or status in RETRIABLE_STATUSES:
        what = "GitHub did not answer" if status is None else f"GitHub answered {status}"
        if attempt >= MAX_ATTEMPTS:
            return GiveUp(f"{what} {attempt} times in a row")
        delay = backoff_delay(attempt, rng)
        return Retry(delay, what) if delay <= budget_left else GiveUp(f"{what} and the time budget is spent")
    if status == 401:
        return Done() if token_refreshed else RefreshToken()
    if status in (403, 429):
        remaining = headers.get("x-ratelimit-remaining")
        retry_after = headers.get("retry-after")
        reset = headers.get("x-ratelimit-reset")
        is_secondary = b"secondary rate limit" in body.lower() or retry_after is not None
        if retry_after is not None and retry_after.strip().isdigit():
            wait, kind = float(retry_after), "secondary rate limit (retry-after)"
        elif remaining == "0" and reset is not None and reset.strip().isdigit():
            wait, kind = max(0.0, float(reset) - now) + 1.0, "primary rate limit"
        elif is_secondary or status == 429:
            wait, kind = SECONDARY_LIMIT_MIN_WAIT * 2 ** (attempt - 1), "secondary rate limit"
        else:
            return Done()  # a real permission error
        if attempt >= MAX_ATTEMPTS:
            return GiveUp(f"{kind}: still limited after {attempt} attempts")
        if wait > budget_left:
            return GiveUp(f"{kind}: GitHub asks to wait {wait:.0f} s, more than the {budget_left:.0f} s left")
        return Retry(wait, kind)
    return Done()


class _ResilientGitHubAPI(gh_aiohttp.GitHubAPI):
    """gidgethub's aiohttp client plus retries, rate-limit waits, API version and call counting."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        budget_seconds: float,
        sleep: Callable[[float], Awaitable[None]],
        clock: Callable[[], float],
        rng: random.Random,
        cache: cachetools.Cache | None = None,
    ) -> None:
        super().__init__(session, USER_AGENT, base_url=base_url, cache=cache)
        self._budget_seconds = budget_seconds
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._page_routes: cachetools.LRUCache[str, str] = cachetools.LRUCache(maxsize=256)

    async def _make_request(self, method: str, url: str, url_vars: Any, *args: Any, **kwargs: Any) -> Any:
        # A template names its route; an absolute URL is a next page, named by the template of the first.
        route = self._page_routes.pop(url, "other") if "://" in url else url.split("{?", 1)[0]
        token = _route.set(route)
        try:
            data, more, status = await super()._make_request(method, url, url_vars, *args, **kwargs)
        except gidgethub.BadRequest as error:
            if error.status_code in REFUSED_STATUSES and not isinstance(error, gidgethub.RateLimitExceeded):
                raise Refused(error, f"{method} {route}") from None
            raise
        finally:
            _route.reset(token)
        if more is not None:
            self._page_routes[more] = route
        return data, more, status

    @abc.abstractmethod
    async def _authorization(self) -> str:
        """The Authorization header value for the next attempt."""

    async def _unauthorized(self) -> None:
        """The credentials were rejected; subclasses drop what they cached."""

    async def pause(self, seconds: float) -> None:
        """Wait as this client waits between retries (tests fake it)."""
        await self._sleep(seconds)

    async def _send_once(
        self, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> tuple[int | None, Mapping[str, str], bytes, bool]:
        """The answer (status None: none came) and whether the request may have reached GitHub."""
        try:
            status, response_headers, response_body = await super()._request(method, url, headers, body)
        except aiohttp.ClientConnectorError as error:  # never connected: nothing was sent
            log.warning("GitHub request failed: %s %s: %s", method, _route.get(), type(error).__name__)
            return None, {}, b"", False
        except (TimeoutError, aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as error:
            log.warning("GitHub request failed: %s %s: %s", method, _route.get(), type(error).__name__)
            return None, {}, b"", True
        return status, response_headers, response_body, True

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        headers = dict(headers)
        headers["x-github-api-version"] = API_VERSION
        route = _route.get()
        unsafe_to_repeat = method == "POST" and route not in REPEATABLE_POSTS
        if method in WRITE_METHODS:
            _count_write(method, route)
        started = self._clock()
        attempt = 0
        token_refreshed = False
        while True:
            attempt += 1
            headers["authorization"] = await self._authorization()
            status, response_headers, response_body, reached = await self._send_once(method, url, headers, body)
            _count_call(method, route, status)
            if unsafe_to_repeat and reached and (status is None or status in RETRIABLE_STATUSES):
                what = "no answer came" if status is None else f"GitHub answered {status}"
                raise WriteOutcomeUnknown(f"{method} {route}: {what}; it may or may not have been performed")
            if status is not None and "x-ratelimit-remaining" in response_headers:
                metrics.RATE_LIMIT_REMAINING.set(float(response_headers["x-ratelimit-remaining"]))
            if status in (403, 429) and not wait_for_rate_limits.get():
                limit = next_attempt(
                    status,
                    response_headers,
                    response_body,
                    attempt=1,
                    now=time.time(),
                    budget_left=float("inf"),
                    token_refreshed=True,
                    rng=self._rng,
                )
                if isinstance(limit, Retry):
                    raise RateLimited(limit.delay, f"{method} {route}: {limit.reason}")
            decision = next_attempt(
                status,
                response_headers,
                response_body,
                attempt=attempt,
                now=time.time(),
                budget_left=self._budget_seconds - (self._clock() - started),
                token_refreshed=token_refreshed,
                rng=self._rng,
            )
            if isinstance(decision, Done):
                assert status is not None
                return status, response_headers, response_body
            if isinstance(decision, GiveUp):
                raise GitHubUnavailable(f"{method} {route}: {decision.reason}")
            if isinstance(decision, RefreshToken):
                token_refreshed = True
                await self._unauthorized()
                continue
            log.info("retrying %s %s in %.1f s: %s", method, route, decision.delay, decision.reason)
            await self._sleep(decision.delay)


#: Writes asked for while handling the current delivery (see `MAX_WRITES_PER_DELIVERY`).
writes_in_delivery: ContextVar[list[int] | None] = ContextVar("writes_in_delivery", default=None)


def _count_write(method: str, route: str) -> None:
    """Count a write of the current delivery; refuse it past the cap (logged once per delivery)."""
    writes = writes_in_delivery.get()
    if writes is None:
        return
    writes[0] += 1
    if writes[0] == MAX_WRITES_PER_DELIVERY + 1:
        log.warning(
            "this delivery asked for more than %d writes to GitHub: the rest are refused", MAX_WRITES_PER_DELIVERY
        )
    if writes[0] > MAX_WRITES_PER_DELIVERY:
        raise WriteCapReached(f"{method} {route}: more than {MAX_WRITES_PER_DELIVERY} writes in one delivery")


def _count_call(method: str, route: str, status: int | None) -> None:
    label = "error" if status is None else str(status)
    metrics.GITHUB_CALLS.labels(method=method, route=route, status=label).inc()
    calls = calls_in_delivery.get()
    if calls is not None:
        key = (method, route, status or 0)
        calls[key] = calls.get(key, 0) + 1


class AppClient(_ResilientGitHubAPI):
    """Calls made as the App itself (JWT), e.g. minting installation tokens."""

    def __init__(self, session: aiohttp.ClientSession, settings: Settings, **kwargs) -> None:
        super().__init__(session, **kwargs)
        self._app_id = settings.app_id
        self._signing_key = settings.signing_key()

    def app_jwt(self) -> str:
        """RS256 JWT: `iat` 60 s in the past against clock skew, `exp` 9 minutes ahead (GitHub allows 10)."""
        now = int(time.time())
        return jwt.encode(
            {"iat": now - 60, "exp": now + 540, "iss": str(self._app_id)}, self._signing_key, algorithm="RS256"
        )

    async def _authorization(self) -> str:
        return f"Bearer {self.app_jwt()}"

    async def mint_installation_token(self, installation_id: int) -> tuple[str, float]:
        """A new installation token and its expiry as a UNIX timestamp."""
        data = await self.post(
            "/app/installations/{installation_id}/access_tokens",
            url_vars={"installation_id": str(installation_id)},
            data={},
        )
        expires_at = datetime.fromisoformat(data["expires_at"].replace("Z", "+00:00")).timestamp()
        return data["token"], expires_at


@dataclass(frozen=True)
class _CachedToken:
    token: str
    refresh_at: float


class InstallationTokens:
    """Installation tokens cached per installation and refreshed a few minutes before they expire.

    Concurrent requests for the same installation share one mint.
    """

    def __init__(self, mint: Callable[[int], Awaitable[tuple[str, float]]], *, maxsize: int = 10_000) -> None:
        self._mint = mint
        self._cache: cachetools.TLRUCache[int, _CachedToken] = cachetools.TLRUCache(
            maxsize=maxsize, ttu=lambda _key, value, _now: value.refresh_at, timer=time.time
        )
        self._minting: dict[int, asyncio.Future[_CachedToken]] = {}

    async def get(self, installation_id: int) -> str:
        cached = self._cache.get(installation_id)
        if cached is not None:
            return cached.token
        pending = self._minting.get(installation_id)
        if pending is None:
            pending = asyncio.ensure_future(self._mint_and_store(installation_id))
            self._minting[installation_id] = pending
            pending.add_done_callback(lambda _: self._minting.pop(installation_id, None))
        return (await asyncio.shield(pending)).token

    async def _mint_and_store(self, installation_id: int) -> _CachedToken:
        token, expires_at = await self._mint(installation_id)
        entry = _CachedToken(token, expires_at - TOKEN_REFRESH_MARGIN_SECONDS)
        self._cache[installation_id] = entry
        return entry

    def invalidate(self, installation_id: int, token: str) -> None:
        """Forget the token if it is still the cached one (a 401 proved it stale)."""
        cached = self._cache.get(installation_id)
        if cached is not None and cached.token == token:
            del self._cache[installation_id]

    def forget(self, installation_id: int) -> None:
        self._cache.pop(installation_id, None)


class InstallationClient(_ResilientGitHubAPI):
    """What handlers use: calls as one installation, with its own ETag cache and request limits."""

    def __init__(
        self, session: aiohttp.ClientSession, installation_id: int, tokens: InstallationTokens, **kwargs
    ) -> None:
        super().__init__(session, cache=cachetools.LRUCache(maxsize=512), **kwargs)
        self.installation_id = installation_id
        self._tokens = tokens
        self._token = ""
        self._slots = asyncio.Semaphore(CONCURRENT_REQUESTS_PER_INSTALLATION)
        self._write_lock = asyncio.Lock()

    async def _authorization(self) -> str:
        self._token = await self._tokens.get(self.installation_id)
        return f"token {self._token}"

    async def _unauthorized(self) -> None:
        self._tokens.invalidate(self.installation_id, self._token)

    async def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes = b""
    ) -> tuple[int, Mapping[str, str], bytes]:
        async with self._slots:
            if method not in WRITE_METHODS:
                return await super()._request(method, url, headers, body)
            async with self._write_lock:  # GitHub asks for content-creating requests one at a time
                return await super()._request(method, url, headers, body)


class TokenClient(_ResilientGitHubAPI):
    """Calls with a personal, `gh` or Actions token (the command line): the App's retries and rate-limit waits."""

    def __init__(self, session: aiohttp.ClientSession, token: str, *, base_url: str, **kwargs: Any) -> None:
        options = {"budget_seconds": 300.0, "sleep": asyncio.sleep, "clock": time.monotonic, "rng": random.Random()}
        super().__init__(session, base_url=base_url, cache=cachetools.LRUCache(maxsize=512), **{**options, **kwargs})
        self._token = token

    async def _authorization(self) -> str:
        return f"Bearer {self._token}"


class GitHubApp:
    """The App's view of GitHub: one HTTP session, the token cache, one client per installation."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: Settings,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._session = session
        self._options = {
            "base_url": settings.github_api_url,
            "budget_seconds": settings.request_budget_seconds,
            "sleep": sleep,
            "clock": clock,
            "rng": rng or random.Random(),
        }
        self.app_client = AppClient(session, settings, **self._options)
        self.tokens = InstallationTokens(self.app_client.mint_installation_token)
        self._clients: cachetools.LRUCache[int, InstallationClient] = cachetools.LRUCache(maxsize=1024)

    def for_installation(self, installation_id: int) -> InstallationClient:
        """The client of one installation; the 1,024 most recently used are kept, with their ETag caches."""
        client = self._clients.get(installation_id)
        if client is None:
            client = self._clients[installation_id] = InstallationClient(
                self._session, installation_id, self.tokens, **self._options
            )
        return client

    def forget_installation(self, installation_id: int) -> None:
        """The installation was deleted or suspended: drop its token, and its client with its ETag cache."""
        self._clients.pop(installation_id, None)
        self.tokens.forget(installation_id)
