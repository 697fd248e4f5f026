"""Plain data of a workflow review: source files, findings, fixes, options and the analyzer protocol."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Level = Literal["error", "warning", "notice"]
LEVELS: tuple[Level, ...] = ("notice", "warning", "error")
"""Finding levels from least to most severe."""

FileKind = Literal["workflow", "action", "config", "other"]

DEFAULT_ANALYZERS: tuple[str, ...] = ("syntax", "security", "speed", "shared-actions", "config")
"""The built-in analyzers, in the order they run."""

FAIL_ON_CHOICES: tuple[str, ...] = ("error", "warning", "notice", "never")
"""Levels a review can fail on: a finding at or above it fails the check (`never`: no finding does)."""


@dataclass(frozen=True)
class SourceFile:
    """One file under review: its repository-relative path (forward slashes) and its text.

    Its place says what it is (``file_kind``), unless ``declared_kind`` says otherwise: a workflow
    kept outside ``.github/workflows/`` and named on the command line is reviewed as a workflow.
    """

    path: str
    text: str
    declared_kind: FileKind | None = None

    @property
    def kind(self) -> FileKind:
        """What the file is: its declared kind, else the kind its place gives it."""
        return self.declared_kind or file_kind(self.path)


@dataclass(frozen=True)
class Fix:
    """A mechanical edit: lines ``start_line..end_line`` (1-based, inclusive) become ``replacement``.

    ``replacement`` is the new text of those lines without a trailing newline; it is what a GitHub
    ```suggestion``` block contains. ``snippet`` is optional text to show (e.g. a YAML block to paste).
    """

    start_line: int
    end_line: int
    replacement: str
    snippet: str | None = None


@dataclass(frozen=True)
class Finding:
    """One problem found in one file. Lines and columns are 1-based."""

    path: str
    line: int
    column: int
    end_line: int
    level: Level
    rule: str
    message: str
    fix: Fix | None = None
    end_column: int | None = None


@dataclass(frozen=True)
class SharedAction:
    """An organisation's shared action that should replace a known run of steps.

    Each ``replaces`` item is a step pattern, ``{"uses": "actions/setup-python@*"}`` or
    ``{"run": "pip install*"}`` (fnmatch globs); the patterns must match consecutive steps in order.
    """

    uses: str
    replaces: tuple[Mapping[str, str], ...]
    with_: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ReviewOptions:
    """What to run and what to leave out. ``ignore`` holds rule ids or globs such as ``"speed/*"``.

    ``security_strict`` keeps zizmor's own levels instead of the security analyzer's softer ones.
    """

    analyzers: tuple[str, ...] = DEFAULT_ANALYZERS
    ignore: tuple[str, ...] = ()
    shared_actions: tuple[SharedAction, ...] = ()
    security_strict: bool = False


@dataclass(frozen=True)
class ReviewContext:
    """Everything an analyzer may use besides the files.

    ``step_timings`` maps (job name, step name) to the median seconds that step took in the
    repository's recent runs; it may be empty. ``other_files`` are files of the repository that are
    not under review (its other workflows, its zizmor configuration): context for the analyzers, never
    reported on themselves.
    """

    options: ReviewOptions = field(default_factory=ReviewOptions)
    step_timings: Mapping[tuple[str, str], float] = field(default_factory=dict)
    other_files: Sequence[SourceFile] = ()


@dataclass
class ReviewResult:
    """The outcome of one review: findings sorted by (path, line), and what ran or went wrong."""

    findings: list[Finding]
    analyzers_ran: list[str]
    tool_versions: dict[str, str]
    errors: list[str]


class Analyzer(Protocol):
    """A review analyzer: files in, findings out.

    Optional extras, looked up with ``getattr`` by the engine:
    ``tool_versions(self) -> dict[str, str]`` names external tools that ran and their versions;
    ``errors(self) -> list[str]`` lists problems of the last ``analyze`` call in plain words
    (a tool missing or timing out) that did not stop the analyzer from returning findings.
    """

    name: str

    def analyze(self, files: Sequence[SourceFile], context: ReviewContext) -> list[Finding]: ...


def file_kind(path: str) -> FileKind:
    """Which kind of file ``path`` is, from its location alone.

    Workflows live directly in ``.github/workflows/`` (GitHub ignores subfolders); actions are
    ``action.yml``/``action.yaml`` anywhere; the App's config is ``.github/ci-orchestrator.yml``.
    A leading folder is allowed so that files of several checkouts can be reviewed together.
    """
    rooted = "/" + path.replace("\\", "/").lstrip("/")
    folder, name = posixpath.split(rooted)
    if not name.endswith((".yml", ".yaml")):
        return "other"
    if rooted.endswith("/.github/ci-orchestrator.yml"):
        return "config"
    if folder.endswith("/.github/workflows"):
        return "workflow"
    if name in ("action.yml", "action.yaml"):
        return "action"
    return "other"
