"""Prometheus metrics: deliveries, rejected requests, handler durations, GitHub calls, rate limit, queue depth.

Every label value comes from a fixed vocabulary (GitHub's event names, the App's outcomes, route
templates), never from what a client or a pull request wrote, so no one can add series from outside.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator
from itertools import accumulate

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

HANDLER_ERRORS = Counter("ci_orchestrator_handler_errors", "Handler exceptions", ["event", "handler"])
GITHUB_CALLS = Counter(
    "ci_orchestrator_github_calls", "GitHub API calls by method, route and status", ["method", "route", "status"]
)
RATE_LIMIT_REMAINING = Gauge("ci_orchestrator_github_rate_limit_remaining", "Last x-ratelimit-remaining seen")
QUEUE_DEPTH = Gauge("ci_orchestrator_queue_depth", "Accepted deliveries not yet handled")
REJECTED_REQUESTS = Counter(
    "ci_orchestrator_rejected_requests", "Webhook requests refused before acceptance, by answer status", ["status"]
)

#: GitHub's webhook event names (the `X-GitHub-Event` values its docs list): the only values of the `event` label.
# fmt: off
GITHUB_EVENTS = frozenset({
    "branch_protection_configuration", "branch_protection_rule", "check_run", "check_suite", "code_scanning_alert",
    "commit_comment", "create", "custom_property", "custom_property_values", "delete", "dependabot_alert",
    "deploy_key", "deployment", "deployment_protection_rule", "deployment_review", "deployment_status", "discussion",
    "discussion_comment", "fork", "github_app_authorization", "gollum", "installation", "installation_repositories",
    "installation_target", "issue_comment", "issue_dependencies", "issues", "label", "marketplace_purchase", "member",
    "membership", "merge_group", "meta", "milestone", "org_block", "organization", "package", "page_build",
    "personal_access_token_request", "ping", "project", "project_card", "project_column", "projects_v2",
    "projects_v2_item", "projects_v2_status_update", "public", "pull_request", "pull_request_review",
    "pull_request_review_comment", "pull_request_review_thread", "push", "registry_package", "release", "repository",
    "repository_advisory", "repository_dispatch", "repository_import", "repository_ruleset",
    "repository_vulnerability_alert", "secret_scanning_alert", "secret_scanning_alert_location",
    "secret_scanning_scan", "security_advisory", "security_and_analysis", "sponsorship", "star", "status",
    "sub_issues", "team", "team_add", "watch", "workflow_dispatch", "workflow_job", "workflow_run",
})
# fmt: on


class _DeliveryCounts(Collector):
    """Deliveries by event and outcome, counted in a plain dict: counting is on the ack path, and the
    event loop is the only writer. `X-GitHub-Event` is not covered by the signature, so an event name
    GitHub does not send is counted as "other"."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def add(self, event: str, outcome: str) -> None:
        key = (event if event in GITHUB_EVENTS else "other", outcome)
        counts = self.counts
        counts[key] = counts.get(key, 0) + 1

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "ci_orchestrator_deliveries", "Webhook deliveries by event and outcome", labels=["event", "outcome"]
        )
        for (event, outcome), count in list(self.counts.items()):
            family.add_metric([event, outcome], count)
        yield family


_deliveries = _DeliveryCounts()
REGISTRY.register(_deliveries)
#: Count one delivery under its event and outcome.
count_delivery = _deliveries.add


class _HandlerSeconds(Collector):
    """Time spent in each handler, by event: a histogram kept in plain lists, one per (event, handler)
    the routes allow, observed once per handler run."""

    BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)

    def __init__(self) -> None:
        self._series: dict[tuple[str, Callable[..., object]], list[float]] = {}  # per bucket, +Inf, then the sum

    def observe(self, event: str, handler: Callable[..., object], seconds: float) -> None:
        series = self._series.get((event, handler))
        if series is None:
            series = self._series[(event, handler)] = [0] * (len(self.BUCKETS) + 2)
        series[bisect_left(self.BUCKETS, seconds)] += 1
        series[-1] += seconds

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            "ci_orchestrator_handler_seconds", "Time spent in each handler", labels=["event", "handler"]
        )
        bounds = [str(float(bound)) for bound in self.BUCKETS] + ["+Inf"]
        for (event, handler), series in list(self._series.items()):
            cumulative = list(zip(bounds, accumulate(series[:-1]), strict=False))
            family.add_metric([event, f"{handler.__module__}.{handler.__qualname__}"], cumulative, sum_value=series[-1])
        yield family


_handler_seconds = _HandlerSeconds()
REGISTRY.register(_handler_seconds)
#: Record how long one handler took on one delivery of an event.
observe_handler = _handler_seconds.observe


def count_rejected(status: int) -> None:
    """Count one request refused with `status`; what it claimed to be is not trusted, so not recorded."""
    REJECTED_REQUESTS.labels(status=str(status)).inc()


def measure_queue_depth(pending: Callable[[], float]) -> None:
    QUEUE_DEPTH.set_function(pending)


def exposition() -> tuple[bytes, str]:
    """The metrics in Prometheus text format, with their content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
