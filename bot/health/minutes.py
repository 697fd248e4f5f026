"""Billable-minute estimates: each job rounded up to a whole minute, times its operating system's multiplier.

GitHub's published minute multipliers for its standard hosted runners (docs: "GitHub Actions billing",
Minute multipliers): Linux 1, Windows 2, macOS 10. It is an estimate: public repositories' standard runners
are free, larger runners are billed per size, and self-hosted runners are the owner's machines (counted here at
0). A label set that names no known system is counted as Linux and shown as "unknown".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from bot.health.model import MinutesEstimate, MinutesRow

MULTIPLIERS = {"Linux": 1.0, "Windows": 2.0, "macOS": 10.0, "self-hosted": 0.0, "unknown": 1.0}


def runner_os(labels: str) -> str:
    """The runner's operating system from its `runs-on` labels (joined with ", ")."""
    names = [label.strip().lower() for label in labels.split(",") if label.strip()]
    if "self-hosted" in names:
        return "self-hosted"
    for name in names:
        if name.startswith("macos"):
            return "macOS"
        if name.startswith("windows"):
            return "Windows"
        if name.startswith("ubuntu") or name == "linux":
            return "Linux"
    return "unknown"


def minutes_estimates(rows: Iterable[MinutesRow]) -> list[MinutesEstimate]:
    """Per workflow and operating system: jobs, runner minutes, billable minutes and what re-runs added to them."""
    totals: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for row in rows:
        system = runner_os(row.labels)
        billed = row.billed_minutes * MULTIPLIERS[system]
        total = totals[(row.workflow_name, system)]
        total[0] += row.jobs
        total[1] += row.seconds / 60.0
        total[2] += billed
        total[3] += billed if row.rerun else 0.0
    estimates = [
        MinutesEstimate(workflow, system, MULTIPLIERS[system], int(jobs), runner, billable, rerun)
        for (workflow, system), (jobs, runner, billable, rerun) in totals.items()
    ]
    return sorted(estimates, key=lambda estimate: (-estimate.billable_minutes, estimate.workflow_name))
