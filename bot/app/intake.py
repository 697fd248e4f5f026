"""Webhook intake decisions, sans I/O: is this delivery authentic and well-formed, and what answer does it get."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
import orjson

from bot.github.events import MalformedEvent

if TYPE_CHECKING:
    from bot.store import ClaimedDelivery

MAX_BODY_BYTES = 25 * 1024 * 1024
#: GitHub's ids are 64-bit integers; anything else in `installation.id` is not a GitHub delivery.
MAX_GITHUB_ID = 2**63 - 1
#: Events GitHub sends to an App without an `installation` object.
EVENTS_WITHOUT_INSTALLATION = frozenset(
    {"ping", "github_app_authorization", "marketplace_purchase", "meta", "security_advisory", "sponsorship"}
)


@dataclass(frozen=True)
class Rejected:
    status: int
    reason: str


class _Numbered(msgspec.Struct):
    number: Any = None


class _Installation(msgspec.Struct):
    id: Any = None


class _Repository(msgspec.Struct):
    full_name: Any = None


class _WorkflowRun(msgspec.Struct):
    head_sha: Any = None
    pull_requests: Any = None


class _CheckRun(msgspec.Struct):
    head_sha: Any = None


class Envelope(msgspec.Struct):
    """The few fields the ack path needs; decoding skips the rest of the body without building it."""

    action: Any = None
    installation: _Installation | None = None
    repository: _Repository | None = None
    pull_request: _Numbered | None = None
    issue: _Numbered | None = None
    workflow_run: _WorkflowRun | None = None
    check_run: _CheckRun | None = None
    after: Any = None


_envelope_decoder = msgspec.json.Decoder(Envelope)


class Delivery:
    """An authentic delivery: its envelope now, its whole payload parsed on first use. `body` stays, so that a
    delivery to be handled again can be recorded; `claim` is set on one handed out by the store."""

    __slots__ = ("_data", "body", "claim", "delivery_id", "envelope", "event", "received_at")

    def __init__(self, event: str, delivery_id: str, body: bytes | bytearray, envelope: Envelope | None = None) -> None:
        self.event, self.delivery_id, self.body = event, delivery_id, body
        self.envelope = envelope if envelope is not None else _envelope_decoder.decode(body)
        self._data: dict[str, Any] | None = None
        self.claim: ClaimedDelivery | None = None
        self.received_at = time.time()

    @property
    def data(self) -> dict[str, Any]:
        """The whole payload. Raises `MalformedEvent` when the body holds what the envelope skipped over
        without reading: numbers out of range (`1e400`), invalid UTF-8, nesting deeper than 1,024."""
        if self._data is None:
            try:
                self._data = orjson.loads(self.body)
            except orjson.JSONDecodeError as error:
                raise MalformedEvent(f"the body is not valid JSON ({error.msg})") from None
        return self._data

    def drop_payload(self) -> None:
        """Handled: only the envelope is kept (the journal records the delivery later)."""
        self.body, self._data = b"", None

    @property
    def action(self) -> str | None:
        action = self.envelope.action
        return action if isinstance(action, str) else None

    @property
    def installation_id(self) -> int | None:
        installation = self.envelope.installation
        if installation is None or type(installation.id) is not int or not 0 < installation.id <= MAX_GITHUB_ID:
            return None
        return installation.id

    @property
    def repository(self) -> str:
        repo = self.envelope.repository
        return repo.full_name if repo is not None and isinstance(repo.full_name, str) else ""


class LazyPayload(Mapping[str, Any]):
    """A delivery's payload for `gidgethub.sansio.Event`.

    Routing by `action` reads the envelope; anything else parses the whole body."""

    __slots__ = ("_delivery",)

    def __init__(self, delivery: Delivery) -> None:
        self._delivery = delivery

    def __getitem__(self, key: str) -> Any:
        if key == "action" and self._delivery._data is None:
            if self._delivery.action is None:
                raise KeyError(key)
            return self._delivery.action
        return self._delivery.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._delivery.data)

    def __len__(self) -> int:
        return len(self._delivery.data)


class UnverifiedBytes:
    """How many bytes of request bodies are held before their signature can be checked, across all requests.

    Anyone can send a body, so they are kept under `limit`: a body that does not fit is refused (503)
    instead of read, and memory stays bounded whatever unauthenticated clients send.
    """

    __slots__ = ("in_use", "limit")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0

    def reserve(self, size: int) -> bool:
        """Take `size` bytes of the budget; False (and nothing taken) when they do not fit."""
        if self.in_use + size > self.limit:
            return False
        self.in_use += size
        return True

    def release(self, size: int) -> None:
        self.in_use -= size


def body_signer(secret: bytes) -> hmac.HMAC:
    """HMAC-SHA256 keyed with the webhook secret; `copy()` it per delivery and feed it the raw body."""
    return hmac.new(secret, digestmod=hashlib.sha256)


def signature_is_valid(body_digest: str, signature: str | None) -> bool:
    """Constant-time check of `X-Hub-Signature-256: sha256=<hex>` against the body's HMAC hex digest."""
    if not signature or not signature.startswith("sha256="):
        return False
    try:
        claimed = signature[len("sha256=") :].strip().encode("ascii")
    except UnicodeEncodeError:  # no hex digest; compare_digest refuses non-ASCII text
        return False
    return hmac.compare_digest(body_digest.encode("ascii"), claimed)


def read_delivery(headers: Mapping[str, str], body: bytes | bytearray, body_digest: str) -> Delivery | Rejected:
    """Verify the signature first (`body_digest`: the body's HMAC, see `body_signer`), then the headers,
    content type and JSON body."""
    if not signature_is_valid(body_digest, headers.get("X-Hub-Signature-256")):
        return Rejected(401, "missing or invalid X-Hub-Signature-256")
    content_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return Rejected(415, "deliveries must be sent as application/json")
    event = headers.get("X-GitHub-Event", "").strip()
    delivery_id = headers.get("X-GitHub-Delivery", "").strip()
    if not event or not delivery_id:
        return Rejected(400, "missing X-GitHub-Event or X-GitHub-Delivery header")
    try:
        delivery = Delivery(event, delivery_id, body, _envelope_decoder.decode(body))
    except msgspec.ValidationError:
        return Rejected(400, "body is not a JSON object shaped like a GitHub delivery")
    except msgspec.DecodeError:
        return Rejected(400, "body is not valid JSON")
    except RecursionError:
        return Rejected(400, "body is nested too deeply")
    if event not in EVENTS_WITHOUT_INSTALLATION and delivery.installation_id is None:
        return Rejected(400, "an App delivery needs an installation object")
    return delivery


def ordering_key(delivery: Delivery) -> str | None:
    """Deliveries with the same key are handled in order, one at a time: same pull request or same commit."""
    envelope, repo = delivery.envelope, delivery.repository
    if not repo:
        return None
    for numbered in (envelope.pull_request, envelope.issue):
        if numbered is not None and type(numbered.number) is int:
            return f"{repo}#{numbered.number}"
    run = envelope.workflow_run
    if run is not None:
        prs = run.pull_requests
        if isinstance(prs, list) and prs and isinstance(prs[0], dict) and type(prs[0].get("number")) is int:
            return f"{repo}#{prs[0]['number']}"
        if isinstance(run.head_sha, str):
            return f"{repo}@{run.head_sha}"
    if envelope.check_run is not None and isinstance(envelope.check_run.head_sha, str):
        return f"{repo}@{envelope.check_run.head_sha}"
    if isinstance(envelope.after, str):
        return f"{repo}@{envelope.after}"
    return None
