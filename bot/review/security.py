"""Security analyzer: runs zizmor (and actionlint when installed) offline on the files and maps their JSON findings."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from bot.review.model import Finding, Level, ReviewContext, SourceFile, file_kind
from bot.review.yaml_lines import parse_yaml

TOOL_TIMEOUT_SECONDS = 30.0
ZIZMOR_OK_EXIT_CODES = {0, 10, 11, 12, 13, 14}
"""0: no findings; 10-14: findings of rising severity (zizmor's documented exit codes)."""
ZIZMOR_NO_INPUTS_EXIT_CODE = 3
"""zizmor found nothing it could audit (all files invalid); the syntax analyzer reports those."""
ACTIONLINT_OK_EXIT_CODES = {0, 1}
ACTIONLINT_STYLE_KINDS = {"shellcheck", "pyflakes"}


class SecurityAnalyzer:
    """Runs zizmor over workflows and actions (and actionlint over workflows if it is on PATH)."""

    name = "security"

    def __init__(self, timeout_seconds: float = TOOL_TIMEOUT_SECONDS) -> None:
        self.timeout_seconds = timeout_seconds
        self._versions: dict[str, str] = {}
        self._errors: list[str] = []

    def tool_versions(self) -> dict[str, str]:
        return dict(self._versions)

    def errors(self) -> list[str]:
        return list(self._errors)

    def analyze(self, files: Sequence[SourceFile], context: ReviewContext) -> list[Finding]:
        self._versions, self._errors = {}, []
        auditable = [
            source
            for source in files
            if file_kind(source.path) in ("workflow", "action") and parse_yaml(source.text).problem is None
        ]
        if not auditable:
            return []
        staged = {staging_path(source.path, index): source for index, source in enumerate(auditable)}
        findings: list[Finding] = []
        with tempfile.TemporaryDirectory(prefix="ci-orchestrator-review-") as folder:
            root = Path(folder)
            for relative, source in staged.items():
                target = root / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(source.text, encoding="utf-8")
            findings.extend(self._run_zizmor(root, list(staged)))
            workflows = [relative for relative in staged if file_kind(relative) == "workflow"]
            actionlint = find_executable("actionlint")
            if workflows and actionlint:
                findings.extend(self._run_actionlint(actionlint, root, workflows))
        return [replace(finding, path=staged[finding.path].path) for finding in findings if finding.path in staged]

    def _run_zizmor(self, root: Path, paths: list[str]) -> list[Finding]:
        executable = find_executable("zizmor")
        if executable is None:
            self._errors.append("security: zizmor is not installed, so no security audit ran")
            return []
        argv = [executable, "--offline", "--format=json-v1", "--no-progress", "--no-config", "--color=never", *paths]
        outcome = run_tool("zizmor", argv, root, self.timeout_seconds)
        if isinstance(outcome, str):
            self._errors.append(outcome)
            return []
        self._versions["zizmor"] = tool_version(executable, "--version")
        if outcome.returncode == ZIZMOR_NO_INPUTS_EXIT_CODE:
            return []
        if outcome.returncode not in ZIZMOR_OK_EXIT_CODES:
            self._errors.append(f"security: zizmor failed (exit {outcome.returncode}): {last_line(outcome.stderr)}")
            return []
        try:
            report = json.loads(outcome.stdout)
        except json.JSONDecodeError as error:
            self._errors.append(f"security: zizmor printed output that is not JSON ({error})")
            return []
        return zizmor_findings(report)

    def _run_actionlint(self, executable: str, root: Path, paths: list[str]) -> list[Finding]:
        argv = [executable, "-format", "{{json .}}", "-no-color", *paths]
        outcome = run_tool("actionlint", argv, root, self.timeout_seconds)
        if isinstance(outcome, str):
            self._errors.append(outcome)
            return []
        self._versions["actionlint"] = tool_version(executable, "-version")
        if outcome.returncode not in ACTIONLINT_OK_EXIT_CODES:
            self._errors.append(f"security: actionlint failed (exit {outcome.returncode}): {last_line(outcome.stderr)}")
            return []
        try:
            report = json.loads(outcome.stdout or "[]")
        except json.JSONDecodeError as error:
            self._errors.append(f"security: actionlint printed output that is not JSON ({error})")
            return []
        return actionlint_findings(report)


def is_safe_relative(path: str) -> bool:
    """Whether ``path`` can be written under a temporary folder as it is, without escaping it."""
    pure = PurePosixPath(path)
    return (
        bool(pure.parts)
        and not pure.is_absolute()
        and ".." not in pure.parts
        and "\\" not in path
        and not path.startswith("-")
    )


def staging_path(path: str, index: int) -> str:
    """Where a file is written for the tools: its own relative path when that is safe.

    Otherwise a made-up place (``_outside/<index>/...``) that keeps what the tools need: the
    ``.github/workflows/<name>`` layout or the ``action.yml`` name.
    """
    if is_safe_relative(path):
        return path
    name = PurePosixPath(path).name
    layout = f".github/workflows/{name}" if file_kind(path) == "workflow" else name
    return f"_outside/{index}/{layout}"


def find_executable(name: str) -> str | None:
    """``name`` on PATH, or next to the running Python (a virtualenv's bin folder)."""
    found = shutil.which(name)
    if found:
        return found
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else None


def run_tool(tool: str, argv: list[str], cwd: Path, timeout_seconds: float) -> subprocess.CompletedProcess[str] | str:
    """Run a tool; a plain-words problem string instead of an exception when it cannot run."""
    try:
        return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout_seconds, check=False)
    except subprocess.TimeoutExpired:
        return f"security: {tool} did not finish within {timeout_seconds:g} s and was stopped"
    except OSError as error:
        return f"security: {tool} could not be started: {error}"


@functools.lru_cache(maxsize=16)
def tool_version(executable: str, flag: str) -> str:
    """The version a tool prints (``zizmor 1.32.0`` → ``1.32.0``), or ``unknown``; asked once per executable."""
    try:
        output = subprocess.run(
            [executable, flag], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = output.splitlines()[0] if output else ""
    return first.split()[-1] if first else "unknown"


def last_line(text: str) -> str:
    """The last non-empty line of a tool's error output."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no error output"


#: zizmor rules reported one level lower than zizmor rates them: hash-pinning every action is good
#: hygiene, but most repositories pin to tags, and failing every PR that touches a `uses:` line on it
#: would teach people to ignore the check. `review.ignore` or `fail_on: warning` tune it further.
DOWNGRADED_RULES = frozenset({"unpinned-uses"})


def zizmor_level(determinations: Mapping[str, Any], rule: str = "") -> Level:
    """High severity → error (warning if zizmor is not highly confident); Medium → warning; else notice."""
    if rule in DOWNGRADED_RULES and determinations.get("severity") == "High":
        return "warning"
    severity = determinations.get("severity")
    if severity == "High":
        return "error" if determinations.get("confidence") == "High" else "warning"
    if severity == "Medium":
        return "warning"
    return "notice"


def zizmor_findings(report: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Findings from zizmor's ``json-v1`` output: one per primary location (rows/columns are 0-based)."""
    findings: list[Finding] = []
    for result in report:
        if result.get("ignored"):
            continue
        rule = f"zizmor/{result['ident']}"
        level = zizmor_level(result.get("determinations", {}), result["ident"])
        for location in result.get("locations", []):
            symbolic = location.get("symbolic", {})
            if symbolic.get("kind") != "Primary":
                continue
            path = symbolic.get("key", {}).get("Local", {}).get("verbatim_path")
            span = location.get("concrete", {}).get("location", {})
            if not path or "start_point" not in span:
                continue
            start, end = span["start_point"], span.get("end_point", span["start_point"])
            line = start["row"] + 1
            end_line = end["row"] + 1
            if end_line > line and end["column"] == 0:
                end_line -= 1
            annotation = symbolic.get("annotation")
            message = f"{result.get('desc', result['ident'])}: {annotation}" if annotation else result.get("desc", "")
            findings.append(
                Finding(
                    path=path,
                    line=line,
                    column=start["column"] + 1,
                    end_line=end_line,
                    level=level,
                    rule=rule,
                    message=message,
                    end_column=end["column"] if end_line == line and end["row"] == start["row"] else None,
                )
            )
    return findings


def actionlint_findings(report: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Findings from actionlint's ``{{json .}}`` output (1-based lines and columns)."""
    findings: list[Finding] = []
    for error in report:
        kind = error.get("kind", "error")
        line = int(error.get("line", 1))
        column = int(error.get("column", 1))
        end_column = error.get("end_column")
        findings.append(
            Finding(
                path=error["filepath"],
                line=line,
                column=column,
                end_line=line,
                level="warning" if kind in ACTIONLINT_STYLE_KINDS else "error",
                rule=f"actionlint/{kind}",
                message=error.get("message", ""),
                end_column=int(end_column) if end_column else None,
            )
        )
    return findings
