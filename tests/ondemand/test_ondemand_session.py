"""Legs followed by merged run observations, verdicts, the session's conclusion, the check run and the reply."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from bot.ondemand.render import render_check_run, render_refusal, render_reply
from bot.ondemand.session import (
    Expectation,
    Leg,
    RunObservation,
    SuiteSession,
    failed_legs,
    session_conclusion,
    timed_out,
    typical_durations,
)

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
WORKFLOW = "name: CI\non: workflow_dispatch\njobs:\n  lint:\n    runs-on: x\n  test:\n    runs-on: x\n"


def session(**changes) -> SuiteSession:
    values = dict(
        id="s1",
        repository="octo-org/app",
        repository_id=1,
        installation_id=2,
        suite="python-matrix",
        workflow="ci.yml",
        ref="feature",
        default_branch="main",
        head_sha="a" * 40,
        trigger="comment",
        requested_by="mona",
        created_at=T0,
        deadline=T0 + timedelta(minutes=30),
        expect=Expectation("success", 600),
    )
    values.update(changes)
    return SuiteSession(**values)


def done(number, conclusion="success", minutes=5, **more) -> Leg:
    return Leg(number, (("python", f"3.1{number}"),)).observed(
        RunObservation(
            "completed", conclusion, 1, f"https://github.com/run/{number}", T0, T0 + timedelta(minutes=minutes), **more
        )
    )


def test_observations_merge_in_any_order():
    queued = RunObservation("queued", html_url="https://github.com/run/1")
    started = RunObservation("in_progress", started_at=T0)
    failed_job = RunObservation("in_progress", failing_job="test (3.12)", failing_step="Run pytest", started_at=T0)
    completed = RunObservation("completed", "failure", completed_at=T0 + timedelta(minutes=3))
    results = set()
    for order in itertools.permutations([queued, started, failed_job, completed]):
        merged = order[0]
        for observation in order[1:]:
            merged = merged.merged(observation)
        results.add(merged)
    assert results == {
        RunObservation(
            "completed",
            "failure",
            1,
            "https://github.com/run/1",
            T0,
            T0 + timedelta(minutes=3),
            "test (3.12)",
            "Run pytest",
        )
    }
    second_attempt = RunObservation("queued", attempt=2)
    assert completed.merged(second_attempt).status == "queued" and completed.merged(second_attempt).conclusion is None


def test_verdicts_and_conclusions():
    expect = Expectation("success", 600)
    ok, slow, failed = done(1), done(2, minutes=11), done(3, "failure")
    assert session_conclusion([ok, Leg(4, ())], expect) is None
    assert session_conclusion([ok], expect) == "success"
    assert session_conclusion([ok, slow], expect) == "failure"
    assert failed_legs([ok, slow, failed], expect) == [slow, failed]
    never, running = Leg(5, (), state="dispatched"), Leg(6, (), state="in_progress")
    late = timed_out([ok, never, running])
    assert [leg.state for leg in late] == ["completed", "timed_out", "timed_out"]
    assert late[1].note.startswith("never started") and late[2].note.startswith("did not finish")
    assert session_conclusion(late, expect) == "timed_out"
    cancelled = Leg(7, (), state="cancelled")
    assert session_conclusion([ok, cancelled], expect, cancelled=True) == "cancelled"
    assert session_conclusion([failed, cancelled], expect, cancelled=True) == "failure"
    assert Leg(8, (), state="cancelled").observed(RunObservation("completed", "success")).state == "cancelled"


def test_the_check_run_is_a_live_table_then_the_conclusion_with_annotations():
    legs = [done(1), Leg(2, (("python", "3.12"),), state="in_progress", started_at=T0)]
    running = render_check_run(session(), legs, {})
    assert running.conclusion is None and running.title == "Running: 1 of 2 legs done"
    assert "| 1 | 3.11 | ✅ success | 5m00s | – | [run](https://github.com/run/1) |" in running.summary
    assert "| 2 | 3.12 | 🔄 running | – | – | – |" in running.summary
    legs[1] = done(
        2, "failure", failing_job="test", failing_step="Run pytest", failing_job_url="https://github.com/j/2"
    )
    final = render_check_run(session(), legs, typical_durations({"python=3.11": [240.0, 300.0, 360.0]}), WORKFLOW)
    assert final.conclusion == "failure" and final.title == "2 legs: 1 met the expectation, 1 did not"
    assert "+0 % vs 5m00s" in final.summary
    (annotation,) = final.annotations
    assert annotation.path == ".github/workflows/ci.yml" and annotation.start_line == 6
    assert annotation.title == "Leg failed: 3.12"
    assert annotation.message == "Leg 2 (3.12): job 'test' failed at step 'Run pytest'.\nLog: https://github.com/j/2"


def test_the_reply_escapes_what_users_wrote():
    hostile = session(requested_by="@evil <b>", suite="s`x", conclusion="failure")
    legs = [Leg(1, (("os", "@team #1 | x"),)).observed(RunObservation("completed", "failure", completed_at=T0))]
    reply = render_reply(hostile, legs, "https://github.com/checks/1")
    assert reply.startswith("<!-- ci-orchestrator:test-session:s1 -->")
    assert "@\u200bevil &lt;b&gt;" in reply and "| @\u200bteam \\#\u200b1 \\| x |" in reply
    assert "[check run](https://github.com/checks/1)" in reply and "/ci rerun-failed" in reply
    refusal = render_refusal("c1", "Not run:", "line 3: ```\n@here")
    assert refusal.count("````") == 2 and "@here" in refusal
