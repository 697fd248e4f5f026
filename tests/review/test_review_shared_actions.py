"""Tests for the shared-actions analyzer: duplicated step runs across jobs/workflows, and configured shared actions."""

from textwrap import dedent

from bot.review.model import ReviewContext, ReviewOptions, SharedAction, SourceFile
from bot.review.shared_actions import SharedActionsAnalyzer

CI = dedent("""\
    on: push
    jobs:
      lint:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - uses: actions/setup-python@v5
            with:
              python-version: "3.12"
          - run: |
              pip install -r requirements.txt
              pip install -e .
          - run: make lint
      test:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - uses: actions/setup-python@v5
            with:
              python-version: "3.12"
          - run: |
              pip   install -r requirements.txt

              pip install -e .
          - run: make test
    """)

RELEASE = dedent("""\
    on: release
    jobs:
      publish:
        runs-on: ubuntu-latest
        steps:
          - uses: actions/checkout@v4
          - uses: actions/setup-python@v5
            with:
              python-version: "3.12"
          - run: python -m build
    """)


def analyze(files, options=None):
    options = options or ReviewOptions()
    return SharedActionsAnalyzer().analyze(files, ReviewContext(options=options))


def test_duplicated_steps_across_jobs_and_workflows() -> None:
    findings = analyze(
        [SourceFile(".github/workflows/ci.yml", CI), SourceFile(".github/workflows/release.yml", RELEASE)]
    )
    duplicated = [f for f in findings if f.rule == "shared-actions/duplicated-steps"]
    assert [(f.path, f.line, f.end_line) for f in duplicated] == [
        (".github/workflows/ci.yml", 17, 24),
        (".github/workflows/release.yml", 6, 9),
    ]
    assert "these 3 steps (lines 17-24)" in duplicated[0].message
    assert ".github/workflows/ci.yml:6 (job `lint`)" in duplicated[0].message
    assert ".github/workflows/ci.yml:6 (job `lint`)" in duplicated[1].message
    assert ".github/workflows/ci.yml:17 (job `test`)" in duplicated[1].message
    assert all(f.level == "notice" for f in duplicated)


def test_different_inputs_or_single_steps_are_not_duplicates() -> None:
    other_version = RELEASE.replace('"3.12"', '"3.11"')
    assert (
        analyze([SourceFile(".github/workflows/a.yml", RELEASE), SourceFile(".github/workflows/b.yml", other_version)])
        == []
    )


def test_configured_shared_action_replaces_matching_steps_with_a_snippet() -> None:
    shared = SharedAction(
        uses="acme/setup-python@v2",
        replaces=({"uses": "actions/checkout@*"}, {"uses": "actions/setup-python@*"}, {"run": "pip install*"}),
        with_={"python-version": "3.12"},
    )
    findings = analyze([SourceFile(".github/workflows/ci.yml", CI)], ReviewOptions(shared_actions=(shared,)))
    suggested = [f for f in findings if f.rule == "shared-actions/use-shared-action"]
    assert [(f.line, f.end_line, f.level) for f in suggested] == [(6, 12, "warning"), (17, 24, "warning")]
    fix = suggested[0].fix
    assert fix is not None and (fix.start_line, fix.end_line) == (6, 12)
    assert fix.replacement == "      - uses: acme/setup-python@v2\n        with:\n          python-version: '3.12'"


def test_shared_action_patterns_must_match_in_order() -> None:
    shared = SharedAction(uses="acme/x@v1", replaces=({"run": "pip install*"}, {"uses": "actions/checkout@*"}))
    findings = analyze([SourceFile(".github/workflows/ci.yml", CI)], ReviewOptions(shared_actions=(shared,)))
    assert [f for f in findings if f.rule == "shared-actions/use-shared-action"] == []


def test_composite_actions_take_part() -> None:
    action = dedent("""\
        name: setup
        description: setup
        runs:
          using: composite
          steps:
            - uses: actions/checkout@v4
            - uses: actions/setup-python@v5
              with:
                python-version: "3.12"
        """)
    findings = analyze([SourceFile(".github/workflows/release.yml", RELEASE), SourceFile("tools/action.yml", action)])
    assert [(f.path, f.line) for f in findings] == [("tools/action.yml", 6)]


def test_copies_in_the_repositorys_other_workflows_are_found_but_only_reported_in_the_reviewed_files():
    context = ReviewContext(options=ReviewOptions(), other_files=[SourceFile(".github/workflows/ci.yml", CI)])
    findings = SharedActionsAnalyzer().analyze([SourceFile(".github/workflows/release.yml", RELEASE)], context)
    assert {finding.path for finding in findings} == {".github/workflows/release.yml"}
    duplicate = next(f for f in findings if f.rule == "shared-actions/duplicated-steps")
    assert duplicate.line == 6 and ".github/workflows/ci.yml:6 (job `lint`)" in duplicate.message
