"""`ci-orchestrator compare` against the local GitHub: the App's comparison flow, with a token, printed or posted."""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import CI_WORKFLOW, add_baseline, ci_jobs

from bot.cli import compare as compare_command
from bot.cli import main


@pytest.fixture
async def slower_pr(world, monkeypatch):
    """A repository with 20 baseline runs on main and an open PR whose run took twice as long to build."""
    github = world.github
    installation = github.add_installation("octo-org")
    config = "comparison:\n  confirm: never\n"  # the printing run re-runs nothing; the publishing one would
    repo = github.add_repo(
        "octo-org/app", installation, files={"README.md": "hi\n", ".github/ci-orchestrator.yml": config}
    )
    workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=CI_WORKFLOW)
    add_baseline(github, repo, workflow)
    github.commit(repo, "feature", {"src/app.py": "slow = True\n"}, message="Make it slower")
    pr = await github.open_pull_request(repo, "feature", title="A change", deliver=False)
    run = github.add_run(
        repo,
        workflow,
        head_sha=pr.head_sha,
        head_branch="feature",
        event="pull_request",
        created_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
        jobs=ci_jobs(build=900.0),
    )
    monkeypatch.setenv("GITHUB_TOKEN", github.personal_token(installation))
    monkeypatch.setenv("GITHUB_API_URL", github.base_url)
    return github, repo, pr, run


async def test_compare_prints_what_the_app_would_post_and_posts_nothing(slower_pr, capsys):
    github, repo, pr, run = slower_pr
    status = await compare_command.compare(repo.full_name, run.id, None, publish=False, token=github_token())
    printed = capsys.readouterr().out
    assert status == 0
    assert f"comment on #{pr.number}" in printed and "build" in printed and "slower" in printed
    assert "check run 'CI comparison: CI'" in printed
    assert github.issue_comments(repo, pr.number) == [] and github.check_runs_for(repo, pr.head_sha) == []
    assert [request.method for request in github.requests] == ["GET"] * len(github.requests)


async def test_compare_publishes_the_same_comment_and_check_run_as_the_app(slower_pr):
    github, repo, pr, run = slower_pr
    assert await compare_command.compare(repo.full_name, run.id, pr.number, publish=True, token=github_token()) == 0
    (comment,) = github.issue_comments(repo, pr.number)
    assert "ci-orchestrator:comparison" in comment.body and "slower" in comment.body
    (check,) = github.check_runs_for(repo, pr.head_sha)
    assert check.name == "CI comparison: CI" and "slower" in check.output["title"]


def github_token() -> str:
    import os

    return os.environ["GITHUB_TOKEN"]


def test_usage_errors_exit_2(capsys, monkeypatch):
    assert main(["compare", "--repo", "no-slash", "--run", "1"]) == 2
    assert "OWNER/NAME" in capsys.readouterr().err
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.setenv("PATH", "")
    assert main(["compare", "--repo", "o/r", "--run", "1"]) == 2
    assert "no GitHub token" in capsys.readouterr().err


def test_version_help_and_unknown_commands(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("ci-orchestrator 0.")
    assert main(["serve", "--help"]) == 0
    assert "usage: ci-orchestrator serve" in capsys.readouterr().out
    assert main(["srve"]) == 2
    assert "invalid choice: 'srve'" in capsys.readouterr().err
