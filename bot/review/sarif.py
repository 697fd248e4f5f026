"""A ReviewResult as SARIF 2.1.0 for GitHub code scanning.

What code scanning uses is filled in: rules with a short and full description, markdown help with the fix,
``tags`` and, for security rules, ``properties.security-severity``; results with ``partialFingerprints`` that
follow the finding when lines above it are added or removed; artifact URIs relative to the repository root
(``uriBaseId: %SRCROOT%``), percent-encoded so that any file name stays one path.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from bot import __version__
from bot.review.model import LEVELS, Finding, ReviewResult
from bot.review.rules import rule_help_uri, rule_text

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_LEVELS = {"error": "error", "warning": "warning", "notice": "note"}
TOOL_NAME = "ci-orchestrator"
FINGERPRINT_KEY = "ciOrchestratorFinding/v1"
SECURITY_SEVERITY = {"error": "8.0", "warning": "5.0", "notice": "2.0"}
"""GitHub's scale: 7.0-8.9 high, 4.0-6.9 medium, 0.1-3.9 low; a security rule takes its most severe finding's level."""
SECURITY_FAMILIES = ("zizmor",)


def format_sarif(
    result: ReviewResult, texts: Mapping[str, str] | None = None, *, tool_version: str = __version__
) -> str:
    """SARIF for ``result``; ``texts`` (path → file text) lets fingerprints follow a finding's line content."""
    return json.dumps(sarif_log(result, texts or {}, tool_version), indent=2, ensure_ascii=False) + "\n"


def sarif_log(result: ReviewResult, texts: Mapping[str, str], tool_version: str) -> dict[str, Any]:
    """The SARIF log as plain data: one run, its rules, results and what went wrong while reviewing."""
    by_rule: dict[str, list[Finding]] = {}
    for finding in result.findings:
        by_rule.setdefault(finding.rule, []).append(finding)
    rule_ids = sorted(by_rule)
    index_of = {rule: index for index, rule in enumerate(rule_ids)}
    fingerprints = finding_fingerprints(result.findings, texts)
    results = [
        sarif_result(finding, index_of[finding.rule], fingerprint)
        for finding, fingerprint in zip(result.findings, fingerprints, strict=True)
    ]
    driver = {
        "name": TOOL_NAME,
        "version": tool_version,
        "semanticVersion": tool_version,
        "rules": [rule_descriptor(rule, by_rule[rule]) for rule in rule_ids],
    }
    notifications = [{"level": "error", "message": {"text": error}} for error in result.errors]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [{"executionSuccessful": not result.errors, "toolExecutionNotifications": notifications}],
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def rule_descriptor(rule: str, findings: Sequence[Finding]) -> dict[str, Any]:
    """``reportingDescriptor`` of one rule: descriptions, markdown help with the fix, tags, default level."""
    text = rule_text(rule, findings[0].message)
    worst = max((finding.level for finding in findings), key=LEVELS.index)
    help_uri = rule_help_uri(rule)
    properties: dict[str, Any] = {"tags": ["ci", "github-actions", *text.tags]}
    if rule.partition("/")[0] in SECURITY_FAMILIES:
        properties["security-severity"] = SECURITY_SEVERITY[worst]
    descriptor: dict[str, Any] = {
        "id": rule,
        "name": "".join(part.title() for part in rule.replace("/", "-").split("-")),
        "shortDescription": {"text": text.summary},
        "fullDescription": {"text": f"{text.summary} {text.explanation}"},
        "help": {
            "text": f"{text.explanation}\n\nFix: {text.fix}",
            "markdown": f"**{text.summary}**\n\n{text.explanation}\n\n**How to fix:** {text.fix}",
        },
        "defaultConfiguration": {"level": SARIF_LEVELS[worst]},
        "properties": properties,
    }
    if help_uri:
        descriptor["helpUri"] = help_uri
    return descriptor


def sarif_result(finding: Finding, rule_index: int, fingerprint: str) -> dict[str, Any]:
    region: dict[str, int] = {
        "startLine": finding.line,
        "startColumn": max(finding.column, 1),
        "endLine": max(finding.end_line, finding.line),
    }
    if finding.end_column and finding.end_line == finding.line:
        region["endColumn"] = max(finding.end_column + 1, region["startColumn"] + 1)
    message = finding.message
    if finding.fix is not None:
        message += "\n\nSuggested change:\n" + (finding.fix.snippet or finding.fix.replacement)
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
        "level": SARIF_LEVELS[finding.level],
        "message": {"text": message},
        "locations": [{"physicalLocation": {"artifactLocation": artifact_location(finding.path), "region": region}}],
        "partialFingerprints": {FINGERPRINT_KEY: fingerprint},
    }


def artifact_location(path: str) -> dict[str, str]:
    """A repository-relative path under ``%SRCROOT%``; an absolute one (a file outside any repository) as a file URI."""
    if path.startswith("/"):
        return {"uri": "file://" + quote(path)}
    return {"uri": quote(path.removeprefix("./")), "uriBaseId": "%SRCROOT%"}


def finding_fingerprints(findings: Sequence[Finding], texts: Mapping[str, str]) -> list[str]:
    """One fingerprint per finding from its rule, file and the content of its lines, not their numbers.

    Identical keys in one file are told apart by their order (the n-th such finding), so a finding keeps its
    fingerprint when lines are added or removed above it, and two copies of one mistake still get two alerts.
    """
    lines_of = {path: text.splitlines() for path, text in texts.items()}
    seen: Counter[str] = Counter()
    fingerprints = [""] * len(findings)
    order = sorted(range(len(findings)), key=lambda i: (findings[i].path, findings[i].line, findings[i].column))
    for index in order:
        finding = findings[index]
        lines = lines_of.get(finding.path, [])
        content = "\n".join(
            " ".join(lines[number - 1].split())
            for number in range(finding.line, max(finding.end_line, finding.line) + 1)
            if 0 < number <= len(lines)
        )
        key = "\0".join((finding.rule, finding.path, content if lines else finding.message))
        seen[key] += 1
        digest = hashlib.sha256(f"{key}\0{seen[key]}".encode()).hexdigest()[:32]
        fingerprints[index] = f"{digest}:{seen[key]}"
    return fingerprints
