"""Prometheus metrics: deliveries, handler durations, GitHub calls, rate limit, queue depth."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

DELIVERIES = Counter("ci_orchestrator_deliveries", "Webhook deliveries by event and outcome", ["event", "outcome"])
HANDLER_SECONDS = Histogram(
    "ci_orchestrator_handler_seconds", "Time spent in each handler", ["event", "handler"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
HANDLER_ERRORS = Counter("ci_orchestrator_handler_errors", "Handler exceptions", ["event", "handler"])
GITHUB_CALLS = Counter("ci_orchestrator_github_calls", "GitHub API calls by method, route and status", ["method", "route", "status"])
RATE_LIMIT_REMAINING = Gauge("ci_orchestrator_github_rate_limit_remaining", "Last x-ratelimit-remaining seen")
QUEUE_DEPTH = Gauge("ci_orchestrator_queue_depth", "Accepted deliveries not yet handled")


@lru_cache(maxsize=1024)
def _delivery_counter(event: str, outcome: str):
    return DELIVERIES.labels(event=event, outcome=outcome)


def count_delivery(event: str, outcome: str) -> None:
    """Count one delivery (on the ack path: the labelled child is looked up once)."""
    _delivery_counter(event, outcome).inc()


@lru_cache(maxsize=1024)
def handler_seconds(event: str, handler: Callable[..., object]):
    """The duration histogram of one handler for one event (looked up once)."""
    return HANDLER_SECONDS.labels(event=event, handler=f"{handler.__module__}.{handler.__qualname__}")


def measure_queue_depth(pending: Callable[[], float]) -> None:
    QUEUE_DEPTH.set_function(pending)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format, with their content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
