"""Each relaxation of SchemaStore's schemas: what GitHub accepts passes, and the nearby real error is still found."""

from textwrap import dedent

import pytest

from bot.review.model import ReviewContext, SourceFile
from bot.review.syntax import SyntaxAnalyzer

JOB = """\
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: make
"""


def schema_errors(text: str, path: str = ".github/workflows/ci.yml") -> list[tuple[int, str]]:
    findings = SyntaxAnalyzer().analyze([SourceFile(path, dedent(text))], ReviewContext())
    return [(f.line, f.message) for f in findings if f.rule == "syntax/schema"]


@pytest.mark.parametrize(
    "accepted",
    [
        "on:\n  push:\n    branches: main\n    tags: v*\n    paths: src/**\n" + JOB,
        "on:\n  pull_request:\n    branches-ignore: dev\n    paths-ignore: docs/**\n" + JOB,
        "on: push\nenv:\n  EMPTY:\n" + JOB,
        "on: push\n"
        + JOB.replace(
            "    runs-on: ubuntu-latest\n", "    runs-on: ubuntu-latest\n    strategy:\n      fail-fast: false\n"
        ),
        "on: push\n" + JOB.replace("- run: make", "- run: true\n        name: 1.10"),
        "on: push\n" + JOB.replace("    steps:", "    services: ${{ fromJSON(inputs.services) }}\n    steps:"),
        "on: push\n" + JOB.replace("    steps:", "    timeout-minutes: ${{ inputs.minutes }}\n    steps:"),
        "on: push\n"
        + JOB.replace(
            "    steps:", "    container:\n      image: x\n      credentials: ${{ fromJSON('{}') }}\n    steps:"
        ),
        "on: push\n" + JOB.replace("    steps:", "    container:\n    steps:"),
        "on:\n  image_version:\n    names: [my-image]\n    versions: ['1.*']\n" + JOB,
        "on: [push, image_version]\n" + JOB,
        "on:\n  workflow_call:\n    secrets:\n      MY_TOKEN:\n" + JOB,
        "on: push\n"
        + JOB.replace(
            "    steps:",
            "    snapshot:\n      image-name: img\n      version: 2.*\n"
            "      if: ${{ github.ref == 'refs/heads/main' }}\n    steps:",
        ),
    ],
)
def test_what_github_accepts_is_not_a_schema_error(accepted: str) -> None:
    assert schema_errors(accepted) == []


@pytest.mark.parametrize(
    ("rejected", "line"),
    [
        ("on:\n  push:\n    branches: []\n" + JOB, 3),
        ("on: push\n" + JOB.replace("- run: make", "- run:"), 6),
        ("on: push\n" + JOB.replace("    steps:", "    timeout-minutes: true\n    steps:"), 5),
        ("on: push\n" + JOB.replace("    steps:", "    services: redis\n    steps:"), 5),
        ("on:\n  image_version:\n    names: one\n" + JOB, 3),
        ("on: push\n" + JOB.replace("    steps:", "    container:\n      imag: x\n    steps:"), 5),
        ("on:\n" + JOB, 1),
        ("on: push\njobs:\n", 2),
    ],
)
def test_real_schema_errors_are_still_found(rejected: str, line: int) -> None:
    assert line in [found_line for found_line, _ in schema_errors(rejected)]


def test_action_inputs_as_the_runner_reads_them() -> None:
    action = """\
        name: setup
        description: set things up
        inputs:
          version:
            type: string
            default: 3
        runs:
          using: composite
          steps:
            - run: echo hi
              shell: bash
        """
    assert schema_errors(action, "action.yml") == []
    assert schema_errors(action.replace("              shell: bash\n", ""), "action.yml") == [
        (10, "`runs.steps[0]` is a `run` step without `shell`, which composite actions require")
    ]
