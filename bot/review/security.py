"""Security analyzer: runs zizmor (and actionlint when installed) offline on the files and maps their JSON findings.

- zizmor audits the whole batch at once; when it gives up on the batch (one file it cannot load stops it), each file
  is audited alone, and a file zizmor cannot read gets a ``security/not-audited`` notice instead of silence.
- The repository's own zizmor configuration (``zizmor.yml`` or ``.github/zizmor.yml``, among the reviewed or the
  other files) is passed to zizmor; inline ``# zizmor: ignore[rule]`` comments are zizmor's own and are honoured.
- ``template-injection`` is an error for values an outsider can choose; zizmor also rates as High values the runner
  sets (``github.event_path``, ``runner.temp``), account names and typed inputs (notices) and string inputs, which are
  as trusted as whoever sets them (warnings). Hygiene rules (DOWNGRADED_RULES) are at most warnings.
  ``review.security_strict: true`` keeps zizmor's own levels for all of them.
- actionlint (the optional extra ``ci-orchestrator[actionlint]``) is stricter than GitHub in places (custom runner
  labels, action inputs it guesses), so its findings are warnings, never errors; what GitHub rejects is reported as
  an error by the syntax analyzer.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path, PurePosixPath
from typing import Any

from bot.review.expressions import Binary, Call, ExpressionError, Literal, Node, Not, parse_expression, property_path
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
            if source.kind in ("workflow", "action") and parse_yaml(source.text).problem is None
        ]
        if not auditable:
            return []
        staged = {staging_path(source, index): source for index, source in enumerate(auditable)}
        config = zizmor_config([*files, *context.other_files])
        findings: list[Finding] = []
        with tempfile.TemporaryDirectory(prefix="ci-orchestrator-review-") as folder:
            root = Path(folder)
            for relative, source in staged.items():
                write_under(root, relative, source.text)
            config_path = None
            if config is not None:
                config_path = write_under(root, "_config/zizmor.yml", config.text)
            findings.extend(self._run_zizmor(root, list(staged), config_path))
            workflows = [relative for relative, source in staged.items() if source.kind == "workflow"]
            actionlint = find_executable("actionlint")
            if workflows and actionlint:
                findings.extend(self._run_actionlint(actionlint, root, workflows))
        kept = []
        for finding in findings:
            if finding.path not in staged:
                continue
            origin = staged[finding.path]
            found = replace(finding, path=origin.path)
            kept.append(found if context.options.security_strict else softened(found, origin.text))
        return kept

    def _run_zizmor(self, root: Path, paths: list[str], config: Path | None) -> list[Finding]:
        """zizmor over the batch; over each file alone when the batch fails, with a notice for each file it cannot
        audit."""
        executable = find_executable("zizmor")
        if executable is None:
            self._errors.append("security: zizmor is not installed, so no security audit ran")
            return []
        try:
            outcome = self._zizmor(executable, root, paths, config)
            if isinstance(outcome, list) or len(paths) == 1:
                return outcome if isinstance(outcome, list) else [not_audited(paths[0], outcome)]
            findings: list[Finding] = []
            for path in paths:
                alone = self._zizmor(executable, root, [path], config)
                findings.extend(alone if isinstance(alone, list) else [not_audited(path, alone)])
        except ToolFailure as failure:
            self._errors.append(str(failure))
            return []
        return findings

    def _zizmor(self, executable: str, root: Path, paths: list[str], config: Path | None) -> list[Finding] | str:
        """Findings of one zizmor run (with a notice per file it skipped), or why zizmor refused these files.

        Raises ToolFailure when zizmor itself does not work (timeout, cannot start, output that is not JSON).
        """
        settings = ["--config", str(config)] if config is not None else ["--no-config"]
        argv = [executable, "--offline", "--format=json-v1", "--no-progress", *settings, "--color=never", *paths]
        outcome = run_tool("zizmor", argv, root, self.timeout_seconds)
        if isinstance(outcome, str):
            raise ToolFailure(outcome)
        self._versions["zizmor"] = tool_version(executable, "--version")
        if outcome.returncode == ZIZMOR_NO_INPUTS_EXIT_CODE:
            return [not_audited(path, last_line(outcome.stderr)) for path in paths]
        if outcome.returncode not in ZIZMOR_OK_EXIT_CODES:
            return f"zizmor failed (exit {outcome.returncode}): {zizmor_reason(outcome.stderr)}"
        try:
            report = json.loads(outcome.stdout)
        except json.JSONDecodeError as error:
            raise ToolFailure(f"security: zizmor printed output that is not JSON ({error})") from error
        skipped = [not_audited(path, reason) for path, reason in skipped_inputs(outcome.stderr) if path in paths]
        return [*zizmor_findings(report), *skipped]

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


class ToolFailure(Exception):
    """A tool that does not work at all (as opposed to one that refuses a file), in plain words."""


ZIZMOR_CONFIG_PATHS = ("zizmor.yml", "zizmor.yaml", ".github/zizmor.yml", ".github/zizmor.yaml")
SKIPPED_INPUT = re.compile(r"failed to (?:validate|load|parse) (?:file://)?(\S+?)(?: as \w+)?: (.*)$")


def zizmor_config(files: Sequence[SourceFile]) -> SourceFile | None:
    """The repository's zizmor configuration among ``files`` (zizmor's own places, first found wins)."""
    by_path = {source.path.removeprefix("./"): source for source in files}
    return next((by_path[path] for path in ZIZMOR_CONFIG_PATHS if path in by_path), None)


def write_under(root: Path, relative: str, text: str) -> Path:
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def not_audited(path: str, reason: str) -> Finding:
    """A notice that zizmor could not audit one file, and why (in zizmor's words)."""
    message = f"zizmor could not read this file, so it was not audited for security: {reason}"
    return Finding(path, 1, 1, 1, "notice", "security/not-audited", message)


def skipped_inputs(stderr: str) -> list[tuple[str, str]]:
    """(path, reason) of each input zizmor's log says it skipped."""
    found = []
    for line in stderr.splitlines():
        match = SKIPPED_INPUT.search(line)
        if match:
            found.append((match.group(1), match.group(2).strip()))
    return found


def zizmor_reason(stderr: str) -> str:
    """The line of zizmor's log that says why it stopped (its ERROR line), else the last line."""
    errors = [line.split("msg=", 1)[-1].strip() for line in stderr.splitlines() if line.lstrip().startswith("ERROR")]
    return errors[0] if errors else last_line(stderr)


RUNNER_SET = re.compile(
    r"^(github\.(event_path|workspace|action_path|env|output|path|state|step_summary|run_id|run_number|run_attempt"
    r"|sha|repository_id|repository_owner_id|job|action|retention_days|token|workflow_sha)|runner\..+|strategy\..+"
    r"|job\.status|secrets\..+|vars\..+)$"
)
"""Values set by the runner, the repository's admins or secrets: no outsider can choose them."""
ACCOUNT_NAME = re.compile(r"^github\.(actor|triggering_actor|repository_owner|workflow|event\.(.+\.)?login)$")
"""GitHub account names hold only letters, digits and hyphens, so they cannot carry shell syntax (nor can the
workflow's own name, written in the file)."""
IDENTIFIER = re.compile(r"^github\.event\.(.+\.)?(sha|head_sha|before|after|id|number|run_id|run_number)$")
"""Commit SHAs, ids and numbers of the event: digits and hex only."""
REPOSITORY_REF = re.compile(r"^github\.(ref|ref_name|base_ref|event\.pull_request\.base\.ref)$")
"""Branches and tags of the repository itself (not a fork's head branch): named by people with write access."""
INPUT = re.compile(r"^(github\.event\.)?inputs\.([a-z0-9_-]+)$")
TYPED_INPUTS = ("boolean", "number", "choice", "environment")
SAFE, TRUSTED_TEXT, OUTSIDE = 0, 1, 2
"""How far an expression's value can be chosen: not as text (a flag, a path the runner sets), as text by whoever
sets an input or variable, or by an outsider (zizmor's verdict stands)."""
BOOLEAN_FUNCTIONS = frozenset({"contains", "startswith", "endswith", "always", "success", "failure", "cancelled"})


def expression_reach(node: Node, text: str) -> int:
    """How far the value of ``node``, printed into a script, can be chosen (SAFE, TRUSTED_TEXT or OUTSIDE)."""
    if isinstance(node, (Literal, Not)):
        return SAFE
    if isinstance(node, Binary):
        if node.operator == "&&":
            return expression_reach(node.right, text)
        if node.operator == "||":
            return max(expression_reach(node.left, text), expression_reach(node.right, text))
        return SAFE
    if isinstance(node, Call):
        if node.name in BOOLEAN_FUNCTIONS:
            return SAFE
        if node.name in ("format", "tojson", "join"):
            return max((expression_reach(argument, text) for argument in node.arguments), default=SAFE)
        return OUTSIDE
    path = property_path(node)
    if path is None:
        return OUTSIDE
    dotted = ".".join(path)
    if RUNNER_SET.match(dotted) or ACCOUNT_NAME.match(dotted) or IDENTIFIER.match(dotted):
        return SAFE
    if REPOSITORY_REF.match(dotted):
        return TRUSTED_TEXT
    match = INPUT.match(dotted)
    if match:
        return SAFE if input_type(text, match.group(2)) in TYPED_INPUTS else TRUSTED_TEXT
    if path[0] == "env":
        return TRUSTED_TEXT
    return OUTSIDE


def input_type(text: str, name: str) -> str | None:
    """The declared ``type`` of a workflow input, from the workflow's text."""
    parsed = parse_yaml(text)
    on = parsed.data.get("on") if isinstance(parsed.data, dict) else None
    for event in ("workflow_dispatch", "workflow_call"):
        settings = on.get(event) if isinstance(on, dict) else None
        inputs = settings.get("inputs") if isinstance(settings, dict) else None
        spec = inputs.get(name) if isinstance(inputs, dict) else None
        if isinstance(spec, dict) and "type" in spec:
            return str(spec["type"])
    return None


def softened(finding: Finding, text: str) -> Finding:
    """A zizmor finding at the level this analyzer gives it (``review.security_strict`` keeps zizmor's): hygiene rules
    (DOWNGRADED_RULES) at most warnings, ``template-injection`` by who can choose the value's text."""
    rule = finding.rule.removeprefix("zizmor/")
    if rule in DOWNGRADED_RULES and finding.level == "error":
        return replace(finding, level="warning")
    return tempered_injection(finding, text)


def tempered_injection(finding: Finding, text: str) -> Finding:
    """A ``template-injection`` finding at the level its whole expression deserves: a notice when no one can choose
    its text, a warning when only whoever sets an input or variable can; zizmor's level when an outsider can."""
    if finding.rule != "zizmor/template-injection" or finding.end_column is None:
        return finding
    lines = text.splitlines()
    if not 0 < finding.line <= len(lines):
        return finding
    line = lines[finding.line - 1]
    start = line.rfind("${{", 0, finding.column)
    end = line.find("}}", finding.end_column - 2)
    if start < 0 or end < 0:
        return finding
    try:
        reach = expression_reach(parse_expression(line[start + 3 : end]), text)
    except ExpressionError:
        return finding
    if reach == SAFE:
        why = "no one can choose this value's text: a path or id the runner sets, an account name, a typed input"
        return replace(finding, level="notice", message=f"{finding.message} ({why})")
    if reach == TRUSTED_TEXT and finding.level == "error":
        why = "an input or variable is only as trusted as whoever sets it: pass it through `env:` to be safe"
        return replace(finding, level="warning", message=f"{finding.message} ({why})")
    return finding


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


def staging_path(source: SourceFile, index: int) -> str:
    """Where a file is written for the tools: its own relative path when that is safe and its place says what it is.

    Otherwise a made-up place (``_outside/<index>/...``) that tells the tools what the file is: the
    ``.github/workflows/<name>`` layout for a workflow, the name ``action.yml`` for an action.
    """
    if is_safe_relative(source.path) and file_kind(source.path) == source.kind:
        return source.path
    name = PurePosixPath(source.path).name
    if source.kind == "workflow":
        return f"_outside/{index}/.github/workflows/{name}"
    return f"_outside/{index}/{name if name in ('action.yml', 'action.yaml') else 'action.yml'}"


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


#: zizmor rules reported one level lower than zizmor rates them: they ask for hygiene (hash-pinning every action or
#: container image, the least permissions a token needs) rather than point at a flaw an attacker can use. Most
#: repositories pin to tags and grant workflow-wide permissions; failing every PR that touches those lines would teach
#: people to ignore the check. `review.ignore` or `fail_on: warning` tune it further.
DOWNGRADED_RULES = frozenset({"unpinned-uses", "unpinned-images", "excessive-permissions", "github-app"})


def zizmor_level(determinations: Mapping[str, Any]) -> Level:
    """zizmor's own rating: High severity → error (warning if zizmor is not highly confident); Medium → warning; else
    notice."""
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
        level = zizmor_level(result.get("determinations", {}))
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
    """Findings from actionlint's ``{{json .}}`` output (1-based lines and columns): warnings, script lint notices."""
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
                level="notice" if kind in ACTIONLINT_STYLE_KINDS else "warning",
                rule=f"actionlint/{kind}",
                message=error.get("message", ""),
                end_column=int(end_column) if end_column else None,
            )
        )
    return findings
