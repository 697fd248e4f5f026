"""The "CI health" issue end to end: 60 days of history made in the local GitHub and stored as the App stores it,
the schedule refreshes the report, finds each planted problem, keeps one issue, alerts once, rolls up the
organization. Every request is checked against GitHub's OpenAPI description (the `world` fixture)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.health_scheduler import HealthScheduler
from bot.config.schema import CONFIG_PATH
from bot.store import Installation, Repository, WorkflowJobEvent, WorkflowRunEvent
from bot.store.github_records import workflow_job_record, workflow_run_record
from bot.testing.simulator import JobSpec

DAYS = 60
RUNS_PER_DAY = 4
SLOW_FROM_RUN = 45 * RUNS_PER_DAY  # the commit that makes `build` 60 % slower
BROKEN_FROM_RUN = 55 * RUNS_PER_DAY  # `docs` fails from here on, re-runs too
STARVED_FROM_RUN = 40 * RUNS_PER_DAY  # jobs on the `gpu` runners wait ~20 minutes from here on
CONFIG = """health:
  notify: "@octo-org/ci-team"
"""


@dataclass
class History:
    repo: object
    slow_sha: str
    broken_sha: str
    events: list


def _spec(name: str, seconds: float, rng: random.Random, **options) -> JobSpec:
    return JobSpec(name, duration=round(seconds * math.exp(rng.gauss(0, 0.06))), **options)


async def plant_history(github, installation, now: datetime) -> History:
    """60 days of CI on main, four runs a day, one commit each, with the four problems planted."""
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n", CONFIG_PATH: CONFIG})
    workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", "on: push\njobs: {}\n")
    rng = random.Random(11)
    start = now - timedelta(days=DAYS)
    slow_sha = broken_sha = ""
    runs = []
    for index in range(DAYS * RUNS_PER_DAY):
        message = "Use the new bundler" if index == SLOW_FROM_RUN else f"Change {index}"
        sha = github.commit(repo, "main", {"src/app.py": f"version = {index}\n"}, message=message)
        slow_sha = sha if index == SLOW_FROM_RUN else slow_sha
        broken_sha = sha if index == BROKEN_FROM_RUN else broken_sha
        flaky = rng.random() < 0.2
        broken = index >= BROKEN_FROM_RUN
        gpu_queue = 1200.0 * math.exp(rng.gauss(0, 0.2)) if index >= STARVED_FROM_RUN else 8.0
        specs = [
            _spec("lint", 60, rng),
            _spec("build", 420 * (1.6 if index >= SLOW_FROM_RUN else 1.0), rng),
            _spec("test", 300, rng, conclusion="failure" if flaky else "success"),
            _spec("docs", 120, rng, conclusion="failure" if broken else "success"),
            _spec("gpu-tests", 200, rng, queue=round(gpu_queue), labels=("self-hosted", "gpu")),
        ]
        run = github.add_run(
            repo, workflow, head_sha=sha, created_at=start + timedelta(hours=24 / RUNS_PER_DAY * index), jobs=specs
        )
        rerun = [spec for spec in specs if spec.conclusion == "failure"]
        if rerun:
            again = [
                JobSpec(s.name, duration=s.duration, conclusion="success" if s.name == "test" else "failure")
                for s in rerun
            ]
            await github.rerun(
                run, jobs=again, partial=True, started_at=run.latest.updated_at + timedelta(minutes=1), deliver=False
            )
        runs.append(run)
    stored_repo = Repository(repo.id, repo.full_name, installation.id, repo.default_branch)
    stored_installation = Installation(installation.id, installation.account)
    events: list = []
    render = github.render
    for run in runs:
        for attempt in run.attempts:
            record = workflow_run_record(render.workflow_run(run, attempt), repo.id)
            events.append(WorkflowRunEvent(stored_installation, stored_repo, record))
            for job in attempt.jobs:
                job_record = workflow_job_record(render.job(run, job), repo.id)
                events.append(WorkflowJobEvent(stored_installation, stored_repo, job_record))
    return History(repo, slow_sha, broken_sha, events)


@pytest.fixture
async def health_world(world, tmp_path):
    """The world, 60 days of stored history for octo-org/app in the App's store, octo-org/.github installed."""
    github = world.github
    installation = github.add_installation("octo-org")
    now = datetime.now(UTC).replace(microsecond=0)
    history = await plant_history(github, installation, now)
    dot_github = github.add_repo("octo-org/.github", installation, files={"README.md": "org\n"})
    store = world.state.store
    await store.ingest(history.events)
    repositories = [
        Repository(history.repo.id, history.repo.full_name, installation.id, "main"),
        Repository(dot_github.id, dot_github.full_name, installation.id, "main"),
    ]
    await store.record_installation(Installation(installation.id, "octo-org"), repositories, now=now)
    services = world.state.services
    scheduler = HealthScheduler(store, services.github, services.caches, instance="test")
    return world, history, dot_github, store, scheduler, now


def labelled(github, repo, label="ci-health"):
    return [issue for issue in github.issues(repo) if label in issue.labels]


async def test_sixty_days_of_history_give_one_health_issue_with_every_planted_problem(health_world):
    world, history, dot_github, _store, scheduler, now = health_world
    github = world.github

    refreshed = await scheduler.tick(now)

    assert sorted(refreshed) == sorted(
        [f"repository:{history.repo.id}", f"repository:{dot_github.id}", "organization:octo-org"]
    )
    issues = labelled(github, history.repo)
    assert len(issues) == 1 and issues[0].title == "CI health" and issues[0].state == "open"
    body = issues[0].body
    # The slowdown, at the commit that made it, with a link to that commit.
    assert f"[`{history.slow_sha[:7]}`](https://github.com/octo-org/app/commit/{history.slow_sha})" in body
    assert "**CI / build** got slower by" in body
    # The flaky job (re-runs pass), the broken job (re-runs fail too) since its first failing commit.
    assert "**CI / test** is flaky" in body
    assert "**CI / docs** is broken" in body and history.broken_sha in body
    # The runner label short of runners.
    assert "runners `self-hosted, gpu` are short" in body
    assert "```mermaid\nxychart-beta" in body
    assert body.count("<!-- ci-orchestrator:health -->") == 1

    # The team is told once, in a comment on the issue, of the slowdown and the broken job.
    comments = [c for c in github.state.comments.values() if c.repo is history.repo]
    assert len(comments) == 1
    assert comments[0].body.splitlines()[1].startswith("@octo-org/ci-team: new on the default branch")
    assert "CI / build" in comments[0].body and "CI / docs" in comments[0].body

    # The organization roll-up lists the repository.
    rollups = labelled(github, dot_github)
    assert len(rollups) == 1 and "| octo-org/app |" in rollups[0].body


async def test_the_next_scheduled_run_edits_the_same_issue_and_does_not_alert_again(health_world):
    world, history, _dot_github, _store, scheduler, now = health_world
    github = world.github
    await scheduler.tick(now)
    first = labelled(github, history.repo)[0]
    first_body = first.body

    assert await scheduler.tick(now + timedelta(days=1)) == []  # weekly: nothing due a day later
    assert await scheduler.tick(now + timedelta(days=7, minutes=1)) != []

    issues = labelled(github, history.repo)
    assert [issue.number for issue in issues] == [first.number]
    assert issues[0].body != first_body  # a new window, edited in place
    assert len([c for c in github.state.comments.values() if c.repo is history.repo]) == 1
    patches = [r.path for r in github.requests if r.method == "PATCH" and r.route.endswith("/issues/{issue_number}")]
    assert patches == [f"/repos/octo-org/app/issues/{first.number}", "/repos/octo-org/.github/issues/1"]


async def test_a_closed_issue_is_edited_but_not_reopened_for_problems_it_already_showed(health_world):
    world, history, _dot_github, _store, scheduler, now = health_world
    github = world.github
    await scheduler.tick(now)
    issue = labelled(github, history.repo)[0]
    github.close_issue(issue, "not_planned")

    await scheduler.tick(now + timedelta(days=7, minutes=1))

    assert issue.state == "closed"
    assert len(labelled(github, history.repo)) == 1


async def test_ci_health_in_a_comment_refreshes_the_issue_for_a_writer_and_is_refused_to_a_reader(health_world):
    world, history, _dot_github, _store, _scheduler, _now = health_world
    github = world.github
    github.set_collaborator(history.repo, "mona", "write")
    github.set_collaborator(history.repo, "eve", "read")
    github.commit(history.repo, "feature", {"docs/x.md": "x\n"}, message="Docs")
    pr = await github.open_pull_request(history.repo, "feature", title="Docs", deliver=False)

    await github.add_issue_comment(pr, "/ci health", user="eve")
    await world.settle()
    assert labelled(github, history.repo) == []
    [refusal] = [c for c in github.issue_comments(history.repo, pr.number) if c.user.endswith("[bot]")]
    assert "`/ci health` needs write access to this repository, and yours is `read`" in refusal.body

    await github.add_issue_comment(pr, "/ci health", user="mona")
    await world.settle()
    [issue] = labelled(github, history.repo)
    replies = [c.body for c in github.issue_comments(history.repo, pr.number) if c.user.endswith("[bot]")]
    assert len(replies) == 2 and f"Created the CI health issue #{issue.number}" in replies[1]
    assert "**CI / docs** is broken" in issue.body
