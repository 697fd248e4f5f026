"""The App's settings, read from the environment and validated in one pass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

PUBLIC_API_URL = "https://api.github.com"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")


class Secret:
    """A string that never shows itself in logs, reprs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SettingsError(Exception):
    """Every missing or invalid variable, in plain words."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    app_id: int
    private_key: Secret
    webhook_secret: Secret
    github_api_url: str = PUBLIC_API_URL
    port: int = 3000
    host: str = "0.0.0.0"
    log_level: str = "INFO"
    log_format: str = "text"
    shutdown_grace_seconds: float = 25.0
    max_concurrent_deliveries: int = 16
    delivery_dedupe_seconds: float = 3600.0
    request_budget_seconds: float = 300.0
    testing_dispatches_per_hour: int = 300  # per installation: the share of its rate limit for test sessions

    def signing_key(self) -> RSAPrivateKey:
        key = load_pem_private_key(self.private_key.reveal().encode(), password=None)
        if not isinstance(key, RSAPrivateKey):
            raise SettingsError(["PRIVATE_KEY is not an RSA key"])
        return key


def _int(
    env: Mapping[str, str],
    name: str,
    default: int | None,
    problems: list[str],
    *,
    low: int = 0,
    high: int | None = None,
) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        if default is None:
            problems.append(f"{name} is missing")
            return 0
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{name} must be an integer, got {raw!r}")
        return 0
    if value < low or (high is not None and value > high):
        problems.append(f"{name} must be between {low} and {high}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, problems: list[str]) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name} must be a number of seconds, got {raw!r}")
        return default
    if value < 0:
        problems.append(f"{name} must not be negative, got {raw}")
    return value


def _private_key(env: Mapping[str, str], problems: list[str]) -> str:
    pem = env.get("PRIVATE_KEY", "").strip()
    path = env.get("PRIVATE_KEY_PATH", "").strip()
    if not pem and path:
        try:
            pem = Path(path).read_text()
        except OSError as error:
            problems.append(f"PRIVATE_KEY_PATH cannot be read: {error.strerror} ({path})")
            return ""
    if not pem:
        problems.append("PRIVATE_KEY (PEM text) or PRIVATE_KEY_PATH is missing")
        return ""
    pem = pem.replace("\\n", "\n")  # PaaS dashboards often store the PEM on one line
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        problems.append("PRIVATE_KEY is not a valid unencrypted PEM private key")
        return ""
    if not isinstance(key, RSAPrivateKey):
        problems.append("PRIVATE_KEY must be the App's RSA key")
    return pem


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment; raise SettingsError naming every problem."""
    env = os.environ if env is None else env
    problems: list[str] = []
    app_id = _int(env, "APP_ID", None, problems, low=1)
    private_key = _private_key(env, problems)
    secret = env.get("WEBHOOK_SECRET", "")
    if not secret:
        problems.append("WEBHOOK_SECRET is missing")
    api_url = env.get("GITHUB_API_URL", "").strip() or PUBLIC_API_URL
    if not api_url.startswith(("http://", "https://")):
        problems.append(f"GITHUB_API_URL must be an http(s) URL, got {api_url!r}")
    port = _int(env, "PORT", 3000, problems, low=1, high=65535)
    log_level = env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO"
    if log_level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    log_format = env.get("LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in LOG_FORMATS:
        problems.append(f"LOG_FORMAT must be text or json, got {log_format!r}")
    grace = _float(env, "SHUTDOWN_GRACE_SECONDS", 25.0, problems)
    concurrency = _int(env, "MAX_CONCURRENT_DELIVERIES", 16, problems, low=1, high=1024)
    dispatches = _int(env, "TESTING_DISPATCHES_PER_HOUR", 300, problems, low=1, high=5000)
    if problems:
        raise SettingsError(problems)
    return Settings(
        app_id=app_id,
        private_key=Secret(private_key),
        webhook_secret=Secret(secret),
        github_api_url=api_url.rstrip("/"),
        port=port,
        host=env.get("HOST", "0.0.0.0"),
        log_level=log_level,
        log_format=log_format,
        shutdown_grace_seconds=grace,
        max_concurrent_deliveries=concurrency,
        testing_dispatches_per_hour=dispatches,
    )
