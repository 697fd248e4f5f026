"""A fast yes/no answer to "does this file fit the relaxed schema?": jsonschema's verdict, compiled to closures.

Most workflows are valid, and jsonschema spends most of the syntax analyzer's time proving it. The relaxed schemas
(bot/review/schema_relaxations.py) are compiled here once into Python closures that give the same verdict for the
draft-07 keywords SchemaStore's workflow and action schemas use, with the same relaxations (a scalar is a string,
an expression stands for any value and skips the keywords that look inside values). Only a file that does not fit
is validated again by jsonschema, which says what is wrong and where. tests/review/test_review_schema_check.py
compares both verdicts on every fixture and on mutated copies of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema

from bot.review.schema_relaxations import STRING_KEYWORDS, STRUCTURAL_KEYWORDS, holds_expression, scalar_text

Check = Callable[[Any], bool]
DRAFT7_TYPES = jsonschema.Draft7Validator.TYPE_CHECKER
COMPILED_KEYWORDS = frozenset(
    {"$ref", "type", "anyOf", "oneOf", "allOf", "not", "if", "enum", "const", "properties", "patternProperties"}
    | {"additionalProperties", "required", "minProperties", "items", "minItems", "dependencies", "pattern", "minLength"}
)
"""What is compiled here; a schema with another draft-07 keyword is left to jsonschema alone (UnsupportedSchema)."""


class UnsupportedSchema(ValueError):
    """The schema uses a keyword this compiler does not know: the caller validates with jsonschema alone."""


def base_type(value: Any, name: str) -> bool:
    """jsonschema's draft-07 type rules (a bool is not a number)."""
    if name == "object":
        return isinstance(value, dict)
    if name == "array":
        return isinstance(value, list)
    if name == "string":
        return isinstance(value, str)
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    return bool(DRAFT7_TYPES.is_type(value, name))  # integer (1.0 is one), number


def relaxed_type(value: Any, name: str) -> bool:
    """The type rules of bot/review/schema_relaxations.py: a scalar is a string; an expression is anything but null."""
    if name == "string":
        return isinstance(value, (str, int, float, bool))
    if name == "null":
        return value is None
    return base_type(value, name) or holds_expression(value)


def unbool(value: Any) -> Any:
    return ("bool", value) if isinstance(value, bool) else value


def equal(one: Any, two: Any) -> bool:
    """jsonschema's equality: ``true`` is not ``1``, also inside lists and mappings."""
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, list) and isinstance(two, list):
        return len(one) == len(two) and all(equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, dict) and isinstance(two, dict):
        return one.keys() == two.keys() and all(equal(one[key], two[key]) for key in one)
    return bool(unbool(one) == unbool(two))


class SchemaCompiler:
    """Compiles one schema document (``$ref`` within it) into a Check."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self.compiled: dict[str, Check] = {}

    def check(self) -> Check:
        return self.compile(self.document)

    def reference(self, ref: str) -> Check:
        """A Check for a ``#/...`` reference, compiled once (late-bound, so recursive references work)."""
        if ref not in self.compiled:
            if not ref.startswith("#"):
                raise UnsupportedSchema(f"$ref {ref}")
            target: Any = self.document
            for part in ref.lstrip("#").strip("/").split("/") if ref != "#" else []:
                target = target[part.replace("~1", "/").replace("~0", "~")]
            self.compiled[ref] = lambda instance: True  # placeholder while compiling a recursive reference
            compiled = self.compile(target)
            self.compiled[ref] = compiled
        holder = self.compiled
        return lambda instance: holder[ref](instance)

    def compile(self, schema: Any) -> Check:
        if schema is True:
            return lambda instance: True
        if schema is False:
            return lambda instance: False
        if "$ref" in schema:  # draft-07: a $ref's siblings are ignored
            return self.reference(schema["$ref"])
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword not in jsonschema.Draft7Validator.VALIDATORS:
                continue  # annotations (description, default, ...), then/else (with their if), unknown words
            if keyword not in COMPILED_KEYWORDS:
                raise UnsupportedSchema(f"keyword {keyword}")
            check = self.keyword(keyword, value, schema)
            checks.append(check if keyword in STRUCTURAL_KEYWORDS else skips_unknown_values(keyword, check))
        if len(checks) == 1:
            return checks[0]
        return lambda instance: all(check(instance) for check in checks)

    def keyword(self, keyword: str, value: Any, schema: Mapping[str, Any]) -> Check:
        if keyword == "type":
            names = value if isinstance(value, list) else [value]
            return lambda instance: any(relaxed_type(instance, name) for name in names)
        if keyword in ("anyOf", "oneOf"):  # the relaxed schemas read every oneOf as anyOf
            branches = [self.compile(branch) for branch in value]
            return lambda instance: any(branch(instance) for branch in branches)
        if keyword == "allOf":
            parts = [self.compile(part) for part in value]
            return lambda instance: all(part(instance) for part in parts)
        if keyword == "not":
            negated = self.compile(value)
            return lambda instance: not negated(instance)
        if keyword == "if":
            condition = self.compile(value)
            then = self.compile(schema["then"]) if "then" in schema else None
            otherwise = self.compile(schema["else"]) if "else" in schema else None

            def conditional(instance: Any) -> bool:
                if condition(instance):
                    return then is None or then(instance)
                return otherwise is None or otherwise(instance)

            return conditional
        if keyword == "enum":
            return lambda instance: any(equal(each, instance) for each in value)
        if keyword == "const":
            return lambda instance: equal(instance, value)
        if keyword in ("properties", "patternProperties", "additionalProperties", "required", "minProperties"):
            return self.object_keyword(keyword, value, schema)
        if keyword in ("items", "minItems"):
            return self.array_keyword(keyword, value)
        if keyword == "dependencies":
            return self.dependencies(value)
        if keyword == "pattern":
            pattern = re.compile(value)
            return lambda instance: not isinstance(instance, str) or pattern.search(instance) is not None
        return lambda instance: not isinstance(instance, str) or len(instance) >= value  # minLength

    def object_keyword(self, keyword: str, value: Any, schema: Mapping[str, Any]) -> Check:
        if keyword == "properties":
            properties = {name: self.compile(subschema) for name, subschema in value.items()}
            return lambda instance: (
                not isinstance(instance, dict)
                or all(check(instance[name]) for name, check in properties.items() if name in instance)
            )
        if keyword == "patternProperties":
            patterns = [(re.compile(pattern), self.compile(subschema)) for pattern, subschema in value.items()]
            return lambda instance: (
                not isinstance(instance, dict)
                or all(
                    check(item) for pattern, check in patterns for key, item in instance.items() if pattern.search(key)
                )
            )
        if keyword == "additionalProperties":
            known = set(schema.get("properties", {}))
            joined = "|".join(schema.get("patternProperties", {}))
            matcher = re.compile(joined) if joined else None
            extra_check = self.compile(value) if isinstance(value, dict) else None

            def additional(instance: Any) -> bool:
                if not isinstance(instance, dict):
                    return True
                extras = [
                    key for key in instance if key not in known and not (matcher and matcher.search(key) is not None)
                ]
                if extra_check is not None:
                    return all(extra_check(instance[key]) for key in extras)
                return bool(value) or not extras

            return additional
        if keyword == "required":
            return lambda instance: not isinstance(instance, dict) or all(name in instance for name in value)
        return lambda instance: not isinstance(instance, dict) or len(instance) >= value

    def array_keyword(self, keyword: str, value: Any) -> Check:
        if keyword == "minItems":
            return lambda instance: not isinstance(instance, list) or len(instance) >= value
        if isinstance(value, list):
            prefix = [self.compile(subschema) for subschema in value]
            return lambda instance: (
                not isinstance(instance, list)
                or all(check(item) for check, item in zip(prefix, instance, strict=False))
            )
        each = self.compile(value)
        return lambda instance: not isinstance(instance, list) or all(each(item) for item in instance)

    def dependencies(self, value: Mapping[str, Any]) -> Check:
        needs: list[tuple[str, Check]] = []
        for name, dependency in value.items():
            if isinstance(dependency, list):
                needs.append((name, self.object_keyword("required", list(dependency), {})))
            else:
                needs.append((name, self.compile(dependency)))
        return lambda instance: (
            not isinstance(instance, dict) or all(check(instance) for name, check in needs if name in instance)
        )


def skips_unknown_values(keyword: str, check: Check) -> Check:
    """As schema_relaxations.skips_unknown_values: an expression passes; a scalar is text for the string keywords."""
    if keyword in STRING_KEYWORDS:
        return lambda instance: (
            holds_expression(instance)
            or check(scalar_text(instance) if isinstance(instance, (bool, int, float)) else instance)
        )
    return lambda instance: holds_expression(instance) or check(instance)


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """The yes/no Check of a relaxed schema; UnsupportedSchema when it uses a keyword not compiled here."""
    return SchemaCompiler(schema).check()
