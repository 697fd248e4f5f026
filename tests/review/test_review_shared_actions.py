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


def test_a_duplicated_block_is_reported_once_without_the_checkout_and_with_a_ready_action() -> None:
    nightly = CI.replace("on: push", "on: schedule").replace("make lint", "make nightly")
    findings = analyze(
        [
            SourceFile(".github/workflows/ci.yml", CI),
            SourceFile(".github/workflows/nightly.yml", nightly),
            SourceFile(".github/workflows/release.yml", RELEASE),
        ]
    )
    [duplicate] = [f for f in findings if f.rule == "shared-actions/duplicated-steps"]
    assert (duplicate.path, duplicate.line, duplicate.end_line, duplicate.level) == (
        ".github/workflows/ci.yml",
        7,
        12,
        "notice",
    )
    assert "these 2 steps (lines 7-12)" in duplicate.message
    for other in (".github/workflows/ci.yml:18 (job `test`)", ".github/workflows/nightly.yml:7 (job `lint`)"):
        assert other in duplicate.message
    assert duplicate.fix is not None
    assert (duplicate.fix.start_line, duplicate.fix.end_line) == (7, 12)
    assert duplicate.fix.replacement == "      - uses: ./.github/actions/setup-python"
    snippet = duplicate.fix.snippet or ""
    assert snippet.startswith("# .github/actions/setup-python/action.yml\n")
    assert "using: composite" in snippet and "shell: bash" in snippet and "actions/checkout" not in snippet
    assert "    - run: |\n        pip install -r requirements.txt\n" in snippet


def test_blocks_a_composite_action_cannot_hold_are_not_suggested() -> None:
    with_secret = CI.replace("pip install -e .", "pip install -e . --token ${{ secrets.TOKEN }}")
    with_id = CI.replace("      - run: |\n          pip", "      - id: deps\n        run: |\n          pip")
    for text in (with_secret, with_id):
        assert analyze([SourceFile(".github/workflows/ci.yml", text)]) == []


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


def test_a_block_that_already_is_a_composite_action_is_replaced_by_it() -> None:
    action = dedent("""\
        name: setup
        description: setup
        runs:
          using: composite
          steps:
            - uses: actions/setup-python@v5
              with:
                python-version: "3.12"
            - run: |
                pip install -r requirements.txt
                pip install -e .
              shell: bash
        """)
    workflow = CI.replace("  test:\n", "  other:\n").split("  other:\n")[0]
    findings = analyze([SourceFile(".github/workflows/ci.yml", workflow), SourceFile("tools/setup/action.yml", action)])
    [duplicate] = findings
    assert (duplicate.path, duplicate.line) == (".github/workflows/ci.yml", 7)
    assert "composite action in `tools/setup`" in duplicate.message
    assert duplicate.fix is not None and duplicate.fix.replacement == "      - uses: ./tools/setup"


def test_copies_in_the_repositorys_other_workflows_are_found_but_only_reported_in_the_reviewed_files():
    release = RELEASE.replace(
        "      - run: python -m build",
        "      - run: |\n          pip install -r requirements.txt\n"
        "          pip install -e .\n      - run: python -m build",
    )
    context = ReviewContext(options=ReviewOptions(), other_files=[SourceFile(".github/workflows/ci.yml", CI)])
    findings = SharedActionsAnalyzer().analyze([SourceFile(".github/workflows/release.yml", release)], context)
    assert {finding.path for finding in findings} == {".github/workflows/release.yml"}
    duplicate = next(f for f in findings if f.rule == "shared-actions/duplicated-steps")
    assert duplicate.line == 7 and ".github/workflows/ci.yml:7 (job `lint`)" in duplicate.message
