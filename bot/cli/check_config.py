"""`ci-orchestrator check-config [FILE]`: the App's config check on a file on disk, as the check run shows it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config.loading import check_config_text
from bot.config.schema import CONFIG_PATH

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str]) -> int:
    """Print each problem as `path:line:col: message`; 0 when valid, 1 with problems, 2 on usage errors."""
    parser = argparse.ArgumentParser(
        prog="ci-orchestrator check-config", description="Check a .github/ci-orchestrator.yml file."
    )
    parser.add_argument("file", nargs="?", default=CONFIG_PATH, help=f"the file to check (default: {CONFIG_PATH})")
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"ci-orchestrator check-config: error: cannot read {path}: {error}", file=sys.stderr)
        return EXIT_USAGE
    _, problems = check_config_text(text)
    for problem in problems:
        print(f"{path.as_posix()}:{problem.line}:{problem.column}: {problem.message}")
    if not problems:
        print(f"{path.as_posix()}: valid")
    return EXIT_PROBLEMS if problems else EXIT_OK
