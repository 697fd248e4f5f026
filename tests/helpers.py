"""Test helpers: keys, settings, signed deliveries built from GitHub's official example payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.settings import Secret, Settings

FIXTURES = Path(__file__).parent / "fixtures"
WEBHOOK_SECRET = "test-webhook-secret"


@lru_cache(maxsize=1)
def private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def make_settings(api_url: str = "http://127.0.0.1:9", **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "app_id": 1,
        "private_key": Secret(private_key_pem()),
        "webhook_secret": Secret(WEBHOOK_SECRET),
        "github_api_url": api_url,
        "shutdown_grace_seconds": 5.0,
    }
    values.update(overrides)
    return Settings(**values)


def official_payload(event: str, name: str, *, installation_id: int | None = 1) -> dict[str, Any]:
    """One of GitHub's official example bodies, with `installation` added as App deliveries have."""
    data = json.loads((FIXTURES / "github-webhooks" / event / name).read_text())
    if installation_id is not None:
        data["installation"] = {"id": installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    return data


def signed_headers(event: str, body: bytes, *, delivery_id: str | None = None, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery_id or str(uuid.uuid4()),
        "X-Hub-Signature-256": f"sha256={signature}",
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/test",
    }
