"""The `ci-orchestrator` command (also `gh ci`): `serve` (default), `demo`, `review`, `check-config`, `compare`,
`test`, `report`, `backfill`, `status`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot import __version__

README_SETTINGS = "README.md, section 'Running the App'"
EXIT_OK = 0
EXIT_DELIVERIES_LEFT = 75  # EX_TEMPFAIL: stopped with deliveries left in the store, for the next start
COMMANDS = {
    "serve": "run the App's webhook server (the default command)",
    "demo": "play the App end to end against the built-in local GitHub, no credentials needed",
    "review": "review workflow, action and config files on disk (also the pre-commit hook)",
    "check-config": "check a .github/ci-orchestrator.yml and print its problems with their lines",
    "compare": "compare a workflow run with its base branch, through the GitHub API with your token",
    "test": "dispatch a test suite's matrix (or a workflow) and follow its legs to the end, with your token",
    "report": "a repository's CI health report from the history store, as markdown, HTML or JSON",
    "backfill": "fetch recent default-branch runs into the history store, as the App, within a rate budget",
    "status": "show what the history store holds, each backfill's progress, and unfinished deliveries",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ci-orchestrator",
        description="CI Orchestrator: compare, review and test CI from inside pull requests.",
        epilog="Run 'ci-orchestrator COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"ci-orchestrator {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        commands.add_parser(name, help=summary, description=summary, add_help=name in ("serve", "demo"))
    return parser


def _serve() -> int:
    from bot.app.logs import configure_logging
    from bot.app.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as error:
        print("ci-orchestrator cannot start, the configuration has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        print(f"The variables are explained in {README_SETTINGS}.", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    from bot.app.server import serve

    finished_all = asyncio.run(serve(settings))
    return EXIT_OK if finished_all else EXIT_DELIVERIES_LEFT


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    command, rest = (args[0], args[1:]) if args and args[0] in COMMANDS else ("serve" if not args else "", args)
    if command == "review":
        from bot.cli.review import main as review_main

        return review_main(rest)
    if command == "check-config":
        from bot.cli.check_config import main as check_config_main

        return check_config_main(rest)
    if command == "compare":
        from bot.cli.compare import main as compare_main

        return compare_main(rest)
    if command == "test":
        from bot.cli.test import main as test_main

        return test_main(rest)
    if command == "report":
        from bot.cli.report import main as report_main

        return report_main(rest)
    if command == "backfill":
        from bot.cli.backfill import main as backfill_main

        return backfill_main(rest)
    if command == "status":
        from bot.cli.status import main as status_main

        return status_main(rest)
    try:
        parsed = _parser().parse_args([command, *rest] if command else rest)
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    if parsed.command == "demo":
        from bot.testing.demo import main as demo_main

        return demo_main(())
    return _serve()
