"""Check one config file against the schema: the settings it validly makes, and every problem with its line.

Validation never raises: a wrong value is reported in plain words (with "did you mean" where a
close name exists) and the setting falls back to what applies without it.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from bot.comparison.report import FAIL_ON_CHOICES as COMPARISON_FAIL_ON
from bot.config.schema import (
    ACTION_REFERENCE,
    COMMENT_MODES,
    COMMENT_PER,
    CONFIRM_MODES,
    HEALTH_SCHEDULES,
    MENTION,
    SHARED_ACTION_KEYS,
    STEP_PATTERN_KEYS,
    WORKFLOW_RUN_EVENTS,
    ConfigLayer,
    ConfigProblem,
    SharedActionConfig,
)
from bot.review.model import DEFAULT_ANALYZERS
from bot.review.model import FAIL_ON_CHOICES as REVIEW_FAIL_ON
from bot.review.registry import available_analyzers
from bot.review.yaml_lines import item_position, key_position, node_position, value_position


class _Invalid(ValueError):
    """A value does not fit its setting; the argument says what was expected."""

    def __init__(self, expected: str, hint: str = "") -> None:
        super().__init__(expected)
        self.expected = expected
        self.hint = hint


class _AlreadyReported(Exception):
    """A value was invalid and its problems were reported item by item."""


Position = tuple[int, int]
_Check = Callable[[Any, str, Position, "_Validation"], Any]


class _Validation:
    """Collects the valid settings and the problems of one file while its parts are checked."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[ConfigProblem] = []
        self.settings: dict[str, Any] = {}
        self.positions: dict[str, Position] = {}

    def keep(self, key: str, value: Any, position: Position) -> None:
        self.settings[key] = value
        self.positions[key] = position

    def report(self, position: Position, key: str, message: str) -> None:
        self.problems.append(ConfigProblem(position[0], position[1], key, message, self.source))

    def report_invalid(self, position: Position, key: str, value: Any, error: _Invalid) -> None:
        message = f"{key} must be {error.expected}, got {_describe(value)}"
        self.report(position, key, message + (f"; {error.hint}" if error.hint else ""))


def _describe(value: Any) -> str:
    """Say what a YAML value is, the way a user wrote it."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return str(value)


def _plain_scalar(value: str | int | float) -> str | int | float:
    """The plain Python value of a ruamel.yaml scalar (which keeps its YAML formatting in subclasses)."""
    for plain_type in (bool, str, int, float):
        if isinstance(value, plain_type):
            return plain_type(value)
    raise TypeError(f"not a scalar: {value!r}")


def _node_position(node: Any) -> Position:
    return node_position(node) or (1, 1)


def _key_position(node: Any, key: Any) -> Position:
    return key_position(node, key) or _node_position(node)


def _value_position(node: Any, key: Any) -> Position:
    """Where the value of `key` starts; the key itself when the value is null (ruamel points past it)."""
    if node.get(key) is None:
        return _key_position(node, key)
    return value_position(node, key) or _key_position(node, key)


def _item_position(node: Any, index: int) -> Position:
    return item_position(node, index) or _node_position(node)


def _document_position(text: str) -> Position:
    """Where the (already successfully parsed) document's content starts; plain scalars carry no position."""
    node = YAML(typ="rt").compose(text)
    return node.start_mark.line + 1, node.start_mark.column + 1


def _closest(word: str, candidates: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _choice_list(options: Iterable[str]) -> str:
    names = [str(option) for option in options]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def _boolean(value: Any, key: str, position: Position, validation: _Validation) -> bool:
    if not isinstance(value, bool):
        hints = {
            "true": "write it without quotes",
            "false": "write it without quotes",
            "yes": "yes/no/on/off are text in YAML 1.2",
            "no": "yes/no/on/off are text in YAML 1.2",
            "on": "yes/no/on/off are text in YAML 1.2",
            "off": "yes/no/on/off are text in YAML 1.2",
        }
        raise _Invalid("true or false", hints.get(str(value).lower(), ""))
    return bool(value)


def _integer(lowest: int, highest: int) -> _Check:
    def check(value: Any, key: str, position: Position, validation: _Validation) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
            raise _Invalid(f"an integer between {lowest} and {highest}")
        return int(value)

    return check


def _number(
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
) -> _Check:
    bounds = [
        f"greater than {above:g}" if above is not None else "",
        f"at least {at_least:g}" if at_least is not None else "",
        f"less than {below:g}" if below is not None else "",
        f"at most {at_most:g}" if at_most is not None else "",
    ]
    expected = "a number " + " and ".join(bound for bound in bounds if bound)

    def check(value: Any, key: str, position: Position, validation: _Validation) -> float | int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _Invalid(expected)
        if (
            (above is not None and value <= above)
            or (at_least is not None and value < at_least)
            or (below is not None and value >= below)
            or (at_most is not None and value > at_most)
        ):
            raise _Invalid(expected)
        return int(value) if isinstance(value, int) else float(value)

    return check


def _choice(options: Sequence[str]) -> _Check:
    expected = "one of " + _choice_list(options)

    def check(value: Any, key: str, position: Position, validation: _Validation) -> str:
        if isinstance(value, str) and value in options:
            return str(value)
        suggestion = _closest(str(value), options) if isinstance(value, str) else None
        raise _Invalid(expected, f"did you mean {suggestion!r}?" if suggestion else "")

    return check


def _string_list(
    *,
    allowed: Callable[[], Iterable[str]] | None = None,
    what: str = "strings",
    non_empty: bool = False,
    allowed_examples: str = "",
) -> _Check:
    """A list of non-empty strings; any bad item is reported and the whole setting falls back.

    With `allowed`, items must be among its names; the problem lists them all unless
    `allowed_examples` names a few instead.
    """

    def check(value: Any, key: str, position: Position, validation: _Validation) -> tuple[str, ...]:
        if not isinstance(value, list):
            example = f"[{value}]" if isinstance(value, str) else "[...]"
            raise _Invalid(f"a list of {what}", f"write it as a list, e.g. {example}")
        if non_empty and not value:
            raise _Invalid(f"a non-empty list of {what}")
        allowed_names = sorted(allowed()) if allowed is not None else None
        items: list[str] = []
        for index, item in enumerate(value):
            item_key = f"{key}[{index}]"
            item_position = _item_position(value, index)
            if not isinstance(item, str) or not item.strip():
                validation.report_invalid(item_position, item_key, item, _Invalid("a non-empty string"))
            elif allowed_names is not None and item not in allowed_names:
                suggestion = _closest(item, allowed_names)
                hint = f"did you mean {suggestion!r}?" if suggestion else ""
                expected = allowed_examples or "one of " + _choice_list(allowed_names)
                validation.report_invalid(item_position, item_key, item, _Invalid(expected, hint))
            else:
                items.append(str(item))
        if len(items) < len(value):
            raise _AlreadyReported
        return tuple(dict.fromkeys(items))

    return check


@functools.cache
def known_analyzers() -> frozenset[str]:
    """Names `review.analyzers` may use: the built-in analyzers and any installed as entry points."""
    return frozenset(DEFAULT_ANALYZERS) | frozenset(available_analyzers())


COMPARISON_SETTINGS: dict[str, _Check] = {
    "enabled": _boolean,
    "baseline_branches": _string_list(what="branch names"),
    "baseline_runs": _integer(1, 100),
    "baseline_events": _string_list(
        allowed=lambda: WORKFLOW_RUN_EVENTS,
        what="workflow run events",
        non_empty=True,
        allowed_examples="a workflow run event such as push, schedule, workflow_dispatch or merge_group",
    ),
    "min_runs": _integer(2, 100),
    "threshold_percent": _number(above=0),
    "threshold_seconds": _number(at_least=0),
    "alpha": _number(above=0, below=0.5),
    "new_failure_pass_rate": _number(above=0, at_most=1),
    "confirm": _choice(CONFIRM_MODES),
    "confirm_reruns": _integer(0, 20),
    "comment": _choice(COMMENT_MODES),
    "comment_per": _choice(COMMENT_PER),
    "fail_on": _choice(COMPARISON_FAIL_ON),
    "workflows": _string_list(what="workflow file names or globs"),
    "ignore_jobs": _string_list(what="job name globs"),
}
REVIEW_SETTINGS: dict[str, _Check] = {
    "enabled": _boolean,
    "analyzers": _string_list(allowed=known_analyzers, what="analyzer names"),
    "ignore": _string_list(what="rule ids or globs"),
    "only_changed_lines": _boolean,
    "fail_on": _choice(REVIEW_FAIL_ON),
    "suggestions": _boolean,
    "security_strict": _boolean,
}


def _mention(value: Any, key: str, position: Position, validation: _Validation) -> str:
    if value == "" or (isinstance(value, str) and MENTION.fullmatch(value)):
        return str(value)
    hint = (
        "write the @ too, e.g. '@octo-org/ci-team'" if isinstance(value, str) and MENTION.fullmatch("@" + value) else ""
    )
    raise _Invalid("a user or team to mention, like '@octocat' or '@octo-org/ci-team', or '' for nobody", hint)


def _label(value: Any, key: str, position: Position, validation: _Validation) -> str:
    if isinstance(value, str) and value.strip() and len(value) <= 50 and "," not in value:
        return str(value)
    raise _Invalid("a label name of 1 to 50 characters without commas")


HEALTH_SETTINGS: dict[str, _Check] = {
    "enabled": _boolean,
    "schedule": _choice(HEALTH_SCHEDULES),
    "window_days": _integer(7, 90),
    "events": _string_list(
        allowed=lambda: WORKFLOW_RUN_EVENTS,
        what="workflow run events",
        non_empty=True,
        allowed_examples="a workflow run event such as push, schedule, workflow_dispatch or merge_group",
    ),
    "label": _label,
    "notify": _mention,
    "alpha": _number(above=0, below=0.5),
    "min_runs": _integer(3, 1000),
    "min_segment": _integer(3, 100),
    "threshold_percent": _number(above=0),
    "threshold_seconds": _number(at_least=0),
    "flaky_recovery_days": _integer(1, 90),
    "broken_after": _integer(2, 100),
    "queue_p90_seconds": _number(above=0),
    "jobs": _integer(0, 100),
}
SECTIONS: dict[str, dict[str, _Check]] = {
    "comparison": COMPARISON_SETTINGS,
    "review": REVIEW_SETTINGS,
    "health": HEALTH_SETTINGS,
}
TOP_LEVEL_KEYS = (*SECTIONS, "shared_actions")


def _unknown_key_message(key: Any, parent: str, known: Sequence[str]) -> str:
    """Name an unknown key under `parent` (a dotted path, "" for the top level) and suggest the key meant."""

    def dotted(name: str) -> str:
        return f"{parent}.{name}" if parent else name

    unknown = f"unknown key {dotted(str(key))!r}"
    suggestion = _closest(key, known) if isinstance(key, str) else None
    if suggestion:
        return f"{unknown}; did you mean {dotted(suggestion)!r}?"
    if parent in ("", *SECTIONS):
        for section, settings in SECTIONS.items():
            if section != parent and key in settings:
                return f"{unknown}; did you mean '{section}.{key}'? (it belongs under {section}:)"
    return f"{unknown}; the keys allowed here are " + ", ".join(known)


def _report_unknown_keys(node: Mapping, parent: str, known: Sequence[str], validation: _Validation) -> None:
    for key in node:
        if key not in known:
            dotted = f"{parent}.{key}" if parent else str(key)
            validation.report(_key_position(node, key), dotted, _unknown_key_message(key, parent, known))


def _check_section(node: Any, section: str, settings: dict[str, _Check], validation: _Validation) -> None:
    if not isinstance(node, Mapping):
        validation.report_invalid(_node_position(node), section, node, _Invalid("a mapping of settings"))
        return
    _report_unknown_keys(node, section, list(settings), validation)
    for key, value in node.items():
        if key not in settings:
            continue
        dotted = f"{section}.{key}"
        position = _value_position(node, key)
        try:
            checked = settings[key](value, dotted, position, validation)
        except _Invalid as error:
            validation.report_invalid(position, dotted, value, error)
        except _AlreadyReported:
            pass
        else:
            validation.keep(dotted, checked, _key_position(node, key))


def _check_step_pattern(pattern: Any, key: str, position: Position, validation: _Validation) -> dict | None:
    """One step pattern of `replaces`: globs for a step's uses and/or run (None when wrong)."""
    if not isinstance(pattern, Mapping) or not pattern:
        expected = "a step pattern: a mapping with at least one of " + _choice_list(STEP_PATTERN_KEYS)
        validation.report_invalid(position, key, pattern, _Invalid(expected, "e.g. {run: 'pip install*'}"))
        return None
    _report_unknown_keys(pattern, key, STEP_PATTERN_KEYS, validation)
    checked: dict[str, str] = {}
    for name, glob in pattern.items():
        if name not in STEP_PATTERN_KEYS:
            continue
        if isinstance(glob, str) and glob:
            checked[name] = str(glob)
        else:
            not_a_glob = _Invalid("a non-empty string (a glob)")
            validation.report_invalid(_value_position(pattern, name), f"{key}.{name}", glob, not_a_glob)
    return checked if len(checked) == len(pattern) else None


def _check_inputs(inputs: Any, key: str, position: Position, validation: _Validation) -> dict | None:
    """Inputs for the suggested snippet: a mapping of names to scalars (None when anything is wrong)."""
    if not isinstance(inputs, Mapping):
        validation.report_invalid(position, key, inputs, _Invalid("a mapping of input names to values"))
        return None
    checked: dict[str, str | int | float | bool] = {}
    for name, value in inputs.items():
        if isinstance(name, str) and isinstance(value, (str, int, float)):
            checked[str(name)] = _plain_scalar(value)
        else:
            expected = _Invalid("a string, number or boolean")
            validation.report_invalid(_value_position(inputs, name), f"{key}.{name}", value, expected)
    return checked if len(checked) == len(inputs) else None


def _check_shared_action(
    entry: Any, key: str, position: Position, validation: _Validation
) -> SharedActionConfig | None:
    """One `shared_actions` entry; None when anything in it is wrong (it is then left out)."""
    if not isinstance(entry, Mapping):
        validation.report_invalid(position, key, entry, _Invalid("a mapping with uses and replaces"))
        return None
    problems_before = len(validation.problems)
    _report_unknown_keys(entry, key, SHARED_ACTION_KEYS, validation)
    for required in ("uses", "replaces"):
        if required not in entry:
            validation.report(position, f"{key}.{required}", f"{key} is missing {required!r}")

    uses = entry.get("uses")
    if "uses" in entry and not (isinstance(uses, str) and ACTION_REFERENCE.fullmatch(uses)):
        expected = _Invalid("an action or reusable workflow reference like owner/repo/path@ref")
        validation.report_invalid(_value_position(entry, "uses"), f"{key}.uses", uses, expected)

    replaces = entry.get("replaces")
    patterns: list[dict | None] = []
    if "replaces" in entry and (not isinstance(replaces, list) or not replaces):
        expected = _Invalid("a non-empty list of step patterns")
        validation.report_invalid(_value_position(entry, "replaces"), f"{key}.replaces", replaces, expected)
    elif isinstance(replaces, list):
        for index, pattern in enumerate(replaces):
            pattern_key = f"{key}.replaces[{index}]"
            patterns.append(_check_step_pattern(pattern, pattern_key, _item_position(replaces, index), validation))

    inputs: dict | None = {}
    if "with" in entry:
        inputs = _check_inputs(entry["with"], f"{key}.with", _value_position(entry, "with"), validation)
    description = entry.get("description", "")
    if not isinstance(description, str):
        position = _value_position(entry, "description")
        validation.report_invalid(position, f"{key}.description", description, _Invalid("a string"))

    if len(validation.problems) > problems_before or inputs is None:
        return None
    return SharedActionConfig(
        uses=str(uses), replaces=tuple(p for p in patterns if p is not None), with_=inputs, description=str(description)
    )


def _check_shared_actions(node: Any, validation: _Validation, position: Position) -> None:
    if not isinstance(node, list):
        expected = _Invalid("a list of shared actions", "start each entry with '- uses: ...'")
        validation.report_invalid(position, "shared_actions", node, expected)
        return
    actions = [
        _check_shared_action(entry, f"shared_actions[{index}]", _item_position(node, index), validation)
        for index, entry in enumerate(node)
    ]
    validation.keep("shared_actions", tuple(action for action in actions if action is not None), position)


def _syntax_problem(error: YAMLError, source: str) -> ConfigProblem:
    if not isinstance(error, MarkedYAMLError) or error.problem_mark is None:
        return ConfigProblem(1, 1, "", f"the file is not valid YAML: {error}", source)
    line, column = error.problem_mark.line + 1, error.problem_mark.column + 1
    context_line = error.context_mark.line + 1 if error.context_mark is not None else None
    duplicate = re.match(r'found duplicate key "(.*?)" with value', error.problem or "")
    if isinstance(error, DuplicateKeyError) and duplicate and context_line is not None:
        message = f"the key {duplicate[1]!r} appears twice in the mapping that starts on line {context_line}"
        return ConfigProblem(line, column, duplicate[1], message, source)
    message = f"the file is not valid YAML: {error.problem}"
    if error.context and context_line is not None and context_line != line:
        message += f" ({error.context} started on line {context_line})"
    return ConfigProblem(line, column, "", message, source)


def parse_config_layer(text: str, source: str = "") -> tuple[ConfigLayer, list[ConfigProblem]]:
    """Validate one config file: the settings it validly makes, and every problem in it (by line)."""
    try:
        document = YAML(typ="rt").load(text)
    except YAMLError as error:
        return ConfigLayer(source=source), [_syntax_problem(error, source)]
    validation = _Validation(source)
    if document is None:
        return ConfigLayer(source=source), []
    if not isinstance(document, Mapping):
        shape = "a mapping of settings (comparison:, review:, health:, shared_actions:)"
        validation.report(_document_position(text), "", f"the file must be {shape}, got {_describe(document)}")
        return ConfigLayer(source=source), validation.problems
    _report_unknown_keys(document, "", TOP_LEVEL_KEYS, validation)
    for key, value in document.items():
        if key not in TOP_LEVEL_KEYS or value is None:
            continue  # an empty section (e.g. every setting commented out) sets nothing
        if key == "shared_actions":
            _check_shared_actions(value, validation, _key_position(document, key))
        else:
            _check_section(value, key, SECTIONS[key], validation)
    problems = sorted(validation.problems, key=lambda problem: (problem.line, problem.column))
    return ConfigLayer(validation.settings, validation.positions, source), problems
