"""`ci-orchestrator backfill [--repo OWNER/NAME] [--days N]`: recent default-branch history into the store.

Runs as the App, with the settings `serve` uses: its id and key, its store (`DATABASE_URL` / `DATA_DIR`), and
`BACKFILL_RATE_SHARE` of each installation's hourly limit. Without `--repo`, every repository of every
installation. Progress is logged after each page and saved in the store: run it again to resume.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import aiohttp
import gidgethub

from bot.app.logs import configure_logging
from bot.app.settings import Settings, SettingsError, load_settings
from bot.github.backfill import backfill_repository, installation_budget
from bot.github.client import GitHubApp, GitHubUnavailable
from bot.github.endpoints import AppAPI, InstallationAPI, RepoAPI
from bot.store import Installation, Repository, Store, installation_record, repository_record

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


async def _targets(github: GitHubApp, store: Store, repo: str | None) -> dict[Installation, list[Repository]]:
    """The repositories to backfill, by installation."""
    if repo is not None:
        known = await store.repository(repo)
        if known is not None and known.installation_id is not None:
            installation = Installation(known.installation_id, None)
        else:
            installation = installation_record(await RepoAPI(github.app_client, repo).installation())
        data = await RepoAPI(github.for_installation(installation.id), repo).repository()
        return {installation: [repository_record(data, installation.id)]}
    targets = {}
    async for listed in AppAPI(github.app_client).installations():
        installation = installation_record(listed)
        gh = github.for_installation(installation.id)
        targets[installation] = [
            repository_record(r, installation.id) async for r in InstallationAPI(gh).repositories()
        ]
    return targets


async def backfill(settings: Settings, repo: str | None, days: float) -> int:
    store = await Store.open(settings.store_url())
    failures = 0
    try:
        async with aiohttp.ClientSession() as session:
            github = GitHubApp(session, settings)
            for installation, repositories in (await _targets(github, store, repo)).items():
                await store.record_installation(installation, repositories, now=datetime.now(UTC))
                gh = github.for_installation(installation.id)
                budget = await installation_budget(gh, settings.backfill_rate_share)
                for repository in repositories:
                    try:
                        async with store.single_flight(f"backfill {repository.id}"):
                            progress = await backfill_repository(gh, repository, store, budget, days=days)
                    except (GitHubUnavailable, gidgethub.GitHubException) as error:
                        failures += 1
                        print(f"{repository.full_name}: stopped: {error} (run again to resume)", file=sys.stderr)
                        continue
                    since = progress.since.strftime("%Y-%m-%d")
                    print(f"{repository.full_name}: {progress.runs_fetched} runs on {progress.branch} since {since}")
    finally:
        await store.close()
    return EXIT_FAILED if failures else EXIT_OK


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="ci-orchestrator backfill", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", help="only this repository, OWNER/NAME (default: every repository of the App)")
    parser.add_argument("--days", type=float, help="how far back (default: BACKFILL_DAYS, 30)")
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    if args.repo is not None and args.repo.count("/") != 1:
        print("ci-orchestrator backfill: error: --repo must be OWNER/NAME", file=sys.stderr)
        return EXIT_USAGE
    if args.days is not None and not 0 < args.days <= 400:
        print("ci-orchestrator backfill: error: --days must be more than 0 and at most 400", file=sys.stderr)
        return EXIT_USAGE
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"ci-orchestrator backfill: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings.log_level, settings.log_format)
    try:
        return asyncio.run(backfill(settings, args.repo, args.days or settings.backfill_days))
    except (GitHubUnavailable, gidgethub.GitHubException, aiohttp.ClientError) as error:
        print(f"ci-orchestrator backfill: GitHub refused or could not be reached: {error}", file=sys.stderr)
        return EXIT_FAILED
