"""The on-demand flow with one fake provider and the real store: pacing, batches, budgets, rate-limit pauses resumed
by the scheduled check, push sessions waiting for a slot, runs seen before their dispatch answered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.config.testing_suites import parse_testing_config
from bot.flows import test_on_demand
from bot.flows.provider import DispatchedRun, DispatchPaused, DispatchRefused, PullRequestHead
from bot.flows.test_on_demand import DispatchPolicy, Place, RunSeen
from bot.ondemand.session import RunObservation
from bot.report import Report
from bot.store import Store, database_url

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
WORKFLOW = "on:\n  workflow_dispatch:\n    inputs:\n      n: {required: true}\njobs:\n  test:\n    runs-on: x\n"


def suites(legs: int, on: str = "comment", timeout: int = 30) -> str:
    values = ", ".join(f'"{n}"' for n in range(legs))
    return (
        f"suites:\n  s:\n    workflow: ci.yml\n    matrix:\n      n: [{values}]\n    on: [{on}]\n"
        f"    timeout_minutes: {timeout}\n"
    )


@dataclass
class FakeProvider:
    """Records what the flow asks; `refuse` and `pause_at` make dispatches fail."""

    repo: str = "octo-org/app"
    files: dict[str, str] = field(default_factory=dict)
    dispatched: list[dict[str, str]] = field(default_factory=list)
    paused: list[float] = field(default_factory=list)
    rate_limited: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    checks: dict[int, list[Report]] = field(default_factory=dict)
    replies: dict[int, str] = field(default_factory=dict)
    pause_at: set[int] = field(default_factory=set)  # dispatch numbers (1-based) answered with a rate limit
    refuse: set[str] = field(default_factory=set)  # input values refused

    async def file_text(self, path: str, ref: str) -> str | None:
        return self.files.get(path)

    async def workflow_files(self, ref: str) -> list[str]:
        return [path for path in self.files if path.startswith(".github/workflows/")]

    async def permission(self, username: str) -> str:
        return "write"

    async def react(self, comment_id: int, content: str) -> None:
        return None

    async def post_reply(self, number: int, body: str, marker: str) -> int:
        self.replies[len(self.replies) + 1] = body
        return len(self.replies)

    async def edit_reply(self, comment_id: int, body: str) -> None:
        self.replies[comment_id] = body

    async def pull_request_head(self, number: int) -> PullRequestHead:
        return PullRequestHead(number, "a" * 40, "feature", False)

    async def dispatch(self, workflow: str, ref: str, inputs: dict[str, str]) -> DispatchedRun:
        attempt = len(self.dispatched) + len(self.rate_limited) + 1
        if attempt in self.pause_at:
            self.rate_limited.append(attempt)
            raise DispatchPaused(30, "secondary rate limit")
        if inputs.get("n") in self.refuse:
            raise DispatchRefused("Unexpected inputs provided")
        self.dispatched.append(inputs)
        run_id = 1000 + len(self.dispatched)
        return DispatchedRun(run_id, f"https://github.com/o/r/actions/runs/{run_id}")

    async def cancel_run(self, run_id: int) -> None:
        self.cancelled.append(run_id)

    async def start_check_run(self, head_sha, name, report, *, external_id, actions):
        check_id = 500 + len(self.checks)
        self.checks[check_id] = [report]
        return check_id, f"https://github.com/o/r/runs/{check_id}"

    async def update_check_run(self, check_run_id, report, *, actions):
        self.checks[check_run_id].append(report)

    async def pause(self, seconds: float) -> None:
        self.paused.append(seconds)


@pytest.fixture
async def place(tmp_path):
    store = await Store.open(database_url(None, tmp_path))
    provider = FakeProvider(files={".github/workflows/ci.yml": WORKFLOW})
    policy = DispatchPolicy(interval_seconds=1.0, batch=4, budget_per_hour=100)
    yield Place(provider, store.sessions, 7, 3, "main", policy)
    await store.close()


async def start(place: Place, legs: int, now: datetime = T0, timeout: int = 30, **options):
    config, problems = parse_testing_config(suites(legs, timeout=timeout))
    assert problems == []
    return await test_on_demand.start_session(
        place,
        config.suites["s"],
        ref="feature",
        head_sha="a" * 40,
        workflow_text=WORKFLOW,
        trigger="comment",
        requested_by="mona",
        now=now,
        pull_request=5,
        comment_id=9,
        **options,
    )


async def sweep(place: Place, now: datetime) -> list[str]:
    return await test_on_demand.sweep(place.records, lambda session: place, now, batch_after=timedelta(seconds=5))


async def test_dispatches_are_paced_and_batched_and_the_scheduled_check_sends_the_rest(place):
    provider = place.provider
    session = await start(place, 6)
    assert len(provider.dispatched) == 4 and provider.paused == [1.0, 1.0, 1.0]
    assert session.resume_at == T0
    assert await sweep(place, T0) == [session.id]
    assert [inputs["n"] for inputs in provider.dispatched] == ["0", "1", "2", "3", "4", "5"]
    _, legs = await place.records.get(session.id)
    assert [leg.state for leg in legs] == ["dispatched"] * 6 and legs[5].run_id == 1006


async def test_a_rate_limit_pauses_dispatching_until_github_allows_it(place):
    provider = place.provider
    provider.pause_at = {3}
    session = await start(place, 4)
    assert len(provider.dispatched) == 2 and provider.rate_limited == [3]
    assert session.resume_at == T0 + timedelta(seconds=30) and "GitHub asked to slow down" in session.note
    await sweep(place, T0 + timedelta(seconds=10))  # too early to dispatch; the batched edit shows the pause
    assert len(provider.dispatched) == 2 and "GitHub asked to slow down" in provider.checks[500][-1].summary
    await sweep(place, T0 + timedelta(seconds=31))
    assert len(provider.dispatched) == 4
    loaded, _ = await place.records.get(session.id)
    assert loaded.resume_at is None and loaded.note == ""


async def test_the_budget_per_installation_holds_dispatches_for_the_next_hour(place):
    tight = Place(place.provider, place.records, 7, 3, "main", DispatchPolicy(batch=10, budget_per_hour=3))
    session = await start(tight, 5, timeout=120)
    assert len(place.provider.dispatched) == 3 and session.resume_at == T0 + timedelta(hours=1)
    await sweep(tight, T0 + timedelta(minutes=30))
    assert len(place.provider.dispatched) == 3
    await sweep(tight, T0 + timedelta(hours=1))
    assert len(place.provider.dispatched) == 5


async def test_a_refused_leg_is_reported_and_the_others_run(place):
    place.provider.refuse = {"1"}
    session = await start(place, 3)
    _, legs = await place.records.get(session.id)
    assert [leg.state for leg in legs] == ["dispatched", "error", "dispatched"]
    assert legs[1].note == "Unexpected inputs provided"


async def test_runs_seen_before_their_dispatch_answered_are_not_lost(place):
    # The run's completion arrives before the App recorded the leg's run id (another instance, a slow database).
    seen = RunSeen(1001, RunObservation("completed", "success", started_at=T0, completed_at=T0), dispatched=True)
    assert await test_on_demand.follow_run(place, seen, T0) == []
    session = await start(place, 1)
    loaded, legs = await place.records.get(session.id)
    assert legs[0].state == "completed" and loaded.conclusion == "success"
    assert place.provider.checks[500][-1].conclusion == "success"


async def test_check_run_edits_are_batched(place):
    session = await start(place, 3)
    provider = place.provider
    reports = provider.checks[500]
    before = len(reports)
    for run_id, second in ((1001, 1), (1002, 2)):
        seen = RunSeen(run_id, RunObservation("in_progress", started_at=T0), dispatched=True)
        await test_on_demand.follow_run(place, seen, T0 + timedelta(seconds=second))
    assert len(reports) == before  # published at T0: too soon to edit again
    assert await sweep(place, T0 + timedelta(seconds=4)) == []
    assert await sweep(place, T0 + timedelta(seconds=6)) == [session.id]
    assert len(reports) == before + 1 and reports[-1].summary.count("🔄 running") == 2


async def test_push_sessions_wait_for_a_slot_and_start_when_one_frees(place):
    provider = place.provider
    provider.files[".github/ci-testing.yml"] = (
        "push_concurrency: 1\n"
        + suites(2, "push")
        + "  t:\n    workflow: ci.yml\n    matrix: {n: [a]}\n    on: [push]\n"
    )
    first, second = await test_on_demand.start_push_suites(place, branch="main", after="b" * 40, pusher="mona", now=T0)
    assert (first.state, second.state) == ("running", "waiting") and provider.dispatched == []
    await sweep(place, T0)  # the scheduled check dispatches push sessions
    assert len(provider.dispatched) == 2
    for run_id in (1001, 1002):
        seen = RunSeen(run_id, RunObservation("completed", "success", started_at=T0, completed_at=T0), dispatched=True)
        await test_on_demand.follow_run(place, seen, T0)
    assert (await place.records.get(first.id))[0].state == "completed"
    await sweep(place, T0 + timedelta(seconds=1))
    assert (await place.records.get(second.id))[0].state == "running" and len(provider.dispatched) == 3
    assert await test_on_demand.start_push_suites(place, branch="topic", after="c" * 40, pusher="x", now=T0) == []
    again = await test_on_demand.start_push_suites(place, branch="main", after="b" * 40, pusher="mona", now=T0)
    assert again == [] and (await place.records.get(first.id))[0].cancelled is False  # a redelivered push
