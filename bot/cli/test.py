"""`ci-orchestrator test WORKFLOW|SUITE`: dispatch a suite's matrix (or one workflow) and follow it to the end.

The same suites, checks and legs as the App's `/ci test`, with a token (`GITHUB_TOKEN`, `GH_TOKEN` or
`gh auth token`) instead of the App. The command line gets no webhooks, so it polls each leg's run, sparingly
and with ETags (an unchanged run answers 304, which GitHub does not count). A live table shows one line per leg
when the output is a terminal. Exit status: 0 when every leg met the expectation, 1 otherwise, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import IO, Any

import aiohttp
import gidgethub
from rich.console import Console
from rich.live import Live
from rich.table import Table

from bot.cli.github_access import NoToken, api_url, github_token
from bot.config.testing_suites import WORKFLOWS_DIR, dispatch_trigger, parse_duration
from bot.flows.provider import DispatchPaused, DispatchRefused
from bot.flows.test_on_demand import DispatchPolicy, Refusal, new_legs, resolve_suite
from bot.github import events
from bot.github.client import GitHubUnavailable, TokenClient
from bot.github.endpoints import RepoAPI
from bot.github.provider import GitHubCaches, GitHubProvider
from bot.ondemand.matrix import expand, leg_label
from bot.ondemand.render import format_duration
from bot.ondemand.session import Expectation, Leg, RunObservation, leg_met, session_conclusion, timed_out
from bot.store import Repository, Store
from bot.store.database import IN_MEMORY

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
DISPATCH_INTERVAL_SECONDS = 1.0
CORRELATION_INPUT = DispatchPolicy.correlation_input
_REMOTE = re.compile(r"(?:github\.com[:/]|^)([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$")


class UsageProblem(Exception):
    """The command line cannot run as asked; the message says why."""


def repository_from_remote(remote_url: str) -> str | None:
    """`owner/name` from a git remote URL (https or ssh)."""
    match = _REMOTE.search(remote_url.strip())
    return f"{match[1]}/{match[2]}" if match else None


def _git(*arguments: str) -> str | None:
    try:
        answer = subprocess.run(["git", *arguments], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return answer.stdout.strip() if answer.returncode == 0 and answer.stdout.strip() else None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ci-orchestrator test", description=__doc__.split("\n\n")[0])
    parser.add_argument("target", metavar="WORKFLOW|SUITE", help="a suite of .github/ci-testing.yml or a workflow file")
    parser.add_argument("--repo", help="OWNER/NAME (default: the current git remote 'origin')")
    parser.add_argument("--ref", help="the branch or tag to run on (default: the current branch, else the default one)")
    parser.add_argument(
        "--matrix", metavar="JSON", help='inputs and their values, e.g. \'{"python": ["3.11", "3.12"]}\''
    )
    parser.add_argument("--timeout", default=None, help="give up on legs after this long, e.g. 30m (default: suite's)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="the final report's format")
    parser.add_argument("--poll-interval", default="15s", help="how often each running leg is looked at (default 15s)")
    return parser


def _duration_option(text: str, name: str) -> float:
    seconds = parse_duration(text)
    if seconds is None or seconds <= 0:
        raise UsageProblem(f"{name} must be a duration such as 30m, 90s or 1h, got {text!r}")
    return seconds


def _observation_of_run(run: dict[str, Any]) -> RunObservation:
    return events.dispatched_run_seen({"workflow_run": run}).observation


class LegWatch:
    """The legs of one command-line session and their display."""

    def __init__(self, legs: list[Leg], expect: Expectation) -> None:
        self.legs = legs
        self.expect = expect

    def table(self) -> Table:
        table = Table(box=None, pad_edge=False)
        for column in ("#", "leg", "status", "duration", "run"):
            table.add_column(column)
        for leg in self.legs:
            table.add_row(
                str(leg.number),
                leg_label(leg.inputs),
                _status(leg, self.expect),
                format_duration(leg.duration),
                leg.html_url or "–",
            )
        return table


def _status(leg: Leg, expect: Expectation) -> str:
    met = leg_met(leg, expect)
    if met is True:
        return f"ok ({leg.conclusion})"
    if met is False:
        return f"FAILED ({leg.conclusion or leg.state})" + (f" at {leg.failing_step}" if leg.failing_step else "")
    return leg.state.replace("_", " ")


async def run_suite(
    repo: str,
    target: str,
    *,
    token: str,
    ref: str | None,
    matrix: str | None,
    timeout_seconds: float | None,
    poll_seconds: float,
    out: IO[str],
    output_format: str = "text",
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Dispatch the legs, follow them until they finish or time out, print the report; the exit status."""
    async with aiohttp.ClientSession() as session, Store.opened(IN_MEMORY) as store:
        gh = TokenClient(session, token, base_url=api_url(), sleep=sleep)
        api = RepoAPI(gh, repo)
        repository = await api.repository()
        default_branch = str(repository.get("default_branch") or "main")
        stored = Repository(int(repository["id"]), repo, None, default_branch)
        provider = GitHubProvider(gh, stored, GitHubCaches(store=store))
        timeout_minutes = max(1, round(timeout_seconds / 60)) if timeout_seconds is not None else None
        resolved = await resolve_suite(
            provider,
            target,
            matrix=matrix,
            ref=ref,
            head_branch=ref or default_branch,
            config_ref=default_branch,
            timeout_minutes=timeout_minutes,
        )
        if isinstance(resolved, Refusal):
            print(re.sub(r"`", "", resolved.message), file=sys.stderr)
            if resolved.details:
                print(resolved.details, file=sys.stderr)
            return EXIT_USAGE
        suite, dispatch_ref, workflow_text = resolved
        deadline = clock() + (timeout_seconds if timeout_seconds is not None else suite.timeout_minutes * 60)
        session_id = secrets.token_hex(8)
        declared = dispatch_trigger(workflow_text or "")
        correlate = declared is not None and CORRELATION_INPUT in (declared.inputs or {})
        watch = LegWatch(
            new_legs(session_id, expand(suite.matrix, suite.include, suite.exclude, suite.inputs) or [()], correlate),
            suite.expect,
        )
        live = Live(watch.table(), console=Console(file=out), auto_refresh=False) if out.isatty() else None
        if live is not None:
            live.start()
        try:
            await _dispatch_all(provider, watch, suite.workflow, dispatch_ref, sleep)
            if live is not None:
                live.update(watch.table(), refresh=True)
            await _follow(api, watch, deadline, poll_seconds, sleep, clock, live, suite.workflow)
        finally:
            if live is not None:
                live.stop()
    conclusion = session_conclusion(watch.legs, watch.expect) or "failure"
    _report(watch, suite.name, suite.workflow, dispatch_ref, conclusion, out, output_format)
    return EXIT_OK if conclusion == "success" else EXIT_FAILED


async def _dispatch_all(
    provider: GitHubProvider, watch: LegWatch, workflow: str, ref: str, sleep: Callable[[float], Awaitable[None]]
) -> None:
    for index, leg in enumerate(watch.legs):
        if index:
            await sleep(DISPATCH_INTERVAL_SECONDS)
        inputs = dict(leg.inputs)
        if leg.token:
            inputs[CORRELATION_INPUT] = leg.token
        while True:
            try:
                run = await provider.dispatch(workflow, ref, inputs)
            except DispatchPaused as paused:
                await sleep(paused.seconds)
                continue
            except DispatchRefused as refused:
                watch.legs[index] = replace(leg, state="error", note=str(refused), dispatches=1)
                break
            watch.legs[index] = replace(leg, state="dispatched", run_id=run.run_id, html_url=run.html_url, dispatches=1)
            break


async def _follow(
    api: RepoAPI,
    watch: LegWatch,
    deadline: float,
    poll_seconds: float,
    sleep: Callable[[float], Awaitable[None]],
    clock: Callable[[], float],
    live: Live | None,
    workflow: str,
) -> None:
    """Look at each unfinished leg's run every `poll_seconds` (conditional GETs) until all finished or time is up."""
    while True:
        for index, leg in enumerate(watch.legs):
            if leg.finished:
                continue
            if leg.run_id is None and leg.token:
                leg = await _find_by_token(api, workflow, leg)
            if leg.run_id is None:
                continue
            observation = _observation_of_run(await api.run(leg.run_id))
            if observation.status == "completed" and observation.conclusion not in ("success", "skipped"):
                for job in await api.attempt_jobs(leg.run_id, observation.attempt):
                    observation = observation.merged(events.job_run_seen({"workflow_job": job}).observation)
            watch.legs[index] = leg.observed(observation)
        if live is not None:
            live.update(watch.table(), refresh=True)
        if all(leg.finished for leg in watch.legs):
            return
        if clock() >= deadline:
            for leg in watch.legs:
                if not leg.finished and leg.run_id is not None:
                    with contextlib.suppress(gidgethub.BadRequest):  # 409: it finished meanwhile
                        await api.cancel_run(leg.run_id)
            watch.legs = timed_out(watch.legs)
            return
        await sleep(poll_seconds)


async def _find_by_token(api: RepoAPI, workflow: str, leg: Leg) -> Leg:
    """A leg dispatched without run details: its run is the one whose name carries the leg's token."""
    for run in await api.dispatched_runs(workflow):
        if leg.token in str(run.get("display_title") or ""):
            return replace(leg, run_id=int(run["id"]), html_url=run.get("html_url"))
    return leg


def _report(
    watch: LegWatch, suite: str, workflow: str, ref: str, conclusion: str, out: IO[str], output_format: str
) -> None:
    if output_format == "json":
        legs = [
            {
                "number": leg.number,
                "inputs": dict(leg.inputs),
                "state": leg.state,
                "conclusion": leg.conclusion,
                "met_expectation": leg_met(leg, watch.expect),
                "duration_seconds": leg.duration.total_seconds() if leg.duration else None,
                "run_id": leg.run_id,
                "html_url": leg.html_url,
                "failing_job": leg.failing_job,
                "failing_step": leg.failing_step,
                "note": leg.note,
            }
            for leg in watch.legs
        ]
        report = {
            "suite": suite,
            "workflow": f"{WORKFLOWS_DIR}/{workflow}",
            "ref": ref,
            "conclusion": conclusion,
            "legs": legs,
        }
        print(json.dumps(report, indent=2), file=out)
        return
    console = Console(file=out, width=200, color_system=None)
    met = sum(1 for leg in watch.legs if leg_met(leg, watch.expect))
    console.print(f"{suite}: {workflow} on {ref}: {conclusion}, {met} of {len(watch.legs)} legs met the expectation")
    console.print(watch.table())


def main(argv: Sequence[str]) -> int:
    try:
        args = _parser().parse_args(list(argv))
    except SystemExit as exit_request:
        return int(exit_request.code or 0)
    try:
        repo, ref = args.repo, args.ref
        if repo is None:
            repo = repository_from_remote(_git("remote", "get-url", "origin") or "")
            if repo is None:
                raise UsageProblem("--repo is needed: no git remote 'origin' on GitHub here")
            branch = _git("rev-parse", "--abbrev-ref", "HEAD")
            ref = ref or (branch if branch and branch != "HEAD" else None)
        if repo.count("/") != 1:
            raise UsageProblem("--repo must be OWNER/NAME")
        timeout = _duration_option(args.timeout, "--timeout") if args.timeout else None
        poll = _duration_option(args.poll_interval, "--poll-interval")
        token = github_token()
    except (UsageProblem, NoToken) as problem:
        print(f"ci-orchestrator test: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return asyncio.run(
            run_suite(
                repo,
                args.target,
                token=token,
                ref=ref,
                matrix=args.matrix,
                timeout_seconds=timeout,
                poll_seconds=poll,
                out=sys.stdout,
                output_format=args.format,
            )
        )
    except (gidgethub.GitHubException, GitHubUnavailable, aiohttp.ClientError) as error:
        print(f"ci-orchestrator test: GitHub refused or could not be reached: {error}", file=sys.stderr)
        return EXIT_FAILED
