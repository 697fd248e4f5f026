"""Run the chosen analyzers over a set of files and gather one ReviewResult (never raises for analyzer faults)."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

from bot.review.model import Analyzer, Finding, ReviewContext, ReviewOptions, ReviewResult, SourceFile
from bot.review.registry import load_analyzers


def review_files(
    files: Sequence[SourceFile],
    options: ReviewOptions,
    *,
    step_timings: Mapping[tuple[str, str], float] | None = None,
    other_files: Sequence[SourceFile] = (),
    analyzers: Sequence[Analyzer] | None = None,
) -> ReviewResult:
    """Review ``files`` with the analyzers named in ``options`` (or the given instances).

    An analyzer that raises, or reports a problem through its optional ``errors()`` method, adds a
    plain-words entry to ``errors``; its findings (if any) are kept. Findings whose rule matches an
    ``options.ignore`` glob are dropped.
    """
    context = ReviewContext(options=options, step_timings=step_timings or {}, other_files=other_files)
    if analyzers is None:
        chosen, errors = load_analyzers(options.analyzers)
    else:
        chosen, errors = list(analyzers), []
    findings: list[Finding] = []
    ran: list[str] = []
    versions: dict[str, str] = {}
    for analyzer in chosen:
        try:
            found = analyzer.analyze(files, context)
        except Exception as error:  # one faulty analyzer must not hide the others' findings
            errors.append(f"analyzer '{analyzer.name}' failed: {type(error).__name__}: {error}")
            continue
        ran.append(analyzer.name)
        findings.extend(found)
        report_errors = getattr(analyzer, "errors", None)
        if callable(report_errors):
            errors.extend(report_errors())
        report_versions = getattr(analyzer, "tool_versions", None)
        if callable(report_versions):
            versions.update(report_versions())
    kept = [finding for finding in findings if not is_ignored(finding.rule, options.ignore)]
    kept.sort(key=lambda finding: (finding.path, finding.line, finding.column, finding.rule))
    return ReviewResult(findings=kept, analyzers_ran=ran, tool_versions=versions, errors=errors)


def is_ignored(rule: str, ignore: Sequence[str]) -> bool:
    """Whether ``rule`` matches one of the ignore patterns (exact ids or fnmatch globs)."""
    return any(fnmatch.fnmatchcase(rule, pattern) for pattern in ignore)
