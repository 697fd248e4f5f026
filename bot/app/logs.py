"""Logging set-up: text or JSON lines, each record tagged with the delivery it belongs to.

Payload text (repository names, actions) and request headers are untrusted: in text logs, control
characters are escaped so that a record is always one line (its traceback aside).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

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


#: C0 and C1 control characters, DEL and the Unicode line and paragraph separators, as visible escapes.
_ESCAPES = {code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))} | {
    0x2028: "\\u2028",
    0x2029: "\\u2029",
}


def one_line(text: str) -> str:
    """`text` with its control characters escaped (a newline becomes `\\x0a`)."""
    return text.translate(_ESCAPES)


class _TextFormatter(logging.Formatter):
    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        tags = getattr(record, "delivery", None)
        if tags:
            line += " [" + " ".join(f"{key}={value}" for key, value in tags.items()) + "]"
        return one_line(line)


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


#: What a client can do wrong to a connection: send malformed HTTP or a malformed body, or drop the connection.
CLIENT_FAULTS = (HttpProcessingError, RequestPayloadError, ConnectionError)


class ConnectionLog(logging.LoggerAdapter):
    """aiohttp's logger for connections (`handler_args={"logger": ...}`): a client's fault is one INFO
    line, so that no one can write ERROR tracebacks to the log from outside; the App's own faults stay
    ERRORs with their traceback."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        error = exc_info if isinstance(exc_info, BaseException) else sys.exc_info()[1]
        if isinstance(error, CLIENT_FAULTS):
            self.info("%s: %s: %s", str(msg) % args, type(error).__name__, error)
        else:
            super().exception(msg, *args, exc_info=exc_info, **kwargs)

    def debug(self, msg: object, *args: object, exc_info: Any = None, **kwargs: Any) -> None:
        if isinstance(exc_info, CLIENT_FAULTS):  # e.g. TLS or another protocol sent to the HTTP port
            super().debug("%s: %s: %s", str(msg) % args, type(exc_info).__name__, exc_info, **kwargs)
        else:
            super().debug(msg, *args, exc_info=exc_info, **kwargs)


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
