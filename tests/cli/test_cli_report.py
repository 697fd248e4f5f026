"""`ci-orchestrator report`: the health report from the store as markdown, JSON (valid against its documented schema)
and HTML, which headless Chromium opens with every chart drawn and nothing fetched."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from bot.cli import main
from bot.store import Installation, Repository, Store, database_url
from bot.testing.history import Incidents, SyntheticHistory

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "docs" / "health-report.schema.json").read_text())
REPOSITORY = Repository(42, "octo-org/app", 7, "main")
INCIDENTS = Incidents(
    slow_job="build",
    slow_from_day=45,
    flaky_job="test (ubuntu)",
    broken_job="lint",
    broken_from_day=55,
    starved_label="gpu",
    starved_from_day=40,
)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A SQLite store with 60 days of history of octo-org/app ending now, with the four incidents."""
    folder = tmp_path_factory.mktemp("data")
    history = SyntheticHistory(
        REPOSITORY, Installation(7, "octo-org"), datetime.now(UTC), runs_per_day=4, incidents=INCIDENTS
    )

    async def fill() -> None:
        store = await Store.open(database_url(None, folder))
        try:
            await store.ingest(history.events())
        finally:
            await store.close()

    asyncio.run(fill())
    return folder


def report(data_dir: Path, tmp_path: Path, *options: str) -> str:
    output = tmp_path / "report"
    status = main(["report", "--repo", "octo-org/app", "--data-dir", str(data_dir), "--output", str(output), *options])
    assert status == 0
    return output.read_text()


def test_markdown_is_the_issue_body_with_each_finding(data_dir, tmp_path):
    text = report(data_dir, tmp_path)
    assert text.startswith("<!-- ci-orchestrator:health -->\n## CI health: octo-org/app on main")
    for finding in ("**CI / build** got slower", "**CI / lint** is broken", "**CI / test \\(ubuntu\\)** is flaky"):
        assert finding in text
    assert "runners `self-hosted, linux, gpu` are short" in text


def test_json_follows_the_documented_schema(data_dir, tmp_path):
    document = json.loads(report(data_dir, tmp_path, "--format", "json", "--days", "21"))
    jsonschema.validate(document, SCHEMA, format_checker=jsonschema.FormatChecker())
    assert document["options"]["window_days"] == 21
    assert [(p["job"], p["direction"]) for p in document["change_points"] if p["job"] == "build"] == [
        ("build", "slower")
    ]
    assert {job["job"] for job in document["broken_jobs"]} == {"lint"}


def test_an_unknown_repository_or_a_bad_option_is_refused(data_dir, capsys):
    assert main(["report", "--repo", "octo-org/nothing", "--data-dir", str(data_dir)]) == 1
    assert "no repository named 'octo-org/nothing'" in capsys.readouterr().err
    assert main(["report", "--repo", "octo-org", "--data-dir", str(data_dir)]) == 2
    assert main(["report", "--repo", "octo-org/app", "--days", "0", "--data-dir", str(data_dir)]) == 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _webdriver(base: str, method: str, path: str, body: object | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())["value"] or {}


# What the page shows, measured by the browser: every chart's size, its drawn lines' lengths and bars' widths,
# and every resource the page tried to load.
MEASURE = """
return {
  charts: [...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    return {
      label: svg.getAttribute('aria-label'), width: box.width, height: box.height,
      lines: [...svg.querySelectorAll('path.series')].map(p => p.getTotalLength()),
      bars: [...svg.querySelectorAll('rect.bar')].map(r => r.getBoundingClientRect().width),
    };
  }),
  resources: performance.getEntriesByType('resource').map(entry => entry.name),
  title: document.title,
};
"""


def test_the_html_report_opens_in_headless_chromium_with_every_chart_drawn(data_dir, tmp_path):
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        reason = "chromium and chromedriver are not installed (run .ci/chromium.sh install)"
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    page = tmp_path / "health.html"
    page.write_text(report(data_dir, tmp_path, "--format", "html"))
    port = _free_port()
    driver = subprocess.Popen([chromedriver, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                _webdriver(base, "GET", "/status")
                break
            except OSError:
                time.sleep(0.1)
        arguments = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1200,900",
        ]
        capabilities = {"browserName": "chrome", "goog:chromeOptions": {"binary": chromium, "args": arguments}}
        session = _webdriver(base, "POST", "/session", {"capabilities": {"alwaysMatch": capabilities}})["sessionId"]
        try:
            _webdriver(base, "POST", f"/session/{session}/url", {"url": page.as_uri()})
            shown = _webdriver(base, "POST", f"/session/{session}/execute/sync", {"script": MEASURE, "args": []})
            screenshot = _webdriver(base, "GET", f"/session/{session}/screenshot")
        finally:
            _webdriver(base, "DELETE", f"/session/{session}")
    finally:
        driver.terminate()
        driver.wait(timeout=30)
    assert shown["title"] == "CI health: octo-org/app on main"
    assert shown["resources"] == []  # self-contained: nothing fetched
    charts = {chart["label"]: chart for chart in shown["charts"]}
    assert set(charts) == {
        "CI: wall time per week",
        "Slowest jobs: p50 per week",
        "Queue time p90 per runner label",
        "Billable minutes per workflow and runner",
    }
    for chart in charts.values():
        assert chart["width"] > 300 and chart["height"] > 100, chart
    assert len(charts["CI: wall time per week"]["lines"]) == 2
    assert all(length > 100 for length in charts["CI: wall time per week"]["lines"])
    assert all(length > 100 for length in charts["Slowest jobs: p50 per week"]["lines"])
    assert len(charts["Queue time p90 per runner label"]["bars"]) == 4
    assert all(width >= 1 for width in charts["Billable minutes per workflow and runner"]["bars"])
    assert len(screenshot) > 10_000  # a PNG of the page, base64
