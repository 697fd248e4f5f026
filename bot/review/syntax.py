"""Syntax analyzer: YAML parse errors and SchemaStore schema errors of workflows and actions, on the right line."""

from __future__ import annotations

import functools
import importlib.resources
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from ruamel.yaml.comments import CommentedMap

from bot.review.expression_checks import action_expression_findings, workflow_expression_findings
from bot.review.model import Finding, ReviewContext, SourceFile
from bot.review.schema_check import UnsupportedSchema, compile_schema
from bot.review.schema_relaxations import relaxed_validator
from bot.review.workflow_checks import workflow_check_findings
from bot.review.yaml_lines import locate, parse_yaml, to_plain

SCHEMA_PACKAGE = "check_jsonschema.builtin_schemas.vendor"
SCHEMA_FILES = {"workflow": "github-workflows.json", "action": "github-actions.json"}
MAX_SCHEMA_FINDINGS_PER_FILE = 20
MAX_MESSAGE_CHARS = 200


@functools.cache
def schema_validator(kind: str) -> jsonschema.protocols.Validator:
    """The validator for ``"workflow"`` or ``"action"`` files: check-jsonschema's copy, relaxed where GitHub is."""
    text = (importlib.resources.files(SCHEMA_PACKAGE) / SCHEMA_FILES[kind]).read_text(encoding="utf-8")
    return relaxed_validator(json.loads(text), kind)


class SyntaxAnalyzer:
    """Reports files that are not YAML, that GitHub's schema (relaxed where GitHub is) rejects, and the semantic
    problems of workflows (bot/review/workflow_checks.py) and of their expressions (bot/review/expression_checks.py)."""

    name = "syntax"

    def __init__(self) -> None:
        self._errors: list[str] = []

    def errors(self) -> list[str]:
        return list(self._errors)

    def analyze(self, files: Sequence[SourceFile], context: ReviewContext) -> list[Finding]:
        self._errors = []
        findings: list[Finding] = []
        for source in files:
            kind = source.kind
            if kind not in SCHEMA_FILES:
                continue
            try:
                findings.extend(check_file(source, kind))
            except Exception as error:  # a fault on one file must not hide the findings of the others
                self._errors.append(f"syntax: could not check {source.path}: {type(error).__name__}: {error}")
        return findings


def check_file(source: SourceFile, kind: str) -> list[Finding]:
    """Findings for one workflow or action file: one for a YAML error, else one per schema error."""
    parsed = parse_yaml(source.text)
    if parsed.problem is not None:
        problem = parsed.problem
        return [
            Finding(source.path, problem.line, problem.column, problem.line, "error", "syntax/yaml", problem.message)
        ]
    if not isinstance(parsed.data, CommentedMap):
        article = "an" if kind == "action" else "a"
        message = f"{article} {kind} file must be a YAML mapping of keys"
        return [Finding(source.path, 1, 1, 1, "error", "syntax/schema", message)]
    findings = schema_findings(source, kind, parsed.data)
    if kind == "workflow":
        findings.extend(workflow_check_findings(source.path, parsed.data, parsed.lines))
        findings.extend(workflow_expression_findings(source.path, parsed.data, parsed.lines))
    else:
        findings.extend(action_expression_findings(source.path, parsed.data, parsed.lines))
    return findings


@functools.cache
def schema_fits(kind: str) -> Callable[[Any], bool]:
    """The compiled yes/no check of the relaxed schema (bot/review/schema_check.py); jsonschema's own when the schema
    uses a keyword not compiled there."""
    validator = schema_validator(kind)
    try:
        return compile_schema(validator.schema)
    except UnsupportedSchema:
        return validator.is_valid


def schema_findings(source: SourceFile, kind: str, data: Any) -> list[Finding]:
    """One finding per schema error (the most specific ones), at most MAX_SCHEMA_FINDINGS_PER_FILE.

    A file that fits is known from the compiled check at once; jsonschema then only explains the others."""
    plain = to_plain(data)
    if schema_fits(kind)(plain):
        return []
    described = [
        describe(specific) for error in schema_validator(kind).iter_errors(plain) for specific in specific_errors(error)
    ]
    precise_paths = {tuple(path) for path, message, generic in described if not generic}
    findings: list[Finding] = []
    seen: set[tuple[int, str]] = set()
    for path, message, generic in described:
        if generic and tuple(path) in precise_paths:
            continue
        line, column = locate(data, path)
        if (line, message) in seen:
            continue
        seen.add((line, message))
        findings.append(Finding(source.path, line, column, line, "error", "syntax/schema", message))
        if len(findings) == MAX_SCHEMA_FINDINGS_PER_FILE:
            break
    return findings


def specific_errors(error: ValidationError) -> list[ValidationError]:
    """The errors the author most likely needs to see, for one schema error.

    For a oneOf/anyOf, a branch whose discriminator does not match (a ``const``/``enum`` error, e.g.
    ``using: node20`` against the composite branch) or whose type differs from the value's (the string form of
    a key written as a mapping) is taken as not meant. Among the others, the
    branch whose errors point deepest into the document wins, and its own errors are reported
    (recursively). When no branch stands out, the error is reported as it is.
    """
    if not error.context:
        return [error]
    branches: dict[object, list[ValidationError]] = {}
    for child in error.context:
        branch = child.relative_schema_path[0] if child.relative_schema_path else None
        branches.setdefault(branch, []).extend(specific_errors(child))

    def score(branch: object) -> tuple[bool, int, int]:
        leaves = branches[branch]
        mismatched = any(
            leaf.validator in ("const", "enum")
            or (leaf.validator == "type" and leaf.absolute_path == error.absolute_path)
            for leaf in leaves
        )
        return (not mismatched, max(len(leaf.absolute_path) for leaf in leaves), -len(leaves))

    scores = {branch: score(branch) for branch in branches}
    best = max(branches, key=lambda branch: scores[branch])
    only_plausible = scores[best][0] and sum(1 for value in scores.values() if value[0]) == 1
    if only_plausible or scores[best][1] > len(error.absolute_path):
        return branches[best]
    return [error]


def dotted(path: Sequence[str | int]) -> str:
    """``jobs.build.steps[2]`` style name of a data path, in backticks; ``the file`` for the root."""
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return f"`{text}`" if text else "the file"


def short(value: Any) -> str:
    """A value as it would be written, cut to a readable length."""
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def describe(error: ValidationError) -> tuple[list[str | int], str, bool]:
    """Data path to point at, a short plain message, and whether the message is only generic.

    Generic messages ("does not match any allowed form") are dropped when a precise one exists for
    the same place.
    """
    path: list[str | int] = list(error.absolute_path)
    where = dotted(path)
    validator = error.validator
    if validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        extras = [
            key
            for key in error.instance
            if key not in allowed and not any(re.search(pattern, key) for pattern in patterns)
        ]
        if extras:
            path.append(extras[0])
            names = ", ".join(f"`{key}`" for key in extras)
            return path, f"unexpected key {names} in {where}", False
    is_composite_step = len(path) == 3 and path[:2] == ["runs", "steps"] and isinstance(error.instance, dict)
    if is_composite_step and "run" in error.instance and "shell" not in error.instance:
        return path, f"{where} is a `run` step without `shell`, which composite actions require", False
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return path, f"{where} is missing the required key `{missing}`", False
    if validator == "enum":
        options = ", ".join(short(option) for option in error.validator_value[:10])
        return path, f"{where} is `{short(error.instance)}`, expected one of: {options}", False
    if validator == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else expected
        return path, f"{where} must be of type {expected_text}, got `{short(error.instance)}`", False
    if validator in ("oneOf", "anyOf"):
        return path, f"{where} does not match any allowed form: `{short(error.instance)}`", True
    message = error.message if len(error.message) <= MAX_MESSAGE_CHARS else error.message[:MAX_MESSAGE_CHARS] + "..."
    return path, f"{where}: {message}", False
