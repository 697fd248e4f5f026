"""Tests of the PR comment, check run output and annotations rendered from a run comparison."""

from __future__ import annotations

import re
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from test_comparison_compare import BASE_JOBS, OPTIONS, build_baseline, build_job, build_run, current_run

from bot.comparison import (
    ComparisonOptions,
    Presence,
    annotations_for,
    compare_run,
    render_check_run,
    render_comment,
)
from bot.comparison.workflow_lines import job_line, workflow_jobs
from bot.report import CHECK_OUTPUT_MAX_BYTES, COMMENT_MAX_CHARACTERS, escape_markdown


def find_job_line(job_name: str, workflow_text: str | None) -> int:
    return job_line(job_name, workflow_jobs(workflow_text)) if workflow_text else 1


MARKER = "<!-- ci-orchestrator:comparison workflow=7 -->"
EVIL = "evil | <img src=x onerror=alert(1)> [x](http://e) @everyone `\n# H"
WORKFLOW = textwrap.dedent(
    """\
    name: CI
    on: [push, pull_request]
    jobs:
      lint:
        runs-on: ubuntu-latest
        steps:
          - run: make lint
      test:
        name: test (${{ matrix.os }}, ${{ matrix.python }})
        strategy:
          matrix:
            os: [ubuntu-latest, windows-latest]
            python: ["3.11"]
        runs-on: ${{ matrix.os }}
        steps:
          - run: make test
      docs:
        name: Build docs
        runs-on: ubuntu-latest
        steps:
          - run: make docs
    """
)
REAL_WORKFLOW = (
    Path(__file__).resolve().parents[1] / "fixtures/workflows/playwright/.github/workflows/tests_primary.yml"
)


def slower_comparison():
    return compare_run(
        current_run({**BASE_JOBS, "test (windows-latest, 3.11)": 900.0}), build_baseline(BASE_JOBS), OPTIONS
    )


def table_rows(comment: str) -> list[str]:
    return [line for line in comment.splitlines() if line.startswith("| ")]


def unescaped_pipes(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row))


def test_comment_starts_with_the_marker_and_says_how_much_slower() -> None:
    comment = render_comment(slower_comparison(), marker=MARKER)
    assert comment.startswith(MARKER + "\n")
    assert "**CI got 48 % slower: 15m20s vs 10m20s, median of 20 runs on main" in comment
    assert "| test \\(windows-latest, 3.11\\) | 10m00s | 15m00s | +5m00s (+50 %) | 🔴 slower |" in comment
    assert "| **wall time** | 10m20s | 15m20s | +5m00s (+48 %) | 🔴 slower |" in comment


def test_comment_headlines_for_other_outcomes() -> None:
    unchanged = render_comment(compare_run(current_run(BASE_JOBS), build_baseline(BASE_JOBS), OPTIONS), marker=MARKER)
    assert "**no significant change: 10m20s vs 10m20s, median of 20 runs on main (changes under +" in unchanged
    assert "% can't be told from noise here)**" in unchanged
    assert "One sample is thin evidence" in unchanged
    thin = compare_run(
        current_run(BASE_JOBS), build_baseline(BASE_JOBS, count=3), ComparisonOptions(baseline_branch="develop")
    )
    assert "**not enough history (3 runs on develop, need 5)**" in render_comment(thin, marker=MARKER)
    failing = build_run(1000, [build_job("build", 20.0, conclusion="failure")], conclusion="failure")
    broken = compare_run(failing, build_baseline({"build": 300.0}), OPTIONS)
    assert "**new failure in build**" in render_comment(broken, marker=MARKER)
    rerun_jobs = [build_job("lint", 60.0, run_attempt=1), build_job("test", 600.0, run_attempt=2)]
    rerun = compare_run(
        build_run(1000, rerun_jobs, run_attempt=2), build_baseline({"lint": 60.0, "test": 400.0}), OPTIONS
    )
    assert "**total job time got 43 % slower: 11m00s vs 7m40s, median of 20 runs on main" in render_comment(
        rerun, marker=MARKER
    )
    cancelled = compare_run(current_run(BASE_JOBS, conclusion="cancelled"), build_baseline(BASE_JOBS), OPTIONS)
    comment = render_comment(cancelled, marker=MARKER)
    assert "Run was cancelled: nothing compared" in comment and "| **wall time**" not in comment
    assert "Baseline" not in comment and comment.endswith(
        "[This run (attempt 1)](https://github.com/o/r/actions/runs/1000)"
    )


def test_comment_has_a_details_block_with_steps_and_queue_times() -> None:
    comment = render_comment(slower_comparison(), marker=MARKER)
    details = comment[comment.index("<details>") : comment.index("</details>")]
    assert "**test \\(windows-latest, 3.11\\)**: queued 5s (main median 5s)" in details
    assert "| Run tests | success | 8m00s | 12m00s | +4m00s (+50 %) | 🔴 slower |" in details
    assert "passed 20/20 on main" in details


def test_comment_has_a_mermaid_chart_of_baseline_runs_then_this_run() -> None:
    comment = render_comment(slower_comparison(), marker=MARKER)
    chart = comment[comment.index("```mermaid") :].split("```")[1]
    assert "xychart-beta" in chart
    bars = re.search(r"bar \[(.*)\]", chart)
    assert bars is not None
    values = [float(value) for value in bars.group(1).split(", ")]
    assert len(values) == 21 and values[-1] == pytest.approx(920 / 60, abs=0.01)
    assert '"this run"]' in chart


def test_comment_links_this_run_and_the_baseline_runs_with_their_period() -> None:
    comment = render_comment(slower_comparison(), marker=MARKER)
    assert "[This run (attempt 1)](https://github.com/o/r/actions/runs/1000)" in comment
    assert "[20](https://github.com/o/r/actions/runs/20)" in comment
    assert "Baseline: 20 successful of 20 recent runs on main, 2026-11-01 to 2026-11-02" in comment
    with_failures = compare_run(current_run(BASE_JOBS), build_baseline(BASE_JOBS, failing={"lint": 2}), OPTIONS)
    comment = render_comment(with_failures, marker=MARKER)
    assert "Baseline: 18 successful of 20 recent runs on main" in comment
    assert (
        "[1](https://github.com/o/r/actions/runs/1) (failure) [2](https://github.com/o/r/actions/runs/2) (failure) [3]"
        in comment
    )
    chart = comment[comment.index("```mermaid") :]
    assert 'x-axis ["3", "4",' in chart  # the failed runs 1 and 2 are not in the chart of durations


def test_untrusted_names_cannot_break_out() -> None:
    current = current_run({**BASE_JOBS, EVIL: 50.0})
    current = replace(current, jobs=(*current.jobs, build_job("steps", 60.0, step_seconds={EVIL: 60.0})))
    baseline_jobs = {**BASE_JOBS, EVIL: 50.0}
    options = ComparisonOptions(baseline_branch='main"] ; click <b>x</b> @admins')
    comparison = compare_run(current, build_baseline(baseline_jobs), options)
    comment = render_comment(comparison, marker=MARKER)
    for forbidden in ("<img", "<b>", "[x](", "@everyone", "@admins", "http://e", "\n# H"):
        assert forbidden not in comment, forbidden
    assert comment.replace("\\`", "").count("`") == 6  # only the fences of the Mermaid chart
    rows = table_rows(comment)
    evil_row = next(row for row in rows if row.startswith("| evil"))
    assert unescaped_pipes(evil_row) == unescaped_pipes(rows[0]) == 6
    evil_details = next(line for line in comment.splitlines() if line.startswith("**evil"))
    assert evil_details.startswith("**evil \\| &lt;img src=x onerror=alert\\(1\\)&gt; \\[x\\]")
    evil_step = next(row for row in rows if row.startswith("| evil") and "success" in row)
    assert unescaped_pipes(evil_step) == 7
    chart_lines = comment[comment.index("```mermaid") :].splitlines()
    title = next(line.strip() for line in chart_lines if line.strip().startswith("title "))
    assert re.fullmatch(r'title "[A-Za-z0-9 ._/(),:-]*"', title), title


def test_escape_markdown_neutralises_markup() -> None:
    escaped = escape_markdown(EVIL)
    assert "\n" not in escaped
    assert "\\|" in escaped and "&lt;img" in escaped and "\\[x\\]\\(http:\u200b//e\\)" in escaped
    assert "@\u200beveryone" in escaped and "\\`" in escaped and "\\# H" in escaped
    assert escape_markdown("see www.example.com") == "see www\u200b.example.com"
    assert escape_markdown("a\u202eb") == "a b"  # no bidirectional overrides
    assert len(escape_markdown("x" * 5000)) == 200


def _huge_comparison(job_count: int, step_count: int, name_length: int):
    step_seconds = {f"step {index} " + "s" * name_length: 30.0 for index in range(step_count)}
    names = [f"job {index} " + "j" * name_length for index in range(job_count)]
    baseline = [
        build_run(run_id, [build_job(name, 30.0 * step_count, step_seconds=step_seconds) for name in names])
        for run_id in range(1, 6)
    ]
    slower_first_job = build_job(names[0], 90.0 * step_count, step_seconds={name: 90.0 for name in step_seconds})
    current_jobs = [build_job(name, 30.0 * step_count, step_seconds=step_seconds) for name in names[1:]]
    return compare_run(build_run(1000, [slower_first_job, *current_jobs]), baseline, OPTIONS)


def test_comment_over_the_limit_drops_details_and_says_so() -> None:
    comparison = _huge_comparison(job_count=60, step_count=20, name_length=60)
    comment = render_comment(comparison, marker=MARKER)
    assert len(comment) <= COMMENT_MAX_CHARACTERS
    assert "Shortened to fit GitHub's size limit: left out steps of unflagged jobs." in comment
    assert comment.startswith(MARKER) and "| **wall time**" in comment
    details = comment[comment.index("<details>") : comment.index("</details>")]
    assert details.count("| step 0 ") == 1  # only the slower job keeps its steps
    assert "**job 0 " in details and "**job 1 " not in details
    assert comment.count("</details>") == comment.count("<details>")
    assert comment.count("```") % 2 == 0


def test_comment_far_over_the_limit_is_cut_with_a_note() -> None:
    comparison = _huge_comparison(job_count=400, step_count=1, name_length=190)
    flagged_everywhere = replace(comparison, jobs=tuple(replace(job, presence=Presence.NEW) for job in comparison.jobs))
    comment = render_comment(flagged_everywhere, marker=MARKER)
    assert len(comment) <= COMMENT_MAX_CHARACTERS
    assert comment.rstrip().endswith("left out everything after this point._")


def test_check_run_conclusion_follows_fail_on() -> None:
    slower = slower_comparison()
    assert render_check_run(slower, fail_on="regression").conclusion == "failure"
    assert render_check_run(slower, fail_on="new-failure").conclusion == "neutral"
    assert render_check_run(slower, fail_on="never").conclusion == "neutral"
    unchanged = compare_run(current_run(BASE_JOBS), build_baseline(BASE_JOBS), OPTIONS)
    assert render_check_run(unchanged, fail_on="regression").conclusion == "success"
    assert render_check_run(unchanged, fail_on="never").conclusion == "neutral"
    faster = compare_run(
        current_run({**BASE_JOBS, "test (windows-latest, 3.11)": 300.0}), build_baseline(BASE_JOBS), OPTIONS
    )
    assert render_check_run(faster, fail_on="regression").conclusion == "success"
    thin = compare_run(current_run(BASE_JOBS), build_baseline(BASE_JOBS, count=3), OPTIONS)
    assert render_check_run(thin, fail_on="regression").conclusion == "neutral"
    cancelled = compare_run(current_run(BASE_JOBS, conclusion="cancelled"), build_baseline(BASE_JOBS), OPTIONS)
    assert render_check_run(cancelled, fail_on="regression").conclusion == "neutral"
    failing = compare_run(
        build_run(1000, [build_job("build", 20.0, conclusion="failure")], conclusion="failure"),
        build_baseline({"build": 300.0}),
        OPTIONS,
    )
    assert render_check_run(failing, fail_on="new-failure").conclusion == "failure"
    with pytest.raises(ValueError):
        render_check_run(failing, fail_on="always")


def test_check_run_title_and_summary() -> None:
    output = render_check_run(slower_comparison(), fail_on="regression")
    assert output.title.startswith("CI got 48 % slower: 15m20s vs 10m20s")
    assert "| test \\(windows-latest, 3.11\\) | 10m00s | 15m00s |" in output.summary
    assert output.text is not None and "```mermaid" in output.text and "<details>" in output.text


def test_check_run_output_stays_within_the_byte_limit() -> None:
    comparison = _huge_comparison(job_count=200, step_count=5, name_length=10)
    wide_jobs = tuple(
        replace(job, name="🐢" * 150 + str(index), presence=Presence.NEW) for index, job in enumerate(comparison.jobs)
    )
    wide = replace(comparison, jobs=wide_jobs)
    output = render_check_run(wide, fail_on="regression")
    assert len(output.title) <= 255
    assert len(output.summary.encode()) <= CHECK_OUTPUT_MAX_BYTES
    assert "Shortened to fit GitHub's size limit" in output.summary
    assert output.text is not None and len(output.text.encode()) <= CHECK_OUTPUT_MAX_BYTES


def test_annotations_point_at_the_job_lines() -> None:
    jobs = [
        build_job("lint", 12.0, conclusion="failure"),
        build_job("test (windows-latest, 3.11)", 900.0),
        build_job("test (ubuntu-latest, 3.11)", 400.0),
        build_job("Build docs", 400.0),
    ]
    baseline = build_baseline({**BASE_JOBS, "Build docs": 100.0})
    comparison = compare_run(build_run(1000, jobs, conclusion="failure"), baseline, OPTIONS)
    annotations = annotations_for(comparison, ".github/workflows/ci.yml", WORKFLOW)
    lines = {annotation.title: (annotation.start_line, annotation.level) for annotation in annotations}
    assert lines == {
        "New failure: lint": (4, "failure"),
        "Slower: test (windows-latest, 3.11) (+5m00s (+50 %))": (8, "warning"),
        "Slower: Build docs (+5m00s (+300 %))": (17, "warning"),
    }
    assert all(annotation.path == ".github/workflows/ci.yml" for annotation in annotations)
    assert all(annotation.start_line == annotation.end_line for annotation in annotations)
    assert annotations_for(comparison, "ci.yml", None)[0].start_line == 1


def test_annotation_titles_are_bounded() -> None:
    failing = build_run(1000, [build_job("x" * 1000, 20.0, conclusion="failure")], conclusion="failure")
    comparison = compare_run(failing, build_baseline({"y": 10.0}), OPTIONS)
    (annotation,) = annotations_for(comparison, "ci.yml", WORKFLOW)
    assert len(annotation.title) <= 255 and annotation.start_line == 1


def test_job_lines_by_name_key_matrix_suffix_and_reusable_caller() -> None:
    assert find_job_line("Build docs", WORKFLOW) == 17
    assert find_job_line("docs", WORKFLOW) == 17  # the key works too
    assert find_job_line("test (windows-latest, 3.11)", WORKFLOW) == 8  # name with matrix expressions
    assert find_job_line("lint (shard 1)", WORKFLOW) == 4  # matrix suffix added by GitHub
    assert find_job_line("docs / publish", WORKFLOW) == 17  # a job of a reusable workflow called by `docs`
    assert find_job_line("lint", None) == 1


def test_job_lines_in_a_real_workflow() -> None:
    text = REAL_WORKFLOW.read_text()
    assert find_job_line("ubuntu-22.04 (chromium - Node.js 18)", text) == 30
    assert find_job_line("ubuntu-22.04 (chromium tip-of-tree)", text) == 65
    assert find_job_line("Test Runner", text) == 89
    assert find_job_line("Installation Test macos-latest", text) == 177
    assert find_job_line("test_test_runner", text) == 89
    assert find_job_line("no such job", text) == 1
    assert find_job_line("anything", "jobs: [unclosed") == 1


def test_a_job_awaiting_its_rerun_is_shown_as_checking() -> None:
    slow_spike = current_run({**BASE_JOBS, "test (windows-latest, 3.11)": 1500.0})
    checking = compare_run(slow_spike, build_baseline(BASE_JOBS), ComparisonOptions(confirm=True))
    comment = render_comment(checking, marker=MARKER)
    assert "**checking: re-running test \\(windows-latest, 3.11\\) to confirm" in comment
    assert "| test \\(windows-latest, 3.11\\) | 10m00s | 25m00s | +15m00s (+150 %) | 🔎 checking |" in comment
    assert "is re-run before it is called slower" in comment
    output = render_check_run(checking, fail_on="regression")
    assert output.title.startswith("checking: re-running test (windows-latest, 3.11) to confirm")
    assert output.conclusion == "neutral" and annotations_for(checking, ".github/workflows/ci.yml", None) == []
