"""Expressions: the parser, and the checks of names, availability and types (bot/review/expression_checks.py)."""

from textwrap import dedent

import pytest

from bot.review.expressions import Call, Context, ExpressionError, Property, embedded_expressions, parse_expression
from bot.review.model import ReviewContext, SourceFile
from bot.review.syntax import SyntaxAnalyzer


def findings(text: str) -> list[tuple[int, str, str]]:
    found = SyntaxAnalyzer().analyze([SourceFile(".github/workflows/ci.yml", dedent(text))], ReviewContext())
    return sorted((f.line, f.level, f.rule) for f in found if f.rule != "syntax/schema")


@pytest.mark.parametrize(
    "text",
    [
        "github.event.pull_request.head.ref == 'main' && !cancelled()",
        "contains(github.event.labels.*.name, 'bug')",
        "fromJSON(needs.setup.outputs['matrix'])[0].os",
        "format('{0}-{1}', runner.os, hashFiles('**/lock'))",
        "-1.5e3 < 0x1F || null",
        "'it''s'",
        "(a.b-c || x)",
    ],
)
def test_valid_expressions_parse(text: str) -> None:
    parse_expression(text)


@pytest.mark.parametrize(
    ("text", "offset"),
    [('format("x")', 7), ("1 >", 3), ("a.", 2), ("'open", 0), ("(a", 2), ("a b", 2), ("", 0)],
)
def test_syntax_errors_say_where(text: str, offset: int) -> None:
    with pytest.raises(ExpressionError) as raised:
        parse_expression(text)
    assert raised.value.offset == offset


def test_tree_shape() -> None:
    tree = parse_expression("contains(GitHub.Event.labels.*.name, 'x')")
    assert isinstance(tree, Call) and tree.name == "contains"
    names = tree.arguments[0]
    assert isinstance(names, Property) and names.name == "name"
    assert isinstance(names.receiver, Property) and names.receiver.name is None
    embedded, unclosed = embedded_expressions("a ${{ x }} b ${{ '}}' }} c ${{ y")
    assert [part.text for part in embedded] == [" x ", " '}}' "]
    assert unclosed is not None


VALID = """\
    name: ci
    run-name: ${{ github.actor }} on ${{ inputs.target || 'main' }}
    on:
      workflow_dispatch:
        inputs:
          target: {type: string}
          dry: {type: boolean}
    env:
      TOKEN: ${{ secrets.TOKEN }}
    concurrency: ${{ github.workflow }}-${{ github.ref }}
    jobs:
      setup:
        runs-on: ubuntu-latest
        outputs:
          matrix: ${{ steps.plan.outputs.matrix }}
        steps:
          - id: plan
            run: echo "matrix=[]" >> "$GITHUB_OUTPUT"
      test:
        needs: setup
        if: ${{ !cancelled() && needs.setup.result == 'success' }}
        strategy:
          matrix:
            os: [ubuntu-latest, windows-latest]
            include:
              - os: ubuntu-latest
                extra: true
        runs-on: ${{ matrix.os }}
        env:
          OS: ${{ matrix.os }}-${{ strategy.job-index }}
        steps:
          - uses: actions/cache@v4
            id: cache
            with:
              key: ${{ runner.os }}-${{ hashFiles('**/lock') }}
          - if: steps.cache.outputs.cache-hit != 'true' && matrix.extra
            run: echo ${{ env.OS }} ${{ inputs.dry }} ${{ toJSON(github.event) }}
            shell: bash
          - run: echo "${{ needs.setup.outputs.matrix }}"
            working-directory: ${{ github.workspace }}
"""


def test_a_workflow_using_contexts_rightly_is_quiet() -> None:
    assert findings(VALID) == []


def test_github_rejects_these_so_they_are_errors() -> None:
    text = """\
        on: push
        env:
          A: ${{ env.B }}
        defaults:
          run:
            shell: ${{ env.SHELL }}
        jobs:
          a:
            if: ${{ env.RUN == 'yes' }}
            runs-on: ${{ runner.os }}
            steps:
              - run: echo ${{ hoge.x }}
              - run: echo ${{ success() }}
              - if: ${{ secrets.TOKEN != '' }}
                run: echo ${{ unknownFn(1) }} ${{ contains('a') }}
              - run: echo ${{ github.event.x == "a" }}
              - run: echo ${{ github.x
        """
    assert findings(text) == [
        (3, "error", "syntax/expression"),
        (6, "error", "syntax/expression"),
        (9, "error", "syntax/expression"),
        (10, "error", "syntax/expression"),
        (12, "error", "syntax/expression"),
        (13, "error", "syntax/expression"),
        (14, "error", "syntax/expression"),
        (15, "error", "syntax/expression"),
        (15, "error", "syntax/expression"),
        (16, "error", "syntax/expression"),
        (17, "error", "syntax/expression"),
    ]


def test_github_runs_these_but_they_are_likely_mistakes() -> None:
    text = """\
        on: push
        jobs:
          first:
            runs-on: ubuntu-latest
            outputs:
              out: x
            steps: [{run: a}]
          a:
            needs: first
            strategy:
              matrix:
                os: [ubuntu-latest]
            runs-on: ubuntu-latest
            steps:
              - run: echo ${{ steps.later.outputs.x }} ${{ matrix.nope }}
              - id: later
                run: echo ${{ needs.other.result }} ${{ needs.first.outputs.missing }} ${{ inputs.x }}
              - run: echo "${{ github.event }}" ${{ vars.A.b }} ${{ fromJSON('{broken') }}
              - run: echo ${{ 1 > null }} ${{ 'a' == fromJSON('{}') }}
              - if: ${{ true }} && ${{ false }}
                run: echo
              - if: 1 == 1
                run: echo
        """
    assert findings(text) == [
        (15, "warning", "syntax/expression-type"),
        (15, "warning", "syntax/expression-type"),
        (17, "warning", "syntax/expression-type"),
        (17, "warning", "syntax/expression-type"),
        (17, "warning", "syntax/expression-type"),
        (18, "warning", "syntax/expression-type"),
        (18, "warning", "syntax/expression-type"),
        (18, "warning", "syntax/expression-type"),
        (19, "warning", "syntax/expression-type"),
        (19, "warning", "syntax/expression-type"),
        (20, "warning", "syntax/if-condition"),
        (22, "notice", "syntax/if-condition"),
    ]


def test_positions_in_block_scalars() -> None:
    text = """\
        on: push
        jobs:
          a:
            runs-on: ubuntu-latest
            steps:
              - run: |
                  echo one

                  echo ${{ nope.x }}
        """
    found = SyntaxAnalyzer().analyze([SourceFile(".github/workflows/ci.yml", dedent(text))], ReviewContext())
    assert [(f.line, f.column) for f in found] == [(9, 20)]


def test_composite_actions_get_the_name_checks() -> None:
    action = """\
        name: a
        description: b
        runs:
          using: composite
          steps:
            - run: echo ${{ inputs.x }} ${{ nope.y }}
              shell: bash
        """
    found = SyntaxAnalyzer().analyze([SourceFile("action.yml", dedent(action))], ReviewContext())
    assert [(f.line, f.rule) for f in found] == [(6, "syntax/expression")]
    assert isinstance(parse_expression("nope"), Context)
