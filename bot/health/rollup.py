"""The organization roll-up: every repository's last health summary (`bot.health.export.summary`), ranked, as the
body of the "CI health" issue in the organization's `.github` repository."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.comparison.report import format_seconds
from bot.comparison.statistics import wilson_interval
from bot.health.markdown import rate
from bot.report import COMMENT_MAX_CHARACTERS, escape_markdown

MARKER = "<!-- ci-orchestrator:health-rollup -->"
ROWS = 10


def _number(summary: Mapping[str, Any], key: str) -> float:
    value = summary.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _name(summary: Mapping[str, Any]) -> str:
    return escape_markdown(str(summary.get("repository") or "?"))


def _table(
    title: str,
    header: str,
    summaries: Sequence[Mapping[str, Any]],
    key: Callable[[Mapping[str, Any]], float],
    cell: Callable[[Mapping[str, Any]], str],
    rows: int,
) -> list[str]:
    ranked = sorted((summary for summary in summaries if key(summary) > 0), key=lambda summary: -key(summary))
    if not ranked:
        return [f"### {title}", "", "None."]
    lines = [f"### {title}", "", f"| repository | {header} |", "| --- | --- |"]
    lines += [f"| {_name(summary)} | {cell(summary)} |" for summary in ranked[:rows]]
    return lines


def _failure_rate(summary: Mapping[str, Any]) -> float:
    runs = _number(summary, "runs")
    return _number(summary, "failures") / runs if runs else 0.0


def render_rollup(organization: str, summaries: Sequence[Mapping[str, Any]], now: datetime) -> str:
    """The roll-up issue body: repositories ranked by problems, failure rate, flakiness, slowest p90, regressions and
    minutes."""

    def failures(summary: Mapping[str, Any]) -> str:
        runs, failed = int(_number(summary, "runs")), int(_number(summary, "failures"))
        return rate(wilson_interval(failed, runs)) + " failed"

    def render(rows: int) -> str:
        lines = [
            MARKER,
            f"## CI health of {escape_markdown(organization)}'s repositories",
            "",
            f"Repositories with a health report: {len(summaries)}; updated {now:%Y-%m-%d %H:%M} UTC. Each "
            'repository\'s own "CI health" issue has the details.',
            "",
        ]
        sections = [
            _table(
                "Problems found",
                "problems (broken jobs)",
                summaries,
                lambda s: float(len(s.get("problems") or {})),
                lambda s: f"{len(s.get('problems') or {})} ({int(_number(s, 'broken_jobs'))})",
                rows,
            ),
            _table(
                "Failure rate on the default branch", "runs failed (95 % CI)", summaries, _failure_rate, failures, rows
            ),
            _table(
                "Flaky jobs",
                "flaky jobs",
                summaries,
                lambda s: _number(s, "flaky_jobs"),
                lambda s: f"{int(_number(s, 'flaky_jobs'))}",
                rows,
            ),
            _table(
                "Slowest workflows (p90 wall time)",
                "p90",
                summaries,
                lambda s: _number(s, "slowest_p90_seconds"),
                lambda s: format_seconds(_number(s, "slowest_p90_seconds")),
                rows,
            ),
            _table(
                "Biggest regressions (change points)",
                "slowdowns found, biggest",
                summaries,
                lambda s: _number(s, "biggest_regression_percent"),
                lambda s: f"{int(_number(s, 'regressions'))}, {_number(s, 'biggest_regression_percent'):+.0f} %",
                rows,
            ),
            _table(
                "Billable minutes (estimate)",
                "minutes in the window",
                summaries,
                lambda s: _number(s, "billable_minutes_estimate"),
                lambda s: f"{_number(s, 'billable_minutes_estimate'):,.0f}",
                rows,
            ),
        ]
        return "\n".join([*lines, "\n\n".join("\n".join(section) for section in sections)]) + "\n"

    for rows in (ROWS, 5, 3, 1):
        body = render(rows)
        if len(body) <= COMMENT_MAX_CHARACTERS:
            return body
    return body[: COMMENT_MAX_CHARACTERS - 40] + "\n… (cut to fit GitHub's size limit)\n"
