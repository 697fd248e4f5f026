"""Tests for the security analyzer: zizmor (real, offline) and actionlint (a stand-in script) mapped to findings."""

import json
import os
import stat
from pathlib import Path
from textwrap import dedent

import pytest

from bot.review import security
from bot.review.model import Finding, ReviewContext, ReviewOptions, SourceFile
from bot.review.security import SecurityAnalyzer, actionlint_findings, tempered_injection, zizmor_findings

INJECTION = dedent("""\
    name: greet
    on: pull_request
    permissions: {}
    jobs:
      greet:
        runs-on: ubuntu-latest
        steps:
          - run: echo ${{ github.event.pull_request.title }}
    """)


def fake_tool(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def test_zizmor_reports_template_injection_on_its_line() -> None:
    analyzer = SecurityAnalyzer()
    findings = analyzer.analyze([SourceFile(".github/workflows/greet.yml", INJECTION)], ReviewContext())
    injections = [f for f in findings if f.rule == "zizmor/template-injection"]
    assert len(injections) == 1
    finding = injections[0]
    assert finding.path == ".github/workflows/greet.yml"
    assert (finding.line, finding.end_line) == (8, 8)
    assert INJECTION.splitlines()[7][finding.column - 1 :].startswith("github.event.pull_request.title")
    assert finding.level == "error"
    assert analyzer.errors() == []
    assert analyzer.tool_versions()["zizmor"][0].isdigit()


def test_zizmor_flags_pull_request_target_on_the_trigger_line() -> None:
    text = dedent("""\
        on:
          pull_request_target:
        permissions: {}
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
                with:
                  ref: ${{ github.event.pull_request.head.sha }}
                  persist-credentials: false
        """)
    findings = SecurityAnalyzer().analyze([SourceFile("repo/.github/workflows/t.yml", text)], ReviewContext())
    rules = {(f.rule, f.line) for f in findings}
    assert ("zizmor/dangerous-triggers", 2) in rules
    assert all(f.path == "repo/.github/workflows/t.yml" for f in findings)


def zizmor_only(findings):
    return [f for f in findings if not f.rule.startswith("actionlint/")]


def test_clean_workflow_and_broken_files_give_no_findings_and_no_errors() -> None:
    clean = dedent("""\
        on: push
        permissions: {}
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - run: make
        """)
    analyzer = SecurityAnalyzer()
    files = [
        SourceFile(".github/workflows/clean.yml", clean),
        SourceFile(".github/workflows/broken.yml", "on: [push\n"),
        SourceFile(".github/workflows/invalid.yml", "on: push\njobs:\n  a:\n    runs-on: 1\n"),
    ]
    findings = zizmor_only(analyzer.analyze(files, ReviewContext()))
    assert [(f.path, f.level, f.rule) for f in findings] == [
        (".github/workflows/invalid.yml", "notice", "security/not-audited")
    ]
    assert analyzer.errors() == []


def test_one_file_zizmor_cannot_load_does_not_hide_the_others() -> None:
    unloadable = dedent("""\
        on: push
        jobs:
          call:
            uses: ${{ 'not-a-workflow' }}
        """)
    analyzer = SecurityAnalyzer()
    files = [SourceFile(".github/workflows/x.yml", INJECTION), SourceFile(".github/workflows/call.yml", unloadable)]
    findings = zizmor_only(analyzer.analyze(files, ReviewContext()))
    assert ("zizmor/template-injection", ".github/workflows/x.yml", 8) in [(f.rule, f.path, f.line) for f in findings]
    [skipped] = [f for f in findings if f.rule == "security/not-audited"]
    assert (skipped.path, skipped.level) == (".github/workflows/call.yml", "notice")
    assert "not audited" in skipped.message
    assert analyzer.errors() == []


@pytest.mark.parametrize("config_path", [".github/zizmor.yml", "zizmor.yml"])
def test_the_repository_zizmor_config_is_honoured(config_path: str) -> None:
    config = SourceFile(config_path, "rules:\n  template-injection:\n    disable: true\n")
    workflow = SourceFile(".github/workflows/x.yml", INJECTION)
    assert zizmor_only(SecurityAnalyzer().analyze([workflow], ReviewContext(other_files=[config]))) == []
    assert zizmor_only(SecurityAnalyzer().analyze([workflow], ReviewContext())) != []


def test_inline_ignore_comments_are_honoured() -> None:
    ignored = INJECTION.replace("title }}", "title }} # zizmor: ignore[template-injection]")
    findings = SecurityAnalyzer().analyze([SourceFile(".github/workflows/x.yml", ignored)], ReviewContext())
    assert [f for f in findings if f.rule == "zizmor/template-injection"] == []


def test_template_injection_of_runner_controlled_values_is_a_notice() -> None:
    text = INJECTION.replace("github.event.pull_request.title", "github.event_path")
    [finding] = [
        f
        for f in SecurityAnalyzer().analyze([SourceFile(".github/workflows/x.yml", text)], ReviewContext())
        if f.rule == "zizmor/template-injection"
    ]
    assert finding.level == "notice"
    assert "runner sets" in finding.message


def test_absolute_and_parent_paths_are_audited_under_their_own_names() -> None:
    analyzer = SecurityAnalyzer()
    files = [
        SourceFile("../repo/.github/workflows/x.yml", INJECTION),
        SourceFile("/abs/.github/workflows/x.yml", INJECTION),
    ]
    findings = [f for f in analyzer.analyze(files, ReviewContext()) if f.rule == "zizmor/template-injection"]
    assert sorted((f.path, f.line) for f in findings) == [
        ("../repo/.github/workflows/x.yml", 8),
        ("/abs/.github/workflows/x.yml", 8),
    ]
    assert analyzer.errors() == []


def test_missing_zizmor_is_an_error_not_an_exception(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(security, "find_executable", lambda name: None)
    analyzer = SecurityAnalyzer()
    assert analyzer.analyze([SourceFile(".github/workflows/x.yml", INJECTION)], ReviewContext()) == []
    assert analyzer.errors() == ["security: zizmor is not installed, so no security audit ran"]


def test_zizmor_timeout_and_bad_json_are_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_tool(tmp_path, "zizmor", "exec sleep 10\n")
    monkeypatch.setattr(security, "find_executable", lambda name: str(tmp_path / name) if name == "zizmor" else None)
    analyzer = SecurityAnalyzer(timeout_seconds=0.3)
    assert analyzer.analyze([SourceFile(".github/workflows/x.yml", INJECTION)], ReviewContext()) == []
    assert analyzer.errors() == ["security: zizmor did not finish within 0.3 s and was stopped"]

    fake_tool(tmp_path, "zizmor", "echo 'zizmor 9.9.9'; echo 'not json'\n")
    analyzer = SecurityAnalyzer()
    assert analyzer.analyze([SourceFile(".github/workflows/x.yml", INJECTION)], ReviewContext()) == []
    assert len(analyzer.errors()) == 1
    assert analyzer.errors()[0].startswith("security: zizmor printed output that is not JSON")


def test_actionlint_runs_when_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = [
        {
            "message": 'property "foo" is not defined',
            "filepath": ".github/workflows/x.yml",
            "line": 8,
            "column": 24,
            "kind": "expression",
            "snippet": "",
            "end_column": 30,
        },
    ]
    fake_tool(
        tmp_path,
        "actionlint",
        f"case \"$1\" in -version) echo 1.7.7; exit 0;; esac\necho '{json.dumps(report)}'; exit 1\n",
    )
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    analyzer = SecurityAnalyzer()
    findings = analyzer.analyze([SourceFile(".github/workflows/x.yml", INJECTION)], ReviewContext())
    lint = [f for f in findings if f.rule.startswith("actionlint/")]
    assert [(f.rule, f.line, f.column, f.end_column, f.level) for f in lint] == [
        ("actionlint/expression", 8, 24, 30, "warning")
    ]
    assert analyzer.tool_versions()["actionlint"] == "1.7.7"


def test_zizmor_json_mapping_is_zero_based_and_keeps_primary_locations() -> None:
    report = [
        {
            "ident": "demo",
            "desc": "a demo",
            "ignored": False,
            "determinations": {"severity": "Medium", "confidence": "High"},
            "locations": [
                {
                    "symbolic": {"kind": "Related", "key": {"Local": {"verbatim_path": "a.yml"}}},
                    "concrete": {
                        "location": {"start_point": {"row": 0, "column": 0}, "end_point": {"row": 9, "column": 0}}
                    },
                },
                {
                    "symbolic": {"kind": "Primary", "annotation": "here", "key": {"Local": {"verbatim_path": "a.yml"}}},
                    "concrete": {
                        "location": {"start_point": {"row": 4, "column": 2}, "end_point": {"row": 6, "column": 0}}
                    },
                },
            ],
        }
    ]
    [finding] = zizmor_findings(report)
    assert (finding.line, finding.column, finding.end_line, finding.end_column) == (5, 3, 6, None)
    assert (finding.rule, finding.level, finding.message) == ("zizmor/demo", "warning", "a demo: here")


def test_actionlint_script_lint_kinds_are_notices() -> None:
    [finding] = actionlint_findings(
        [{"message": "SC2086", "filepath": "w.yml", "line": 3, "column": 9, "kind": "shellcheck"}]
    )
    assert (finding.level, finding.rule, finding.end_column) == ("notice", "actionlint/shellcheck", None)


def test_unpinned_uses_is_a_warning_not_an_error_unless_strict():
    from bot.review.security import softened, zizmor_level

    assert zizmor_level({"severity": "High", "confidence": "High"}) == "error"
    unpinned = Finding(".github/workflows/x.yml", 3, 1, 3, "error", "zizmor/unpinned-uses", "unpinned")
    assert softened(unpinned, "").level == "warning"
    text = INJECTION.replace("title }}", "title }}\n      - uses: actions/checkout@v4")
    workflow = SourceFile(".github/workflows/x.yml", text)
    levels = {f.rule: f.level for f in SecurityAnalyzer().analyze([workflow], ReviewContext())}
    strict = ReviewContext(options=ReviewOptions(security_strict=True))
    strict_levels = {f.rule: f.level for f in SecurityAnalyzer().analyze([workflow], strict)}
    assert (levels["zizmor/unpinned-uses"], strict_levels["zizmor/unpinned-uses"]) == ("warning", "error")


def test_strict_security_keeps_zizmor_level_for_runner_set_values() -> None:
    text = INJECTION.replace("github.event.pull_request.title", "github.event_path")
    workflow = SourceFile(".github/workflows/x.yml", text)
    strict = ReviewContext(options=ReviewOptions(security_strict=True))
    [finding] = [f for f in SecurityAnalyzer().analyze([workflow], strict) if f.rule == "zizmor/template-injection"]
    assert finding.level == "error" and "runner sets" not in finding.message


@pytest.mark.parametrize(
    ("expression", "level"),
    [
        ("github.event_path", "notice"),
        ("runner.temp", "notice"),
        ("github.event.pull_request.user.login", "notice"),
        ("inputs.commit_sha || github.event.workflow_run.head_sha || github.sha", "warning"),
        ("contains(github.event.pull_request.title, 'x') && format('-{0}', github.sha) || ''", "notice"),
        ("inputs.flag", "notice"),
        ("inputs.name", "warning"),
        ("github.ref_name", "warning"),
        ("github.event.pull_request.title", "error"),
        ("github.head_ref", "error"),
        ("steps.meta.outputs.tags", "error"),
        ("toJSON(github.event.*.labels.*.name)", "error"),
    ],
)
def test_template_injection_level_follows_who_can_choose_the_text(expression: str, level: str) -> None:
    text = dedent(f"""\
        on:
          workflow_dispatch:
            inputs:
              flag: {{type: boolean}}
              name: {{type: string}}
              commit_sha: {{type: string}}
        permissions: {{}}
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: echo "${{{{ {expression} }}}}"
        """)
    finding = Finding(
        ".github/workflows/x.yml", 12, 25, 12, "error", "zizmor/template-injection", "injection", None, 30
    )
    assert tempered_injection(finding, text).level == level


def test_a_declared_workflow_outside_the_workflows_folder_is_audited_as_a_workflow() -> None:
    workflow = SourceFile("ci-templates/greet.yml", INJECTION, declared_kind="workflow")
    findings = [f for f in SecurityAnalyzer().analyze([workflow], ReviewContext()) if f.rule.startswith("zizmor/")]
    assert ("zizmor/template-injection", "ci-templates/greet.yml", 8) in [(f.rule, f.path, f.line) for f in findings]
