"""Settings from the environment, the CLI's answer to bad configuration, and log formats."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
from helpers import private_key_pem

from bot.app.intake import Delivery
from bot.app.logs import _DeliveryFilter, _JsonFormatter, current_delivery
from bot.app.settings import Secret, SettingsError, load_settings

GOOD = {"APP_ID": "12", "PRIVATE_KEY": "", "WEBHOOK_SECRET": "s3cret"}


def good_env(**changes):
    env = dict(GOOD, PRIVATE_KEY=private_key_pem())
    env.update(changes)
    return {k: v for k, v in env.items() if v is not None}


def test_valid_environment_is_read():
    settings = load_settings(good_env(GITHUB_API_URL="https://ghe.example.com/api/v3/", PORT="8080", LOG_FORMAT="json"))
    assert settings.app_id == 12 and settings.port == 8080 and settings.log_format == "json"
    assert settings.github_api_url == "https://ghe.example.com/api/v3"
    assert settings.github_api_url != "https://api.github.com"


def test_the_test_sessions_dispatch_budget():
    assert load_settings(good_env()).testing_dispatches_per_hour == 300
    assert load_settings(good_env(TESTING_DISPATCHES_PER_HOUR="120")).testing_dispatches_per_hour == 120
    with pytest.raises(SettingsError, match="TESTING_DISPATCHES_PER_HOUR must be between 1 and 5000"):
        load_settings(good_env(TESTING_DISPATCHES_PER_HOUR="0"))


def test_one_line_pem_with_escaped_newlines_is_accepted():
    settings = load_settings(good_env(PRIVATE_KEY=private_key_pem().replace("\n", "\\n")))
    settings.signing_key()


def test_private_key_from_a_file(tmp_path):
    path = tmp_path / "key.pem"
    path.write_text(private_key_pem())
    assert load_settings(good_env(PRIVATE_KEY=None, PRIVATE_KEY_PATH=str(path))).app_id == 12


def test_every_problem_is_named_at_once():
    with pytest.raises(SettingsError) as raised:
        load_settings(
            {
                "APP_ID": "twelve",
                "PRIVATE_KEY": "not a key",
                "PORT": "99999",
                "LOG_LEVEL": "loud",
                "GITHUB_API_URL": "ftp://x",
            }
        )
    problems = " | ".join(raised.value.problems)
    for name in ("APP_ID", "PRIVATE_KEY", "WEBHOOK_SECRET", "PORT", "LOG_LEVEL", "GITHUB_API_URL"):
        assert name in problems


def test_the_store_defaults_to_sqlite_in_the_data_directory(tmp_path):
    settings = load_settings(good_env(DATA_DIR=str(tmp_path)))
    assert settings.database_url is None
    assert settings.store_url() == f"sqlite+aiosqlite:///{tmp_path / 'ci-orchestrator.sqlite3'}"
    assert (settings.retention_days, settings.delivery_retry_hours) == (180.0, 6.0)
    assert (settings.backfill_rate_share, settings.backfill_days) == (0.2, 30.0)


def test_database_url_selects_postgresql_and_stays_secret():
    settings = load_settings(good_env(DATABASE_URL="postgres://ci:pa55word@db.internal/ci"))
    assert settings.store_url() == "postgresql+asyncpg://ci:pa55word@db.internal/ci"
    assert "pa55word" not in repr(settings)


def test_store_settings_are_checked():
    with pytest.raises(SettingsError) as raised:
        load_settings(
            good_env(
                DATABASE_URL="mysql://u:hunter2@h/db",
                RETENTION_DAYS="0",
                DELIVERY_RETRY_HOURS="100",
                BACKFILL_RATE_SHARE="1.5",
                BACKFILL_DAYS="many",
            )
        )
    problems = " | ".join(raised.value.problems)
    for name in ("DATABASE_URL", "RETENTION_DAYS", "DELIVERY_RETRY_HOURS", "BACKFILL_RATE_SHARE", "BACKFILL_DAYS"):
        assert name in problems
    assert "hunter2" not in problems
    assert "at most 72 hours" in problems  # GitHub redelivers for 3 days


def test_secrets_never_show_themselves():
    settings = load_settings(good_env())
    assert "s3cret" not in repr(settings) and "PRIVATE KEY" not in repr(settings)
    assert str(Secret("x")) == "Secret('********')"


def test_serve_with_bad_configuration_exits_2_with_a_plain_message():
    env = {"PATH": "/usr/bin:/bin", "APP_ID": "abc"}
    result = subprocess.run([sys.executable, "-m", "bot", "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "APP_ID must be an integer" in result.stderr and "WEBHOOK_SECRET is missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_json_logs_carry_the_delivery():
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    token = current_delivery.set(Delivery("push", "guid-1", b'{"repository": {"full_name": "o/r"}}'))
    try:
        _DeliveryFilter().filter(record)
    finally:
        current_delivery.reset(token)
    line = json.loads(_JsonFormatter().format(record))
    assert (
        line["message"] == "hello world"
        and line["delivery"] == "guid-1"
        and line["event"] == "push"
        and line["repo"] == "o/r"
    )
