"""Test workflows on demand: start a session of a suite (a comment, a button, a push), dispatch its legs at a
bounded rate, follow their runs through webhooks only, and publish one check run and one reply per session.

Everything a session knows is in the store (`SessionRecords`), so any instance goes on with what another started;
work on one session runs under its lock. The scheduled check (`sweep`) times sessions out, publishes batched
changes, resumes paused dispatching and starts push sessions that waited for a free slot.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.commands import Command
from bot.config.schema import ConfigProblem
from bot.config.testing_suites import (
    REF_PR_HEAD,
    TESTING_CONFIG_PATH,
    WORKFLOW_FILE,
    WORKFLOWS_DIR,
    Suite,
    TestingConfig,
    check_suite_against_workflow,
    dispatch_trigger,
    input_value,
    parse_testing_config,
    suite_problems,
)
from bot.flows.comment_commands import CommandContext
from bot.flows.provider import DispatchPaused, DispatchRefused, OnDemandProvider
from bot.ondemand.matrix import Combination, expand
from bot.ondemand.render import (
    CHECK_ACTIONS,
    REPLY_MARKER,
    render_check_run,
    render_problems,
    render_reply,
)
from bot.ondemand.session import (
    NOT_STARTED,
    Leg,
    RunObservation,
    SessionConclusion,
    SuiteSession,
    Trigger,
    failed_legs,
    session_conclusion,
    timed_out,
    typical_durations,
)
from bot.report import code_span, plain_text

log = logging.getLogger(__name__)

TOKEN_PATTERN = re.compile(r"\bci-[0-9a-f]{16}-\d+-\d+\b")  # ci-<session>-<leg>-<dispatch>


@dataclass(frozen=True)
class DispatchPolicy:
    """How fast and how much the App dispatches, and how often a session's check run is edited."""

    interval_seconds: float = 1.0  # between two dispatches (GitHub asks for writes ≥ 1 s apart)
    batch: int = 20  # dispatches per delivery or scheduled check; the rest follow at the next check
    budget_per_hour: int = 300  # dispatches per installation and hour: the share of the rate limit for testing
    publish_every_seconds: float = 5.0  # at most one edit of a running session's check run per this many seconds
    correlation_input: str = "ci_orchestrator_leg"  # filled with a unique token when the workflow declares it


class SessionRecords(Protocol):
    """What the flow keeps in the store (`bot.store.SessionStore`)."""

    def hold(self, key: str) -> AbstractAsyncContextManager[None]: ...

    async def create(self, session: SuiteSession, legs: Sequence[Leg]) -> None: ...

    async def save(self, session: SuiteSession, legs: Sequence[Leg] = ()) -> None: ...

    async def get(self, session_id: str) -> tuple[SuiteSession, list[Leg]] | None: ...

    async def of_pull_request(self, repository_id: int, number: int) -> list[SuiteSession]: ...

    async def by_check_run(self, check_run_id: int) -> str | None: ...

    async def started_for(self, repository_id: int, head_sha: str, trigger: str) -> set[str]: ...

    async def push_sessions(self, repository_id: int) -> list[SuiteSession]: ...

    async def due(self, now: datetime, *, batch_after: timedelta) -> list[str]: ...

    async def observe_run(
        self, repository_id: int, run_id: int, observation: RunObservation, *, now: datetime
    ) -> RunObservation: ...

    async def run_observation(self, repository_id: int, run_id: int) -> RunObservation | None: ...

    async def sessions_of_run(self, run_id: int) -> list[str]: ...

    async def leg_with_token(self, token: str) -> tuple[str, int] | None: ...

    async def take_budget(
        self, installation_id: int, *, now: datetime, limit: int, window: timedelta
    ) -> datetime | None: ...

    async def leg_history(
        self, repository_id: int, suite: str, ref: str, *, before: datetime, per_leg: int = 10
    ) -> dict[str, list[float]]: ...


@dataclass(frozen=True)
class Place:
    """Where sessions start and report: the repository, its installation and default branch."""

    provider: OnDemandProvider
    records: SessionRecords
    repository_id: int
    installation_id: int | None
    default_branch: str
    policy: DispatchPolicy = DispatchPolicy()


@dataclass(frozen=True)
class Refusal:
    """Why a session was not started: the App's own words, and details shown verbatim (problems, usage)."""

    message: str
    details: str = ""


# Starting sessions


async def load_suites(provider: OnDemandProvider, ref: str) -> tuple[TestingConfig, list[ConfigProblem]]:
    text = await provider.file_text(TESTING_CONFIG_PATH, ref)
    return parse_testing_config(text) if text is not None else (TestingConfig(), [])


def matrix_override(text: str) -> tuple[tuple[str, tuple[str, ...]], ...] | Refusal:
    """`--matrix '{"python": ["3.11", "3.12"]}'`: inputs and their values (a single value is a list of one)."""
    try:
        data = json.loads(text)
    except ValueError as error:
        return Refusal("`--matrix` is not valid JSON.", f"--matrix {text}\n{error}")
    if not isinstance(data, dict) or not data:
        return Refusal("`--matrix` must be a JSON object of inputs and their values.", f"--matrix {text}")
    matrix = []
    for name, values in data.items():
        listed = values if isinstance(values, list) else [values]
        texts = [input_value(value) for value in listed]
        if not listed or any(value is None for value in texts):
            return Refusal("`--matrix` values must be texts, numbers or true/false.", f"{name}: {values!r}")
        matrix.append((str(name), tuple(dict.fromkeys(value for value in texts if value is not None))))
    return tuple(matrix)


def _problem_lines(problems: Sequence[ConfigProblem]) -> str:
    return "\n".join(f"{TESTING_CONFIG_PATH}, line {p.line}: {p.message}" if p.line else p.message for p in problems)


async def resolve_suite(
    provider: OnDemandProvider,
    target: str | None,
    *,
    matrix: str | None,
    ref: str | None,
    head_branch: str,
    config_ref: str,
    correlation_input: str = DispatchPolicy.correlation_input,
    timeout_minutes: int | None = None,
) -> tuple[Suite, str, str | None] | Refusal:
    """The suite to run (a suite of the file, or a workflow named directly), the ref to dispatch, and the workflow's
    text; or why not (every configuration problem with its line, before anything is dispatched)."""
    config, problems = await load_suites(provider, config_ref)
    if target is None and len(config.suites) == 1:
        target = next(iter(config.suites))
    if target is None:
        names = ", ".join(f"`{name}`" for name in config.suites) or "none"
        return Refusal(f"Which suite? Name one of {plain_text(names, 500)}, or a workflow file such as `ci.yml`.")
    if target in config.suites:
        suite = config.suites[target]
    elif problems and suite_problems(problems, target):
        return Refusal(
            f"Suite {code_span(target, 64)} was not run: {TESTING_CONFIG_PATH} has problems.",
            _problem_lines(suite_problems(problems, target)),
        )
    elif WORKFLOW_FILE.fullmatch(target.removeprefix(WORKFLOWS_DIR + "/")):
        suite = Suite(name=target.removeprefix(WORKFLOWS_DIR + "/"), workflow=target.removeprefix(WORKFLOWS_DIR + "/"))
    else:
        names = ", ".join(config.suites) or "none"
        return Refusal(
            f"There is no suite {code_span(target, 64)} in {TESTING_CONFIG_PATH} (nor a workflow file of that name).",
            f"the suites are: {names}",
        )
    if matrix is not None:
        override = matrix_override(matrix)
        if isinstance(override, Refusal):
            return override
        suite = replace(suite, matrix=override, include=(), exclude=())
    if timeout_minutes is not None:
        suite = replace(suite, timeout_minutes=timeout_minutes)
    legs = expand(suite.matrix, suite.include, suite.exclude, suite.inputs) or [()]
    if len(legs) > config.max_legs:
        where = f"{TESTING_CONFIG_PATH}, line {suite.position('matrix')[0]}: " if suite.line else ""
        return Refusal(
            f"Suite {code_span(suite.name, 64)} was not run: too many legs.",
            f"{where}the matrix expands to {len(legs)} legs, more than the limit of {config.max_legs} (max_legs)",
        )
    dispatch_ref = ref or (head_branch if suite.ref == REF_PR_HEAD else suite.ref)
    workflow_text = await provider.file_text(f"{WORKFLOWS_DIR}/{suite.workflow}", dispatch_ref)
    known: list[str] = []
    if workflow_text is None:
        known = [path.rsplit("/", 1)[-1] for path in await provider.workflow_files(dispatch_ref)]
    found = check_suite_against_workflow(
        suite, workflow_text, known_workflows=known, ref=dispatch_ref, correlation_input=correlation_input
    )
    if found:
        return Refusal(
            f"Suite {code_span(suite.name, 64)} was not run: its configuration has problems.", _problem_lines(found)
        )
    return suite, dispatch_ref, workflow_text


def new_legs(session_id: str, combinations: Sequence[Combination], correlate: bool) -> list[Leg]:
    return [
        Leg(number, combination, token=f"ci-{session_id}-{number}-1" if correlate else "")
        for number, combination in enumerate(combinations, start=1)
    ]


async def start_session(
    place: Place,
    suite: Suite,
    *,
    ref: str,
    head_sha: str,
    workflow_text: str | None,
    trigger: Trigger,
    requested_by: str,
    now: datetime,
    pull_request: int | None = None,
    comment_id: int | None = None,
    combinations: Sequence[Combination] | None = None,
    waiting: bool = False,
    dispatch_now: bool = True,
) -> SuiteSession:
    """Record a session with its legs, post its check run (and the reply to the command), dispatch its legs (or,
    with `dispatch_now` False, leave them to the scheduled check)."""
    session_id = secrets.token_hex(8)
    declared = dispatch_trigger(workflow_text or "")
    correlate = declared is not None and place.policy.correlation_input in (declared.inputs or {})
    legs = new_legs(
        session_id,
        combinations
        if combinations is not None
        else expand(suite.matrix, suite.include, suite.exclude, suite.inputs) or [()],
        correlate,
    )
    session = SuiteSession(
        id=session_id,
        repository=place.provider.repo,
        repository_id=place.repository_id,
        installation_id=place.installation_id,
        suite=suite.name,
        workflow=suite.workflow,
        ref=ref,
        default_branch=place.default_branch,
        head_sha=head_sha,
        trigger=trigger,
        requested_by=requested_by,
        created_at=now,
        deadline=now + timedelta(minutes=suite.timeout_minutes),
        expect=suite.expect,
        state="waiting" if waiting else "running",
        pull_request=pull_request,
        comment_id=comment_id,
        note="Waiting for an earlier push's session to finish." if waiting else "",
    )
    await place.records.create(session, legs)
    async with place.records.hold(session.id):
        session, legs = await _publish(place, session, legs, now, reply=pull_request is not None and trigger != "push")
        if waiting:
            return session
        if not dispatch_now:
            session = replace(session, resume_at=now)
            await place.records.save(session)
            return session
        session, legs = await _dispatch_pending(place, session, legs, now)
        session, legs = await _publish_if_due(place, session, legs, now)
    return session


async def _dispatch_pending(
    place: Place, session: SuiteSession, legs: list[Leg], now: datetime
) -> tuple[SuiteSession, list[Leg]]:
    """Dispatch the legs not dispatched yet, at most `policy.batch` of them, paced; stop on a rate limit or an
    exhausted budget (the scheduled check resumes at `resume_at`)."""
    policy, records = place.policy, place.records
    session = replace(session, resume_at=None)
    sent = 0
    for index, leg in enumerate(legs):
        if leg.state != "pending":
            continue
        if sent >= policy.batch:
            session = replace(session, resume_at=now)
            break
        if session.installation_id is not None:
            free_at = await records.take_budget(
                session.installation_id, now=now, limit=policy.budget_per_hour, window=timedelta(hours=1)
            )
            if free_at is not None:
                session = replace(session, resume_at=free_at, note="Dispatching paused: the hour's budget is spent.")
                break
        if sent:
            await place.provider.pause(policy.interval_seconds)
        inputs = dict(leg.inputs)
        if leg.token:
            inputs[policy.correlation_input] = leg.token
        try:
            run = await place.provider.dispatch(session.workflow, session.ref, inputs)
        except DispatchPaused as paused:
            session = replace(
                session,
                resume_at=now + timedelta(seconds=max(paused.seconds, 1.0)),
                note="Dispatching paused: GitHub asked to slow down.",
            )
            break
        except DispatchRefused as refused:
            leg = replace(leg, state="error", note=plain_text(str(refused), 200), dispatches=leg.dispatches + 1)
        else:
            leg = replace(
                leg, state="dispatched", run_id=run.run_id, html_url=run.html_url, dispatches=leg.dispatches + 1
            )
            if run.run_id is not None:
                seen = await records.run_observation(session.repository_id, run.run_id)
                if seen is not None:  # its deliveries came before the dispatch's answer
                    leg = leg.observed(seen)
        sent += 1
        legs[index] = leg
        session = replace(session, dirty=True)
        await records.save(session, [leg])
    if session.resume_at is None and session.note.startswith("Dispatching paused"):
        session = replace(session, note="")
    return await _conclude_if_done(place, session, legs, now)


async def _conclude_if_done(
    place: Place, session: SuiteSession, legs: list[Leg], now: datetime
) -> tuple[SuiteSession, list[Leg]]:
    conclusion = session_conclusion(legs, session.expect, cancelled=session.cancelled)
    if conclusion is not None and session.state != "completed":
        session = replace(session, state="completed", conclusion=conclusion, resume_at=None)
        return await _publish(place, session, legs, now, reply=True)
    await place.records.save(session, legs)
    return session, legs


async def _publish_if_due(
    place: Place, session: SuiteSession, legs: list[Leg], now: datetime
) -> tuple[SuiteSession, list[Leg]]:
    """Edit the check run when the session changed and the last edit is old enough (batched edits)."""
    if session.state == "completed" or not session.dirty:
        return session, legs
    every = timedelta(seconds=place.policy.publish_every_seconds)
    if session.published_at is not None and now - session.published_at < every:
        return session, legs
    return await _publish(place, session, legs, now, reply=False)


async def _publish(
    place: Place, session: SuiteSession, legs: list[Leg], now: datetime, *, reply: bool
) -> tuple[SuiteSession, list[Leg]]:
    """Post or edit the session's check run (and the reply, when asked), then remember that it is shown."""
    provider, records = place.provider, place.records
    history = await records.leg_history(session.repository_id, session.suite, session.default_branch, before=now)
    finished = session.state == "completed"
    workflow_text = None
    if finished and failed_legs(legs, session.expect):
        workflow_text = await provider.file_text(f"{WORKFLOWS_DIR}/{session.workflow}", session.head_sha)
    report = render_check_run(session, legs, typical_durations(history), workflow_text)
    actions: Sequence[dict[str, str]] = ()
    if finished:
        actions = CHECK_ACTIONS if failed_legs(legs, session.expect) else CHECK_ACTIONS[1:]
    if session.check_run_id is None:
        check_run_id, check_url = await provider.start_check_run(
            session.head_sha,
            session.check_name,
            report,
            external_id=f"ci-orchestrator:test:{session.id}",
            actions=actions,
        )
        session = replace(session, check_run_id=check_run_id, check_url=check_url or None)
    else:
        await provider.update_check_run(session.check_run_id, report, actions=actions)
    session = replace(session, published_at=now, dirty=False)
    if reply and session.pull_request is not None and (session.reply_id is not None or session.comment_id):
        body = render_reply(session, legs, session.check_url)
        if session.reply_id is None:
            marker = REPLY_MARKER.format(id=session.id)
            session = replace(session, reply_id=await provider.post_reply(session.pull_request, body, marker))
        else:
            await provider.edit_reply(session.reply_id, body)
    await records.save(session, legs)
    return session, legs


# Commands


async def test_command(place: Place, context: CommandContext, command: Command) -> bool:
    """`/ci test [SUITE|WORKFLOW] [--matrix JSON] [--ref REF]` on a pull request."""
    comment, arguments = context.comment, command.arguments
    if not comment.is_pull_request:
        await context.reply("`/ci test` works on pull requests: it tests the pull request's head.")
        return False
    head = await place.provider.pull_request_head(comment.number)
    if head.from_fork and arguments.ref is None:
        await context.reply(
            "This pull request's head is in a fork, and `workflow_dispatch` runs only on branches of this repository. "
            "Name one with `--ref`."
        )
        return False
    resolved = await resolve_suite(
        place.provider,
        arguments.target,
        matrix=arguments.matrix,
        ref=arguments.ref,
        head_branch=head.head_branch,
        config_ref=place.default_branch,
        correlation_input=place.policy.correlation_input,
    )
    if isinstance(resolved, Refusal):
        await context.reply(resolved.message, resolved.details)
        return False
    suite, ref, workflow_text = resolved
    await start_session(
        place,
        suite,
        ref=ref,
        head_sha=head.head_sha,
        workflow_text=workflow_text,
        trigger="comment",
        requested_by=comment.author,
        now=context.now,
        pull_request=comment.number,
        comment_id=comment.comment_id,
    )
    return True


async def rerun_failed_command(place: Place, context: CommandContext, command: Command) -> bool:
    """`/ci rerun-failed`: the failed legs of the pull request's last finished session."""
    sessions = await place.records.of_pull_request(place.repository_id, context.comment.number)
    last = latest_session(sessions, running=False)
    if last is None:
        await context.reply("This pull request has no finished test session to re-run.")
        return False
    outcome = await rerun_failed(place, last.id, context.now)
    if isinstance(outcome, Refusal):
        await context.reply(outcome.message)
        return False
    return True


async def cancel_command(place: Place, context: CommandContext, command: Command) -> bool:
    """`/ci cancel`: every running test session of the pull request."""
    sessions = await place.records.of_pull_request(place.repository_id, context.comment.number)
    running = [session for session in sessions if session.state != "completed"]
    if not running:
        await context.reply("This pull request has no running test session.")
        return False
    reason = f"Cancelled by {plain_text(context.comment.author, 60)} (/ci cancel)."
    for session in running:
        await cancel_session(place, session.id, context.now, reason=reason, only_not_started=False)
    return True


# Following runs


@dataclass(frozen=True)
class RunSeen:
    """What one `workflow_run` or `workflow_job` delivery says about a run."""

    run_id: int
    observation: RunObservation
    dispatched: bool  # the run's event is workflow_dispatch (None from `workflow_job`, which does not say)
    display_title: str = ""


async def follow_run(place: Place, seen: RunSeen, now: datetime) -> list[str]:
    """Note what a delivery says about a run and update the sessions with a leg on it; their ids."""
    records = place.records
    for token in TOKEN_PATTERN.findall(seen.display_title):
        found = await records.leg_with_token(token)
        if found is not None:
            await _attach_run(place, found[0], found[1], seen.run_id, now)
    session_ids = await records.sessions_of_run(seen.run_id)
    if not session_ids and not seen.dispatched and seen.observation.failing_job is None:
        return []  # not a run the App dispatched (a failed job is kept: its run's leg may not know it yet)
    merged = await records.observe_run(place.repository_id, seen.run_id, seen.observation, now=now)
    if not session_ids:  # a dispatch answered meanwhile reads the observation, or is read here
        session_ids = await records.sessions_of_run(seen.run_id)
    for session_id in session_ids:
        async with records.hold(session_id):
            loaded = await records.get(session_id)
            if loaded is None:
                continue
            session, legs = loaded
            changed = False
            for index, leg in enumerate(legs):
                if leg.run_id == seen.run_id:
                    updated = leg.observed(merged)
                    changed |= updated != leg
                    legs[index] = updated
            if not changed:
                continue
            session = replace(session, dirty=True)
            session, legs = await _conclude_if_done(place, session, legs, now)
            await _publish_if_due(place, session, legs, now)
    return session_ids


async def _attach_run(place: Place, session_id: str, number: int, run_id: int, now: datetime) -> None:
    """A leg whose dispatch answered no run id is matched with its run by the token in the run's name."""
    async with place.records.hold(session_id):
        loaded = await place.records.get(session_id)
        if loaded is None:
            return
        session, legs = loaded
        leg = legs[number - 1]
        if leg.run_id is None:
            await place.records.save(session, [replace(leg, run_id=run_id)])


# Re-running, running again, cancelling


async def rerun_failed(place: Place, session_id: str, now: datetime) -> SuiteSession | Refusal:
    """Dispatch the failed legs of a finished session again: a new check run for it, the reply edited."""
    async with place.records.hold(session_id):
        loaded = await place.records.get(session_id)
        if loaded is None:
            return Refusal("That test session is no longer known.")
        session, legs = loaded
        if session.state != "completed":
            return Refusal("The test session is still running; re-run its failed legs once it has finished.")
        failed = {leg.number for leg in failed_legs(legs, session.expect) if leg.state != "cancelled"}
        if not failed:
            return Refusal("No leg of the last test session failed: nothing to re-run.")
        legs = [
            leg.redispatched(f"ci-{session.id}-{leg.number}-{leg.dispatches + 1}" if leg.token else "")
            if leg.number in failed
            else leg
            for leg in legs
        ]
        timeout = session.deadline - session.created_at
        session = replace(
            session,
            state="running",
            conclusion=None,
            check_run_id=None,
            cancelled=False,
            note="",
            deadline=now + timeout,
            dirty=True,
        )
        session, legs = await _publish(place, session, legs, now, reply=True)
        session, legs = await _dispatch_pending(place, session, legs, now)
        session, legs = await _publish_if_due(place, session, legs, now)
        return session


async def run_again(place: Place, session_id: str, requested_by: str, now: datetime) -> SuiteSession | Refusal:
    """A new session with the same suite, workflow, ref and legs."""
    loaded = await place.records.get(session_id)
    if loaded is None:
        return Refusal("That test session is no longer known.")
    session, legs = loaded
    suite = Suite(
        name=session.suite,
        workflow=session.workflow,
        timeout_minutes=max(1, round((session.deadline - session.created_at).total_seconds() / 60)),
        expect=session.expect,
    )
    workflow_text = await place.provider.file_text(f"{WORKFLOWS_DIR}/{session.workflow}", session.ref)
    return await start_session(
        place,
        suite,
        ref=session.ref,
        head_sha=session.head_sha,
        workflow_text=workflow_text,
        trigger="button",
        requested_by=requested_by,
        now=now,
        pull_request=session.pull_request,
        combinations=[leg.inputs for leg in legs],
    )


async def cancel_session(
    place: Place, session_id: str, now: datetime, *, reason: str, only_not_started: bool
) -> SuiteSession | None:
    """Cancel a session's legs (all, or only those whose run has not started) and cancel their runs."""
    async with place.records.hold(session_id):
        loaded = await place.records.get(session_id)
        if loaded is None or loaded[0].state == "completed":
            return None
        session, legs = loaded
        for index, leg in enumerate(legs):
            if leg.finished or (only_not_started and leg.state not in NOT_STARTED):
                continue
            if leg.run_id is not None:
                await place.provider.cancel_run(leg.run_id)
            legs[index] = replace(leg, state="cancelled", note=reason)
        state = "running" if session.state == "waiting" else session.state
        session = replace(session, cancelled=True, note=reason, dirty=True, state=state)
        session, legs = await _conclude_if_done(place, session, legs, now)
        session, legs = await _publish(place, session, legs, now, reply=session.state == "completed")
        return session


# Pushes


async def start_push_suites(place: Place, *, branch: str, after: str, pusher: str, now: datetime) -> list[SuiteSession]:
    """Suites with `on: [push]` run after each push to the default branch. A newer push cancels the older
    sessions' legs that have not started; at most `push_concurrency` push sessions dispatch at once. Their legs
    are dispatched by the scheduled check, which keeps the push's own handling to a few writes."""
    if branch != place.default_branch:
        return []
    config, problems = await load_suites(place.provider, after)
    suites = [suite for suite in config.suites.values() if "push" in suite.triggers]
    if not suites:
        return []
    started = []
    async with place.records.hold(f"push {place.repository_id}"):
        done = await place.records.started_for(place.repository_id, after, "push")
        suites = [suite for suite in suites if suite.name not in done]
        if not suites:
            return []  # a redelivered push
        for older in await place.records.push_sessions(place.repository_id):
            if older.head_sha == after:
                continue
            if not older.cancelled:
                await cancel_session(
                    place, older.id, now, reason=f"Superseded by a newer push ({after[:7]}).", only_not_started=True
                )
        for suite in suites:
            workflow_text = await place.provider.file_text(f"{WORKFLOWS_DIR}/{suite.workflow}", after)
            found = suite_problems(problems, suite.name) + check_suite_against_workflow(
                suite, workflow_text, ref=branch, correlation_input=place.policy.correlation_input
            )
            if found:
                report = render_problems(suite.name, found)
                await place.provider.start_check_run(
                    after,
                    f"test suite: {suite.name}",
                    report,
                    external_id=f"ci-orchestrator:test:{after[:12]}",
                    actions=(),
                )
                continue
            active = [s for s in await place.records.push_sessions(place.repository_id) if not s.cancelled]
            waiting = len(active) >= config.push_concurrency
            started.append(
                await start_session(
                    place,
                    suite,
                    ref=branch,
                    head_sha=after,
                    workflow_text=workflow_text,
                    trigger="push",
                    requested_by=pusher,
                    now=now,
                    waiting=waiting,
                    dispatch_now=False,  # the scheduled check dispatches: a push may start several suites
                )
            )
    return started


# The scheduled check


async def sweep(
    records: SessionRecords, place_of: Callable[[SuiteSession], Place], now: datetime, *, batch_after: timedelta
) -> list[str]:
    """Time out sessions past their deadline, publish batched changes, resume paused dispatching and start push
    sessions that waited; the ids of the sessions looked at. One failing session does not stop the others."""
    handled = []
    for session_id in await records.due(now, batch_after=batch_after):
        loaded = await records.get(session_id)
        if loaded is None:
            continue
        try:
            await _sweep_one(place_of(loaded[0]), session_id, now)
        except Exception:
            log.exception("scheduled check of test session %s failed", session_id)
            continue
        handled.append(session_id)
    return handled


async def _sweep_one(place: Place, session_id: str, now: datetime) -> None:
    if (loaded := await place.records.get(session_id)) is not None and loaded[0].state == "waiting":
        async with place.records.hold(f"push {place.repository_id}"):
            active = [
                s
                for s in await place.records.push_sessions(place.repository_id)
                if not s.cancelled and s.state == "running"
            ]
            config, _ = await load_suites(place.provider, loaded[0].head_sha)
            if len(active) >= config.push_concurrency:
                return
            async with place.records.hold(session_id):
                loaded = await place.records.get(session_id)  # a newer push may have cancelled it meanwhile
                if loaded is None or loaded[0].state != "waiting":
                    return
                session, legs = loaded
                session = replace(
                    session, state="running", note="", deadline=now + (session.deadline - session.created_at)
                )
                await place.records.save(session)
                session, legs = await _dispatch_pending(place, session, legs, now)
                if session.state != "completed":
                    await _publish(place, session, legs, now, reply=False)
        return
    async with place.records.hold(session_id):
        loaded = await place.records.get(session_id)
        if loaded is None or loaded[0].state == "completed":
            return
        session, legs = loaded
        if session.deadline <= now:
            for leg in legs:
                if not leg.finished and leg.run_id is not None:
                    await place.provider.cancel_run(leg.run_id)
            legs = timed_out(legs)
            conclusion: SessionConclusion | None = session_conclusion(legs, session.expect, cancelled=session.cancelled)
            session = replace(session, state="completed", conclusion=conclusion, resume_at=None)
            await _publish(place, session, legs, now, reply=True)
            return
        if session.resume_at is not None and session.resume_at <= now:
            session, legs = await _dispatch_pending(place, session, legs, now)
        if session.state != "completed":
            await _publish_if_due(place, session, legs, now)


def latest_session(sessions: Sequence[SuiteSession], *, running: bool) -> SuiteSession | None:
    """The newest session that is still running (or the newest finished one)."""
    for session in sessions:
        if (session.state != "completed") == running:
            return session
    return None
