"""Workflows tested on demand, end to end: the App (with its store) against the local GitHub, as users see it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.periodic import check_test_sessions
from bot.store import Store
from bot.testing.simulator import JobSpec, StepSpec

CI_PATH = ".github/workflows/ci.yml"
CI = """\
name: CI
run-name: CI ${{ inputs.python-version }} on ${{ inputs.os }}
on:
  pull_request:
  workflow_dispatch:
    inputs:
      python-version:
        required: true
      os:
        type: choice
        options: [ubuntu-latest, macos-latest, windows-latest]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: ruff check .
  test:
    runs-on: ${{ inputs.os }}
    steps:
      - uses: actions/checkout@v4
      - run: pytest
"""
TEST_LINE = 17  # `test:` in CI
SUITES = """\
suites:
  python-matrix:
    workflow: ci.yml
    matrix:
      python-version: ["3.11", "3.12", "3.13"]
      os: [ubuntu-latest, macos-latest]
    expect: {conclusion: success, max_duration: 30m}
"""
DISPATCH = ("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches")
CANCEL = ("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel")
REACTIONS = ("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
EDIT_COMMENT = ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
CHECK_NAME = "test suite: python-matrix"


def jobs_for(failing: set[tuple[str, str]]):
    """The jobs a dispatched CI run plays: `test` fails at `pytest` for the (python, os) legs in `failing`."""

    def script(inputs):
        fails = (inputs.get("python-version"), inputs.get("os")) in failing
        conclusion = "failure" if fails else "success"
        return [
            JobSpec("lint", duration=30, steps=[StepSpec("Run ruff check .", 30)]),
            JobSpec(
                "test",
                duration=240,
                conclusion=conclusion,
                steps=[StepSpec("Run actions/checkout@v4", 5), StepSpec("Run pytest", 235, conclusion)],
            ),
        ]

    return script


@dataclass
class Project:
    world: object
    github: object
    repo: object
    workflow: object
    pr: object
    store: Store

    async def settle(self) -> None:
        """Until the App handled everything and every dispatched run played what it can."""
        for _ in range(10):
            await self.world.settle()
            if not self.github._playbacks:
                return
            await self.github.played()

    async def comment(self, body: str, user: str = "mona"):
        comment = await self.github.add_issue_comment(self.pr, body, user=user)
        await self.settle()
        return comment

    def dispatched_inputs(self) -> list[dict]:
        return [r.json["inputs"] for r in self.github.requests if (r.method, r.route) == DISPATCH]

    def checks(self, sha=None):
        runs = [c for c in self.github.check_runs_for(self.repo, sha or self.pr.head_sha) if c.name == CHECK_NAME]
        return sorted(runs, key=lambda c: c.id)

    def replies(self):
        return [c for c in self.github.issue_comments(self.repo, self.pr.number) if "test-session:" in c.body]

    def reactions(self, comment):
        return [r.content for r in self.github.state.reactions.get(comment.id, [])]


@pytest.fixture
async def project(world):
    store = world.state.store
    github = world.github
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n", ".github/ci-testing.yml": SUITES})
    workflow = github.add_workflow(repo, CI_PATH, "CI", content=CI)
    github.script_dispatches(workflow, jobs_for({("3.12", "macos-latest")}))
    github.set_collaborator(repo, "mona", "write")
    github.commit(repo, "feature", {"src/app.py": "x = 1\n"}, message="A change")
    pr = await github.open_pull_request(repo, "feature", title="A change", deliver=False)
    return Project(world, github, repo, workflow, pr, store)


async def test_a_matrix_from_a_comment_gives_one_check_run_and_an_edited_reply(project):
    comment = await project.comment("Let's see:\n/ci test python-matrix")
    inputs = project.dispatched_inputs()
    assert inputs == [
        {"python-version": p, "os": o} for p in ("3.11", "3.12", "3.13") for o in ("ubuntu-latest", "macos-latest")
    ]
    assert all(
        r.json["ref"] == "feature" and r.json["return_run_details"] is True
        for r in project.github.requests
        if (r.method, r.route) == DISPATCH
    )
    (check,) = project.checks()
    assert check.status == "completed" and check.conclusion == "failure"
    assert check.output["title"] == "6 legs: 5 met the expectation, 1 did not"
    summary = check.output["summary"]
    assert summary.count("✅ success") == 5 and "| 4 | 3.12, macos-latest | ❌ failure |" in summary
    (annotation,) = check.annotations
    assert (annotation.path, annotation.start_line, annotation.title) == (
        CI_PATH,
        TEST_LINE,
        "Leg failed: 3.12, macos-latest",
    )
    assert "job 'test' failed at step 'Run pytest'" in annotation.message and "/job/" in annotation.message
    (reply,) = project.replies()
    assert "some legs failed: 5 of 6 legs met the expectation" in reply.body and "3.12, macos-latest" in reply.body
    assert project.github.calls[EDIT_COMMENT] >= 1  # the reply was edited in place, not posted again
    assert project.reactions(comment) == ["eyes", "rocket"]
    polling = [r for r in project.github.requests if r.method == "GET" and "/actions/runs" in r.route]
    assert polling == []

    # "Re-run failed legs" dispatches that leg only, and its new check run tells the new story
    project.github.script_dispatches(project.workflow, jobs_for(set()))
    await project.github.deliver_check_run(check, "requested_action", sender="mona", requested_action="rerun-failed")
    await project.settle()
    assert project.dispatched_inputs()[6:] == [{"python-version": "3.12", "os": "macos-latest"}]
    old, new = project.checks()
    assert old.id == check.id and new.conclusion == "success" and new.annotations == []
    (reply,) = project.replies()
    assert "every leg met its expectation: 6 of 6" in reply.body


async def test_a_read_only_user_is_refused_with_a_reply(project):
    comment = await project.comment("/ci test python-matrix", user="visitor")
    assert project.dispatched_inputs() == [] and project.checks() == []
    (reply,) = project.replies()
    assert "needs write access" in reply.body and "`read`" in reply.body
    assert project.reactions(comment) == ["eyes", "confused"]


async def test_a_redelivered_or_repeated_comment_is_acted_on_once(project):
    await project.comment("/ci test python-matrix")
    delivery = next(d for d in project.github.deliveries if d.event == "issue_comment")
    await project.github.redeliver(delivery)  # same GUID
    await project.github.deliver("issue_comment", delivery.payload)  # another GUID, as after a restart
    await project.settle()
    assert len(project.dispatched_inputs()) == 6 and len(project.checks()) == 1


async def test_configuration_problems_are_replied_with_their_lines(project):
    project.github.commit(project.repo, "main", {".github/ci-testing.yml": "max_legs: 4\n" + SUITES})
    comment = await project.comment("/ci test python-matrix")
    (reply,) = project.replies()
    assert (
        ".github/ci-testing.yml, line 5: suites.python-matrix expands to 6 legs, more than the limit of 4" in reply.body
    )
    assert project.dispatched_inputs() == [] and project.reactions(comment) == ["eyes", "confused"]
    project.github.commit(project.repo, "main", {".github/ci-testing.yml": SUITES})
    await project.comment('/ci test python-matrix --matrix \'{"python": ["3.12"]}\'')
    assert "declares no workflow_dispatch input 'python'; did you mean 'python-version'?" in project.replies()[-1].body
    await project.comment("/ci test --matix x")
    assert "unrecognized arguments: --matix\n\nusage: /ci test" in project.replies()[-1].body
    assert project.dispatched_inputs() == []


async def test_a_leg_that_never_starts_times_out_cleanly(project):
    project.github.script_dispatches(
        project.workflow, lambda inputs: None if inputs["os"] == "macos-latest" else jobs_for(set())(inputs)
    )
    await project.comment("/ci test python-matrix")
    (check,) = project.checks()
    assert check.status == "in_progress"
    services = project.world.state.services
    assert await check_test_sessions(services, datetime.now(UTC)) == []  # nothing due yet
    await check_test_sessions(services, datetime.now(UTC) + timedelta(minutes=31))
    await project.settle()
    (check,) = project.checks()
    assert check.conclusion == "timed_out" and check.output["summary"].count("never started") == 3
    assert project.github.calls[CANCEL] == 3  # the queued runs are not left behind
    assert [a.title for a in check.annotations] == [f"Leg failed: {p}, macos-latest" for p in ("3.11", "3.12", "3.13")]


async def test_a_push_runs_its_suite_and_a_newer_push_cancels_legs_not_started(project):
    github = project.github
    github.commit(project.repo, "main", {".github/ci-testing.yml": SUITES + "    on: [push]\n"})
    github.script_dispatches(project.workflow, lambda inputs: None)  # the first push's runs wait for runners
    services = project.world.state.services
    first = await github.push(project.repo, "main", {"src/app.py": "x = 2\n"}, message="First")
    await project.settle()
    assert project.dispatched_inputs() == []  # the push's handling only starts the session and its check run
    await check_test_sessions(services, datetime.now(UTC))  # the scheduled check dispatches
    await project.settle()
    assert len(project.dispatched_inputs()) == 6
    github.script_dispatches(project.workflow, jobs_for(set()))
    second = await github.push(project.repo, "main", {"src/app.py": "x = 3\n"}, message="Second")
    await project.settle()
    assert github.calls[CANCEL] == 6
    await check_test_sessions(services, datetime.now(UTC))
    await project.settle()
    (older,) = project.checks(first)
    assert older.conclusion == "cancelled" and older.output["summary"].count("Superseded by a newer push") >= 6
    (newer,) = project.checks(second)
    assert newer.conclusion == "success" and len(project.dispatched_inputs()) == 12


async def test_without_run_details_runs_are_known_by_the_token_in_their_name(project):
    github = project.github
    github.state.run_details = False  # as GitHub Enterprise Server before return_run_details
    with_token = CI.replace(
        "run-name: CI ${{ inputs.python-version }} on ${{ inputs.os }}",
        "run-name: CI ${{ inputs.ci_orchestrator_leg }}",
    ).replace("    inputs:\n", "    inputs:\n      ci_orchestrator_leg: {description: set by CI Orchestrator}\n")
    await github.synchronize(project.pr, {CI_PATH: with_token})
    await project.comment("/ci test python-matrix")
    tokens = [r.json["inputs"]["ci_orchestrator_leg"] for r in github.requests if (r.method, r.route) == DISPATCH]
    assert len(set(tokens)) == 6
    (check,) = project.checks()
    assert check.conclusion == "failure" and check.output["summary"].count("[run](") == 6
    assert "| 4 | 3.12, macos-latest | ❌ failure |" in check.output["summary"]


async def test_hostile_inputs_branches_and_step_names_stay_inert(project):
    from test_e2e_hostile_text import BIDI_AND_NUL, HOSTILE, MARKUP, outside_code

    github = project.github
    values = [text for name, text in HOSTILE.items() if name not in ("newline", "nul")]
    everything = " ".join(values)
    github.script_dispatches(
        project.workflow,
        lambda inputs: [
            JobSpec("test", duration=60, conclusion="failure", steps=[StepSpec("step " + everything, 60, "failure")])
        ],
    )
    branch = "feature-@admins-#7"
    github.commit(project.repo, branch, {"src/app.py": "y = 1\n"})
    project.pr = await github.open_pull_request(project.repo, branch, title="hostile", deliver=False)
    matrix = json.dumps({"python-version": values, "os": "ubuntu-latest"})
    await project.comment(f"/ci test ci.yml --matrix '{matrix}'")
    (check,) = [c for c in github.check_runs_for(project.repo, project.pr.head_sha) if c.name == "test suite: ci.yml"]
    (reply,) = project.replies()
    assert check.conclusion == "failure" and len(check.annotations) == len(values)
    surfaces = {"reply": reply.body, "summary": check.output["summary"]}
    for where, text in surfaces.items():
        visible = outside_code(text)
        assert "evil" in text, where
        for kind, pattern in MARKUP.items():
            assert not pattern.search(visible), f"{kind} in {where}: {visible[:1500]!r}"
        assert not BIDI_AND_NUL.search(text), where
    for annotation in check.annotations:
        assert not BIDI_AND_NUL.search(annotation.title + annotation.message)
