"""Logging set-up: text or JSON lines, each record tagged with the delivery it belongs to."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app.intake import Delivery

#: The delivery being handled: every log record made meanwhile is tagged with its id, event and repository.
current_delivery: ContextVar[Delivery | None] = ContextVar("current_delivery", default=None)


class _DeliveryFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        delivery = current_delivery.get()
        record.delivery = (
            {}
            if delivery is None
            else {
                "delivery": delivery.delivery_id,
                "event": f"{delivery.event}.{delivery.action}" if delivery.action else delivery.event,
                "repo": delivery.repository,
            }
        )
        return True


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tags = getattr(record, "delivery", None)
        if tags:
            line += " [" + " ".join(f"{key}={value}" for key, value in tags.items()) + "]"
        return line


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "delivery", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(_DeliveryFilter())
    handler.setFormatter(
        _JsonFormatter() if fmt == "json" else _TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
