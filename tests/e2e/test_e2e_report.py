"""One quiet report per pull request, never doubled: sections per workflow, lost answers, repeated PR lists."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import CI_WORKFLOW, add_baseline, ci_jobs

from bot.comparison.pr_comment import PULL_REQUEST_MARKER, sections_of, workflow_marker
from bot.store import Repository
from bot.testing.simulator import JobSpec, StepSpec
from bot.testing.simulator.webhooks import PayloadBuilder

PR_TIME = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
WORKFLOWS = {"CI": "ci.yml", "Lint": "lint.yml", "Docs": "docs.yml"}
SIMPLE_WORKFLOW = (
    "name: {name}\non: [push, pull_request]\njobs:\n  {job}:\n    runs-on: ubuntu-latest\n"
    "    steps:\n      - run: make {job}\n"
)


def single_job(name: str, seconds: float) -> list[JobSpec]:
    return [JobSpec(name, duration=seconds, steps=[StepSpec(f"make {name}", seconds - 5)])]


@pytest.fixture
async def three_workflows(world):
    """CI, Lint and Docs with 20 runs each on main, and an open pull request."""
    github = world.github
    installation = github.add_installation("octo-org")
    config = "comparison:\n  confirm: never\n"  # one run decides (tests/e2e/test_e2e_confirm.py: the re-runs)
    repo = github.add_repo(
        "octo-org/app", installation, files={"README.md": "hi\n", ".github/ci-orchestrator.yml": config}
    )
    workflows = {}
    for name, file in WORKFLOWS.items():
        content = CI_WORKFLOW if name == "CI" else SIMPLE_WORKFLOW.format(name=name, job=name.lower())
        workflows[name] = github.add_workflow(repo, f".github/workflows/{file}", name, content=content)
    add_baseline(github, repo, workflows["CI"])
    for name in ("Lint", "Docs"):
        add_baseline_of(github, repo, workflows[name], name.lower())
    github.commit(repo, "feature", {"src/app.py": "slow = True\n"}, message="Make it slower")
    pr = await github.open_pull_request(repo, "feature", title="A change")
    await world.settle()
    return world, github, repo, workflows, pr


def add_baseline_of(github, repo, workflow, job: str) -> None:
    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    for i in range(20):
        github.add_run(
            repo,
            workflow,
            head_sha=repo.branches["main"],
            head_branch="main",
            event="push",
            created_at=start + dt.timedelta(hours=i),
            jobs=single_job(job, 100 + i % 3),
        )


def pr_run(github, repo, workflow, pr, jobs, **options):
    return github.add_run(
        repo,
        workflow,
        head_sha=pr.head_sha,
        head_branch="feature",
        event="pull_request",
        created_at=PR_TIME,
        jobs=jobs,
        **options,
    )


def comparison_comments(github, repo, pr):
    return [c for c in github.issue_comments(repo, pr.number) if "ci-orchestrator:comparison" in c.body]


async def test_three_workflows_get_one_comment_with_three_sections_edited_as_each_completes(three_workflows):
    world, github, repo, workflows, pr = three_workflows
    lint_run = pr_run(github, repo, workflows["Lint"], pr, single_job("lint", 100), status="in_progress")
    docs_run = pr_run(github, repo, workflows["Docs"], pr, single_job("docs", 100), status="in_progress")
    for run in (lint_run, docs_run):
        await github.deliver_workflow_run(run, "requested")
    await world.settle()
    assert comparison_comments(github, repo, pr) == []  # nothing to say yet: no comment

    ci_run = pr_run(github, repo, workflows["CI"], pr, ci_jobs(build=900))
    await github.deliver_workflow_run(ci_run)
    await world.settle()
    (comment,) = comparison_comments(github, repo, pr)
    sections = sections_of(comment.body)
    assert comment.body.startswith(PULL_REQUEST_MARKER)
    assert list(sections) == [workflows["CI"].id, workflows["Lint"].id, workflows["Docs"].id]
    assert "slower" in sections[workflows["CI"].id]
    assert sections[workflows["Lint"].id] == "⏳ Waiting for **Lint** to finish."
    assert sections[workflows["Docs"].id] == "⏳ Waiting for **Docs** to finish."

    github.complete_run(lint_run, single_job("lint", 300))
    await github.deliver_workflow_run(lint_run)
    await world.settle()
    github.complete_run(docs_run, single_job("docs", 101))
    await github.deliver_workflow_run(docs_run)
    await world.settle()
    (edited,) = comparison_comments(github, repo, pr)
    assert edited.id == comment.id  # edited in place: edits do not notify
    sections = sections_of(edited.body)
    assert "slower" in sections[workflows["Lint"].id] and "CI comparison: Lint" in sections[workflows["Lint"].id]
    assert "CI comparison: Docs" in sections[workflows["Docs"].id] and "⏳" not in edited.body
    assert "slower" in sections[workflows["CI"].id]  # the other sections are kept as they were
    names = [c.name for c in github.check_runs_for(repo, pr.head_sha)]
    assert sorted(names) == ["CI comparison: CI", "CI comparison: Docs", "CI comparison: Lint"]


async def test_per_workflow_comments_where_configured_and_where_they_already_exist(three_workflows):
    world, github, repo, workflows, pr = three_workflows
    # A comment of the App from before one comment per pull request, for CI.
    services = world.state.services
    gh = services.github.for_installation(repo.installation_id)
    legacy = workflow_marker(workflows["CI"].id)
    repository = Repository(repo.id, repo.full_name, repo.installation_id)
    await services.caches.publisher.upsert_comment(
        gh, repository, pr.number, [legacy], lambda _: f"{legacy}\nan old comparison", create=True
    )
    await github.deliver_workflow_run(pr_run(github, repo, workflows["CI"], pr, ci_jobs(build=900)))
    await world.settle()
    (comment,) = comparison_comments(github, repo, pr)
    assert comment.body.startswith(legacy) and "slower" in comment.body  # kept and edited, no second comment

    await github.deliver_workflow_run(pr_run(github, repo, workflows["Lint"], pr, single_job("lint", 300)))
    await world.settle()
    old, new = comparison_comments(github, repo, pr)
    assert old.id == comment.id and new.body.startswith(PULL_REQUEST_MARKER)
    assert list(sections_of(new.body)) == [workflows["Lint"].id]


@pytest.mark.parametrize("lost", ["connection reset", "502 from a proxy"])
async def test_a_lost_answer_never_doubles_the_comment_or_the_check_run(three_workflows, lost):
    world, github, repo, workflows, pr = three_workflows
    status = None if lost == "connection reset" else 502
    github.faults.queue_lost_answers("POST", count=2, status=status)  # the comment, then the check run
    await github.deliver_workflow_run(pr_run(github, repo, workflows["CI"], pr, ci_jobs(build=900)))
    await world.settle()
    (comment,) = comparison_comments(github, repo, pr)
    assert "slower" in comment.body
    (check,) = github.check_runs_for(repo, pr.head_sha)
    assert check.conclusion == "neutral" and "slower" in check.output["title"]
    posts = [r for r in github.requests if r.method == "POST" and "access_tokens" not in r.route]
    assert len(posts) == 2  # each create was performed once, found again, never sent twice


async def test_a_pull_request_listed_300_times_is_reported_on_once(three_workflows):
    world, github, repo, workflows, pr = three_workflows
    run = pr_run(github, repo, workflows["CI"], pr, ci_jobs(build=900))
    payload = PayloadBuilder(github.render).workflow_run(
        run, "completed", github.state.installations[repo.installation_id]
    )
    payload["workflow_run"]["pull_requests"] = payload["workflow_run"]["pull_requests"] * 300
    await github.deliver("workflow_run", payload)
    await world.settle()
    writes = [r for r in github.requests if r.method in ("POST", "PATCH") and "access_tokens" not in r.route]
    assert len(writes) == 2  # one comment, one check run
    assert len(comparison_comments(github, repo, pr)) == 1
