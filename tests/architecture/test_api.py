"""The public Python API: every name it promises imports, is documented in the README, and works on plain data."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import bot.api as api

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_every_public_name_exists_and_is_documented() -> None:
    section = README.split("## Python API", 1)[1].split("\n## ", 1)[0]
    for name in api.__all__:
        assert hasattr(api, name), name
        assert f"`{name}`" in section, f"{name} is not in the README's Python API section"


def test_compare_runs_and_render_from_plain_records() -> None:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    def run(number: int, build_seconds: float) -> api.RunRecord:
        began = start + dt.timedelta(hours=number)
        job = api.JobRecord("build", "success", began, began, began + dt.timedelta(seconds=build_seconds))
        return api.RunRecord(
            id=number,
            workflow_id=1,
            workflow_name="CI",
            workflow_path=".github/workflows/ci.yml",
            head_sha=f"{number:040x}",
            head_branch="main",
            event="push",
            status="completed",
            conclusion="success",
            run_attempt=1,
            created_at=began,
            run_started_at=began,
            updated_at=began + dt.timedelta(seconds=build_seconds),
            html_url=None,
            jobs=(job,),
        )

    baseline = [run(i, 300 + (i % 5) * 3) for i in range(20)]
    comparison = api.compare_run(run(99, 900), baseline, api.ComparisonOptions(baseline_branch="main"))
    assert comparison.status is api.ComparisonStatus.COMPARED
    assert "slower" in api.render_comment(comparison, marker="<!-- m -->")
    report = api.render_comparison_check_run(comparison, fail_on="regression")
    assert isinstance(report, api.Report) and report.conclusion == "failure"


def test_review_files_and_check_config() -> None:
    workflow = api.SourceFile(".github/workflows/ci.yml", "on: push\njobs: [\n")
    result = api.review_files([workflow], api.ReviewOptions(analyzers=("syntax",)))
    assert [(finding.line, finding.level) for finding in result.findings] == [(3, "error")]  # unclosed list
    config, problems = api.check_config_text("comparison:\n  min_runs: 1\n")
    assert config == api.DEFAULT_CONFIG and [problem.line for problem in problems] == [2]
    assert api.check_config("review:\n  fail_on: warning\n").conclusion == "success"
