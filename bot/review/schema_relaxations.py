"""Where GitHub accepts more than SchemaStore's workflow and action schemas: every relaxation, in one place, with why.

SchemaStore's schemas (shipped in check-jsonschema) describe GitHub's syntax stricter than GitHub reads it. A review
that fails a workflow GitHub runs is worse than one that misses an error, so the schemas are loosened here before use.
Two kinds of relaxation:

- type rules, applied everywhere by the validator's type checker (``relaxed_type_checker``):
  1. *A YAML scalar is a string.* ``run: true``, ``name: 1.10`` or ``default: 3`` are read as the strings ``"true"``,
     ``"1.10"`` and ``"3"`` by GitHub's parser wherever it expects a string.
  2. *An expression can stand for any value.* ``services: ${{ fromJSON(inputs.services) }}``,
     ``timeout-minutes: ${{ inputs.minutes }}``: a string holding ``${{ }}`` is evaluated at run time, so only the
     semantic checks (bot/review/expression_checks.py) judge it.
  With these, a value can match several branches of a ``oneOf`` (``"3"`` is a string and a scalar number), so every
  ``oneOf`` is read as ``anyOf``: the review asks "is this a form GitHub accepts", never "exactly one form".

- schema edits (``RELAXATIONS``), each a function with its reason in its docstring.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import jsonschema
from jsonschema import TypeChecker

Schema = dict[str, Any]
EXPRESSION = re.compile(r"\$\{\{.*\}\}", re.DOTALL)


def holds_expression(value: object) -> bool:
    """Whether ``value`` is a string with a ``${{ }}`` expression in it."""
    return isinstance(value, str) and EXPRESSION.search(value) is not None


def relaxed_type_checker(base: TypeChecker) -> TypeChecker:
    """``base`` with the two type rules of this module's docstring."""

    def string(checker: TypeChecker, value: object) -> bool:
        return isinstance(value, (str, int, float, bool))

    def or_expression(name: str) -> Callable[[TypeChecker, object], bool]:
        def check(checker: TypeChecker, value: object) -> bool:
            return base.is_type(value, name) or holds_expression(value)

        return check

    redefined = {name: or_expression(name) for name in ("object", "array", "boolean", "number", "integer")}
    return base.redefine_many({**redefined, "string": string})


def scalar_text(value: bool | int | float) -> str:
    """How GitHub reads a YAML scalar as a string: ``true``, ``3``, ``1.5``."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def skips_unknown_values(keyword: str, check: Callable[..., Any]) -> Callable[..., Any]:
    """A keyword check that leaves alone values known only at run time (which the type rules let through) and
    reads a scalar as the string GitHub makes of it for the string keywords (``pattern``, lengths)."""

    def validate(validator: Any, value: Any, instance: Any, schema: Schema) -> Any:
        if holds_expression(instance):
            return
        if keyword in STRING_KEYWORDS and isinstance(instance, (bool, int, float)):
            instance = scalar_text(instance)
        errors = check(validator, value, instance, schema)
        if errors:
            yield from errors

    return validate


STRING_KEYWORDS = frozenset({"pattern", "minLength", "maxLength"})
STRUCTURAL_KEYWORDS = frozenset({"$ref", "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "type"})
"""Keywords that still apply to expression values: they combine schemas or check the type itself."""


def relaxed_validator(schema: Schema, kind: str) -> jsonschema.protocols.Validator:
    """A validator for ``schema`` (a "workflow" or "action" schema) with every relaxation of this module applied."""
    relaxed = one_of_as_any_of(schema)
    for relax in RELAXATIONS[kind]:
        relax(relaxed)
    base = jsonschema.validators.validator_for(relaxed)
    keywords = {
        keyword: skips_unknown_values(keyword, check)
        for keyword, check in base.VALIDATORS.items()
        if keyword not in STRUCTURAL_KEYWORDS
    }
    validator_class = jsonschema.validators.extend(
        base, validators=keywords, type_checker=relaxed_type_checker(base.TYPE_CHECKER)
    )
    return validator_class(relaxed)


def one_of_as_any_of(node: Any) -> Any:
    """A copy of a schema with every ``oneOf`` renamed ``anyOf`` (see the module docstring)."""
    if isinstance(node, dict):
        return {("anyOf" if key == "oneOf" else key): one_of_as_any_of(value) for key, value in node.items()}
    if isinstance(node, list):
        return [one_of_as_any_of(item) for item in node]
    return node


def event_mapping(schema: Schema) -> Schema:
    """The object form of the workflow's ``on`` (events as keys)."""
    return next(branch for branch in schema["properties"]["on"]["anyOf"] if branch.get("type") == "object")


def filters_accept_one_pattern(schema: Schema) -> None:
    """``branches: main`` is one pattern: GitHub accepts a single string for every branch, tag and path filter."""
    globs = schema["definitions"]["globs"]
    schema["definitions"]["globs"] = {"anyOf": [globs, {"type": "string", "minLength": 1}]}


def env_values_may_be_null(schema: Schema) -> None:
    """``FOO:`` with no value sets ``FOO`` to the empty string on GitHub."""
    env = schema["definitions"]["env"]
    mapping = next(branch for branch in env["anyOf"] if branch.get("type") == "object")
    mapping["additionalProperties"]["anyOf"].append({"type": "null"})


def strategy_without_matrix(schema: Schema) -> None:
    """``strategy: {fail-fast: false}`` without ``matrix`` is accepted by GitHub (the job runs once)."""
    strategy = schema["definitions"]["normalJob"]["properties"]["strategy"]
    strategy.pop("required", None)


def empty_secret_and_container(schema: Schema) -> None:
    """``MY_TOKEN:`` with nothing under it declares an optional secret of a reusable workflow, and ``container:`` with
    no value runs the job without a container: YAML makes both null, and GitHub reads them as empty."""
    call = event_mapping(schema)["properties"]["workflow_call"]
    mapping = next(branch for branch in call["anyOf"] if branch.get("type") == "object")
    for secret in mapping["properties"]["secrets"]["patternProperties"].values():
        secret["type"] = ["object", "null"]
    container = schema["definitions"]["normalJob"]["properties"]["container"]
    schema["definitions"]["normalJob"]["properties"]["container"] = {"anyOf": [container, {"type": "null"}]}


def image_version_event(schema: Schema) -> None:
    """``image_version`` (custom runner images, 2025) triggers a workflow; SchemaStore's copy does not know it yet."""
    schema["definitions"]["event"]["enum"].append("image_version")
    names = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
    event_mapping(schema)["properties"]["image_version"] = {
        "anyOf": [
            {"type": "null"},
            {
                "type": "object",
                "properties": {"names": names, "versions": names},
                "additionalProperties": False,
            },
        ]
    }


def snapshot_condition_and_wildcard(schema: Schema) -> None:
    """A job's ``snapshot`` takes ``if:``, and ``version`` takes a minor wildcard (``2.*``), as GitHub documents."""
    snapshot = schema["definitions"]["snapshot"]
    mapping = next(branch for branch in snapshot["anyOf"] if branch.get("type") == "object")
    mapping["properties"]["if"] = {"type": ["boolean", "number", "string"]}
    mapping["properties"]["version"]["pattern"] = r"^\d+(\.(\d+|\*))?$"


def action_inputs_as_the_runner_reads_them(schema: Schema) -> None:
    """The runner reads an action input's ``description``, ``required``, ``default`` and ``deprecationMessage`` and
    ignores other keys (``type:`` is common in the wild); an input without ``description`` works."""
    for input_schema in schema["properties"]["inputs"]["patternProperties"].values():
        input_schema.pop("additionalProperties", None)
        input_schema.pop("required", None)


def composite_run_steps_need_a_shell(schema: Schema) -> None:
    """Not a relaxation: SchemaStore says "a composite ``run`` step needs ``shell``" with a ``oneOf`` that relies on
    exactly one branch matching; with ``oneOf`` read as ``anyOf`` the rule is restated as if/then."""
    composite = schema["definitions"]["runs-composite"]["properties"]["steps"]["items"]
    composite.pop("anyOf", None)
    composite["if"] = {"required": ["run"]}
    composite["then"] = {"required": ["shell"]}


RELAXATIONS: dict[str, tuple[Callable[[Schema], None], ...]] = {
    "workflow": (
        filters_accept_one_pattern,
        env_values_may_be_null,
        strategy_without_matrix,
        empty_secret_and_container,
        image_version_event,
        snapshot_condition_and_wildcard,
    ),
    "action": (action_inputs_as_the_runner_reads_them, composite_run_steps_need_a_shell),
}
"""The schema edits, by file kind; each function's docstring says why GitHub accepts what the edit allows."""
