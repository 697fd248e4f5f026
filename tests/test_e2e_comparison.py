"""The baseline comparison end to end: the App against the local GitHub, as users see it (comment, check run)."""

from __future__ import annotations

import datetime as dt

import pytest

from helpers import CI_WORKFLOW, add_baseline, ci_jobs

PR_TIME = dt.datetime(2026, 11, 3, tzinfo=dt.timezone.utc)


@pytest.fixture
async def project(world):
    github = world.github
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n"})
    workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=CI_WORKFLOW)
    add_baseline(github, repo, workflow)
    github.commit(repo, "feature", {"src/app.py": "slow = True\n"}, message="Make it slower")
    pr = await github.open_pull_request(repo, "feature", title="A change")
    await world.settle()
    return world, repo, workflow, pr


def comparison_comments(github, repo, pr):
    return [c for c in github.issue_comments(repo, pr.number) if "ci-orchestrator:comparison" in c.body]


async def test_slower_pull_request_gets_one_comment_and_a_check_run(project):
    world, repo, workflow, pr = project
    github = world.github
    run = github.add_run(repo, workflow, head_sha=pr.head_sha, head_branch="feature", event="pull_request", created_at=PR_TIME, jobs=ci_jobs(build=600, test=200))
    await github.deliver_workflow_run(run)
    await world.settle()
    comments = comparison_comments(github, repo, pr)
    assert len(comments) == 1
    body = comments[0].body
    assert "slower" in body and "build" in body and "xychart-beta" in body
    checks = [c for c in github.check_runs_for(repo, pr.head_sha) if c.name == "CI comparison: CI"]
    assert len(checks) == 1 and checks[0].conclusion == "neutral"
    print(body)
