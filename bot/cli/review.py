"""`ci-orchestrator review PATH...`: review workflow, action and config files locally (also the pre-commit hook)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from bot.config.loading import check_config_text
from bot.config.options import review_options
from bot.review.engine import review_files
from bot.review.model import FAIL_ON_CHOICES, ReviewOptions, SourceFile, file_kind
from bot.review.report import format_json, format_sarif, format_text, reaches

SKIPPED_FOLDERS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".tox"}
EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with the command line or its inputs, told to the user in one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ci-orchestrator review",
        description="Review GitHub Actions workflows, actions and .github/ci-orchestrator.yml.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, a repository root, or a .github folder")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text")
    parser.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default=None,
        help="exit 1 when a finding is at least this severe (default: the config's review.fail_on, else error)",
    )
    parser.add_argument("--config", metavar="FILE", help="a .github/ci-orchestrator.yml to take review settings from")
    return parser


def load_config(path: str) -> tuple[ReviewOptions, str]:
    """Review options and fail-on level from a config file; UsageError when it is missing or invalid."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot read config file {path}: {error.strerror or error}") from error
    config, problems = check_config_text(text)
    if problems:
        details = "; ".join(f"line {problem.line}: {problem.message}" for problem in problems)
        raise UsageError(f"config file {path} has problems: {details}")
    return review_options(config), config.review.fail_on


def display_path(path: Path) -> str:
    """The path as the user gave it (relative to the cwd when possible), with forward slashes.

    When that relative form no longer shows where the file sits (``x.yml`` inside
    ``.github/workflows``), the path from the repository root is used so its kind is recognised.
    """
    relative = Path(os.path.relpath(path)) if not path.is_absolute() else path
    shown = relative.as_posix()
    if file_kind(shown) == "other":
        absolute = path.resolve()
        for parent in absolute.parents:
            if (parent / ".github").is_dir() and file_kind(absolute.relative_to(parent).as_posix()) != "other":
                return absolute.relative_to(parent).as_posix()
    return shown


def files_under(folder: Path) -> Iterator[Path]:
    """Workflow, action and config files below ``folder``, skipping VCS and dependency folders."""
    for current, folders, names in os.walk(folder):
        folders[:] = sorted(name for name in folders if name not in SKIPPED_FOLDERS)
        for name in sorted(names):
            candidate = Path(current) / name
            if name.endswith((".yml", ".yaml")) and file_kind(display_path(candidate)) != "other":
                yield candidate


def collect_files(paths: Sequence[str]) -> list[SourceFile]:
    """Read the files named or found under the folders named; UsageError for a missing path."""
    chosen: dict[str, Path] = {}
    for given in paths:
        path = Path(given)
        if path.is_dir():
            for found in files_under(path):
                chosen.setdefault(display_path(found), found)
        elif path.is_file():
            chosen.setdefault(display_path(path), path)
        else:
            raise UsageError(f"no such file or directory: {given}")
    sources = []
    for shown, path in chosen.items():
        try:
            sources.append(SourceFile(shown, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as error:
            raise UsageError(f"cannot read {path.as_posix()}: {error}") from error
    return sources


def main(argv: Sequence[str]) -> int:
    """Run the review; 0 = nothing at or above --fail-on, 1 = such findings, 2 = usage error."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    try:
        options, config_fail_on = load_config(args.config) if args.config else (ReviewOptions(), "error")
        files = collect_files(args.paths)
    except UsageError as error:
        print(f"ci-orchestrator review: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    fail_on = args.fail_on or config_fail_on
    if not files:
        print("ci-orchestrator review: no workflow, action or config files found", file=sys.stderr)
        return EXIT_OK
    result = review_files(files, options)
    if args.format == "json":
        sys.stdout.write(format_json(result))
    elif args.format == "sarif":
        sys.stdout.write(format_sarif(result))
    else:
        sys.stdout.write(format_text(result.findings))
    for problem in result.errors:
        print(f"ci-orchestrator review: {problem}", file=sys.stderr)
    failing = any(reaches(finding.level, fail_on) for finding in result.findings)
    return EXIT_FINDINGS if failing else EXIT_OK
