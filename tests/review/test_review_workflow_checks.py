"""The semantic checks of workflows (bot/review/workflow_checks.py): each true case fires, each valid form does not."""

from textwrap import dedent

import pytest

from bot.review.model import ReviewContext, SourceFile
from bot.review.syntax import SyntaxAnalyzer
from bot.review.workflow_checks import cron_problem, pattern_problem


def findings(text: str, rule_prefix: str = "syntax/") -> list[tuple[int, str, str]]:
    found = SyntaxAnalyzer().analyze([SourceFile(".github/workflows/ci.yml", dedent(text))], ReviewContext())
    return sorted(
        (f.line, f.level, f.rule) for f in found if f.rule.startswith(rule_prefix) and f.rule != "syntax/schema"
    )


def test_needs_of_a_missing_job_and_cycles_are_errors() -> None:
    text = """\
        on: push
        jobs:
          a:
            needs: [b]
            runs-on: ubuntu-latest
            steps: [{run: a}]
          b:
            needs: a
            runs-on: ubuntu-latest
            steps: [{run: b}]
          c:
            needs: [a, nope]
            runs-on: ubuntu-latest
            steps: [{run: c}]
        """
    assert findings(text) == [(3, "error", "syntax/needs"), (12, "error", "syntax/needs")]


def test_valid_needs_are_quiet() -> None:
    text = """\
        on: push
        jobs:
          a: {runs-on: ubuntu-latest, steps: [{run: a}]}
          b: {needs: a, runs-on: ubuntu-latest, steps: [{run: b}]}
          c: {needs: [a, b], runs-on: ubuntu-latest, steps: [{run: c}]}
        """
    assert findings(text) == []


def test_duplicate_and_invalid_ids_are_errors() -> None:
    text = """\
        on: push
        jobs:
          1st:
            runs-on: ubuntu-latest
            steps:
              - id: build
                run: a
              - id: Build
                run: b
              - id: v1.2
                run: c
        """
    assert findings(text) == [(3, "error", "syntax/id"), (8, "error", "syntax/id"), (10, "error", "syntax/id")]


def test_step_keys_of_the_other_kind_of_step_are_errors() -> None:
    text = """\
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: make
                with: {x: 1}
              - uses: actions/checkout@v4
                working-directory: src
              - run: make
                working-directory: src
                shell: bash
        """
    assert findings(text) == [(7, "error", "syntax/step-keys"), (9, "error", "syntax/step-keys")]


@pytest.mark.parametrize(
    ("cron", "problem", "interval"),
    [
        ("*/5 * * * *", None, 5),
        ("*/4 * * * *", None, 4),
        ("0 3 * * MON-FRI", None, None),
        ("30 2 1,15 JAN,jul 0", None, None),
        ("0 0 * * 7", None, None),
        ("5/15 * * * *", None, 15),
        ("0 0 * *", "it has 4 fields", None),
        ("61 * * * *", "outside", None),
        ("0 0 * * FOO", "not a number", None),
        ("10-5 * * * *", "backwards", None),
    ],
)
def test_cron(cron: str, problem: str | None, interval: int | None) -> None:
    found, every = cron_problem(cron)
    assert (found is None) == (problem is None)
    if problem:
        assert problem in found
    assert every == interval


def test_schedule_findings() -> None:
    text = """\
        on:
          schedule:
            - cron: '*/5 * * * *'
              timezone: Europe/Paris
            - cron: '*/2 * * * *'
            - cron: '0 25 * * *'
            - cron: '0 0 * * *'
              timezone: Not/A_Zone
        jobs:
          a: {runs-on: ubuntu-latest, steps: [{run: a}]}
        """
    assert findings(text) == [(5, "warning", "syntax/cron"), (6, "error", "syntax/cron"), (8, "warning", "syntax/cron")]


@pytest.mark.parametrize(
    ("pattern", "is_path", "bad"),
    [
        ("main", False, False),
        ("releases/**", False, False),
        ("!releases/old", False, False),
        ("v[0-9]+.*", False, False),
        ("src/**/*.py", True, False),
        ("docs/\\[draft\\]", True, False),
        ("[", False, True),
        ("v[9-0]", False, True),
        ("!", False, True),
        (" main", False, True),
        ("./src/**", True, True),
    ],
)
def test_filter_patterns(pattern: str, is_path: bool, bad: bool) -> None:
    assert (pattern_problem(pattern, is_path) is not None) == bad


def test_filters() -> None:
    text = """\
        on:
          push:
            branches: [main]
            branches-ignore: [dev]
            tags: ['v[']
          pull_request:
            tags: [v1]
            paths: [src/**]
        jobs:
          a: {runs-on: ubuntu-latest, steps: [{run: a}]}
        """
    assert findings(text) == [
        (4, "error", "syntax/filters"),
        (5, "warning", "syntax/filters"),
        (7, "warning", "syntax/filters"),
    ]


def test_dispatch_inputs() -> None:
    inputs = "\n".join(f"      in{n}: {{type: string}}" for n in range(26))
    text = f"on:\n  workflow_dispatch:\n    inputs:\n{inputs}\njobs:\n  a: {{runs-on: x, steps: [{{run: a}}]}}\n"
    assert findings(text) == [(2, "error", "syntax/inputs")]
    text = """\
        on:
          workflow_dispatch:
            inputs:
              level: {type: choice}
              mode: {type: choice, options: [a, b], default: c}
              flag: {type: boolean, default: maybe}
              count: {type: number, default: lots}
              name: {type: string, options: [x]}
              fine: {type: choice, options: [a, b], default: b}
          workflow_call:
            inputs:
              sha: {type: string, required: true, default: ''}
        jobs:
          a: {runs-on: ubuntu-latest, steps: [{run: a}]}
        """
    assert findings(text) == [
        (4, "error", "syntax/inputs"),
        (5, "warning", "syntax/inputs"),
        (6, "warning", "syntax/inputs"),
        (7, "warning", "syntax/inputs"),
        (8, "warning", "syntax/inputs"),
        (12, "notice", "syntax/inputs"),
    ]


def test_matrix_exclude() -> None:
    text = """\
        on: push
        jobs:
          a:
            strategy:
              matrix:
                os: [ubuntu-latest, windows-latest]
                node: [{version: 20, lts: true}, {version: 22}]
                computed: ['${{ github.event.x }}']
                exclude:
                  - os: windows-latest
                    node: {version: 20}
                  - osx: macos-latest
                  - os: macos-latest
                  - computed: anything
            runs-on: ${{ matrix.os }}
            steps: [{run: a}]
        """
    assert findings(text) == [(12, "error", "syntax/matrix"), (13, "warning", "syntax/matrix")]


def test_runner_labels() -> None:
    text = """\
        on: push
        jobs:
          a: {runs-on: ubuntu-oldest, steps: [{run: a}]}
          b: {runs-on: [ubuntu-latest, windows-latest], steps: [{run: a}]}
          c: {runs-on: [self-hosted, linux, x64, gpu], steps: [{run: a}]}
          d: {runs-on: my-large-runner, steps: [{run: a}]}
          e: {runs-on: {group: big, labels: [ubuntu-24.04-arm]}, steps: [{run: a}]}
        """
    assert findings(text) == [(3, "notice", "syntax/runner-label"), (4, "warning", "syntax/runner-label")]


def test_merge_keys_uses_and_deprecated_commands() -> None:
    text = """\
        on: push
        env: &common
          A: 1
        jobs:
          a:
            runs-on: ubuntu-latest
            env:
              <<: *common
              B: 2
            steps:
              - uses: actions/checkout@v3
              - uses: actions/checkout@v4
              - uses: ${{ inputs.action }}
              - run: |
                  echo "::set-output name=x::1"
                  echo "x=1" >> "$GITHUB_OUTPUT"
        """
    assert findings(text) == [
        (8, "error", "syntax/merge-key"),
        (11, "warning", "syntax/uses"),
        (13, "warning", "syntax/uses"),
        (15, "warning", "syntax/deprecated-command"),
    ]


def test_counts_must_be_positive_numbers() -> None:
    text = """\
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            strategy:
              max-parallel: many
            steps: [{run: a}]
          b:
            runs-on: ubuntu-latest
            timeout-minutes: 0
            strategy:
              max-parallel: ${{ vars.parallel }}
            steps: [{run: a}]
        """
    found = SyntaxAnalyzer().analyze([SourceFile(".github/workflows/ci.yml", dedent(text))], ReviewContext())
    assert [(f.line, f.level) for f in found] == [(6, "error"), (10, "warning")]
