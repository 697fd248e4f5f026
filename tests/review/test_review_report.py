"""Tests for diff parsing and report rendering: check-run output, suggestions, text and JSON."""

import json

import pytest

from bot.report import CHECK_OUTPUT_MAX_BYTES
from bot.review.diff import AllLines, changed_lines
from bot.review.model import Finding, Fix, ReviewResult
from bot.review.report import (
    format_json,
    format_text,
    posted_key,
    render_check_run,
    suggestion_comments,
)

PATCH = """\
@@ -1,3 +1,4 @@
 name: ci
-on: push
+on:
+  pull_request:
 jobs:
@@ -10,2 +11,3 @@ jobs:
     steps:
+      - run: make
\\ No newline at end of file
"""


def test_changed_lines_are_new_side_added_lines() -> None:
    assert changed_lines(PATCH) == {2, 3, 12}
    assert changed_lines("") == set()
    everything = changed_lines(None)
    assert isinstance(everything, AllLines) and 12345 in everything


def finding(
    path: str,
    line: int,
    level: str,
    rule: str = "speed/x",
    end_line: int | None = None,
    fix: Fix | None = None,
    end_column: int | None = None,
) -> Finding:
    return Finding(path, line, 3, end_line or line, level, rule, f"{rule} message", fix, end_column)  # type: ignore[arg-type]


def result_of(*findings: Finding, errors: list[str] | None = None) -> ReviewResult:
    return ReviewResult(list(findings), ["syntax", "security"], {"zizmor": "1.32.0"}, errors or [])


def test_check_run_annotates_only_changed_lines_and_concludes_from_them() -> None:
    result = result_of(finding("w.yml", 2, "warning"), finding("w.yml", 40, "error"), finding("other.yml", 1, "error"))
    output = render_check_run(result, changed={"w.yml": {2, 3}}, fail_on="error")
    assert output.conclusion == "success"
    assert [a.start_line for a in output.annotations] == [2]
    assert output.annotations[0].level == "warning"
    assert "2 findings outside the changed lines were not annotated." in output.summary
    assert render_check_run(result, changed={"w.yml": {2}}, fail_on="warning").conclusion == "failure"
    assert render_check_run(result, changed={"w.yml": {2}}, fail_on="never").conclusion == "neutral"
    everything = render_check_run(result, changed=None, fail_on="error")
    assert everything.conclusion == "failure" and len(everything.annotations) == 3
    assert {a.level for a in everything.annotations} == {"warning", "failure"}
    all_lines = render_check_run(result, changed={"w.yml": changed_lines(None)}, fail_on="error")
    assert len(all_lines.annotations) == 2


def test_multi_line_findings_count_when_any_line_changed_and_carry_no_columns() -> None:
    result = result_of(finding("w.yml", 5, "notice", end_line=9), finding("w.yml", 20, "error", end_column=8))
    output = render_check_run(result, changed={"w.yml": {7, 20}}, fail_on="error")
    multi, single = output.annotations
    assert (multi.start_line, multi.end_line) == (5, 9) and multi.start_column is None
    assert (single.start_column, single.end_column) == (3, 8)
    assert output.conclusion == "failure"
    assert "| `w.yml` | 1 | 0 | 1 |" in output.summary
    assert "`zizmor`" not in output.summary and "zizmor 1.32.0" in output.summary


def test_summary_reports_errors_and_stays_under_the_byte_limit() -> None:
    many = [finding(f"dir/{'é' * 40}{index}.yml", 1, "notice") for index in range(3000)]
    output = render_check_run(result_of(*many, errors=["security: zizmor timed out"]), changed=None, fail_on="error")
    assert len(output.summary.encode("utf-8")) <= CHECK_OUTPUT_MAX_BYTES
    assert output.summary.endswith("(cut to fit GitHub's size limit)\n")
    small = render_check_run(result_of(errors=["security: zizmor timed out"]), changed=None, fail_on="error")
    assert "- security: zizmor timed out" in small.summary
    assert small.title == "Workflow review: no findings"


def test_fail_on_must_be_known() -> None:
    for result in (result_of(finding("w.yml", 1, "error")), result_of()):
        with pytest.raises(ValueError):
            render_check_run(result, changed=None, fail_on="sometimes")


def test_suggestions_only_on_changed_lines_and_never_twice() -> None:
    single = finding(
        "w.yml", 4, "notice", rule="speed/missing-timeout", fix=Fix(4, 4, "  build:\n    timeout-minutes: 30")
    )
    multi = finding("w.yml", 10, "warning", rule="shared-actions/use-shared-action", fix=Fix(10, 12, "- uses: a/b@v1"))
    unchanged = finding("w.yml", 30, "notice", rule="speed/full-history-checkout", fix=Fix(30, 30, "fetch-depth: 1"))
    result = result_of(single, multi, unchanged, single)
    comments = suggestion_comments(result, {"w.yml": {4, 10, 11, 12}}, set())
    assert [(c["path"], c["line"], c.get("start_line")) for c in comments] == [("w.yml", 4, None), ("w.yml", 12, 10)]
    assert comments[0]["side"] == "RIGHT" and comments[1]["start_side"] == "RIGHT"
    assert "```suggestion\n  build:\n    timeout-minutes: 30\n```" in comments[0]["body"]
    keys = {posted_key(comment) for comment in comments}
    assert keys == {("w.yml", 4, "speed/missing-timeout"), ("w.yml", 12, "shared-actions/use-shared-action")}
    assert suggestion_comments(result, {"w.yml": {4, 10, 11, 12}}, keys) == []
    assert suggestion_comments(result, {"w.yml": {4, 10}}, set())[-1]["line"] == 4
    assert posted_key({"path": "w.yml", "line": 3, "body": "a human comment"}) is None
    assert suggestion_comments(result, {"w.yml": changed_lines(None)}, set()) == []


def test_text_and_json_formats() -> None:
    result = result_of(finding("w.yml", 2, "warning", rule="speed/no-concurrency"))
    assert format_text(result.findings) == "w.yml:2:3: warning speed/no-concurrency: speed/no-concurrency message\n"
    data = json.loads(format_json(result))
    assert data["findings"][0]["rule"] == "speed/no-concurrency" and data["tool_versions"] == {"zizmor": "1.32.0"}
