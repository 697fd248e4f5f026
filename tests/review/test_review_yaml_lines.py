"""Tests for the YAML parse: libyaml's composer with ruamel's constructor gives what ruamel alone gives."""

import warnings
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.review import yaml_lines
from bot.review.yaml_lines import NotForLibyaml, load_with_libyaml, parse_yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = sorted(path for path in FIXTURES.rglob("*") if path.suffix in (".yml", ".yaml"))
TRICKY = [
    "on:\n  workflow_dispatch: # manual\n  push:\n",
    "on:\n  workflow_dispatch:   # manual\n\n  # x\n  push:\n",
    "on:\n  workflow_dispatch: # manual\n\npermissions: {}\n",
    "a:\n  # comment\nb: 1\n",
    "a: # c\n",
    "a: # c",
    "a:   \n\n\n",
    "a:\n  b: #x\n    # y\n  c: 1\n",
    "- a: # c\n  b: 1\n- c:\n",
    "a: [x, ]\n",
    "a: &x\n  b: 1\nc: *x\n",
    "base: &b\n  x: 1\nd:\n  <<: *b\n  y: 2\n",
    "a: 1\r\nb:\r\nc: 3\r\n",
    "é😀: \n  x: 1\n",
    "\ufeffa: 1\nb:\n",
    "a: |\n  x\n  y\nb: >-\n  z\n",
    "a: 'q'\nb: \"d\"\nc: 1.10\nd: 0o17\ne: 0x1F\nf: 1_000\ng: 2024-01-01\nh: ~\ni: yes\nj: .inf\nk: on\n",
    "? complex\n: value\n",
    "",
    "# only a comment\n",
]
LEFT_TO_RUAMEL = [
    "a: {x: , y: 1}\n",
    "- \n- a\n",
    "a:\n  -\n  - b\n",
    "a: !!str 1\n",
    "a: !Ref x\n",
    "a:\tb\n",
    "%YAML 1.1\n---\non: yes\n",
    "a:\n---\nb: 1\n",
    "a: b: c\n",
    "a: [1, 2\n",
]


def shape(node: Any) -> Any:
    """Everything the analyzers can see of a parse: values, their types, and every line and column ruamel keeps."""
    if isinstance(node, CommentedMap):
        items = [(shape(key), shape(value)) for key, value in node.items()]
        return ("map", node.lc.line, node.lc.col, dict(node.lc.data or {}), items)
    if isinstance(node, CommentedSeq):
        return ("seq", node.lc.line, node.lc.col, dict(node.lc.data or {}), [shape(item) for item in node])
    return (type(node).__name__, repr(node))


def ruamel_alone(text: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ruamel warns about reused anchors, which some fixtures have
        return shape(YAML(typ="rt").load(text))


@pytest.mark.skipif(yaml_lines.CParser is None, reason="PyYAML without libyaml: ruamel alone parses")
def test_libyaml_composes_what_ruamel_alone_would_on_every_fixture_and_tricky_text() -> None:
    composed = 0
    for name, text in [*((str(path), path.read_text(encoding="utf-8")) for path in CORPUS), *enumerate(TRICKY)]:
        try:
            expected = ruamel_alone(text)
        except Exception:
            with pytest.raises(NotForLibyaml):
                load_with_libyaml(text)
            continue
        try:
            assert shape(load_with_libyaml(text)) == expected, name
            composed += 1
        except NotForLibyaml:
            continue
    assert composed >= 300  # the fast path takes nearly everything (of 343 texts, about 20 invalid)


@pytest.mark.skipif(yaml_lines.CParser is None, reason="PyYAML without libyaml: ruamel alone parses")
@pytest.mark.parametrize("text", LEFT_TO_RUAMEL)
def test_what_libyaml_and_ruamel_place_or_take_differently_is_left_to_ruamel(text: str) -> None:
    with pytest.raises(NotForLibyaml):
        load_with_libyaml(text)
    parsed = parse_yaml(text)
    try:
        expected = ruamel_alone(text)
    except Exception:
        assert parsed.problem is not None and parsed.problem.message.startswith("YAML syntax error")
    else:
        assert shape(parsed.data) == expected


def test_a_yaml_error_keeps_ruamel_s_message_and_place() -> None:
    problem = parse_yaml("on: push\njobs:\n  a: [1, 2\n").problem
    assert problem is not None
    assert (problem.line, problem.column) == (4, 1)
    assert "while parsing a flow sequence" in problem.message
