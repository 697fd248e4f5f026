"""The health report as one self-contained HTML page: inline CSS and inline SVG charts, no script, nothing fetched
at view time (its Content-Security-Policy forbids it). Every text is HTML-escaped; links only to https run and
commit URLs."""

from __future__ import annotations

import html
from collections.abc import Sequence

from bot.comparison.report import format_seconds
from bot.health.markdown import (
    COMMIT_SHA,
    RUN_URL,
    day,
    p_value,
    rate,
    shift_text,
)
from bot.health.model import ChangePoint, Direction, HealthReport, WorkflowHealth

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 40, 28, 40
LEGEND_ROW = 18
COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd")
STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #1f2328; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #d0d7de; }
table { border-collapse: collapse; margin: .6em 0; } td, th { border: 1px solid #d0d7de; padding: 3px 8px; }
th { background: #f6f8fa; text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.chart { display: block; margin: .6em 0 1.2em; } .chart text { font-size: 11px; fill: #57606a; }
.chart .axis { stroke: #8c959f; } .chart .grid { stroke: #eaeef2; } .note { color: #57606a; }
.finding { margin: .2em 0; } code { background: #f6f8fa; padding: 0 3px; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _link(text: str, url: str | None) -> str:
    """Escaped `text`, linked when `url` is a plain https run or job URL."""
    return f'<a href="{_e(url)}">{_e(text)}</a>' if url and RUN_URL.fullmatch(url) else _e(text)


def _commit(sha: str, html_url: str | None) -> str:
    match = RUN_URL.fullmatch(html_url or "")
    if match and COMMIT_SHA.fullmatch(sha):
        return f'<a href="{_e(match[1])}/commit/{sha}"><code>{sha[:7]}</code></a>'
    return f"<code>{_e(sha[:7])}</code>"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = ()) -> str:
    """A table of already-escaped cells."""
    head = "".join(f"<th>{cell}</th>" for cell in header)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _scale(values: Sequence[float]) -> tuple[float, str]:
    top = max(values, default=0.0)
    return (60.0, "minutes") if top >= 120 else (1.0, "seconds")


def line_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]) -> str:
    """An SVG line chart of durations (seconds) over labelled points; gaps where a value is None."""
    known = [value for _name, values in series for value in values if value is not None]
    if not known or not labels:
        return ""
    scale, unit = _scale(known)
    top = max(known) / scale * 1.1 or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    legend: list[tuple[float, float]] = []  # (x, y) of each series' legend entry, below the axis labels
    cursor_x, cursor_y = float(LEFT), float(HEIGHT)
    for name, _values in series:
        width = 24 + 6.5 * len(name[:40])
        if cursor_x + width > WIDTH - RIGHT and cursor_x > LEFT:
            cursor_x, cursor_y = float(LEFT), cursor_y + LEGEND_ROW
        legend.append((cursor_x, cursor_y))
        cursor_x += width
    height = int(cursor_y + LEGEND_ROW)
    step = plot_w / max(len(labels) - 1, 1)

    def x(index: int) -> float:
        return LEFT + index * step if len(labels) > 1 else LEFT + plot_w / 2

    def y(value: float) -> float:
        return TOP + plot_h - value / scale / top * plot_h

    parts = [
        f'<svg class="chart" role="img" aria-label="{_e(title)}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{LEFT}" y="16">{_e(title)} ({unit})</text>',
    ]
    for tick in range(5):
        value = top * tick / 4
        level = TOP + plot_h - plot_h * tick / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{level:.1f}" y2="{level:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{level + 4:.1f}" text-anchor="end">{value:.1f}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}"/>')
    parts.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" y2="{TOP + plot_h}"/>')
    for index, label in enumerate(labels):
        parts.append(f'<text x="{x(index):.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{_e(label)}</text>')
    for number, (name, values) in enumerate(series):
        colour = COLOURS[number % len(COLOURS)]
        path: list[str] = []
        pen_down = False
        for index, point in enumerate(values):
            if point is None:
                pen_down = False
                continue
            value = point
            path.append(f"{'L' if pen_down else 'M'}{x(index):.1f},{y(value):.1f}")
            parts.append(f'<circle cx="{x(index):.1f}" cy="{y(value):.1f}" r="2.5" fill="{colour}"/>')
            pen_down = True
        parts.append(f'<path class="series" d="{" ".join(path)}" fill="none" stroke="{colour}" stroke-width="2"/>')
        legend_x, legend_y = legend[number]
        parts.append(f'<rect x="{legend_x:.1f}" y="{legend_y - 9:.1f}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14:.1f}" y="{legend_y:.1f}">{_e(name[:40])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, rows: Sequence[tuple[str, float]], unit: str) -> str:
    """A horizontal SVG bar chart, one bar per (label, value)."""
    if not rows:
        return ""
    top = max(value for _label, value in rows) or 1.0
    label_w, bar_h = 220, 18
    height = TOP + len(rows) * (bar_h + 6) + 10
    parts = [
        f'<svg class="chart" role="img" aria-label="{_e(title)}" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="4" y="16">{_e(title)} ({_e(unit)})</text>',
    ]
    for index, (label, value) in enumerate(rows):
        y = TOP + index * (bar_h + 6)
        width = max(1.0, (WIDTH - label_w - 80) * value / top)
        short = label if len(label) <= 34 else label[:33] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end">{_e(short)}</text>')
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y}" width="{width:.1f}" height="{bar_h}" fill="{COLOURS[0]}"/>'
        )
        parts.append(f'<text x="{label_w + width + 6:.1f}" y="{y + 13}">{value:,.1f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _workflow_chart(workflow: WorkflowHealth) -> str:
    weeks = list(workflow.weekly)
    return line_chart(
        f"{workflow.name}: wall time per week",
        [day(week.start) for week in weeks],
        [("p50", [week.quantiles.p50 for week in weeks]), ("p90", [week.quantiles.p90 for week in weeks])],
    )


def _change_row(point: ChangePoint) -> list[str]:
    arrow = "slower" if point.direction is Direction.SLOWER else "faster"
    return [
        _e(point.workflow_name) + " / " + _e(point.job_name or "wall time"),
        f"{_commit(point.head_sha, point.html_url)} {_e(day(point.created_at))}",
        _link(str(point.run_id), point.html_url),
        f"{format_seconds(point.before_median)} → {format_seconds(point.after_median)}",
        f"{arrow} {point.change_percent:+.0f} %",
        f"{100 * point.confidence:.2f} %" if point.p_value >= 1e-4 else "&gt; 99.99 %",
    ]


def render_html(report: HealthReport) -> str:
    """The report as a standalone page."""
    title = f"CI health: {report.repository} on {report.default_branch}"
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="note">Last {report.options.window_days} days ({_e(day(report.window.start))} – '
        f"{_e(day(report.window.end))} {report.window.end:%Y}) against the {report.options.window_days} days before; "
        f"generated {report.now:%Y-%m-%d %H:%M} UTC.</p>",
    ]
    body += [f'<p class="note">{_e(note)}</p>' for note in report.notes]
    problems = report.problems()
    body.append("<h2>Findings</h2>")
    body += [f'<p class="finding">{_e(text)}</p>' for text in problems.values()] or ["<p>Nothing wrong found.</p>"]

    body.append("<h2>Workflows</h2>")
    rows = [
        [
            _e(workflow.name),
            _e(rate(workflow.success.current)) + (" (dropped)" if workflow.success.dropped else ""),
            _e(rate(workflow.success.previous)),
            format_seconds(workflow.wall_time.after.p50),
            format_seconds(workflow.wall_time.after.p90),
            _e(shift_text(workflow.wall_time, icons=False)),
        ]
        for workflow in report.workflows
    ]
    body.append(
        _table(["workflow", "success rate (95 % CI)", "previous window", "wall p50", "wall p90", "p50 change"], rows)
    )
    body.append('<p class="note">Cancelled and skipped runs are left out of success rates.</p>')
    body += [_workflow_chart(workflow) for workflow in report.workflows]

    body.append("<h2>Change points</h2>")
    if report.change_points:
        header = ["series", "from commit", "run", "before → after", "change", "confidence"]
        body.append(_table(header, [_change_row(point) for point in report.change_points]))
    else:
        body.append("<p>No change point in the window.</p>")

    if report.jobs:
        body.append("<h2>Slowest jobs</h2>")
        weeks = [day(week.start) for week in report.workflows[0].weekly] if report.workflows else []
        rows = [
            [
                _e(job.workflow_name) + " / " + _e(job.job_name),
                format_seconds(job.total_seconds),
                format_seconds(job.shift.after.p50),
                format_seconds(job.shift.after.p90),
                _e(shift_text(job.shift, icons=False)),
            ]
            for job in report.jobs
        ]
        body.append(_table(["job", "runner time", "p50", "p90", "p50 change"], rows, numeric=(1,)))
        top = report.jobs[:4]
        body.append(line_chart("Slowest jobs: p50 per week", weeks, [(job.job_name, job.weekly_p50) for job in top]))

    body.append("<h2>Flaky jobs</h2>")
    rows = [
        [
            _e(job.workflow_name) + " / " + _e(job.job_name),
            f"{job.flaky_commits} / {job.commits}",
            _e(rate(job.rate)),
            _e(day(job.last_seen)),
            str(job.failed_runs),
            format_seconds(job.wasted_seconds),
        ]
        for job in report.flaky
    ]
    header = ["job", "flaky commits / commits", "rate (95 % CI)", "last seen", "failed runs", "time lost"]
    body.append(_table(header, rows, numeric=(4, 5)) if rows else "<p>No flaky job.</p>")

    body.append("<h2>Broken jobs</h2>")
    rows = [
        [
            _link(f"{job.workflow_name} / {job.job_name}", job.html_url),
            f"{_commit(job.since_sha, job.html_url)} {_e(day(job.since_at))}",
            str(job.streak),
            _e(rate(job.failures)),
            _e(job.reason),
        ]
        for job in report.broken
    ]
    header = ["job", "failing since", "in a row", "failure rate (95 % CI)", "why"]
    body.append(_table(header, rows, numeric=(2,)) if rows else "<p>No broken job.</p>")

    if report.queue:
        body.append("<h2>Queue time per runner label</h2>")
        rows = [
            [
                f"<code>{_e(label.labels)}</code>",
                format_seconds(label.current.p50),
                format_seconds(label.current.p90),
                str(label.current.count),
                format_seconds(label.previous.p90),
                ("longer, " + p_value(label.p_value)) if label.longer else ("long" if label.starved else "–"),
            ]
            for label in report.queue
        ]
        body.append(_table(["labels", "p50", "p90", "jobs", "previous p90", "verdict"], rows, numeric=(3,)))
        bars = [(label.labels, (label.current.p90 or 0.0) / 60) for label in report.queue]
        body.append(bar_chart("Queue time p90 per runner label", bars, "minutes"))

    if report.minutes:
        body.append("<h2>Minutes (estimate)</h2>")
        rows = [
            [
                _e(estimate.workflow_name),
                f"{_e(estimate.runner_os)} (×{estimate.multiplier:g})",
                str(estimate.jobs),
                f"{estimate.runner_minutes:,.0f}",
                f"{estimate.billable_minutes:,.0f}",
                f"{estimate.rerun_billable_minutes:,.0f}",
            ]
            for estimate in report.minutes
        ]
        header = ["workflow", "runner", "jobs", "runner minutes", "billable minutes", "of which re-runs"]
        body.append(_table(header, rows, numeric=(2, 3, 4, 5)))
        bars = [(f"{e.workflow_name} ({e.runner_os})", e.billable_minutes) for e in report.minutes]
        body.append(bar_chart("Billable minutes per workflow and runner", bars, "minutes"))
        body.append(
            '<p class="note">An estimate: each job rounded up to a whole minute times GitHub\'s multiplier '
            "(Linux 1, Windows 2, macOS 10); public repositories' standard runners are free; self-hosted runners "
            "counted at 0.</p>"
        )

    policy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    return (
        "<!doctype html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{policy}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(title)}</title>'
        f"<style>{STYLE}</style></head><body>\n" + "\n".join(part for part in body if part) + "\n</body></html>\n"
    )
