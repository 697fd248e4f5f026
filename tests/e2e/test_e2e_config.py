"""`.github/ci-orchestrator.yml` end to end: its check run on the commit that changes it, and what applies meanwhile."""

from __future__ import annotations

import datetime as dt

from helpers import CI_WORKFLOW, add_baseline, ci_jobs

from bot.config.schema import CONFIG_PATH

CONFIG_CHECK = "ci-orchestrator config"
REVIEW = "workflow review"
CI_PATH = ".github/workflows/ci.yml"
BROKEN_CONFIG = """comparison:
  min_runs: many
  treshold_percent: 5
review:
  fail_on: sometimes
"""
VALID_CONFIG = """comparison:
  min_runs: 10
review:
  fail_on: warning
"""
# A job that echoes the PR title: an error finding (zizmor/template-injection) on line 23 of CI_WORKFLOW + this.
INJECTION_JOB = """  greet:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    steps:
      - run: echo "${{ github.event.pull_request.title }}"
"""


def make_repo(world, files: dict[str, str] | None = None, name: str = "octo-org/app"):
    """A repository of octo-org (installed once per test) with a README and `files` on main."""
    github = world.github
    installations = list(github.state.installations.values()) or [github.add_installation("octo-org")]
    return github.add_repo(name, installations[0], files={"README.md": "hi\n", **(files or {})})


def checks_named(github, repo, sha: str, name: str):
    return [check for check in github.check_runs_for(repo, sha) if check.name == name]


def config_check(github, repo, sha: str):
    """The one config check run on `sha`."""
    checks = checks_named(github, repo, sha, CONFIG_CHECK)
    assert len(checks) == 1, checks
    return checks[0]


async def test_a_push_that_breaks_the_config_gets_a_failing_check_with_annotations_at_the_lines(world):
    repo = make_repo(world)
    sha = await world.github.push(repo, "main", {CONFIG_PATH: BROKEN_CONFIG}, message="Configure the App")
    await world.settle()
    check = config_check(world.github, repo, sha)
    assert check.status == "completed" and check.conclusion == "failure"
    assert check.output["title"] == "Configuration has 3 problems"
    assert [(a.path, a.start_line, a.end_line, a.annotation_level, a.title) for a in check.annotations] == [
        (CONFIG_PATH, 2, 2, "failure", "Invalid setting comparison.min_runs"),
        (CONFIG_PATH, 3, 3, "failure", "Invalid setting comparison.treshold_percent"),
        (CONFIG_PATH, 5, 5, "failure", "Invalid setting review.fail_on"),
    ]
    assert "did you mean 'comparison.threshold_percent'?" in check.annotations[1].message
    assert (
        "| 2 | comparison.min\\_runs | comparison.min\\_runs must be an integer between 2 and 100"
        in check.output["summary"]
    )


async def test_a_valid_config_gets_a_successful_check(world):
    repo = make_repo(world)
    sha = await world.github.push(repo, "main", {CONFIG_PATH: VALID_CONFIG})
    await world.settle()
    check = config_check(world.github, repo, sha)
    assert check.conclusion == "success" and check.annotations == []
    assert check.output["title"] == "Configuration is valid"


async def test_a_config_pushed_to_another_branch_is_checked_too_and_other_pushes_are_not(world):
    github = world.github
    repo = make_repo(world)
    on_branch = await github.push(repo, "config-change", {CONFIG_PATH: "review:\n  enabled: maybe\n"})
    elsewhere = await github.push(repo, "main", {"src/app.py": "print('hi')\n"})
    await world.settle()
    assert [a.start_line for a in config_check(github, repo, on_branch).annotations] == [2]
    assert checks_named(github, repo, elsewhere, CONFIG_CHECK) == []
    read_there = [r.path for r in github.requests if "/contents/" in r.path and r.query.get("ref") == elsewhere]
    assert read_there == ["/repos/octo-org/app/contents/.github/ci-testing.yml"]  # push suites only, no config


async def test_with_a_broken_config_the_review_and_the_comparison_run_with_defaults(world):
    github = world.github
    repo = make_repo(world)
    workflow = github.add_workflow(repo, CI_PATH, "CI", content=CI_WORKFLOW)
    add_baseline(github, repo, workflow)
    await github.push(repo, "main", {CONFIG_PATH: BROKEN_CONFIG})
    github.commit(repo, "feature", {CI_PATH: CI_WORKFLOW + INJECTION_JOB}, message="Greet")
    pr = await github.open_pull_request(repo, "feature")
    await world.settle()
    review = checks_named(github, repo, pr.head_sha, REVIEW)
    assert len(review) == 1 and review[0].conclusion == "failure"  # the default fail_on: error, not "sometimes"
    assert (23, "zizmor/template-injection") in [(a.start_line, a.title) for a in review[0].annotations]
    run = github.add_run(
        repo,
        workflow,
        head_sha=pr.head_sha,
        head_branch="feature",
        event="pull_request",
        created_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
        jobs=ci_jobs(build=600, test=200),
    )
    await github.deliver_workflow_run(run)
    await world.settle()
    comparison = checks_named(github, repo, pr.head_sha, "CI comparison: CI")
    assert len(comparison) == 1 and comparison[0].status == "completed"


async def test_a_pull_request_changing_the_config_gets_config_findings_in_its_review(world):
    github = world.github
    repo = make_repo(world, {CONFIG_PATH: VALID_CONFIG})
    github.commit(repo, "feature", {CONFIG_PATH: VALID_CONFIG + "  suggestion: true\n"}, message="Suggest")
    pr = await github.open_pull_request(repo, "feature")
    await world.settle()
    checks = checks_named(github, repo, pr.head_sha, REVIEW)
    assert len(checks) == 1 and checks[0].conclusion == "failure"
    assert [(a.path, a.start_line, a.title) for a in checks[0].annotations] == [(CONFIG_PATH, 5, "config/invalid")]
    assert "did you mean 'review.suggestions'?" in checks[0].annotations[0].message


async def test_the_organization_config_applies_to_a_repository_without_its_own(world):
    github = world.github
    make_repo(world, {CONFIG_PATH: "review:\n  fail_on: never\n"}, name="octo-org/.github")
    repo = make_repo(world, {CI_PATH: CI_WORKFLOW})
    github.commit(repo, "feature", {CI_PATH: CI_WORKFLOW + INJECTION_JOB}, message="Greet")
    pr = await github.open_pull_request(repo, "feature")
    await world.settle()
    checks = checks_named(github, repo, pr.head_sha, REVIEW)
    assert len(checks) == 1 and checks[0].conclusion == "neutral"
    assert (23, "zizmor/template-injection") in [(a.start_line, a.title) for a in checks[0].annotations]


async def test_a_config_pushed_to_main_applies_to_the_next_review(world):
    github = world.github
    repo = make_repo(world, {CI_PATH: CI_WORKFLOW})
    github.commit(repo, "feature", {CI_PATH: CI_WORKFLOW + INJECTION_JOB}, message="Greet")
    pr = await github.open_pull_request(repo, "feature")
    await world.settle()
    assert [c.conclusion for c in checks_named(github, repo, pr.head_sha, REVIEW)] == ["failure"]
    await github.push(repo, "main", {CONFIG_PATH: "review:\n  enabled: false\n"})
    await world.settle()
    await github.synchronize(pr, files={CI_PATH: CI_WORKFLOW + INJECTION_JOB + "# again\n"})
    await world.settle()
    assert checks_named(github, repo, pr.head_sha, REVIEW) == []


async def test_a_push_to_the_organization_config_applies_to_its_repositories_next_reviews(world):
    github = world.github
    org_repo = make_repo(world, name="octo-org/.github")
    repo = make_repo(world, {CI_PATH: CI_WORKFLOW})
    github.commit(repo, "feature", {CI_PATH: CI_WORKFLOW + INJECTION_JOB}, message="Greet")
    pr = await github.open_pull_request(repo, "feature")
    await world.settle()
    assert [c.conclusion for c in checks_named(github, repo, pr.head_sha, REVIEW)] == ["failure"]
    org_sha = await github.push(org_repo, "main", {CONFIG_PATH: "review:\n  fail_on: never\n"})
    await world.settle()
    assert config_check(github, org_repo, org_sha).conclusion == "success"
    await github.synchronize(pr, files={CI_PATH: CI_WORKFLOW + INJECTION_JOB + "# again\n"})
    await world.settle()
    assert [c.conclusion for c in checks_named(github, repo, pr.head_sha, REVIEW)] == ["neutral"]
