"""`.github/ci-testing.yml`: suites validated with lines and "did you mean", and checked against their workflows."""

from __future__ import annotations

from bot.config.testing_suites import (
    check_suite_against_workflow,
    dispatch_trigger,
    parse_duration,
    parse_testing_config,
    suite_problems,
)

SUITES = """\
suites:
  python-matrix:
    workflow: ci.yml
    matrix:
      python-version: ["3.11", "3.12", "3.13"]
      os: [ubuntu-latest, macos-latest]
    exclude:
      - {python-version: "3.11", os: macos-latest}
    include:
      - {python-version: "3.11", os: macos-latest, experimental: "true"}
    timeout_minutes: 45
    expect: { conclusion: success, max_duration: 10m }
    on: [comment, push]
"""

WORKFLOW = """\
name: CI
run-name: CI ${{ inputs.python-version }} ${{ inputs.os }}
on:
  push:
  workflow_dispatch:
    inputs:
      python-version:
        required: true
      os:
        type: choice
        options: [ubuntu-latest, macos-latest, windows-latest]
      experimental:
        type: boolean
        default: false
jobs:
  test:
    runs-on: ${{ inputs.os }}
    steps:
      - run: pytest
"""


def messages(problems):
    return [(problem.line, problem.message) for problem in problems]


def test_a_valid_suite():
    config, problems = parse_testing_config(SUITES)
    assert problems == []
    suite = config.suites["python-matrix"]
    assert suite.workflow == "ci.yml" and suite.timeout_minutes == 45 and suite.triggers == ("comment", "push")
    assert suite.expect.conclusion == "success" and suite.expect.max_duration_seconds == 600
    assert suite.matrix[0] == ("python-version", ("3.11", "3.12", "3.13"))
    assert suite.position("matrix.os") == (6, 7) and suite.position("include[0].experimental") == (10, 52)
    assert check_suite_against_workflow(suite, WORKFLOW) == []


def test_mistakes_are_reported_at_their_lines_with_did_you_mean():
    text = """\
max_legs: 4
sutes: {}
suites:
  big:
    workflow: ci.yml
    matrix:
      python-version: ["3.11", "3.12", "3.13"]
      os: [ubuntu-latest, macos-latest]
  typo:
    workflow: ci.yml
    timout_minutes: 5
    expect: {conclusion: sucess, max_duration: 600}
    on: [coment]
  "bad name!":
    workflow: ci.yml
  no-workflow:
    matrix: {os: ubuntu-latest}
"""
    config, problems = parse_testing_config(text)
    assert config.suites == {}
    assert messages(problems) == [
        (2, "unknown key 'sutes'; did you mean 'suites'?"),
        (6, "suites.big expands to 6 legs, more than the limit of 4 (max_legs)"),
        (11, "unknown key 'suites.typo.timout_minutes'; did you mean 'timeout_minutes'?"),
        (
            12,
            "suites.typo.expect.conclusion must be one of success, failure, cancelled, skipped, neutral, got 'sucess';"
            " did you mean 'success'?",
        ),
        (12, "suites.typo.expect.max_duration must be a duration with units such as 10m, 1h30m or 90s, got 600"),
        (13, "suites.typo.on: unknown trigger 'coment', the triggers are comment, push; did you mean 'comment'?"),
        (
            14,
            "suite name 'bad name!' must be letters, digits, '-', '_' or '.' (at most 64), starting with a letter or"
            " digit",
        ),
        (16, "suites.no-workflow is missing 'workflow' (a file in .github/workflows)"),
        (
            17,
            "suites.no-workflow.matrix.os must be a non-empty list of values, got 'ubuntu-latest';"
            " e.g. [ubuntu-latest]",
        ),
    ]
    assert [p.line for p in suite_problems(problems, "big")] == [6]


def test_suites_are_checked_against_the_workflow_they_dispatch():
    config, _ = parse_testing_config(SUITES.replace("python-version", "python_version"))
    suite = config.suites["python-matrix"]
    problems = check_suite_against_workflow(suite, WORKFLOW)
    assert messages(problems) == [
        (2, "workflow 'ci.yml' requires the input 'python-version', which 6 of 6 legs leave out"),
        (5, "workflow 'ci.yml' declares no workflow_dispatch input 'python_version'; did you mean 'python-version'?"),
    ]
    missing = check_suite_against_workflow(suite, None, known_workflows=["ci.yaml", "lint.yml"], ref="feature")
    assert messages(missing) == [
        (3, "workflow 'ci.yml' does not exist in .github/workflows at feature; did you mean 'ci.yaml'?")
    ]
    push_only = check_suite_against_workflow(suite, "on: [push]\njobs: {}\n")
    assert "has no workflow_dispatch trigger" in push_only[0].message and push_only[0].line == 3


def test_required_inputs_and_choices():
    config, _ = parse_testing_config(
        "suites:\n  s:\n    workflow: ci.yml\n    matrix:\n      os: [ubuntu-latest, solaris]\n"
    )
    problems = messages(check_suite_against_workflow(config.suites["s"], WORKFLOW))
    assert problems == [
        (2, "workflow 'ci.yml' requires the input 'python-version', which 2 of 2 legs leave out"),
        (5, "input 'os' of 'ci.yml' takes ubuntu-latest, macos-latest, windows-latest; 'solaris' is not one"),
    ]


def test_dispatch_triggers_in_every_form():
    assert dispatch_trigger("on: workflow_dispatch\n").inputs == {}
    assert dispatch_trigger("on: [push, workflow_dispatch]\n").inputs == {}
    assert dispatch_trigger("on:\n  push:\n").inputs is None
    assert dispatch_trigger("on: {workflow_dispatch: null}\n").inputs == {}
    assert dispatch_trigger("on: [unclosed") is None
    assert set(dispatch_trigger(WORKFLOW).inputs) == {"python-version", "os", "experimental"}


def test_durations():
    assert parse_duration("10m") == 600 and parse_duration("1h30m") == 5400 and parse_duration("45s") == 45
    assert parse_duration("10") is None and parse_duration("") is None and parse_duration("m") is None
