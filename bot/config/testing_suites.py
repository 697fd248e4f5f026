"""`.github/ci-testing.yml`: test suites (a workflow, a matrix of its `workflow_dispatch` inputs, expectations),
validated with lines and "did you mean", and checked against the workflow files they dispatch.

Pure: the caller reads the files. `parse_testing_config` checks the file alone; `check_suite_against_workflow`
checks one suite against its workflow's text (declared `workflow_dispatch`, declared inputs, choices), so every
problem is reported at its line before anything is dispatched. docs/testing-suites.md documents the schema.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError

from bot.config.schema import ConfigProblem
from bot.config.validation import (
    Position,
    _closest,
    _describe,
    _document_position,
    _item_position,
    _key_position,
    _plain_scalar,
    _syntax_problem,
    _value_position,
)
from bot.ondemand.matrix import Combination, Matrix, expand
from bot.ondemand.session import Expectation

TESTING_CONFIG_PATH = ".github/ci-testing.yml"
WORKFLOWS_DIR = ".github/workflows"
DEFAULT_MAX_LEGS = 50
HIGHEST_MAX_LEGS = 256
MAX_DISPATCH_INPUTS = 25  # GitHub takes at most 25 inputs in one dispatch
DEFAULT_TIMEOUT_MINUTES = 30
TRIGGERS = ("comment", "push")
REF_PR_HEAD = "${{ pr.head }}"
EXPECTED_CONCLUSIONS = ("success", "failure", "cancelled", "skipped", "neutral")
TOP_LEVEL_KEYS = ("suites", "max_legs", "push_concurrency")
SUITE_KEYS = ("workflow", "ref", "matrix", "include", "exclude", "inputs", "timeout_minutes", "expect", "on")
EXPECT_KEYS = ("conclusion", "max_duration")
SUITE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
WORKFLOW_FILE = re.compile(r"[A-Za-z0-9_.-]+\.ya?ml")
_DURATION = re.compile(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?")


def parse_duration(text: str) -> float | None:
    """Seconds of `1h30m`, `10m`, `45s` (units required); None when the text is not such a duration."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None or not any(match.groups()):
        return None
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def input_value(value: Any) -> str | None:
    """A matrix or input value as `workflow_dispatch` takes it (text), or None when it is not a scalar."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(_plain_scalar(value))
    return None


@dataclass(frozen=True)
class Suite:
    """One test suite: which workflow to dispatch with which inputs, and what is expected of each leg.

    `positions` maps what was written ("workflow", "matrix.os", "include[0].os", "inputs.debug") to its
    (line, column) in the file, so problems found later (against the workflow) point at the right line.
    """

    name: str
    workflow: str  # a file name in .github/workflows, e.g. ci.yml
    ref: str = REF_PR_HEAD
    matrix: Matrix = ()
    include: tuple[Combination, ...] = ()
    exclude: tuple[Combination, ...] = ()
    inputs: Combination = ()
    timeout_minutes: int = DEFAULT_TIMEOUT_MINUTES
    expect: Expectation = field(default_factory=Expectation)
    triggers: tuple[str, ...] = ("comment",)
    line: int = 0  # 0: not from a file (a workflow named on the command line)
    positions: Mapping[str, Position] = field(default_factory=dict)

    def position(self, what: str) -> Position:
        return self.positions.get(what, (self.line, 1))


@dataclass(frozen=True)
class TestingConfig:
    """The suites of a repository, the largest matrix allowed, and how many push sessions may run at once."""

    suites: Mapping[str, Suite] = field(default_factory=dict)
    max_legs: int = DEFAULT_MAX_LEGS
    push_concurrency: int = 1
    max_legs_position: Position = (0, 0)


@dataclass(frozen=True)
class DispatchInput:
    """A `workflow_dispatch` input as the workflow declares it."""

    name: str
    required: bool = False
    has_default: bool = False
    type: str = "string"
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class DispatchTrigger:
    """Whether a workflow can be dispatched, and the inputs it declares (None: no `workflow_dispatch`)."""

    inputs: Mapping[str, DispatchInput] | None


class _Problems:
    def __init__(self, source: str) -> None:
        self.source = source
        self.found: list[ConfigProblem] = []

    def add(self, position: Position, key: str, message: str) -> None:
        self.found.append(ConfigProblem(position[0], position[1], key, message, self.source))


def _unknown_keys(node: Mapping[Any, Any], parent: str, known: Sequence[str], problems: _Problems) -> None:
    for key in node:
        if key in known:
            continue
        dotted = f"{parent}.{key}" if parent else str(key)
        suggestion = _closest(str(key), known)
        hint = f"did you mean {suggestion!r}?" if suggestion else "the keys allowed here are " + ", ".join(known)
        problems.add(_key_position(node, key), dotted, f"unknown key {dotted!r}; {hint}")


def _combination(node: Any, key: str, position: Position, problems: _Problems, positions: dict[str, Position]) -> Any:
    """A mapping of input names to scalar values (None when anything in it is wrong)."""
    if not isinstance(node, Mapping) or not node:
        problems.add(position, key, f"{key} must be a mapping of input names to values, got {_describe(node)}")
        return None
    values: list[tuple[str, str]] = []
    for name, value in node.items():
        text = input_value(value)
        if not isinstance(name, str) or text is None:
            problems.add(
                _value_position(node, name), f"{key}.{name}", f"{key}.{name} must be a text, number or true/false"
            )
            continue
        values.append((str(name), text))
        positions[f"{key.split('.', 2)[-1]}.{name}"] = _key_position(node, name)
    return tuple(values) if len(values) == len(node) else None


def _matrix(node: Any, key: str, problems: _Problems, positions: dict[str, Position]) -> Matrix | None:
    if not isinstance(node, Mapping):
        problems.add(positions["matrix"], key, f"{key} must be a mapping of input names to lists of values")
        return None
    matrix: list[tuple[str, tuple[str, ...]]] = []
    ok = True
    for name, values in node.items():
        where = f"{key}.{name}"
        positions[f"matrix.{name}"] = _key_position(node, name)
        if not isinstance(values, list) or not values:
            example = f"[{values}]" if isinstance(values, (str, int, float)) else "[a, b]"
            problems.add(
                _value_position(node, name),
                where,
                f"{where} must be a non-empty list of values, got {_describe(values)}; e.g. {example}",
            )
            ok = False
            continue
        texts = [input_value(value) for value in values]
        for index, text in enumerate(texts):
            if text is None:
                problems.add(_item_position(values, index), f"{where}[{index}]", f"{where}[{index}] must be a value")
                ok = False
        matrix.append((str(name), tuple(dict.fromkeys(text for text in texts if text is not None))))
    return tuple(matrix) if ok else None


def _combinations(node: Any, key: str, problems: _Problems, positions: dict[str, Position]) -> Any:
    if not isinstance(node, list):
        problems.add(positions[key.rsplit(".", 1)[-1]], key, f"{key} must be a list of mappings, got {_describe(node)}")
        return None
    found = []
    for index, item in enumerate(node):
        item_key = f"{key}[{index}]"
        combination = _combination(item, item_key, _item_position(node, index), problems, positions)
        if combination is None:
            return None
        found.append(combination)
    return tuple(found)


def _expectation(node: Any, key: str, problems: _Problems) -> Expectation | None:
    if not isinstance(node, Mapping):
        problems.add((0, 0), key, f"{key} must be a mapping with conclusion and/or max_duration")
        return None
    before = len(problems.found)
    _unknown_keys(node, key, EXPECT_KEYS, problems)
    conclusion = node.get("conclusion", "success")
    if conclusion not in EXPECTED_CONCLUSIONS:
        suggestion = _closest(str(conclusion), EXPECTED_CONCLUSIONS)
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        problems.add(
            _value_position(node, "conclusion"),
            f"{key}.conclusion",
            f"{key}.conclusion must be one of {', '.join(EXPECTED_CONCLUSIONS)}, got {_describe(conclusion)}{hint}",
        )
    max_duration = None
    if "max_duration" in node:
        raw = node["max_duration"]
        max_duration = parse_duration(raw) if isinstance(raw, str) else None
        if max_duration is None or max_duration <= 0:
            problems.add(
                _value_position(node, "max_duration"),
                f"{key}.max_duration",
                f"{key}.max_duration must be a duration with units such as 10m, 1h30m or 90s, got {_describe(raw)}",
            )
    if len(problems.found) > before:
        return None
    return Expectation(str(conclusion), max_duration)


def _triggers(node: Any, key: str, position: Position, problems: _Problems) -> tuple[str, ...] | None:
    items = [node] if isinstance(node, str) else node
    if not isinstance(items, list) or not items or not all(isinstance(item, str) for item in items):
        problems.add(position, key, f"{key} must be a list of triggers ({', '.join(TRIGGERS)}), got {_describe(node)}")
        return None
    wrong = [item for item in items if item not in TRIGGERS]
    for item in wrong:
        suggestion = _closest(item, TRIGGERS)
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        problems.add(position, key, f"{key}: unknown trigger {item!r}, the triggers are {', '.join(TRIGGERS)}{hint}")
    return None if wrong else tuple(dict.fromkeys(items))


def _integer(node: Mapping[Any, Any], name: str, key: str, low: int, high: int, problems: _Problems) -> int | None:
    value = node.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        problems.add(
            _value_position(node, name),
            key,
            f"{key} must be an integer between {low} and {high}, got {_describe(value)}",
        )
        return None
    return int(value)


def _suite(name: Any, node: Any, position: Position, problems: _Problems) -> Suite | None:
    key = f"suites.{name}"
    if not isinstance(name, str) or not SUITE_NAME.fullmatch(name):
        problems.add(
            position,
            key,
            f"suite name {str(name)!r} must be letters, digits, '-', '_' or '.' (at most 64), starting with a letter "
            "or digit",
        )
        return None
    if not isinstance(node, Mapping):
        problems.add(position, key, f"{key} must be a mapping with at least 'workflow', got {_describe(node)}")
        return None
    before = len(problems.found)
    _unknown_keys(node, key, SUITE_KEYS, problems)
    positions: dict[str, Position] = {part: _key_position(node, part) for part in node if isinstance(part, str)}
    workflow = node.get("workflow")
    if "workflow" not in node:
        problems.add(position, f"{key}.workflow", f"{key} is missing 'workflow' (a file in {WORKFLOWS_DIR})")
    elif not isinstance(workflow, str) or not WORKFLOW_FILE.fullmatch(workflow.removeprefix(WORKFLOWS_DIR + "/")):
        problems.add(
            _value_position(node, "workflow"),
            f"{key}.workflow",
            f"{key}.workflow must be a workflow file name such as ci.yml, got {_describe(workflow)}",
        )
    ref = node.get("ref", REF_PR_HEAD)
    if not isinstance(ref, str) or not ref.strip() or (ref.startswith("${{") and ref != REF_PR_HEAD):
        problems.add(
            _value_position(node, "ref"),
            f"{key}.ref",
            f"{key}.ref must be a branch or tag name, or {REF_PR_HEAD} (the default), got {_describe(ref)}",
        )
    matrix = _matrix(node["matrix"], f"{key}.matrix", problems, positions) if "matrix" in node else ()
    include = _combinations(node["include"], f"{key}.include", problems, positions) if "include" in node else ()
    exclude = _combinations(node["exclude"], f"{key}.exclude", problems, positions) if "exclude" in node else ()
    inputs = (
        _combination(node["inputs"], f"{key}.inputs", positions["inputs"], problems, positions)
        if "inputs" in node
        else ()
    )
    timeout = (
        _integer(node, "timeout_minutes", f"{key}.timeout_minutes", 1, 24 * 60, problems)
        if "timeout_minutes" in node
        else DEFAULT_TIMEOUT_MINUTES
    )
    expect = _expectation(node["expect"], f"{key}.expect", problems) if "expect" in node else Expectation()
    triggers = (
        _triggers(node["on"], f"{key}.on", _value_position(node, "on"), problems) if "on" in node else ("comment",)
    )
    if len(problems.found) > before:
        return None
    assert matrix is not None and include is not None and exclude is not None and inputs is not None
    assert timeout is not None and expect is not None and triggers is not None
    return Suite(
        name=name,
        workflow=str(workflow).removeprefix(WORKFLOWS_DIR + "/"),
        ref=str(ref),
        matrix=matrix,
        include=include,
        exclude=exclude,
        inputs=inputs,
        timeout_minutes=timeout,
        expect=expect,
        triggers=triggers,
        line=position[0],
        positions=positions,
    )


def parse_testing_config(text: str, source: str = TESTING_CONFIG_PATH) -> tuple[TestingConfig, list[ConfigProblem]]:
    """The valid suites of a `.github/ci-testing.yml` and every problem in it, by line (a suite with a problem is
    left out; its problems name it as `suites.<name>...`). Matrices over `max_legs` are problems too."""
    try:
        document = YAML(typ="rt").load(text)
    except YAMLError as error:
        return TestingConfig(), [_syntax_problem(error, source)]
    problems = _Problems(source)
    if document is None:
        return TestingConfig(), []
    if not isinstance(document, CommentedMap):
        problems.add(
            _document_position(text), "", f"the file must be a mapping with suites:, got {_describe(document)}"
        )
        return TestingConfig(), problems.found
    _unknown_keys(document, "", TOP_LEVEL_KEYS, problems)
    max_legs = DEFAULT_MAX_LEGS
    if "max_legs" in document:
        max_legs = _integer(document, "max_legs", "max_legs", 1, HIGHEST_MAX_LEGS, problems) or DEFAULT_MAX_LEGS
    push_concurrency = 1
    if "push_concurrency" in document:
        push_concurrency = _integer(document, "push_concurrency", "push_concurrency", 1, 20, problems) or 1
    suites: dict[str, Suite] = {}
    node = document.get("suites")
    if node is not None and not isinstance(node, CommentedMap):
        problems.add(_value_position(document, "suites"), "suites", "suites must be a mapping of suite names to suites")
    elif node is not None:
        for name, body in node.items():
            suite = _suite(name, body, _key_position(node, name), problems)
            if suite is None:
                continue
            legs = len(expand(suite.matrix, suite.include, suite.exclude))
            if legs > max_legs:
                where = "matrix" if suite.matrix else "include"
                problems.add(
                    suite.position(where),
                    f"suites.{name}.{where}",
                    f"suites.{name} expands to {legs} legs, more than the limit of {max_legs} (max_legs)",
                )
                continue
            suites[name] = suite
    config = TestingConfig(suites, max_legs, push_concurrency, _key_position(document, "max_legs"))
    return config, sorted(problems.found, key=lambda problem: (problem.line, problem.column))


def suite_problems(problems: Sequence[ConfigProblem], suite: str) -> list[ConfigProblem]:
    """The problems that concern one suite, and those of the file as a whole."""
    prefix = f"suites.{suite}"
    return [p for p in problems if p.key in ("", "suites") or p.key == prefix or p.key.startswith(prefix + ".")]


def dispatch_trigger(workflow_text: str) -> DispatchTrigger | None:
    """The `workflow_dispatch` trigger of a workflow file (inputs None: the workflow has none); None when the text is
    not a readable workflow."""
    try:
        document = YAML(typ="safe", pure=True).load(workflow_text)
    except YAMLError:
        return None
    if not isinstance(document, dict):
        return None
    on = document.get("on", document.get(True))  # YAML 1.1 readers turn `on` into true
    if isinstance(on, str):
        on = [on]
    if isinstance(on, list):
        return DispatchTrigger({} if "workflow_dispatch" in on else None)
    if not isinstance(on, dict) or "workflow_dispatch" not in on:
        return DispatchTrigger(None)
    trigger = on.get("workflow_dispatch") or {}
    declared = trigger.get("inputs") if isinstance(trigger, dict) else None
    inputs: dict[str, DispatchInput] = {}
    for name, spec in (declared or {}).items() if isinstance(declared, dict) else ():
        spec = spec if isinstance(spec, dict) else {}
        options: list[Any] = spec["options"] if isinstance(spec.get("options"), list) else []
        inputs[str(name)] = DispatchInput(
            name=str(name),
            required=spec.get("required") is True,
            has_default="default" in spec,
            type=str(spec.get("type") or "string"),
            options=tuple(text for text in (input_value(option) for option in options) if text is not None),
        )
    return DispatchTrigger(inputs)


def check_suite_against_workflow(
    suite: Suite,
    workflow_text: str | None,
    *,
    known_workflows: Sequence[str] = (),
    ref: str = "",
    source: str = TESTING_CONFIG_PATH,
    correlation_input: str = "",
) -> list[ConfigProblem]:
    """Problems of a suite against the workflow it dispatches (None: the file does not exist at `ref`): no such
    workflow, no `workflow_dispatch`, inputs it does not declare, required inputs left out, values not among
    a choice's options. Each problem is at the line of what it concerns."""
    problems = _Problems(source)
    key = f"suites.{suite.name}"
    at = f" at {ref}" if ref else ""
    if workflow_text is None:
        suggestion = _closest(suite.workflow, known_workflows)
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        problems.add(
            suite.position("workflow"),
            f"{key}.workflow",
            f"workflow {suite.workflow!r} does not exist in {WORKFLOWS_DIR}{at}{hint}",
        )
        return problems.found
    trigger = dispatch_trigger(workflow_text)
    if trigger is None or trigger.inputs is None:
        why = "is not a readable workflow" if trigger is None else "has no workflow_dispatch trigger"
        problems.add(
            suite.position("workflow"),
            f"{key}.workflow",
            f"workflow {suite.workflow!r} {why}{at}: add `on: workflow_dispatch` with the inputs the suite sets",
        )
        return problems.found
    declared = trigger.inputs
    legs = expand(suite.matrix, suite.include, suite.exclude, suite.inputs)
    used: dict[str, str] = {}  # input → where it is first set
    for name, _ in suite.matrix:
        used.setdefault(name, f"matrix.{name}")
    for index, combination in enumerate(suite.include):
        for name, _ in combination:
            used.setdefault(name, f"include[{index}].{name}")
    for name, _ in suite.inputs:
        used.setdefault(name, f"inputs.{name}")
    for name, where in used.items():
        if name in declared:
            continue
        suggestion = _closest(name, list(declared))
        hint = f"; did you mean {suggestion!r}?" if suggestion else f"; it declares {', '.join(declared) or 'none'}"
        problems.add(
            suite.position(where),
            f"{key}.{where}",
            f"workflow {suite.workflow!r} declares no workflow_dispatch input {name!r}{hint}",
        )
    if len(used) + (1 if correlation_input in declared else 0) > MAX_DISPATCH_INPUTS:
        problems.add(
            suite.position("matrix"), key, f"{key} sets {len(used)} inputs; GitHub takes at most {MAX_DISPATCH_INPUTS}"
        )
    for spec in declared.values():
        if spec.required and not spec.has_default and spec.name != correlation_input:
            missing = [leg for leg in legs if spec.name not in dict(leg)]
            if missing:
                problems.add(
                    (suite.line, 1),
                    key,
                    f"workflow {suite.workflow!r} requires the input {spec.name!r}, which {len(missing)} of "
                    f"{len(legs)} legs leave out",
                )
        allowed = spec.options if spec.type == "choice" else ("true", "false") if spec.type == "boolean" else ()
        if not allowed:
            continue
        for leg in legs:
            value = dict(leg).get(spec.name)
            if value is not None and value not in allowed:
                where = used.get(spec.name, "matrix")
                problems.add(
                    suite.position(where),
                    f"{key}.{where}",
                    f"input {spec.name!r} of {suite.workflow!r} takes {', '.join(allowed)}; {value!r} is not one",
                )
                break
    return sorted(problems.found, key=lambda problem: (problem.line, problem.column))
