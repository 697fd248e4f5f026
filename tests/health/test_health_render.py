"""The report's markdown, HTML, JSON and roll-up: hostile names stay inert, links only to run and commit URLs,
Mermaid carries numbers and dates only, bodies fit GitHub's limit."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema

from bot.health import (
    FlakyCommit,
    HealthData,
    HealthOptions,
    JobExecutions,
    JobPoint,
    MinutesRow,
    Period,
    QueueTimes,
    RunPoint,
    build_report,
)
from bot.health.export import report_json, summary
from bot.health.html import render_html
from bot.health.markdown import commit_link, render_markdown
from bot.health.rollup import render_rollup

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
HOSTILE = "evil @octo-org/admins #12 <img src=x onerror=alert(1)> [x](javascript:alert(1)) `| ```"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "health-report.schema.json").read_text())


def hostile_report(jobs: int = 3, html_url: str = "https://github.com/octo-org/app/actions/runs/5"):
    runs = tuple(
        RunPoint(1, HOSTILE, ".github/workflows/ci.yml", i, 1, f"{i:040x}", "success", NOW - timedelta(hours=i * 10),
                 600.0 + (300 if i < 40 else 0), html_url)
        for i in range(120)
    )  # fmt: skip
    points = tuple(
        JobPoint(HOSTILE, f"{HOSTILE} {j}", i, f"{i:040x}", NOW - timedelta(hours=i * 10), 300.0 + 200 * (i < 40))
        for j in range(jobs)
        for i in range(120)
    )
    flaky = tuple(
        FlakyCommit(HOSTILE, f"{HOSTILE} {j}", f"{j:040x}", 1, 1, 60.0, NOW - timedelta(days=1)) for j in range(jobs)
    )
    executions = tuple(JobExecutions(HOSTILE, f"{HOSTILE} {j}", 100) for j in range(jobs))
    queue = (QueueTimes(HOSTILE, True, 900, 20), QueueTimes(HOSTILE, False, 5, 20))
    minutes = (MinutesRow(HOSTILE, HOSTILE, False, 3, 200.0, 4),)
    window = Period(NOW - timedelta(days=30), NOW)
    previous = Period(NOW - timedelta(days=60), window.start)
    data = HealthData(
        "octo-org/app", "main", NOW, window, previous, runs, points, flaky, executions, queue=queue, minutes=minutes
    )
    return build_report(data, HealthOptions(jobs=jobs))


def outside_code_spans(markdown: str) -> str:
    """The markdown without its code spans (where GitHub renders no mention, reference, link or HTML)."""
    return re.sub(r"(`+)(?!`).*?(?<!`)\1(?!`)", "", markdown)


def test_hostile_names_are_inert_in_markdown():
    full = render_markdown(hostile_report())
    assert "```` evil @octo-org/admins #12 <img" in full  # runner labels: verbatim, in a code span
    body = outside_code_spans(full)
    assert "@octo-org/admins" not in body  # no mention
    assert "#12" not in body  # no issue reference
    assert "<img" not in body and "](javascript:" not in body
    mermaid = re.findall(r"```mermaid\n(.*?)```", body, re.S)
    assert mermaid and all("evil" not in chart for chart in mermaid)
    assert all(link.startswith("https://github.com/octo-org/app/") for link in re.findall(r"\]\((\S+?)\)", body))


def test_hostile_names_are_escaped_in_html_and_json_is_valid():
    report = hostile_report()
    page = render_html(report)
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert 'href="javascript' not in page
    assert "Content-Security-Policy" in page and "<script" not in page
    jsonschema.validate(report_json(report), SCHEMA, format_checker=jsonschema.FormatChecker())


def test_links_are_built_only_from_run_urls_and_hex_commit_ids():
    assert commit_link("a" * 40, "https://github.com/o/r/actions/runs/1") == (
        f"[`aaaaaaa`](https://github.com/o/r/commit/{'a' * 40})"
    )
    assert commit_link("a" * 40, "javascript:alert(1)//actions/runs/1") == "`aaaaaaa`"
    assert commit_link("not-a-sha)](x", "https://github.com/o/r/actions/runs/1").startswith("`not-a-s")
    body = outside_code_spans(render_markdown(hostile_report(html_url="https://evil.example/x)](javascript:alert(1)")))
    assert "](javascript" not in body and "evil.example" not in body


def test_a_report_too_long_for_an_issue_keeps_fewer_rows_and_fits():
    report = hostile_report(jobs=60)
    body = render_markdown(report)
    assert len(body) <= 65_536
    assert body.startswith("<!-- ci-orchestrator:health -->") and "### Minutes" in body
    assert len(render_markdown(report, limit=20_000)) <= 20_000


def test_the_rollup_ranks_repositories_and_escapes_their_names():
    reports = [summary(hostile_report())]
    reports.append({**reports[0], "repository": "octo-org/quiet", "failures": 0, "flaky_jobs": 0})
    body = render_rollup("octo-org", reports, NOW)
    assert body.startswith("<!-- ci-orchestrator:health-rollup -->")
    assert "| octo-org/app |" in body and "@octo-org/admins" not in body
    flaky_section = body.split("### Flaky jobs")[1].split("###")[0]
    assert "octo-org/app" in flaky_section and "octo-org/quiet" not in flaky_section
