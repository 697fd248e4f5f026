"""The `ci-orchestrator` command: `serve` (default), `demo`, `review PATH...`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.app.logs import configure_logging
from bot.app.settings import SettingsError, load_settings


def _serve() -> int:
    try:
        settings = load_settings()
    except SettingsError as error:
        print("ci-orchestrator cannot start, the configuration has problems:", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("See README.md, 'Configuration'.", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    from bot.app.server import serve

    asyncio.run(serve(settings))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="ci-orchestrator", description="CI Orchestrator GitHub App")
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "demo", "review"])
    if args and args[0] == "review":
        from bot.cli.review import main as review_main

        return review_main(args[1:])
    parsed = parser.parse_args(args[:1])
    if parsed.command == "demo":
        from bot.testing.demo import main as demo_main

        return demo_main(args[1:])
    return _serve()
