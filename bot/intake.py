"""Webhook intake decisions, sans I/O: is this delivery authentic and well-formed, and what answer does it get."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

MAX_BODY_BYTES = 25 * 1024 * 1024
#: Events GitHub sends to an App without an `installation` object.
EVENTS_WITHOUT_INSTALLATION = frozenset({"ping", "github_app_authorization", "marketplace_purchase", "meta", "security_advisory", "sponsorship"})


@dataclass(frozen=True)
class Rejected:
    status: int
    reason: str


@dataclass(frozen=True)
class Delivery:
    event: str
    delivery_id: str
    data: dict[str, Any]

    @property
    def action(self) -> str | None:
        action = self.data.get("action")
        return action if isinstance(action, str) else None

    @property
    def installation_id(self) -> int | None:
        installation = self.data.get("installation")
        if isinstance(installation, dict) and isinstance(installation.get("id"), int):
            return installation["id"]
        return None

    @property
    def repository(self) -> str:
        repo = self.data.get("repository")
        return repo.get("full_name", "") if isinstance(repo, dict) else ""


def signature_is_valid(body: bytes, signature: str | None, secret: bytes) -> bool:
    """Constant-time check of `X-Hub-Signature-256: sha256=<hex>`."""
    if not signature or not signature.startswith("sha256="):
        return False
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature[len("sha256="):].strip())


def read_delivery(headers: Mapping[str, str], body: bytes, secret: bytes) -> Delivery | Rejected:
    """Verify the signature first, then the headers, content type and JSON body."""
    if not signature_is_valid(body, headers.get("X-Hub-Signature-256"), secret):
        return Rejected(401, "missing or invalid X-Hub-Signature-256")
    content_type = headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        return Rejected(415, "deliveries must be sent as application/json")
    event = headers.get("X-GitHub-Event", "").strip()
    delivery_id = headers.get("X-GitHub-Delivery", "").strip()
    if not event or not delivery_id:
        return Rejected(400, "missing X-GitHub-Event or X-GitHub-Delivery header")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Rejected(400, "body is not valid JSON")
    if not isinstance(data, dict):
        return Rejected(400, "body is not a JSON object")
    delivery = Delivery(event, delivery_id, data)
    if event not in EVENTS_WITHOUT_INSTALLATION and delivery.installation_id is None:
        return Rejected(400, "an App delivery needs an installation object")
    return delivery


def ordering_key(delivery: Delivery) -> str | None:
    """Deliveries with the same key are handled in order, one at a time: same pull request or same commit."""
    data, repo = delivery.data, delivery.repository
    if not repo:
        return None
    pull_request = data.get("pull_request") or data.get("issue")
    if isinstance(pull_request, dict) and isinstance(pull_request.get("number"), int):
        return f"{repo}#{pull_request['number']}"
    run = data.get("workflow_run")
    if isinstance(run, dict):
        prs = run.get("pull_requests") or []
        if prs and isinstance(prs[0], dict) and isinstance(prs[0].get("number"), int):
            return f"{repo}#{prs[0]['number']}"
        if isinstance(run.get("head_sha"), str):
            return f"{repo}@{run['head_sha']}"
    check_run = data.get("check_run")
    if isinstance(check_run, dict) and isinstance(check_run.get("head_sha"), str):
        return f"{repo}@{check_run['head_sha']}"
    if isinstance(data.get("after"), str):
        return f"{repo}@{data['after']}"
    return None
