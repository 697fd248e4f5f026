"""A test session and its legs: what webhooks say about each leg's run, each leg's verdict, the session's conclusion.

Pure data and decisions. A leg's run is followed only through `workflow_run` and `workflow_job` deliveries,
read into `RunObservation`s that merge in any order (the one furthest along wins, a failing job is kept).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from bot.ondemand.matrix import Combination

LegState = Literal["pending", "dispatched", "queued", "in_progress", "completed", "cancelled", "timed_out", "error"]
SessionState = Literal["waiting", "running", "completed"]
Trigger = Literal["comment", "push", "button", "cli"]
SessionConclusion = Literal["success", "failure", "cancelled", "timed_out"]

#: States the App decides itself; what GitHub says later about the leg's run does not change them.
DECIDED: frozenset[str] = frozenset({"cancelled", "timed_out", "error"})
FINISHED: frozenset[str] = frozenset({"completed", *DECIDED})
NOT_STARTED: frozenset[str] = frozenset({"pending", "dispatched", "queued"})
_STATUS_RANK = {"requested": 1, "pending": 1, "waiting": 1, "queued": 1, "in_progress": 2, "completed": 3}


@dataclass(frozen=True)
class Expectation:
    """What every leg must achieve: its run's conclusion, and optionally a longest duration (seconds)."""

    conclusion: str = "success"
    max_duration_seconds: float | None = None


@dataclass(frozen=True)
class RunObservation:
    """What the deliveries of one run attempt said, merged: status, conclusion, times, the first failing job."""

    status: str | None = None
    conclusion: str | None = None
    attempt: int = 1
    html_url: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failing_job: str | None = None
    failing_step: str | None = None
    failing_job_url: str | None = None

    @property
    def rank(self) -> tuple[int, int]:
        return self.attempt, _STATUS_RANK.get(self.status or "", 0)

    def merged(self, other: RunObservation) -> RunObservation:
        """Both observations as one, whatever order they came in: a later attempt or stage wins; times and the
        failing job are kept from whichever saw them."""
        newer, older = (other, self) if other.rank >= self.rank else (self, other)
        same_attempt = newer.attempt == older.attempt
        starts = [moment for moment in (self.started_at, other.started_at) if moment is not None]
        if not same_attempt:
            starts = [newer.started_at] if newer.started_at else []
        return RunObservation(
            status=newer.status,
            conclusion=newer.conclusion if newer.status == "completed" else None,
            attempt=newer.attempt,
            html_url=newer.html_url or older.html_url,
            started_at=min(starts) if starts else None,
            completed_at=newer.completed_at or (older.completed_at if same_attempt else None),
            failing_job=newer.failing_job or (older.failing_job if same_attempt else None),
            failing_step=newer.failing_step or (older.failing_step if same_attempt else None),
            failing_job_url=newer.failing_job_url or (older.failing_job_url if same_attempt else None),
        )


@dataclass(frozen=True)
class Leg:
    """One leg of a session: its inputs, its run (once dispatched) and where it stands."""

    number: int
    inputs: Combination
    state: LegState = "pending"
    run_id: int | None = None
    html_url: str | None = None
    conclusion: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    failing_job: str | None = None
    failing_step: str | None = None
    failing_job_url: str | None = None
    note: str = ""  # why the App decided its state (refused dispatch, timeout, cancellation)
    dispatches: int = 0  # how often it was dispatched (re-runs of failed legs add one)
    token: str = ""  # the unique value the dispatch carries, to find the run where no run id comes back

    @property
    def key(self) -> str:
        """Identifies the leg's inputs across sessions (its history on the default branch)."""
        return "&".join(f"{name}={value}" for name, value in sorted(self.inputs))

    @property
    def duration(self) -> timedelta | None:
        if self.started_at is None or self.completed_at is None:
            return None
        return max(timedelta(0), self.completed_at - self.started_at)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def observed(self, observation: RunObservation) -> Leg:
        """The leg after its run was seen as `observation` (decided states stay)."""
        if self.state in DECIDED:
            return self
        status = observation.status or "queued"
        state: LegState = (
            "completed" if status == "completed" else "in_progress" if status == "in_progress" else "queued"
        )
        return replace(
            self,
            state=state,
            html_url=observation.html_url or self.html_url,
            conclusion=observation.conclusion if state == "completed" else None,
            started_at=observation.started_at,
            completed_at=observation.completed_at if state == "completed" else None,
            failing_job=observation.failing_job,
            failing_step=observation.failing_step,
            failing_job_url=observation.failing_job_url,
        )

    def redispatched(self, token: str) -> Leg:
        """The leg made ready to be dispatched again (a re-run of a failed leg)."""
        return Leg(self.number, self.inputs, dispatches=self.dispatches, token=token)


def leg_met(leg: Leg, expect: Expectation) -> bool | None:
    """Whether a finished leg met the expectation (None while it runs)."""
    if not leg.finished:
        return None
    if leg.state != "completed" or leg.conclusion != expect.conclusion:
        return False
    duration = leg.duration
    return not (
        expect.max_duration_seconds is not None
        and duration is not None
        and duration.total_seconds() > expect.max_duration_seconds
    )


def session_conclusion(
    legs: Sequence[Leg], expect: Expectation, *, cancelled: bool = False
) -> SessionConclusion | None:
    """The conclusion once every leg has finished (None before): failure when a leg missed the expectation,
    timed_out when legs only timed out, cancelled when the session was cancelled, success otherwise."""
    if not legs or not all(leg.finished for leg in legs):
        return None
    missed = [leg for leg in legs if not leg_met(leg, expect)]
    if cancelled and all(leg.state == "cancelled" or leg_met(leg, expect) for leg in legs):
        return "cancelled"
    if any(leg.state not in ("timed_out", "cancelled") for leg in missed):
        return "failure"
    if any(leg.state == "timed_out" for leg in missed):
        return "timed_out"
    if missed:
        return "cancelled"
    return "success"


def failed_legs(legs: Iterable[Leg], expect: Expectation) -> list[Leg]:
    """Legs that finished without meeting the expectation (what "Re-run failed legs" dispatches again)."""
    return [leg for leg in legs if leg.finished and leg_met(leg, expect) is False]


def timed_out(legs: Sequence[Leg]) -> list[Leg]:
    """The legs of a session past its deadline: those that never started and those that never finished."""
    result = []
    for leg in legs:
        if leg.finished:
            result.append(leg)
        elif leg.state in NOT_STARTED:
            result.append(replace(leg, state="timed_out", note="never started before the session's timeout"))
        else:
            result.append(replace(leg, state="timed_out", note="did not finish before the session's timeout"))
    return result


def typical_durations(history: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """Each leg's median duration (seconds) over its earlier successful runs on the default branch."""
    return {key: statistics.median(values) for key, values in history.items() if values}


@dataclass(frozen=True)
class SuiteSession:
    """One run of a suite: where and why it was started, and what the App posted about it."""

    id: str
    repository: str
    repository_id: int
    installation_id: int | None
    suite: str
    workflow: str  # file name in .github/workflows
    ref: str  # the branch or tag dispatched
    default_branch: str  # whose earlier sessions are the legs' history
    head_sha: str  # the commit the check run is on
    trigger: Trigger
    requested_by: str
    created_at: datetime
    deadline: datetime
    expect: Expectation = Expectation()
    state: SessionState = "running"
    conclusion: SessionConclusion | None = None
    pull_request: int | None = None
    comment_id: int | None = None  # the command's comment
    reply_id: int | None = None  # the App's reply to it
    check_run_id: int | None = None
    check_url: str | None = None  # the check run's page
    cancelled: bool = False  # by `/ci cancel` or a newer push
    note: str = ""  # why it was cancelled
    resume_at: datetime | None = None  # dispatching paused (rate limit, budget) until then
    published_at: datetime | None = None  # last check-run edit
    dirty: bool = False  # legs changed since that edit

    @property
    def check_name(self) -> str:
        return f"test suite: {self.suite}"
