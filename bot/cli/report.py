"""`ci-orchestrator report --repo OWNER/NAME`: a repository's CI health report from the history store.

The same report as the App's "CI health" issue, as markdown (the issue's body), one self-contained HTML page
(inline SVG charts, nothing fetched when viewed) or JSON (docs/health-report.md). Reads the store the App
writes: `DATABASE_URL` (or `--database-url`), else the SQLite file under `--data-dir`.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from bot.config.loading import check_config_text
from bot.config.options import health_options
from bot.config.schema import HealthConfig
from bot.health import build_report
from bot.health.export import report_json
from bot.health.html import render_html
from bot.health.markdown import render_markdown
from bot.store import Store, database_url

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
FORMATS = ("markdown", "html", "json")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ci-orchestrator report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True, help="the repository, OWNER/NAME, as the store knows it")
    parser.add_argument("--days", type=int, default=None, help="the window in days (default: health.window_days, 30)")
    parser.add_argument("--format", choices=FORMATS, default="markdown", help="markdown (default), html or json")
    parser.add_argument("--output", type=Path, help="write to this file instead of standard output")
    parser.add_argument("--branch", help="the default branch (default: the one the store knows, else main)")
    parser.add_argument("--config", type=Path, help="a .github/ci-orchestrator.yml whose health: settings apply")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"), help="default: $DATABASE_URL")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("DATA_DIR", "data")),
        help="SQLite's folder (default: data)",
    )
    return parser


async def render_report(args: argparse.Namespace, now: datetime) -> tuple[int, str]:
    """(exit status, text): the rendered report, or what went wrong."""
    settings = check_config_text(args.config.read_text())[0].health if args.config else HealthConfig()
    options = health_options(settings)
    if args.days is not None:
        options = dataclasses.replace(options, window_days=args.days)
    store = await Store.open(database_url(args.database_url, args.data_dir))
    try:
        repository = await store.repository(args.repo)
        if repository is None:
            return EXIT_FAILED, f"the store has no repository named {args.repo!r}"
        branch = args.branch or repository.default_branch or "main"
        data = await store.health.health_data(
            repository.id, repository.full_name, branch, now=now, options=options, events=settings.events
        )
    finally:
        await store.close()
    report = build_report(data, options)
    if args.format == "html":
        return EXIT_OK, render_html(report)
    if args.format == "json":
        return EXIT_OK, orjson.dumps(report_json(report), option=orjson.OPT_INDENT_2).decode() + "\n"
    return EXIT_OK, render_markdown(report)


def main(argv: Sequence[str]) -> int:
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    if args.repo.count("/") != 1:
        print("ci-orchestrator report: error: --repo must be OWNER/NAME", file=sys.stderr)
        return EXIT_USAGE
    if args.days is not None and not 1 <= args.days <= 365:
        print("ci-orchestrator report: error: --days must be between 1 and 365", file=sys.stderr)
        return EXIT_USAGE
    try:
        status, text = asyncio.run(render_report(args, datetime.now(UTC)))
    except (OSError, ValueError) as error:
        print(f"ci-orchestrator report: error: {error}", file=sys.stderr)
        return EXIT_FAILED
    if status != EXIT_OK:
        print(f"ci-orchestrator report: {text}", file=sys.stderr)
        return status
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return EXIT_OK
