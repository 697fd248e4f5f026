"""Tests for the compiled schema check: jsonschema's verdict (relaxed validator) on real and mutated files."""

import copy
import random
import warnings
from pathlib import Path
from typing import Any

import pytest

from bot.review.schema_check import UnsupportedSchema, compile_schema
from bot.review.syntax import schema_validator
from bot.review.yaml_lines import parse_yaml, to_plain

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPLACEMENTS: list[Any] = [
    None,
    True,
    3,
    1.5,
    "",
    "x",
    "${{ inputs.value }}",
    [],
    ["a"],
    [{"run": "make"}],
    {},
    {"run": "make"},
    {"zz": 1},
]
MUTANTS_PER_FILE = 4


def documents() -> list[tuple[str, str, Any]]:
    """(name, kind, plain data) of every parseable fixture that is a mapping."""
    found = []
    for path in sorted(FIXTURES.rglob("*")):
        if path.suffix not in (".yml", ".yaml"):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = parse_yaml(path.read_text(encoding="utf-8"))
        if parsed.problem is None and isinstance(parsed.data, dict):
            kind = "action" if path.name in ("action.yml", "action.yaml") else "workflow"
            found.append((str(path.relative_to(FIXTURES)), kind, to_plain(parsed.data)))
    return found


def places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``node``."""
    found = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += places(value, (*path, index))
    return found


def mutated(data: Any, chooser: random.Random) -> Any:
    """A copy of ``data`` with one change: a value replaced, a key removed, renamed or added."""
    copied = copy.deepcopy(data)
    path = chooser.choice(places(copied))
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    action = chooser.choice(("replace", "replace", "delete", "rename", "add"))
    if action == "replace":
        parent[last] = copy.deepcopy(chooser.choice(REPLACEMENTS))
    elif action == "delete":
        del parent[last]
    elif action == "rename" and isinstance(parent, dict):
        parent[f"{last}x"] = parent.pop(last)
    elif isinstance(parent, dict):
        parent["zz-unknown"] = copy.deepcopy(chooser.choice(REPLACEMENTS))
    else:
        parent.append(copy.deepcopy(chooser.choice(REPLACEMENTS)))
    return copied


def test_the_compiled_check_gives_jsonschema_s_verdict_on_fixtures_and_their_mutants() -> None:
    checks = {kind: compile_schema(schema_validator(kind).schema) for kind in ("workflow", "action")}
    chooser = random.Random(20261130)
    verdicts = {True: 0, False: 0}
    disagreements = []
    for name, kind, data in documents():
        for variant in [data, *(mutated(data, chooser) for _ in range(MUTANTS_PER_FILE))]:
            expected = schema_validator(kind).is_valid(variant)
            verdicts[expected] += 1
            if checks[kind](variant) != expected:
                disagreements.append((name, expected))
    assert disagreements == []
    print(f"verdicts compared: {verdicts[True]} valid, {verdicts[False]} invalid")
    assert verdicts[True] > 300 and verdicts[False] > 300  # both verdicts well exercised


def test_a_keyword_that_is_not_compiled_is_refused() -> None:
    with pytest.raises(UnsupportedSchema):
        compile_schema({"type": "array", "uniqueItems": True})
    check = compile_schema({"description": "annotations are ignored", "markdownDescription": "so are unknown words"})
    assert check({"anything": 1})
