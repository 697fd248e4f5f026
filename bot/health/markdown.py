"""The health report as GitHub markdown: the body of the repository's "CI health" issue (Mermaid charts included).

Every name from the repository (workflow, job, runner label) goes through `escape_markdown` or `code_span`;
links are built only from https run URLs and hexadecimal commit ids; the charts carry numbers and dates only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

from bot.comparison.report import format_seconds
from bot.comparison.statistics import RateEstimate
from bot.health.model import (
    ChangePoint,
    Direction,
    HealthReport,
    JobTrend,
    Quantiles,
    ShiftTest,
    WorkflowHealth,
)
from bot.report import COMMENT_MAX_CHARACTERS, code_span, escape_markdown

MARKER = "<!-- ci-orchestrator:health -->"
TITLE = "CI health"
SPARKS = "▁▂▃▄▅▆▇█"
CHART_WORKFLOWS = 5
RUN_URL = re.compile(r"(https://[A-Za-z0-9.-]+(?::\d+)?/[A-Za-z0-9._-]+/[A-Za-z0-9._-]+)/actions/runs/\d+(/job/\d+)?")
COMMIT_SHA = re.compile(r"[0-9a-f]{7,40}")


def commit_link(sha: str, html_url: str | None) -> str:
    """`[abc1234](…/commit/sha)` when the run URL and the sha look right; the short sha in a code span otherwise."""
    short = sha[:7]
    match = RUN_URL.fullmatch(html_url or "")
    if match and COMMIT_SHA.fullmatch(sha):
        return f"[`{short}`]({match[1]}/commit/{sha})"
    return code_span(short)


def run_link(text: str, html_url: str | None) -> str:
    """`text` linked to a run or job URL when it is a plain https run URL."""
    return f"[{text}]({html_url})" if html_url and RUN_URL.fullmatch(html_url) else text


def percent(value: float) -> str:
    return f"{100 * value:.0f} %"


def rate(estimate: RateEstimate) -> str:
    """`83 % (77–88 %, 150/180)`; `–` without trials."""
    if not estimate.trials:
        return "–"
    low, high = 100 * estimate.low, 100 * estimate.high
    return f"{percent(estimate.rate)} ({low:.0f}–{high:.0f} %, {estimate.successes}/{estimate.trials})"


def day(moment: datetime) -> str:
    return f"{moment:%b} {moment.day}"


def p_value(value: float | None) -> str:
    """`p = 0.012`, `p < 0.0001`, `p –`."""
    if value is None:
        return "p –"
    return f"p = {value:.2g}" if value >= 1e-4 else "p < 0.0001"


def signed_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return ("+" if seconds >= 0 else "-") + format_seconds(abs(seconds))


def shift_text(shift: ShiftTest, *, icons: bool = True) -> str:
    """`🔴 slower +1m20s (+18 %)`, `⚪ +5s (+1 %)`, or why there is no verdict (`icons=False`: no emoji)."""
    if shift.change_seconds is None:
        return "–"
    change = signed_seconds(shift.change_seconds)
    if shift.change_percent is not None:
        change += f" ({shift.change_percent:+.0f} %)"
    if not shift.enough:
        return f"{change}, too few runs for a verdict"
    if shift.direction is Direction.SLOWER:
        return f"{'🔴 ' if icons else ''}slower {change}"
    if shift.direction is Direction.FASTER:
        return f"{'🟢 ' if icons else ''}faster {change}"
    return f"⚪ {change}" if icons else change


def sparkline(values: Sequence[float | None]) -> str:
    known = [value for value in values if value is not None]
    if not known:
        return "–"
    low, high = min(known), max(known)
    span = high - low or 1.0
    return "".join(" " if v is None else SPARKS[min(7, int((v - low) / span * 7.999))] for v in values)


def series_name(point: ChangePoint) -> str:
    return (
        escape_markdown(point.workflow_name)
        + " / "
        + (escape_markdown(point.job_name) if point.job_name else "wall time")
    )


def _quantile_cells(quantiles: Quantiles) -> str:
    return f"{format_seconds(quantiles.p50)} | {format_seconds(quantiles.p90)}"


def _findings(report: HealthReport) -> list[str]:
    lines = []
    for point in report.change_points:
        if point.direction is Direction.SLOWER:
            lines.append(
                f"- 🔴 **{series_name(point)}** got slower by {signed_seconds(point.change_seconds)} "
                f"({point.change_percent:+.0f} %, {format_seconds(point.before_median)} → "
                f"{format_seconds(point.after_median)}) from {commit_link(point.head_sha, point.html_url)} "
                f"on {day(point.created_at)} (confidence {_confidence(point.p_value)})"
            )
    for job in report.broken:
        lines.append(
            f"- 🛑 **{escape_markdown(job.workflow_name)} / {escape_markdown(job.job_name)}** is broken: "
            f"{escape_markdown(job.reason)}, since {commit_link(job.since_sha, job.html_url)} on {day(job.since_at)}"
        )
    for flaky in report.flaky[:5]:
        lines.append(
            f"- 🔁 **{escape_markdown(flaky.workflow_name)} / {escape_markdown(flaky.job_name)}** is flaky: "
            f"failed and passed on {flaky.flaky_commits} of {flaky.commits} commits ({rate(flaky.rate)}), "
            f"{format_seconds(flaky.wasted_seconds)} of runner time lost"
        )
    for workflow in report.workflows:
        if workflow.success.dropped:
            lines.append(
                f"- 📉 **{escape_markdown(workflow.name)}** succeeds less often: {rate(workflow.success.current)}, "
                f"was {rate(workflow.success.previous)} (Fisher {p_value(workflow.success.p_value)})"
            )
    for label in report.queue:
        if label.starved:
            lines.append(
                f"- ⏳ runners {code_span(label.labels)} are short: jobs waited {format_seconds(label.current.p50)} "
                f"(p50) and {format_seconds(label.current.p90)} (p90), before "
                f"{format_seconds(label.previous.p90)} (p90)"
            )
    return lines


def _confidence(p: float) -> str:
    return f"{100 * (1 - p):.2f} %" if p >= 1e-4 else "> 99.99 %"


def _workflows(report: HealthReport, rows: int) -> list[str]:
    lines = [
        "| workflow | success rate (95 % CI) | previous window | wall p50 | wall p90 | p50 change | runs |",
        "| --- | --- | --- | --- | --- | --- | ---: |",
    ]
    for workflow in report.workflows[:rows]:
        success = workflow.success
        dropped = " 📉" if success.dropped else ""
        lines.append(
            f"| {escape_markdown(workflow.name)} | {rate(success.current)}{dropped} | {rate(success.previous)} | "
            f"{_quantile_cells(workflow.wall_time.after)} | {shift_text(workflow.wall_time)} | "
            f"{success.current.trials + success.left_out} |"
        )
    left_out = sum(workflow.success.left_out for workflow in report.workflows)
    lines += [
        "",
        f"Success rates count runs that passed or failed at their latest attempt; cancelled and skipped runs "
        f"({left_out} in the window) are left out of both sides. Wall times are of runs that passed at their first "
        "attempt.",
    ]
    return lines


def _chart(workflow: WorkflowHealth) -> list[str]:
    weeks = [week for week in workflow.weekly if week.quantiles.p50 is not None and week.quantiles.p90 is not None]
    if len(weeks) < 2:
        return []
    top = max(week.quantiles.p90 or 0.0 for week in weeks)
    unit, scale = ("minutes", 60.0) if top >= 120 else ("seconds", 1.0)
    labels = ", ".join(f'"{day(week.start)}"' for week in weeks)
    p50 = ", ".join(f"{(week.quantiles.p50 or 0.0) / scale:.2f}" for week in weeks)
    p90 = ", ".join(f"{(week.quantiles.p90 or 0.0) / scale:.2f}" for week in weeks)
    return [
        f"**{escape_markdown(workflow.name)}**: wall time per week, p50 (lower line) and p90 (upper line)",
        "",
        "```mermaid",
        "xychart-beta",
        f"    x-axis [{labels}]",
        f'    y-axis "{unit}" 0 --> {top / scale * 1.1:.2f}',
        f"    line [{p50}]",
        f"    line [{p90}]",
        "```",
        "",
    ]


def _change_points(report: HealthReport, rows: int) -> list[str]:
    points = report.change_points
    if not points:
        return [f"No change point on {escape_markdown(report.default_branch)} in the window."]
    lines = [
        "| series | from commit | run | before → after | change | confidence | runs before / after |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for point in points[:rows]:
        arrow = "🔴" if point.direction is Direction.SLOWER else "🟢"
        lines.append(
            f"| {series_name(point)} | {commit_link(point.head_sha, point.html_url)} {day(point.created_at)} | "
            f"{run_link(str(point.run_id), point.html_url)} | {format_seconds(point.before_median)} → "
            f"{format_seconds(point.after_median)} | {arrow} {signed_seconds(point.change_seconds)} "
            f"({point.change_percent:+.0f} %) | {_confidence(point.p_value)} | {point.before_count} / "
            f"{point.after_count} |"
        )
    return lines


def _jobs(report: HealthReport, rows: int) -> list[str]:
    if not report.jobs:
        return []
    lines = [
        f"The {len(report.jobs)} jobs with the most runner time on {escape_markdown(report.default_branch)}:",
        "",
        "| job | runner time | p50 | p90 | p50 change | weekly p50 |",
        "| --- | ---: | --- | --- | --- | --- |",
    ]
    job: JobTrend
    for job in report.jobs[:rows]:
        lines.append(
            f"| {escape_markdown(job.workflow_name)} / {escape_markdown(job.job_name)} | "
            f"{format_seconds(job.total_seconds)} | {_quantile_cells(job.shift.after)} | {shift_text(job.shift)} | "
            f"`{sparkline(job.weekly_p50)}` |"
        )
    return lines


def _flaky(report: HealthReport, rows: int) -> list[str]:
    if not report.flaky:
        return ["No flaky job."]
    lines = [
        "| job | flaky commits / commits run | rate (95 % CI) | last seen | failed runs | runner time lost |",
        "| --- | --- | --- | --- | ---: | ---: |",
    ]
    for job in report.flaky[:rows]:
        lines.append(
            f"| {escape_markdown(job.workflow_name)} / {escape_markdown(job.job_name)} | {job.flaky_commits} / "
            f"{job.commits} | {rate(job.rate)} | {day(job.last_seen)} | {job.failed_runs} | "
            f"{format_seconds(job.wasted_seconds)} |"
        )
    lines += [
        "",
        f"A job leaves this list {report.options.flaky_recovery_days} days after its last flake.",
    ]
    return lines


def _broken(report: HealthReport, rows: int) -> list[str]:
    if not report.broken:
        return [f"No broken job on {escape_markdown(report.default_branch)}."]
    lines = ["| job | failing since | runs failed in a row | failure rate (95 % CI) |", "| --- | --- | ---: | --- |"]
    for job in report.broken[:rows]:
        lines.append(
            f"| {run_link(escape_markdown(job.workflow_name) + ' / ' + escape_markdown(job.job_name), job.html_url)} "
            f"| {commit_link(job.since_sha, job.html_url)} {day(job.since_at)} | {job.streak} | {rate(job.failures)} |"
        )
    return lines


def _queue(report: HealthReport, rows: int) -> list[str]:
    if not report.queue:
        return []
    lines = [
        "| runner labels | p50 | p90 | jobs | previous p50 | previous p90 | verdict |",
        "| --- | --- | --- | ---: | --- | --- | --- |",
    ]
    for label in report.queue[:rows]:
        if label.longer:
            verdict = f"⏳ longer ({p_value(label.p_value)})"
        elif label.starved:
            verdict = "⏳ long"
        else:
            verdict = "–"
        lines.append(
            f"| {code_span(label.labels or 'no labels')} | {_quantile_cells(label.current)} | {label.current.count} | "
            f"{_quantile_cells(label.previous)} | {verdict} |"
        )
    lines += ["", "Queue time: from a job's creation to its start on a runner, all branches."]
    return lines


def _minutes(report: HealthReport, rows: int) -> list[str]:
    if not report.minutes:
        return []
    lines = [
        "| workflow | runner | jobs | runner minutes | billable minutes (estimate) | of which re-runs |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for estimate in report.minutes[:rows]:
        lines.append(
            f"| {escape_markdown(estimate.workflow_name)} | {estimate.runner_os} (×{estimate.multiplier:g}) | "
            f"{estimate.jobs} | {estimate.runner_minutes:,.0f} | {estimate.billable_minutes:,.0f} | "
            f"{estimate.rerun_billable_minutes:,.0f} |"
        )
    total = sum(estimate.billable_minutes for estimate in report.minutes)
    reruns = sum(estimate.rerun_billable_minutes for estimate in report.minutes)
    lines += [
        "",
        f"In all about {total:,.0f} billable minutes, {reruns:,.0f} of them re-runs. An estimate: each job rounded "
        "up to a whole minute times GitHub's multiplier (Linux 1, Windows 2, macOS 10); public repositories' "
        "standard runners are free, larger runners are billed by size, self-hosted runners are counted at 0.",
    ]
    return lines


def _method(report: HealthReport) -> list[str]:
    options = report.options
    return [
        "<details><summary>How this is decided</summary>",
        "",
        f"- Change points: binary segmentation with Pettitt's rank test on each series of runs, at α = "
        f"{options.alpha:g} shared over the {report.series_tested} series searched (each at "
        f"{options.alpha / max(report.series_tested, 1):.2g}), at least {options.min_segment} runs on each side, "
        f"and a change of the median of at least {options.threshold_percent:g} % and "
        f"{format_seconds(options.threshold_seconds)}. Confidence is 1 − p.",
        "- Slower / faster than the previous window: one-sided Mann–Whitney U, α shared over the workflows and jobs "
        "compared, with the same minimum change.",
        "- Success rates: 95 % Wilson intervals; a drop needs a one-sided Fisher exact test at α shared over the "
        "workflows and at least 5 percentage points.",
        f"- No verdict from fewer than {options.min_runs} runs on either side.",
        f"- Flaky: failed and passed on the same commit. Broken: the latest run failed after re-runs, and the last "
        f"{options.broken_after} runs failed or most runs did. Short of runners: queue p90 above "
        f"{format_seconds(options.queue_p90_seconds)}, or significantly longer than before.",
        "",
        "</details>",
    ]


def _sections(report: HealthReport, rows: int, charts: bool) -> list[list[str]]:
    branch = escape_markdown(report.default_branch)
    header = [
        MARKER,
        f"## {TITLE}: {escape_markdown(report.repository)} on {branch}",
        "",
        f"Last {report.options.window_days} days ({day(report.window.start)} – {day(report.window.end)}, "
        f"{report.window.end:%Y}) against the {report.options.window_days} days before; "
        f"updated {report.now:%Y-%m-%d %H:%M} UTC.",
        *(f"\n{escape_markdown(note)}" for note in report.notes),
    ]
    findings = _findings(report)
    sections = [header, ["### Findings", "", *(findings or ["Nothing wrong found."])]]
    sections.append(["### Workflows", "", *_workflows(report, rows)])
    if charts:
        ranked = sorted(report.workflows, key=lambda workflow: -workflow.wall_time.after.count)
        sections.append([line for workflow in ranked[:CHART_WORKFLOWS] for line in _chart(workflow)])
    sections += [
        ["### Change points", "", *_change_points(report, rows)],
        ["### Slowest jobs", "", *_jobs(report, rows)],
        ["### Flaky jobs", "", *_flaky(report, rows)],
        ["### Broken jobs", "", *_broken(report, rows)],
        ["### Queue time per runner label", "", *_queue(report, rows)],
        ["### Minutes", "", *_minutes(report, rows)],
        _method(report),
    ]
    return [section for section in sections if section]


def render_markdown(report: HealthReport, *, limit: int = COMMENT_MAX_CHARACTERS) -> str:
    """The issue body: within `limit` characters, with fewer table rows (then no charts) when it would not fit."""

    def render(rows: int, charts: bool) -> str:
        return "\n\n".join("\n".join(section) for section in _sections(report, rows, charts)) + "\n"

    attempts: list[Callable[[], str]] = [
        *(lambda rows=rows: render(rows, True) for rows in (50, 20, 10)),
        *(lambda rows=rows: render(rows, False) for rows in (10, 5, 2)),
    ]
    for attempt in attempts:
        body = attempt()
        if len(body) <= limit:
            return body
    return body[: limit - 40] + "\n… (cut to fit GitHub's size limit)\n"
