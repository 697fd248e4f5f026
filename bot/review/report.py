"""Render a ReviewResult: check-run output with annotations, PR suggestion comments, text and JSON (SARIF: sarif.py)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

from bot.report import (
    Annotation,
    AnnotationLevel,
    Conclusion,
    Report,
    code_block,
    code_span,
    escape_markdown,
    fit_bytes,
)
from bot.review.diff import AllLines
from bot.review.model import FAIL_ON_CHOICES, LEVELS, Finding, ReviewResult

ANNOTATION_LEVELS: dict[str, AnnotationLevel] = {"error": "failure", "warning": "warning", "notice": "notice"}
SUGGESTION_MARKER = "<!-- ci-orchestrator-suggestion {rule} -->"
SUGGESTION_MARKER_PATTERN = re.compile(r"<!-- ci-orchestrator-suggestion (\S+) -->")


def is_on_changed_line(finding: Finding, changed: Mapping[str, set[int]] | None) -> bool:
    """Whether the finding touches a changed line (always true when ``changed`` is None)."""
    if changed is None:
        return True
    lines = changed.get(finding.path)
    if lines is None:
        return False
    return any(line in lines for line in range(finding.line, max(finding.end_line, finding.line) + 1))


def reaches(level: str, fail_on: str) -> bool:
    """Whether a finding ``level`` is at or above the ``fail_on`` threshold (``never`` is never reached)."""
    if fail_on == "never":
        return False
    if fail_on not in FAIL_ON_CHOICES:
        raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON_CHOICES)}, not {fail_on!r}")
    return LEVELS.index(level) >= LEVELS.index(fail_on)


def annotation(finding: Finding) -> Annotation:
    """A check-run annotation for one finding (columns only for a single-line finding)."""
    end_line = max(finding.end_line, finding.line)
    one_line = end_line == finding.line and bool(finding.column)
    return Annotation(
        path=finding.path,
        start_line=finding.line,
        end_line=end_line,
        level=ANNOTATION_LEVELS[finding.level],
        title=finding.rule,
        message=finding.message,
        start_column=finding.column if one_line else None,
        end_column=max(finding.end_column or finding.column, finding.column) if one_line else None,
        raw_details=(finding.fix.snippet or finding.fix.replacement) if finding.fix is not None else None,
    )


def count_by_level(findings: Iterable[Finding]) -> Counter[str]:
    return Counter(finding.level for finding in findings)


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def describe_counts(counts: Mapping[str, int]) -> str:
    parts = [plural(counts.get(level, 0), level) for level in reversed(LEVELS) if counts.get(level)]
    return ", ".join(parts) if parts else "no findings"


def render_check_run(result: ReviewResult, *, changed: Mapping[str, set[int]] | None, fail_on: str = "error") -> Report:
    """The check run for a review: annotate findings on changed lines, conclude from ``fail_on``."""
    if fail_on not in FAIL_ON_CHOICES:
        raise ValueError(f"fail_on must be one of {', '.join(FAIL_ON_CHOICES)}, not {fail_on!r}")
    annotated = [finding for finding in result.findings if is_on_changed_line(finding, changed)]
    outside = len(result.findings) - len(annotated)
    if any(reaches(finding.level, fail_on) for finding in annotated):
        conclusion: Conclusion = "failure"
    elif fail_on == "never" and annotated:
        conclusion = "neutral"
    else:
        conclusion = "success"
    counts = count_by_level(annotated)
    title = f"Workflow review: {describe_counts(counts)}"
    if outside:
        title += f" ({outside} more outside the changed lines)"
    return Report(
        conclusion=conclusion,
        title=title,
        summary=render_summary(result, annotated, outside),
        annotations=tuple(annotation(finding) for finding in annotated),
    )


def render_summary(result: ReviewResult, annotated: Sequence[Finding], outside: int) -> str:
    """Markdown summary: findings per file and level, what ran, what was left out, what failed."""
    lines = ["## Workflow review", ""]
    if annotated:
        lines += ["| File | Errors | Warnings | Notices |", "| --- | ---: | ---: | ---: |"]
        per_file: dict[str, Counter[str]] = {}
        for finding in annotated:
            per_file.setdefault(finding.path, Counter())[finding.level] += 1
        for path, counts in sorted(per_file.items()):
            lines.append(f"| {code_span(path)} | {counts['error']} | {counts['warning']} | {counts['notice']} |")
        lines.append("")
        rules = Counter(finding.rule for finding in annotated)
        lines.append("Rules: " + ", ".join(f"{code_span(rule)} ×{count}" for rule, count in rules.most_common()))
    else:
        lines.append("No findings on the changed lines.")
    lines.append("")
    if outside:
        lines.append(
            f"{plural(outside, 'finding')} outside the changed lines {'was' if outside == 1 else 'were'} not annotated."
        )
        lines.append("")
    ran = ", ".join(code_span(name) for name in result.analyzers_ran) or "none"
    lines.append(f"Analyzers: {ran}.")
    if result.tool_versions:
        versions = ", ".join(
            escape_markdown(f"{tool} {version}") for tool, version in sorted(result.tool_versions.items())
        )
        lines.append(f"Tools: {versions}.")
    if result.errors:
        lines += ["", "### Problems while reviewing", ""]
        lines += [f"- {escape_markdown(error, 2_000)}" for error in result.errors]
    return fit_bytes("\n".join(lines) + "\n")


def suggestion_comments(
    result: ReviewResult, changed: Mapping[str, set[int]], already_posted: set[tuple[str, int, str]]
) -> list[dict[str, Any]]:
    """PR review comments with a ```suggestion``` block for each Fix whose lines all changed.

    Files without a patch (``AllLines``) get none: GitHub only takes review comments on diff lines.
    A comment is keyed by (path, line, rule), ``line`` being the last line it covers; keys in
    ``already_posted`` (see ``posted_key``) and repeats within this call are skipped.
    """
    comments = []
    seen = set(already_posted)
    for finding in result.findings:
        fix = finding.fix
        lines = changed.get(finding.path)
        if fix is None or lines is None or isinstance(lines, AllLines):
            continue
        if not all(line in lines for line in range(fix.start_line, fix.end_line + 1)):
            continue
        key = (finding.path, fix.end_line, finding.rule)
        if key in seen:
            continue
        seen.add(key)
        marker = SUGGESTION_MARKER.format(rule=re.sub(r"[^\w./-]", "_", finding.rule))
        body = (
            f"{marker}\n**{escape_markdown(finding.rule)}**: {escape_markdown(finding.message, 2_000)}\n\n"
            f"{code_block(fix.replacement, 'suggestion')}"
        )
        comment: dict[str, Any] = {"path": finding.path, "line": fix.end_line, "side": "RIGHT", "body": body}
        if fix.start_line != fix.end_line:
            comment["start_line"] = fix.start_line
            comment["start_side"] = "RIGHT"
        comments.append(comment)
    return comments


def posted_key(comment: Mapping[str, Any]) -> tuple[str, int, str] | None:
    """The (path, line, rule) key of a review comment this App posted earlier, or None for others."""
    match = SUGGESTION_MARKER_PATTERN.search(str(comment.get("body", "")))
    line = comment.get("line") or comment.get("original_line")
    if match is None or not comment.get("path") or not line:
        return None
    return str(comment["path"]), int(line), match.group(1)


def format_text(findings: Iterable[Finding]) -> str:
    """One line per finding: ``path:line:col: level rule: message``."""
    return "".join(
        f"{finding.path}:{finding.line}:{finding.column}: {finding.level} {finding.rule}: {finding.message}\n"
        for finding in findings
    )


def format_json(result: ReviewResult) -> str:
    """The whole result as JSON (findings with their fixes, analyzers, tool versions, errors)."""
    return json.dumps(asdict(result), indent=2, ensure_ascii=False) + "\n"
