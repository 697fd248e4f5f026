"""Checks of the ``${{ }}`` expressions of a workflow: syntax, names, where each context may be used, and types.

Levels follow what GitHub does with the workflow:
- ``syntax/expression`` (error): GitHub rejects the workflow: a syntax error, an unknown context or function, a
  wrong number of arguments, a context or status function used where GitHub does not offer it (the table is GitHub's
  "Context availability", docs: "Contexts reference").
- ``syntax/expression-type`` (warning): GitHub runs it, but the value is not what the author meant: a property that
  is not defined (a step id, a needed job, a matrix key, an input that does not exist evaluates to null), an object
  printed into a string, comparisons GitHub's coercion makes meaningless, a literal that ``fromJSON`` cannot read.
- ``syntax/if-condition``: text around ``${{ }}`` in ``if:`` makes the condition a non-empty string, always true
  (warning); a condition with no context or status function in it is constant (notice).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from bot.review.expressions import (
    Binary,
    Call,
    Context,
    ExpressionError,
    Index,
    Literal,
    Node,
    Not,
    Property,
    embedded_expressions,
    parse_expression,
    walk,
)
from bot.review.model import Finding, Level
from bot.review.yaml_lines import item_position, key_position, value_position

ALL_CONTEXTS = frozenset(
    {"github", "env", "vars", "job", "jobs", "steps", "runner", "secrets", "strategy", "matrix", "needs", "inputs"}
)
STATUS_FUNCTIONS = frozenset({"always", "success", "failure", "cancelled"})
FUNCTION_ARITY: dict[str, tuple[int, int | None]] = {
    "contains": (2, 2),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "format": (1, None),
    "join": (1, 2),
    "tojson": (1, 1),
    "fromjson": (1, 1),
    "hashfiles": (1, None),
    "case": (3, None),
    "always": (0, 0),
    "success": (0, 0),
    "failure": (0, 0),
    "cancelled": (0, 0),
}
"""GitHub's expression functions (lower-cased) with their least and most arguments (None: no limit)."""

STEP = {"env", "github", "inputs", "job", "matrix", "needs", "runner", "secrets", "steps", "strategy", "vars"}
JOB = {"github", "inputs", "matrix", "needs", "strategy", "vars"}
AVAILABILITY: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    key: (frozenset(contexts), frozenset(functions))
    for key, contexts, functions in (
        ("run-name", {"github", "inputs", "vars"}, ()),
        ("concurrency", {"github", "inputs", "vars"}, ()),
        ("env", {"github", "inputs", "secrets", "vars"}, ()),
        ("defaults.run", (), ()),
        ("on.workflow_call.inputs.<inputs_id>.default", {"github", "inputs", "vars"}, ()),
        ("on.workflow_call.outputs.<output_id>.value", {"github", "inputs", "jobs", "vars"}, ()),
        ("jobs.<job_id>.if", {"github", "inputs", "needs", "vars"}, STATUS_FUNCTIONS),
        ("jobs.<job_id>.strategy", {"github", "inputs", "needs", "vars"}, ()),
        ("jobs.<job_id>.concurrency", JOB, ()),
        ("jobs.<job_id>.container", JOB, ()),
        ("jobs.<job_id>.container.image", JOB, ()),
        ("jobs.<job_id>.continue-on-error", JOB, ()),
        ("jobs.<job_id>.environment", JOB, ()),
        ("jobs.<job_id>.name", JOB, ()),
        ("jobs.<job_id>.runs-on", JOB, ()),
        ("jobs.<job_id>.services", JOB, ()),
        ("jobs.<job_id>.timeout-minutes", JOB, ()),
        ("jobs.<job_id>.with.<with_id>", JOB, ()),
        ("jobs.<job_id>.env", JOB | {"secrets"}, ()),
        ("jobs.<job_id>.secrets.<secrets_id>", JOB | {"secrets"}, ()),
        ("jobs.<job_id>.defaults.run", JOB | {"env"}, ()),
        ("jobs.<job_id>.container.credentials", JOB | {"env", "secrets"}, ()),
        ("jobs.<job_id>.services.<service_id>.credentials", JOB | {"env", "secrets"}, ()),
        ("jobs.<job_id>.container.env.<env_id>", STEP - {"steps"}, ()),
        ("jobs.<job_id>.services.<service_id>.env.<env_id>", STEP - {"steps"}, ()),
        ("jobs.<job_id>.environment.url", STEP - {"secrets"}, ()),
        ("jobs.<job_id>.outputs.<output_id>", STEP, ()),
        ("jobs.<job_id>.steps.if", STEP - {"secrets"}, STATUS_FUNCTIONS | {"hashfiles"}),
        ("jobs.<job_id>.steps.shell", (), ()),
        *(
            (f"jobs.<job_id>.steps.{key}", STEP, {"hashfiles"})
            for key in ("continue-on-error", "env", "name", "run", "timeout-minutes", "with", "working-directory")
        ),
    )
}
"""Per workflow key: the contexts and the special functions (status functions, hashFiles) GitHub offers there."""
SPECIAL_FUNCTIONS = STATUS_FUNCTIONS | {"hashfiles"}
STRING_PLACES = frozenset(
    {
        "run-name",
        "jobs.<job_id>.name",
        "jobs.<job_id>.steps.name",
        "jobs.<job_id>.steps.run",
        "jobs.<job_id>.steps.working-directory",
    }
)
"""Keys whose value GitHub uses as a string: an object, array or null printed there is not what was meant."""


@dataclass(frozen=True)
class Type:
    """What an expression evaluates to, as far as the workflow tells: ``any`` when it does not.

    An ``object`` has the ``properties`` the workflow defines; other properties exist with type ``values``, or,
    when ``values`` is None (a closed object), do not exist. An ``array`` has items of type ``values``.
    """

    kind: str
    properties: Mapping[str, Type] = field(default_factory=dict)
    values: Type | None = None

    def describe(self) -> str:
        if self.kind == "array":
            return f"array of {self.values.describe() if self.values else 'any'}"
        return self.kind


ANY = Type("any")
STRING = Type("string")
NUMBER = Type("number")
BOOL = Type("bool")
NULL = Type("null")


def open_object(values: Type = ANY, **known: Type) -> Type:
    return Type("object", known, values)


def closed_object(properties: Mapping[str, Type]) -> Type:
    return Type("object", {name.lower(): kind for name, kind in properties.items()})


def join(left: Type, right: Type) -> Type:
    """The type of a value that is one of two types."""
    if left == right:
        return left
    if left.kind == right.kind and left.kind in ("object", "array"):
        return Type(left.kind, {}, ANY)
    return ANY


def type_of_value(value: Any) -> Type:
    """The type of a YAML or JSON value; a string holding an expression is ``any``."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, (int, float)):
        return NUMBER
    if isinstance(value, str):
        return ANY if "${{" in value else STRING
    if isinstance(value, Mapping):
        return closed_object({str(key): type_of_value(item) for key, item in value.items()})
    if isinstance(value, list):
        items = [type_of_value(item) for item in value]
        joined = items[0] if items else ANY
        for item in items[1:]:
            joined = join(joined, item)
        return Type("array", {}, joined)
    return ANY


RUNNER = closed_object(dict.fromkeys(("name", "os", "arch", "temp", "tool_cache", "debug", "environment"), STRING))
STRATEGY = closed_object({"fail-fast": BOOL, "job-index": NUMBER, "job-total": NUMBER, "max-parallel": NUMBER})
INPUT_TYPES = {"boolean": BOOL, "number": NUMBER}


@dataclass
class Scope:
    """The type of each context at one place of a workflow."""

    contexts: dict[str, Type] = field(default_factory=dict)

    def with_contexts(self, **contexts: Type) -> Scope:
        return Scope({**self.contexts, **contexts})


@dataclass(frozen=True)
class Problem:
    level: Level
    rule: str
    message: str
    offset: int


class ExpressionChecker:
    """Checks one expression against the contexts and functions of its place, and infers its type."""

    def __init__(self, scope: Scope, key: str | None) -> None:
        self.scope = scope
        self.available = AVAILABILITY.get(key) if key else None
        self.key = key
        self.problems: list[Problem] = []

    def report(self, level: Level, rule: str, message: str, offset: int) -> None:
        self.problems.append(Problem(level, rule, message, offset))

    def check_names(self, node: Node) -> None:
        """Unknown contexts and functions, argument counts and availability: what GitHub rejects outright."""
        for part in walk(node):
            if isinstance(part, Context):
                if part.name not in ALL_CONTEXTS:
                    known = ", ".join(sorted(ALL_CONTEXTS))
                    self.report(
                        "error", "syntax/expression", f"unknown context `{part.name}` (known: {known})", part.offset
                    )
                elif self.available is not None and part.name not in self.available[0]:
                    self.report("error", "syntax/expression", self.unavailable(f"context `{part.name}`"), part.offset)
            elif isinstance(part, Call):
                arity = FUNCTION_ARITY.get(part.name)
                if arity is None:
                    self.report("error", "syntax/expression", f"unknown function `{part.written}`", part.offset)
                    continue
                least, most = arity
                count = len(part.arguments)
                if count < least or (most is not None and count > most):
                    expected = (
                        str(least) if least == most else f"at least {least}" if most is None else f"{least}-{most}"
                    )
                    message = f"`{part.written}` takes {expected} argument(s), not {count}"
                    self.report("error", "syntax/expression", message, part.offset)
                if part.name in SPECIAL_FUNCTIONS and self.available is not None and part.name not in self.available[1]:
                    self.report(
                        "error", "syntax/expression", self.unavailable(f"function `{part.written}`"), part.offset
                    )

    def unavailable(self, what: str) -> str:
        assert self.available is not None
        contexts = ", ".join(sorted(self.available[0])) or "none"
        return f"{what} is not available in `{self.key}` (available contexts: {contexts})"

    def type_of(self, node: Node) -> Type:
        """The type of ``node``, reporting undefined properties and meaningless operations on the way."""
        if isinstance(node, Literal):
            return type_of_value(node.value) if not isinstance(node.value, str) else STRING
        if isinstance(node, Context):
            return self.scope.contexts.get(node.name, ANY)
        if isinstance(node, Property):
            return self.property_type(node)
        if isinstance(node, Index):
            receiver, index = self.type_of(node.receiver), self.type_of(node.index)
            if receiver.kind == "object" and index.kind in ("bool", "null", "object", "array"):
                message = f"an object's property name must be a string, not {index.describe()}"
                self.report("warning", "syntax/expression-type", message, node.offset)
            if receiver.kind == "array" and index.kind in ("string", "bool", "null", "object", "array"):
                message = f"an array's index must be a number, not {index.describe()}"
                self.report("warning", "syntax/expression-type", message, node.offset)
            if receiver.kind == "array":
                return receiver.values or ANY
            return receiver.values or ANY if receiver.kind == "object" else ANY
        if isinstance(node, Call):
            return self.call_type(node)
        if isinstance(node, Not):
            self.type_of(node.operand)
            return BOOL
        if isinstance(node, Binary):
            left, right = self.type_of(node.left), self.type_of(node.right)
            if node.operator in ("&&", "||"):
                return join(left, right)
            self.check_comparison(node, left, right)
            return BOOL
        return ANY

    def property_type(self, node: Property) -> Type:
        receiver = self.type_of(node.receiver)
        if receiver.kind == "array":
            return Type("array", {}, self.member(receiver.values or ANY, node) if node.name else receiver.values)
        if node.name is None:
            if receiver.kind == "object" and not receiver.properties:
                return Type("array", {}, receiver.values or ANY)
            return Type("array", {}, ANY)
        return self.member(receiver, node)

    def member(self, receiver: Type, node: Property) -> Type:
        if receiver.kind == "any" or node.name is None:
            return ANY
        if receiver.kind != "object":
            message = f"`{node.name}` is read from a {receiver.describe()} value, which has no properties"
            self.report("warning", "syntax/expression-type", message, node.offset)
            return ANY
        if node.name in receiver.properties:
            return receiver.properties[node.name]
        if receiver.values is not None:
            return receiver.values
        known = ", ".join(f"`{name}`" for name in sorted(receiver.properties)) or "none"
        message = f"property `{node.name}` is not defined here, so it evaluates to null (defined: {known})"
        self.report("warning", "syntax/expression-type", message, node.offset)
        return ANY

    def call_type(self, node: Call) -> Type:
        arguments = [self.type_of(argument) for argument in node.arguments]
        if node.name in ("contains", "startswith", "endswith") or node.name in STATUS_FUNCTIONS:
            return BOOL
        if node.name in ("format", "join", "tojson", "hashfiles"):
            return STRING
        if node.name == "fromjson" and node.arguments and isinstance(node.arguments[0], Literal):
            literal = node.arguments[0].value
            if isinstance(literal, str):
                try:
                    return type_of_value(json.loads(literal))
                except json.JSONDecodeError as error:
                    message = f"`{node.written}` is given a string that is not JSON: {error.msg} at {error.pos}"
                    self.report("warning", "syntax/expression-type", message, node.offset)
        if node.name == "case" and len(arguments) >= 2:
            return join(arguments[1], arguments[-1])
        return ANY

    def check_comparison(self, node: Binary, left: Type, right: Type) -> None:
        kinds = {left.kind, right.kind} - ({"null"} if node.operator in ("==", "!=") else set())
        if "any" in kinds:
            return
        structured = kinds & {"object", "array"}
        if node.operator in ("==", "!=") and structured and (len(kinds) > 1 or (left != right and "array" in kinds)):
            message = f"comparing {left.describe()} with {right.describe()} by `{node.operator}` is never what it seems"
            self.report("warning", "syntax/expression-type", message, node.offset)
        elif node.operator in ("<", "<=", ">", ">=") and kinds & {"null", "bool", "object", "array"}:
            message = f"ordering {left.describe()} and {right.describe()} with `{node.operator}` is not meaningful"
            self.report("warning", "syntax/expression-type", message, node.offset)


@dataclass(frozen=True)
class Place:
    """One scalar of the workflow that may hold expressions: its key in the availability table and where it is."""

    key: str | None
    value: str
    line: int
    column: int
    scope: Scope
    condition: bool = False


def parsed_node(problems: list[Problem], text: str, base: int) -> Node | None:
    try:
        return parse_expression(text)
    except ExpressionError as error:
        problems.append(
            Problem("error", "syntax/expression", f"invalid expression: {error.message}", base + error.offset)
        )
        return None


def place_problems(place: Place) -> list[Problem]:
    """Every problem of the expressions in one place, offsets within ``place.value``."""
    problems: list[Problem] = []
    embedded, unclosed = embedded_expressions(place.value)
    if unclosed is not None:
        problems.append(
            Problem("error", "syntax/expression", f"invalid expression: {unclosed.message}", unclosed.offset)
        )
    if place.condition:
        stripped = place.value.strip()
        whole = len(embedded) == 1 and stripped.startswith("${{") and stripped.endswith("}}")
        if embedded and not whole:
            message = (
                "text around `${{ }}` makes this condition a non-empty string, which is always true; "
                "write the whole condition inside one `${{ }}`"
            )
            problems.append(Problem("warning", "syntax/if-condition", message, 0))
        elif not embedded:
            node = parsed_node(problems, place.value, 0)
            if node is not None:
                problems.extend(node_problems(place, node, 0, condition=True))
            return problems
    for part in embedded:
        node = parsed_node(problems, part.text, part.start)
        if node is None:
            continue
        alone = len(embedded) == 1 and place.value.strip() == "${{" + part.text + "}}"
        problems.extend(node_problems(place, node, part.start, condition=place.condition and alone, alone=alone))
    return problems


def node_problems(place: Place, node: Node, base: int, *, condition: bool, alone: bool = True) -> list[Problem]:
    checker = ExpressionChecker(place.scope, place.key)
    checker.check_names(node)
    value_type = checker.type_of(node)
    problems = [Problem(p.level, p.rule, p.message, base + p.offset) for p in checker.problems]
    if condition and not any(
        isinstance(part, Context) or (isinstance(part, Call) and part.name in SPECIAL_FUNCTIONS) for part in walk(node)
    ):
        message = "this condition uses no context or status function, so it is always the same: remove the `if:`"
        problems.append(Problem("notice", "syntax/if-condition", message, base))
    printed = not alone or place.key in STRING_PLACES
    if not condition and printed and value_type.kind in ("object", "array", "null"):
        message = (
            f"this `${{{{ }}}}` evaluates to {value_type.describe()}, which is not printed as you may expect: "
            "use `toJSON(...)` for the whole value or pick a property"
        )
        problems.append(Problem("warning", "syntax/expression-type", message, base))
    if place.key == "jobs.<job_id>.runs-on" and value_type.kind == "object":
        problems.append(
            Problem("warning", "syntax/expression-type", "`runs-on` takes a label or a list, not an object", base)
        )
    return problems


def workflow_expression_findings(path: str, data: CommentedMap, lines: tuple[str, ...]) -> list[Finding]:
    """Findings for every expression of a parsed workflow."""
    findings: list[Finding] = []
    for place in workflow_places(data):
        for problem in place_problems(place):
            line, column = text_position(lines, place, problem.offset)
            findings.append(Finding(path, line, column, line, problem.level, problem.rule, problem.message))
    return findings


def action_expression_findings(path: str, data: CommentedMap, lines: tuple[str, ...]) -> list[Finding]:
    """Findings for the expressions of a composite action's steps: syntax, unknown names and functions."""
    runs = data.get("runs")
    steps = runs.get("steps") if isinstance(runs, CommentedMap) else None
    findings: list[Finding] = []
    if not isinstance(steps, CommentedSeq):
        return findings
    for place in scalar_places(steps, None, Scope(), ()):
        for problem in place_problems(place):
            if problem.rule != "syntax/expression":
                continue
            line, column = text_position(lines, place, problem.offset)
            findings.append(Finding(path, line, column, line, problem.level, problem.rule, problem.message))
    return findings


def text_position(lines: tuple[str, ...], place: Place, offset: int) -> tuple[int, int]:
    """1-based line and column in the file of ``offset`` in a place's value (plain, quoted or block scalar)."""
    text = lines[place.line - 1] if 0 < place.line <= len(lines) else ""
    raw = text[place.column - 1 :]
    before = place.value[:offset]
    if "\n" not in place.value and raw[:1] not in ("|", ">"):
        shift = 1 if raw[:1] in ("'", '"') else 0
        return place.line, place.column + shift + offset
    if raw[:1] == "|":
        line = place.line + 1 + before.count("\n")
        while line <= len(lines) and not lines[line - 1].strip() and before.count("\n") == 0:
            line += 1
        if line <= len(lines):
            body = lines[line - 1]
            indent = len(body) - len(body.lstrip())
            return line, indent + 1 + len(before) - (before.rfind("\n") + 1)
    needle = place.value[offset : offset + 12].split("\n")[0]
    for number in range(place.line, min(len(lines), place.line + place.value.count("\n") + 3) + 1):
        found = lines[number - 1].find(needle) if needle else -1
        if found >= 0:
            return number, found + 1
    return place.line, place.column


def scalar_places(node: Any, key: str | None, scope: Scope, at: tuple[Any, Any] | tuple[()]) -> Iterator[Place]:
    """Every string scalar under ``node`` (``at`` is the parent mapping or sequence and the key or index of it)."""
    if isinstance(node, str):
        parent, where = at if at else (None, None)
        position = None
        if isinstance(parent, CommentedMap):
            position = value_position(parent, where)
        elif isinstance(parent, CommentedSeq) and isinstance(where, int):
            position = item_position(parent, where)
        if position is not None and "${{" in node:
            yield Place(key, node, position[0], position[1], scope)
    elif isinstance(node, CommentedMap):
        for name, value in node.items():
            position = key_position(node, name)
            if isinstance(name, str) and "${{" in name and position is not None:
                yield Place(key, name, position[0], position[1], scope)
            yield from scalar_places(value, key, scope, (node, name))
    elif isinstance(node, CommentedSeq):
        for index, value in enumerate(node):
            yield from scalar_places(value, key, scope, (node, index))


def condition_place(mapping: CommentedMap, key: str, scope: Scope) -> Iterator[Place]:
    value = mapping.get("if")
    position = value_position(mapping, "if")
    if isinstance(value, str) and position is not None:
        yield Place(key, value, position[0], position[1], scope, condition=True)


def workflow_places(data: CommentedMap) -> Iterator[Place]:
    """Every place of a workflow that may hold an expression, with its availability key and scope."""
    base = workflow_scope(data)
    for key in ("run-name", "concurrency", "env"):
        if key in data:
            yield from scalar_places(data[key], key, base, (data, key))
    defaults = data.get("defaults")
    if isinstance(defaults, CommentedMap) and "run" in defaults:
        yield from scalar_places(defaults["run"], "defaults.run", base, (defaults, "run"))
    call = workflow_call(data)
    jobs = data.get("jobs") if isinstance(data.get("jobs"), CommentedMap) else CommentedMap()
    if isinstance(call, CommentedMap):
        for section, key, scope in (
            ("inputs", "on.workflow_call.inputs.<inputs_id>.default", base),
            ("outputs", "on.workflow_call.outputs.<output_id>.value", base.with_contexts(jobs=jobs_type(jobs))),
        ):
            entries = call.get(section)
            field_name = "default" if section == "inputs" else "value"
            if isinstance(entries, CommentedMap):
                for entry in entries.values():
                    if isinstance(entry, CommentedMap) and field_name in entry:
                        yield from scalar_places(entry[field_name], key, scope, (entry, field_name))
    for job_id, job in jobs.items():
        if isinstance(job, CommentedMap):
            yield from job_places(str(job_id), job, jobs, base)


def job_places(job_id: str, job: CommentedMap, jobs: CommentedMap, base: Scope) -> Iterator[Place]:
    needs = needed_jobs(job)
    needs_type = closed_object({name: job_result_type(jobs.get(name)) for name in needs})
    outer = base.with_contexts(needs=needs_type)
    scope = outer.with_contexts(matrix=matrix_type(job), strategy=STRATEGY)
    prefix = "jobs.<job_id>"
    yield from condition_place(job, f"{prefix}.if", outer)
    if "strategy" in job:
        yield from scalar_places(job["strategy"], f"{prefix}.strategy", outer, (job, "strategy"))
    for key in ("name", "runs-on", "environment", "concurrency", "continue-on-error", "timeout-minutes", "env"):
        if key not in job:
            continue
        value = job[key]
        if key == "environment" and isinstance(value, CommentedMap):
            for name, item in value.items():
                sub = f"{prefix}.environment.url" if name == "url" else f"{prefix}.environment"
                url_scope = scope.with_contexts(steps=steps_type(job, None), runner=RUNNER)
                yield from scalar_places(item, sub, url_scope if name == "url" else scope, (value, name))
            continue
        yield from scalar_places(value, f"{prefix}.{key}", scope, (job, key))
    for section, key in (("with", f"{prefix}.with.<with_id>"), ("secrets", f"{prefix}.secrets.<secrets_id>")):
        if section in job:
            yield from scalar_places(job[section], key, scope, (job, section))
    if "outputs" in job:
        output_scope = scope.with_contexts(steps=steps_type(job, None), runner=RUNNER)
        yield from scalar_places(job["outputs"], f"{prefix}.outputs.<output_id>", output_scope, (job, "outputs"))
    defaults = job.get("defaults")
    if isinstance(defaults, CommentedMap) and "run" in defaults:
        yield from scalar_places(defaults["run"], f"{prefix}.defaults.run", scope, (defaults, "run"))
    yield from container_places(job, scope)
    steps = job.get("steps")
    if isinstance(steps, CommentedSeq):
        for index, step in enumerate(steps):
            if isinstance(step, CommentedMap):
                step_scope = scope.with_contexts(steps=steps_type(job, index), runner=RUNNER)
                yield from step_places(step, step_scope)


def container_places(job: CommentedMap, scope: Scope) -> Iterator[Place]:
    prefix = "jobs.<job_id>"
    container = job.get("container")
    if isinstance(container, CommentedMap):
        for name, value in container.items():
            key = {"image": "container.image", "credentials": "container.credentials", "env": "container.env.<env_id>"}
            yield from scalar_places(value, f"{prefix}.{key.get(str(name), 'container')}", scope, (container, name))
    elif "container" in job:
        yield from scalar_places(container, f"{prefix}.container", scope, (job, "container"))
    services = job.get("services")
    if not isinstance(services, CommentedMap):
        if "services" in job:
            yield from scalar_places(services, f"{prefix}.services", scope, (job, "services"))
        return
    for service in services.values():
        if not isinstance(service, CommentedMap):
            continue
        for name, value in service.items():
            key = {"credentials": "services.<service_id>.credentials", "env": "services.<service_id>.env.<env_id>"}
            yield from scalar_places(value, f"{prefix}.{key.get(str(name), 'services')}", scope, (service, name))


def step_places(step: CommentedMap, scope: Scope) -> Iterator[Place]:
    prefix = "jobs.<job_id>.steps"
    yield from condition_place(step, f"{prefix}.if", scope)
    for key in ("name", "run", "with", "env", "continue-on-error", "timeout-minutes", "working-directory", "shell"):
        if key in step:
            yield from scalar_places(step[key], f"{prefix}.{key}", scope, (step, key))


def workflow_call(data: CommentedMap) -> Any:
    on = data.get("on")
    return on.get("workflow_call") if isinstance(on, CommentedMap) else None


def events(data: CommentedMap) -> list[str]:
    on = data.get("on")
    if isinstance(on, str):
        return [on]
    if isinstance(on, list):
        return [str(event) for event in on]
    if isinstance(on, dict):
        return [str(event) for event in on]
    return []


def workflow_scope(data: CommentedMap) -> Scope:
    """The contexts every place of the workflow shares."""
    contexts = {
        "github": open_object(event=open_object()),
        "env": open_object(STRING),
        "vars": open_object(STRING),
        "secrets": open_object(STRING),
        "job": open_object(),
        "runner": RUNNER,
        "strategy": STRATEGY,
        "inputs": inputs_type(data),
    }
    return Scope(contexts)


def inputs_type(data: CommentedMap) -> Type:
    """The ``inputs`` context: the inputs of ``workflow_call`` and ``workflow_dispatch``, typed; open if unknown."""
    names = events(data)
    if "workflow_call" not in names and "workflow_dispatch" not in names:
        return closed_object({})
    on = data.get("on")
    declared: dict[str, Type] = {}
    for event in ("workflow_call", "workflow_dispatch"):
        settings = on.get(event) if isinstance(on, CommentedMap) else None
        inputs = settings.get("inputs") if isinstance(settings, CommentedMap) else None
        if isinstance(inputs, str):
            return open_object()
        if isinstance(inputs, CommentedMap):
            for name, spec in inputs.items():
                kind = spec.get("type") if isinstance(spec, CommentedMap) else None
                declared[str(name)] = INPUT_TYPES.get(str(kind), STRING)
    return closed_object(declared)


def needed_jobs(job: CommentedMap) -> list[str]:
    needs = job.get("needs")
    if isinstance(needs, str):
        return [needs]
    if isinstance(needs, list):
        return [str(name) for name in needs]
    return []


def job_result_type(job: Any) -> Type:
    """``needs.<job>`` or ``jobs.<job>``: its ``result`` and ``outputs`` (closed when the job lists them)."""
    outputs = job.get("outputs") if isinstance(job, CommentedMap) else None
    if isinstance(outputs, CommentedMap) and "uses" not in job:
        outputs_type = closed_object(dict.fromkeys((str(name) for name in outputs), STRING))
    else:
        outputs_type = open_object(STRING)
    return closed_object({"result": STRING, "outputs": outputs_type})


def jobs_type(jobs: CommentedMap) -> Type:
    return closed_object({str(job_id): job_result_type(job) for job_id, job in jobs.items()})


def steps_type(job: CommentedMap, before: int | None) -> Type:
    """``steps``: the steps with an ``id`` before step ``before`` (all of them when None)."""
    steps = job.get("steps")
    known: dict[str, Type] = {}
    if isinstance(steps, CommentedSeq):
        for index, step in enumerate(steps):
            if before is not None and index >= before:
                break
            if isinstance(step, CommentedMap) and isinstance(step.get("id"), str) and "${{" not in step["id"]:
                known[step["id"]] = closed_object(
                    {"outputs": open_object(STRING), "outcome": STRING, "conclusion": STRING}
                )
    return closed_object(known)


def matrix_type(job: CommentedMap) -> Type:
    """``matrix``: its keys and their value types when the matrix is written out; open when it is computed."""
    strategy = job.get("strategy")
    if not isinstance(strategy, CommentedMap) or "matrix" not in strategy:
        return closed_object({})
    matrix = strategy["matrix"]
    if not isinstance(matrix, CommentedMap):
        return open_object()
    keys: dict[str, Type] = {}
    for name, values in matrix.items():
        if name == "exclude":
            continue
        if name == "include":
            if not isinstance(values, CommentedSeq):
                return open_object()
            for row in values:
                if not isinstance(row, CommentedMap):
                    return open_object()
                for row_key, row_value in row.items():
                    new = type_of_value(row_value)
                    keys[str(row_key)] = join(keys[str(row_key)], new) if str(row_key) in keys else new
            continue
        if not isinstance(values, CommentedSeq):
            return open_object()
        axis = type_of_value(list(values))
        new = axis.values or ANY
        keys[str(name)] = join(keys[str(name)], new) if str(name) in keys else new
    return closed_object(keys)
