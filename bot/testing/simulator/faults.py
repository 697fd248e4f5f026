"""Fault injection for the simulated GitHub: latency, 5xx, connection resets, rate limits, expired tokens."""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DOCS = "https://docs.github.com/rest"
PRIMARY_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_LIMIT_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api"
    "#about-secondary-rate-limits"
)


@dataclass(frozen=True)
class QueuedError:
    """An error answer the next request will get instead of its real one."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class ConnectionReset:
    """The next request's connection is closed without an answer."""


@dataclass(frozen=True)
class LostAnswer:
    """The next request with this method is performed, then its answer is lost.

    `status` None resets the connection; otherwise a proxy's error (e.g. 502) replaces GitHub's answer.
    """

    method: str
    status: int | None = None


Fault = QueuedError | ConnectionReset | LostAnswer


class FaultInjector:
    """Decides, request by request, whether to delay, fail or drop it; queued faults come first, then random ones."""

    def __init__(self, expire_tokens: Callable[[], None], seed: int = 0) -> None:
        self.latency = 0.0
        self.server_error_rate = 0.0
        self.connection_reset_rate = 0.0
        self.random = random.Random(seed)
        self._queue: deque[Fault] = deque()
        self._expire_tokens = expire_tokens

    def queue_errors(
        self, status: int, count: int = 1, headers: dict[str, str] | None = None, body: dict[str, Any] | None = None
    ) -> None:
        """The next `count` requests answer `status` with these headers and JSON body."""
        message = (
            body
            if body is not None
            else {"message": "Server Error" if status >= 500 else "Error", "documentation_url": DOCS}
        )
        for _ in range(count):
            self._queue.append(QueuedError(status, dict(headers or {}), message))

    def queue_connection_resets(self, count: int = 1) -> None:
        """The next `count` requests have their connection closed without an answer."""
        for _ in range(count):
            self._queue.append(ConnectionReset())

    def queue_lost_answers(self, method: str = "POST", count: int = 1, status: int | None = None) -> None:
        """The next `count` requests with `method` are performed, then answered by a reset or by `status`."""
        for _ in range(count):
            self._queue.append(LostAnswer(method, status))

    def queue_rate_limit(
        self,
        kind: str = "primary",
        count: int = 1,
        retry_after: int | None = None,
        status: int = 403,
        reset_in: int = 60,
    ) -> None:
        """The next `count` requests hit GitHub's primary or secondary rate limit, with GitHub's headers and bodies."""
        reset = str(int(time.time()) + reset_in)
        if kind == "primary":
            headers = {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "0",
                "x-ratelimit-used": "5000",
                "x-ratelimit-reset": reset,
                "x-ratelimit-resource": "core",
            }
            body = {
                "message": "API rate limit exceeded for installation.",
                "documentation_url": PRIMARY_LIMIT_DOCS,
                "status": str(status),
            }
        elif kind == "secondary":
            headers = {
                "x-ratelimit-limit": "5000",
                "x-ratelimit-remaining": "4999",
                "x-ratelimit-used": "1",
                "x-ratelimit-reset": reset,
                "x-ratelimit-resource": "core",
            }
            body = {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try "
                "again. If you reach out to GitHub Support for help, please include the request ID.",
                "documentation_url": SECONDARY_LIMIT_DOCS,
                "status": str(status),
            }
        else:
            raise ValueError(f"rate limit kind must be 'primary' or 'secondary', not {kind!r}")
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        self.queue_errors(status, count, headers, body)

    def expire_tokens(self) -> None:
        """Every installation token issued so far answers 401 from its next use on."""
        self._expire_tokens()

    def clear(self) -> None:
        """Drop queued faults and switch random faults and latency off."""
        self._queue.clear()
        self.latency = self.server_error_rate = self.connection_reset_rate = 0.0

    def next_fault(self, method: str) -> Fault | None:
        """The fault for the request being served now, if any (a lost answer waits for a request of its method)."""
        for fault in self._queue:
            if not isinstance(fault, LostAnswer) or fault.method == method:
                self._queue.remove(fault)
                return fault
        if self.connection_reset_rate and self.random.random() < self.connection_reset_rate:
            return ConnectionReset()
        if self.server_error_rate and self.random.random() < self.server_error_rate:
            return QueuedError(502, {}, {"message": "Server Error", "documentation_url": DOCS})
        return None
