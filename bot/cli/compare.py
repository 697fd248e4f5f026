"""`ci-orchestrator compare --repo OWNER/NAME --run ID`: the App's comparison of one run, from the command line.

The same flow as the App's `workflow_run` handler, through the same GitHub provider, with a token
instead of the App's installation. By default nothing is posted: the comment and the check run the
App would publish are printed. `--publish` posts them (the token then needs write access).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence

import aiohttp
import gidgethub

from bot.cli.github_access import NoToken, api_url, github_token
from bot.comparison.model import RunRecord
from bot.flows.compare_run import CompletedRun, compare_completed_run
from bot.flows.provider import CommentRenderer, PullRequestRef
from bot.github.client import GitHubUnavailable, TokenClient
from bot.github.endpoints import RepoAPI
from bot.github.provider import GitHubCaches, GitHubProvider
from bot.github.records import run_from_github
from bot.report import Report
from bot.store import Repository, Store
from bot.store.database import IN_MEMORY

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class PrintingProvider(GitHubProvider):
    """Reads through GitHub like the App, and prints what the App would publish instead of posting it."""

    async def publish_check_run(
        self, head_sha: str, name: str, report: Report, *, details_url: str | None = None, replace: bool = False
    ) -> None:
        print(f"── check run '{name}' on {head_sha[:12]}: {report.conclusion}: {report.title}")
        print(report.summary)
        for annotation in report.annotations:
            print(f"{annotation.path}:{annotation.start_line}: {annotation.level}: {annotation.title}")

    async def rerun_jobs(self, run: RunRecord, job_ids: Sequence[int]) -> bool:
        print(
            f"── would re-run job(s) {', '.join(map(str, job_ids))} of run {run.id} to confirm; deciding on one sample"
        )
        return False

    async def rerun_run(self, run: RunRecord) -> bool:
        print(f"── would re-run run {run.id} to confirm; deciding on one sample")
        return False

    async def publish_comment(
        self, number: int, markers: Sequence[str], render: CommentRenderer, *, create: bool
    ) -> str:
        print(f"── comment on #{number}{'' if create else ' (only if one exists already: nothing new to say)'}")
        print(re.sub(r"<!-- ci-orchestrator:[^>]*-->\n?", "", render(None, None)).strip())
        return "printed"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ci-orchestrator compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", required=True, help="the repository, OWNER/NAME")
    parser.add_argument("--run", required=True, type=int, help="the workflow run id")
    parser.add_argument("--pr", type=int, help="compare for this pull request (default: the run's open PRs)")
    parser.add_argument("--publish", action="store_true", help="post the comment and check run (needs write access)")
    return parser


async def compare(repo: str, run_id: int, pr: int | None, *, publish: bool, token: str) -> int:
    # The history of this one command lives in memory: what it reads from GitHub is read once.
    async with aiohttp.ClientSession() as session, Store.opened(IN_MEMORY) as store:
        gh = TokenClient(session, token, base_url=api_url())
        api = RepoAPI(gh, repo)
        repository, run = await api.repository(), await api.run(run_id)
        default_branch = str(repository.get("default_branch") or "main")
        provider_type = GitHubProvider if publish else PrintingProvider
        stored = Repository(int(repository["id"]), repo, None, default_branch)
        provider = provider_type(gh, stored, GitHubCaches(store=store))
        pulls: tuple[PullRequestRef, ...] = (await provider.pull_request(pr),) if pr is not None else ()
        completed = CompletedRun(
            run=run_from_github(run, []),
            default_branch=default_branch,
            from_this_repository=(run.get("head_repository") or {}).get("full_name") == repo,
            head_owner=((run.get("head_repository") or {}).get("owner") or {}).get("login"),
            listed_pulls=pulls,
        )
        comparisons = await compare_completed_run(provider, completed)
    if not comparisons:
        print("nothing compared: the run is a base-branch run, belongs to no open pull request (try --pr),")
        print("or its workflow is left out by the repository's configuration")
    return EXIT_OK


def main(argv: Sequence[str]) -> int:
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    if args.repo.count("/") != 1:
        print("ci-orchestrator compare: error: --repo must be OWNER/NAME", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(compare(args.repo, args.run, args.pr, publish=args.publish, token=github_token()))
    except NoToken as error:
        print(f"ci-orchestrator compare: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (gidgethub.GitHubException, GitHubUnavailable, aiohttp.ClientError) as error:
        print(f"ci-orchestrator compare: GitHub refused or could not be reached: {error}", file=sys.stderr)
        return EXIT_FAILED
