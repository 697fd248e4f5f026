"""`ci-orchestrator review PATH...`: review workflow, action and config files on disk (also the pre-commit hook).

The repository is found from the paths given: the nearest folder at or above them that holds `.git` (else
`.github`). As in the App, its own `.github/ci-orchestrator.yml` applies (unless --config or --no-config says
otherwise; `review.enabled: false` stops the review), its zizmor configuration reaches the security analyzer, and its
other workflows are context for duplicated steps. Findings carry paths from the repository root (JSON, SARIF); the
text format shows them from the working directory. A file named on the command line outside the places GitHub reads
is reviewed as what its content says it is (a workflow or an action), or refused with the reason.

Exit status: 0 nothing at or above --fail-on; 1 findings at or above it; 2 the review could not be done as asked
(usage, unreadable or unrecognisable files, an analyzer that failed or could not run, such as a missing zizmor).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.config.loading import check_config_text
from bot.config.options import review_options
from bot.config.schema import CONFIG_PATH, RepoConfig
from bot.review.engine import review_files
from bot.review.model import FAIL_ON_CHOICES, FileKind, ReviewResult, SourceFile, file_kind
from bot.review.report import count_by_level, describe_counts, format_json, format_text, plural, reaches
from bot.review.sarif import format_sarif
from bot.review.security import ZIZMOR_CONFIG_PATHS
from bot.review.yaml_lines import parse_yaml

PROG = "ci-orchestrator review"
SKIPPED_FOLDERS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".tox"}
EXIT_OK, EXIT_FINDINGS, EXIT_PROBLEM = 0, 1, 2


class UsageError(Exception):
    """Why the review cannot be done as asked, told to the user in one line."""


@dataclass(frozen=True)
class Settings:
    """The review settings that apply, and where they come from (shown in the summary line)."""

    config: RepoConfig = field(default_factory=RepoConfig)
    source: str = "defaults"


@dataclass
class Collected:
    """The files to review (paths from the repository root) and how to show each path to the user."""

    files: list[SourceFile] = field(default_factory=list)
    shown: dict[str, str] = field(default_factory=dict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Review GitHub Actions workflows, actions and .github/ci-orchestrator.yml, "
        "with the repository's own .github/ci-orchestrator.yml when there is one.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, a repository root, or a .github folder")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default=None,
        help="exit 1 when a finding is at least this severe (default: the config's review.fail_on, else error)",
    )
    settings = parser.add_mutually_exclusive_group()
    settings.add_argument(
        "--config", metavar="FILE", help="take the settings from this file instead of the repository's own"
    )
    settings.add_argument("--no-config", action="store_true", help="use the default settings, ignore any config file")
    return parser


def absolute(path: Path) -> Path:
    """``path`` from the filesystem root, without following symbolic links (a linked workflow stays in its place)."""
    return Path(os.path.abspath(path))


def shown_path(path: Path) -> str:
    """A path as the user sees it: from the working directory."""
    return Path(os.path.relpath(absolute(path))).as_posix()


def repository_root(path: Path) -> Path | None:
    """The repository ``path`` belongs to: the nearest folder at or above it holding ``.git``, else ``.github``."""
    start = absolute(path) if path.is_dir() else absolute(path).parent
    folders = [start, *start.parents]
    found = next((folder for folder in folders if (folder / ".git").exists()), None)
    return found or next((folder for folder in folders if (folder / ".github").is_dir()), None)


def find_repository(paths: Sequence[Path]) -> Path | None:
    """The one repository all ``paths`` belong to (None: none does); UsageError when they span several."""
    roots = {repository_root(path) for path in paths}
    if len(roots) > 1:
        names = ", ".join(sorted(shown_path(root) if root else "(no repository)" for root in roots))
        raise UsageError(f"the paths belong to different repositories ({names}): review one repository at a time")
    return roots.pop() if roots else None


def review_path(path: Path, root: Path | None) -> str:
    """The path analyzers and SARIF see: from the repository root; without one, from the working directory when the
    file is below it, else absolute."""
    if root is not None:
        return absolute(path).relative_to(root).as_posix()
    shown = shown_path(path)
    return shown if not shown.startswith("../") else absolute(path).as_posix()


def kind_from_content(text: str, shown: str) -> FileKind:
    """What a file named outside GitHub's places is, from its content; UsageError saying why when it cannot be told."""
    where = f"{shown} is not in .github/workflows/ nor named action.yml"
    parsed = parse_yaml(text)
    if parsed.problem is not None:
        problem = parsed.problem
        raise UsageError(
            f"{where}, and what it is cannot be told from its content: line {problem.line}, column "
            f"{problem.column}: {problem.message}"
        )
    if isinstance(parsed.data, dict) and "jobs" in parsed.data:
        return "workflow"
    if isinstance(parsed.data, dict) and "runs" in parsed.data:
        return "action"
    raise UsageError(f"{where}, and it has neither the `jobs:` of a workflow nor the `runs:` of an action")


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"cannot read {shown_path(path)}: {error}") from error


def files_under(folder: Path, root: Path | None) -> Iterator[Path]:
    """Workflow, action and config files below ``folder`` (by their place), skipping VCS and dependency folders."""
    for current, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if name not in SKIPPED_FOLDERS)
        for name in sorted(names):
            candidate = Path(current) / name
            if name.endswith((".yml", ".yaml")) and file_kind(review_path(candidate, root)) != "other":
                yield candidate


def collect_files(paths: Sequence[Path], root: Path | None) -> Collected:
    """Read the files named, and those found under the folders named."""
    collected = Collected()
    for given in paths:
        for path in files_under(given, root) if given.is_dir() else [given]:
            relative = review_path(path, root)
            if relative in collected.shown:
                continue
            text = read_text(path)
            declared = None if file_kind(relative) != "other" else kind_from_content(text, shown_path(path))
            collected.files.append(SourceFile(relative, text, declared))
            collected.shown[relative] = shown_path(path)
    return collected


def load_settings(args: argparse.Namespace, root: Path | None) -> Settings:
    """The settings from --config (which must be valid), else the repository's own config file, else the defaults.

    The repository's file is used as the App uses it: a setting with a problem keeps its default.
    """
    if args.no_config:
        return Settings(source="defaults (--no-config)")
    if args.config:
        path = Path(args.config)
        config, problems = check_config_text(read_text(path))
        if problems:
            details = "; ".join(f"line {problem.line}: {problem.message}" for problem in problems)
            raise UsageError(f"config file {shown_path(path)} has problems: {details}")
        return Settings(config, shown_path(path))
    found = root / CONFIG_PATH if root is not None else None
    if found is None or not found.is_file():
        return Settings(source="defaults, no .github/ci-orchestrator.yml")
    config, problems = check_config_text(read_text(found))
    if problems:
        note = f"{plural(len(problems), 'problem')} left at their defaults: see `ci-orchestrator check-config`"
        return Settings(config, f"{shown_path(found)}, {note}")
    return Settings(config, shown_path(found))


def context_files(root: Path | None, reviewed: set[str], config: RepoConfig) -> list[SourceFile]:
    """What the App also reads: the repository's zizmor configuration and its other workflows (duplicated steps)."""
    if root is None:
        return []
    candidates: list[Path] = []
    if "security" in config.review.analyzers:
        candidates += [root / path for path in ZIZMOR_CONFIG_PATHS if (root / path).is_file()][:1]
    if "shared-actions" in config.review.analyzers and (root / ".github" / "workflows").is_dir():
        candidates += sorted(
            path for path in (root / ".github" / "workflows").iterdir() if path.suffix in (".yml", ".yaml")
        )
    found = []
    for path in candidates:
        relative = review_path(path, root)
        if relative in reviewed or not path.is_file():
            continue
        try:
            found.append(SourceFile(relative, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError):
            continue  # context only: an unreadable file only misses as context
    return found


def summary_line(count: int, result: ReviewResult, source: str) -> str:
    """``12 files reviewed: no findings (settings: ...)``, with the problems that kept the review from being whole."""
    found = describe_counts(count_by_level(result.findings))
    problems = f"; {plural(len(result.errors), 'problem')} while reviewing, printed above" if result.errors else ""
    return f"{plural(count, 'file')} reviewed: {found}{problems} (settings: {source})"


def main(argv: Sequence[str]) -> int:
    """Run the review; see the module docstring for the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    try:
        paths = [Path(given) for given in args.paths]
        missing = next((given for given, path in zip(args.paths, paths, strict=True) if not path.exists()), None)
        if missing is not None:
            raise UsageError(f"no such file or directory: {missing}")
        root = find_repository(paths)
        collected = collect_files(paths, root)
        settings = load_settings(args, root)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return EXIT_PROBLEM
    config = settings.config
    fail_on = args.fail_on or config.review.fail_on
    if not config.review.enabled:
        result = ReviewResult(findings=[], analyzers_ran=[], tool_versions={}, errors=[])
        summary = f"nothing reviewed: review.enabled is false (settings: {settings.source})"
    else:
        reviewed = {source.path for source in collected.files}
        result = review_files(
            collected.files, review_options(config), other_files=context_files(root, reviewed, config)
        )
        summary = summary_line(len(collected.files), result, settings.source)
    if args.format == "json":
        sys.stdout.write(format_json(result))
    elif args.format == "sarif":
        sys.stdout.write(format_sarif(result, {source.path: source.text for source in collected.files}))
    else:
        shown = [replace(finding, path=collected.shown.get(finding.path, finding.path)) for finding in result.findings]
        sys.stdout.write(format_text(shown))
    for problem in result.errors:
        print(f"{PROG}: {problem}", file=sys.stderr)
    print(summary, file=sys.stdout if args.format == "text" else sys.stderr)
    if any(reaches(finding.level, fail_on) for finding in result.findings):
        return EXIT_FINDINGS
    return EXIT_PROBLEM if result.errors else EXIT_OK
