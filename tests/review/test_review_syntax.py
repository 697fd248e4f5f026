"""Tests for the syntax analyzer: YAML errors and schema errors of workflows and actions, on the right line."""

from textwrap import dedent

from bot.review.model import ReviewContext, SourceFile
from bot.review.syntax import SyntaxAnalyzer


def analyze(path: str, text: str):
    return SyntaxAnalyzer().analyze([SourceFile(path, dedent(text))], ReviewContext())


def test_broken_yaml_gives_exactly_one_clear_finding() -> None:
    findings = analyze(
        ".github/workflows/ci.yml",
        """\
        name: ci
        on: [push
        jobs:
          build:
            runs-on: ubuntu-latest
        """,
    )
    assert len(findings) == 1
    finding = findings[0]
    assert finding.rule == "syntax/yaml"
    assert finding.level == "error"
    assert finding.line == 3
    assert finding.message.startswith("YAML syntax error:")


def test_duplicate_key_is_a_yaml_error() -> None:
    findings = analyze(
        ".github/workflows/ci.yml",
        """\
        on: push
        on: pull_request
        jobs: {}
        """,
    )
    assert [(f.rule, f.line) for f in findings] == [("syntax/yaml", 2)]


def test_schema_errors_point_at_the_offending_keys() -> None:
    findings = analyze(
        ".github/workflows/ci.yml",
        """\
        on: push
        jobs:
          build:
            timeout-minutes: soon
            colour: blue
            steps:
              - run: make
                wat: 1
        """,
    )
    by_line = {f.line: f for f in findings}
    assert set(by_line) == {3, 4, 5, 8}
    assert by_line[3].message == "`jobs.build` is missing the required key `runs-on`"
    assert all(f.rule == "syntax/schema" for f in findings)
    assert "`jobs.build.timeout-minutes`" in by_line[4].message
    assert by_line[5].message == "unexpected key `colour` in `jobs.build`"
    assert by_line[8].column == 9
    assert "`wat`" in by_line[8].message


def test_one_of_error_picks_the_branch_the_author_meant() -> None:
    findings = analyze(
        ".github/workflows/ci.yml",
        """\
        on: push
        jobs:
          build:
            runs-on: ubuntu-latest
            container:
              imag: python:3.12
            steps:
              - run: make
        """,
    )
    assert [(f.line, f.message) for f in findings] == [
        (5, "`jobs.build.container` is missing the required key `image`"),
        (6, "unexpected key `imag` in `jobs.build.container`"),
    ]


def test_valid_workflow_has_no_findings() -> None:
    assert (
        analyze(
            ".github/workflows/ci.yml",
            """\
        name: ci
        on:
          pull_request:
            paths: ["src/**"]
        jobs:
          build:
            runs-on: ubuntu-latest
            timeout-minutes: 10
            steps:
              - uses: actions/checkout@v4
              - run: make
        """,
        )
        == []
    )


def test_action_files_use_the_action_schema() -> None:
    findings = analyze(
        "tools/setup/action.yml",
        """\
        name: setup
        description: set things up
        runs:
          using: node20
          mian: index.js
        """,
    )
    assert sorted((f.line, f.message) for f in findings) == [
        (3, "`runs` is missing the required key `main`"),
        (5, "unexpected key `mian` in `runs`"),
    ]


def test_a_valid_action_and_other_files_are_left_alone() -> None:
    action = """\
        name: setup
        description: set things up
        runs:
          using: composite
          steps:
            - run: echo hi
              shell: bash
        """
    assert analyze("action.yaml", action) == []
    [missing_shell] = analyze("action.yaml", action.replace("          shell: bash\n", ""))
    assert (missing_shell.line, missing_shell.message) == (
        6,
        "`runs.steps[0]` is a `run` step without `shell`, which composite actions require",
    )
    assert analyze("docs/mkdocs.yml", "not: [valid") == []
    assert analyze(".github/ci-orchestrator.yml", "review: [") == []


def test_a_document_that_is_not_a_mapping() -> None:
    findings = analyze(".github/workflows/ci.yml", "- just\n- a list\n")
    assert [(f.rule, f.line) for f in findings] == [("syntax/schema", 1)]


def test_root_errors_name_the_file_and_generic_duplicates_are_dropped() -> None:
    findings = analyze(
        ".github/workflows/ci.yml",
        """\
        jobs:
          build:
            runs-on: ubuntu-latest
            steps:
              - 1
        """,
    )
    assert sorted((f.line, f.message) for f in findings) == [
        (1, "the file is missing the required key `on`"),
        (5, "`jobs.build.steps[0]` must be of type object, got `1`"),
    ]
