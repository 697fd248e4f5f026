"""The App's settings, read from the environment and validated in one pass."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bot.store import RetryPolicy
from bot.store.database import database_url

PUBLIC_API_URL = "https://api.github.com"
#: GitHub redelivers a delivery on request for 3 days after it was sent: retrying longer cannot be recovered.
MAX_DELIVERY_RETRY_HOURS = 72.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("text", "json")
MIB = 1024 * 1024
#: The unverified-body budget must hold one delivery of GitHub's largest size (25 MiB).
MIN_UNVERIFIED_BODIES_MIB = 25


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
    #: A connection that sends no complete request head for this long, from its opening or its last answer, is closed.
    idle_timeout_seconds: float = 75.0
    #: A request body that has not fully arrived this long after its head gets 408 and its connection is closed.
    body_timeout_seconds: float = 10.0
    #: Bytes of request bodies held before their signature is checked, all requests together; beyond it, 503.
    unverified_body_bytes: int = 64 * MIB
    testing_dispatches_per_hour: int = 300  # per installation: the share of its rate limit for test sessions
    #: PostgreSQL for one or more instances (`postgresql+asyncpg://…`); None: SQLite under `data_dir`.
    database_url: Secret | None = None
    data_dir: Path = Path("data")
    #: History (runs, jobs, PR samples, posted ids) older than this is deleted by a periodic task.
    retention_days: float = 180.0
    #: A delivery whose handling failed because GitHub was unavailable is retried for this long after its receipt.
    delivery_retry_hours: float = 6.0
    #: A delivery an instance claimed is its own this long without renewal (renewed every second while it works).
    delivery_lease_seconds: float = 30.0
    #: The share of each installation's hourly rate limit that backfilling history may spend.
    backfill_rate_share: float = 0.2
    #: How far back a backfill fetches the default branch's runs.
    backfill_days: float = 30.0

    def store_url(self) -> str:
        """The store's SQLAlchemy URL: `DATABASE_URL`, or SQLite in `data_dir`."""
        return database_url(self.database_url.reveal() if self.database_url else None, self.data_dir)

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


def _float(env: Mapping[str, str], name: str, default: float, problems: list[str], *, positive: bool = False) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name} must be a number of seconds, got {raw!r}")
        return default
    if not value < float("inf"):
        problems.append(f"{name} must be a finite number of seconds, got {raw}")
    elif value <= 0 if positive else value < 0:
        problems.append(f"{name} must be {'more than 0' if positive else 'at least 0'}, got {raw}")
    return value


def _bounded(
    env: Mapping[str, str], name: str, default: float, problems: list[str], *, low: float, high: float, unit: str
) -> float:
    """A number in (`low`, `high`]: above `low`, at most `high`."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        problems.append(f"{name} must be a number of {unit}, got {raw!r}")
        return default
    if not low < value <= high:
        problems.append(f"{name} must be more than {low:g} and at most {high:g} {unit}, got {raw}")
    return value


def _database_url(env: Mapping[str, str], problems: list[str]) -> Secret | None:
    raw = env.get("DATABASE_URL", "").strip()
    if not raw:
        return None
    try:
        return Secret(database_url(raw, Path()))
    except ValueError as error:
        problems.append(str(error))
        return None


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
    idle_timeout = _float(env, "IDLE_TIMEOUT_SECONDS", 75.0, problems, positive=True)
    body_timeout = _float(env, "BODY_TIMEOUT_SECONDS", 10.0, problems, positive=True)
    unverified_mib = _int(env, "UNVERIFIED_BODIES_MIB", 64, problems, low=MIN_UNVERIFIED_BODIES_MIB, high=65536)
    dispatches = _int(env, "TESTING_DISPATCHES_PER_HOUR", 300, problems, low=1, high=5000)
    database = _database_url(env, problems)
    retention = _bounded(env, "RETENTION_DAYS", 180.0, problems, low=0, high=36_500, unit="days")
    retry_hours = _bounded(
        env, "DELIVERY_RETRY_HOURS", 6.0, problems, low=0, high=MAX_DELIVERY_RETRY_HOURS, unit="hours"
    )
    lease = _bounded(env, "DELIVERY_LEASE_SECONDS", 30.0, problems, low=2, high=3600, unit="seconds")
    share = _bounded(env, "BACKFILL_RATE_SHARE", 0.2, problems, low=0, high=1, unit="(a share of the hourly limit)")
    backfill_days = _bounded(env, "BACKFILL_DAYS", 30.0, problems, low=0, high=400, unit="days")
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
        idle_timeout_seconds=idle_timeout,
        body_timeout_seconds=body_timeout,
        unverified_body_bytes=unverified_mib * MIB,
        testing_dispatches_per_hour=dispatches,
        database_url=database,
        data_dir=Path(env.get("DATA_DIR", "").strip() or "data"),
        retention_days=retention,
        delivery_retry_hours=retry_hours,
        delivery_lease_seconds=lease,
        backfill_rate_share=share,
        backfill_days=backfill_days,
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    """When deliveries that failed because GitHub was unavailable are tried again (`DELIVERY_RETRY_HOURS`)."""
    return RetryPolicy(horizon=timedelta(hours=settings.delivery_retry_hours))


def store_url_from_environment(env: Mapping[str, str] | None = None) -> str:
    """The store's URL from `DATABASE_URL` and `DATA_DIR` alone (for commands that only read the store)."""
    env = os.environ if env is None else env
    problems: list[str] = []
    configured = _database_url(env, problems)
    if problems:
        raise SettingsError(problems)
    return database_url(configured.reveal() if configured else None, Path(env.get("DATA_DIR", "").strip() or "data"))
