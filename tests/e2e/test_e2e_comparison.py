"""The baseline comparison end to end: the App against the local GitHub, as users see it (comment, check run)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from dataclasses import dataclass

import pytest
from helpers import CI_WORKFLOW, add_baseline, add_runs_on_main, ci_jobs

from bot.comparison.pr_comment import sections_of
from bot.github.publish import Publisher
from bot.report import Report
from bot.store import Repository, Store
from bot.testing.simulator import JobSpec, StepSpec

PR_TIME = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
CHECK_NAME = "CI comparison: CI"
CI_PATH = ".github/workflows/ci.yml"
BUILD_LINE, TEST_LINE = 7, 13  # where the jobs `build:` and `test:` start in CI_WORKFLOW
LIST_RUNS = ("GET", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs")
POST_COMMENT = ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
LINT_WORKFLOW = """name: Lint
on: [push, pull_request]
jobs:
  lint:
    runs-on: ubuntu-latest
    steps:
      - run: make lint
"""


@dataclass
class Project:
    """A repository with a CI history on main and an open pull request from `feature`."""

    world: object
    github: object
    repo: object
    workflow: object
    pr: object

    async def pr_run(self, jobs=None, *, created_at=PR_TIME, workflow=None, deliver=True, **run_options):
        """A completed run of the PR's head (default: the CI jobs at baseline speed), delivered and handled."""
        run = self.github.add_run(
            self.repo,
            workflow or self.workflow,
            head_sha=self.pr.head_sha,
            head_branch=self.pr.head_branch,
            event="pull_request",
            created_at=created_at,
            jobs=jobs if jobs is not None else ci_jobs(),
            **run_options,
        )
        if deliver:
            await self.github.deliver_workflow_run(run)
            await self.world.settle()
        return run

    def comments(self, pr=None):
        pr = pr or self.pr
        return [c for c in self.github.issue_comments(self.repo, pr.number) if "ci-orchestrator:comparison" in c.body]

    def the_comment(self):
        comments = self.comments()
        assert len(comments) == 1, [c.body[:200] for c in comments]
        return comments[0]

    def checks(self, name=CHECK_NAME, sha=None):
        """Every check run of that name on the commit, oldest first (GitHub shows the newest)."""
        runs = [c for c in self.github.check_runs_for(self.repo, sha or self.pr.head_sha) if c.name == name]
        return sorted(runs, key=lambda c: c.id)

    def check(self, name=CHECK_NAME, sha=None):
        checks = [c for c in self.github.check_runs_for(self.repo, sha or self.pr.head_sha) if c.name == name]
        assert len(checks) == 1, checks
        return checks[0]


def one_sample(config: str | None) -> str:
    """`config` with `comparison.confirm: never`: these tests are about what one run shows (tests/e2e/
    test_e2e_confirm.py covers the re-run that confirms a slowdown)."""
    if config is None:
        return "comparison:\n  confirm: never\n"
    assert config.startswith("comparison:\n"), config
    return config.replace("comparison:\n", "comparison:\n  confirm: never\n", 1)


async def start_project(world, *, config: str | None = None, baseline_runs: int = 20, **baseline_options) -> Project:
    """The CI workflow with `baseline_runs` push runs on main, `config` committed first, and an open PR."""
    github = world.github
    installation = github.add_installation("octo-org")
    files = {"README.md": "hi\n", ".github/ci-orchestrator.yml": one_sample(config)}
    repo = github.add_repo("octo-org/app", installation, files=files)
    workflow = github.add_workflow(repo, CI_PATH, "CI", content=CI_WORKFLOW)
    add_baseline(github, repo, workflow, baseline_runs, **baseline_options)
    github.commit(repo, "feature", {"src/app.py": "slow = True\n"}, message="Make it slower")
    pr = await github.open_pull_request(repo, "feature", title="A change")
    await world.settle()
    return Project(world, github, repo, workflow, pr)


@pytest.fixture
async def project(world) -> Project:
    return await start_project(world)


def annotations_of(check) -> list[tuple[str, int, str, str]]:
    return [(a.path, a.start_line, a.annotation_level, a.title) for a in check.annotations]


async def test_slower_pull_request_gets_one_comment_and_a_check_run(project):
    await project.pr_run(ci_jobs(build=600, test=200))
    body = project.the_comment().body
    assert "CI got 101 % slower" in body and "| build | 4m56s | 10m00s |" in body and "xychart-beta" in body
    assert "20 successful of 20 recent runs on main" in body
    check = project.check()
    assert check.conclusion == "neutral" and "slower" in check.output["title"]
    assert annotations_of(check) == [(CI_PATH, BUILD_LINE, "warning", "Slower: build (+5m04s (+103 %))")]


async def test_faster_pull_request(project):
    await project.pr_run(ci_jobs(build=120, test=200))
    body = project.the_comment().body
    assert "CI got 32 % faster: 3m25s vs 5m0" in body and "🟢 faster" in body and "🔴" not in body
    check = project.check()
    assert check.conclusion == "neutral" and check.annotations == []  # default fail_on: never


async def test_new_failure_is_annotated_at_the_jobs_line(project):
    await project.pr_run(ci_jobs(test_conclusion="failure"))
    body = project.the_comment().body
    assert "new failure in test" in body and "❌ new failure" in body
    check = project.check()
    assert check.conclusion == "neutral"
    assert annotations_of(check) == [(CI_PATH, TEST_LINE, "failure", "New failure: test")]
    assert "passed 20 of 20 recent runs on main" in check.annotations[0].message


async def test_job_already_failing_on_base_is_not_a_new_failure(world):
    project = await start_project(world, config="comparison:\n  comment: always\n", test_conclusion="failure")
    await project.pr_run(ci_jobs(test_conclusion="failure"))
    body = project.the_comment().body
    assert "failing on main too: test" in body and "new failure" not in body
    check = project.check()
    assert "failing on main too" in check.output["summary"] and check.annotations == []


async def test_flaky_job_edits_the_comment_and_posts_a_check_run_that_agrees_with_itself(project):
    run = await project.pr_run(ci_jobs(test_conclusion="failure"))
    comment, check = project.the_comment(), project.check()
    assert "new failure in test" in comment.body
    assert annotations_of(check) == [(CI_PATH, TEST_LINE, "failure", "New failure: test")]

    await project.github.rerun(run, ci_jobs(), started_at=PR_TIME + dt.timedelta(hours=1))
    await project.world.settle()
    assert project.the_comment().id == comment.id
    body = project.the_comment().body
    assert "flaky: test" in body and "🔁 flaky" in body and "new failure" not in body
    assert "attempt 2" in body
    # GitHub cannot take an annotation back: a new check run of the same name (the one GitHub shows) tells the
    # new story, and no check run says "flaky" next to a "New failure" annotation.
    old, newest = project.checks()
    assert old.id == check.id and newest.id > old.id
    assert "flaky" in newest.output["title"] and annotations_of(newest) == []


async def test_fork_pull_request_is_found_by_head_sha(project):
    github, repo = project.github, project.repo
    fork = github.add_fork(repo, "outsider")
    github.commit(fork, "patch", {"src/app.py": "fork = True\n"}, message="From a fork")
    pr = await github.open_pull_request(repo, "patch", head_repo=fork, user="outsider")
    await project.world.settle()
    run = github.add_run(
        repo,
        project.workflow,
        head_sha=pr.head_sha,
        head_branch="patch",
        event="pull_request",
        created_at=PR_TIME,
        jobs=ci_jobs(build=600),
        head_repo=fork,
    )
    delivery = await github.deliver_workflow_run(run)
    assert delivery.payload["workflow_run"]["pull_requests"] == []
    await project.world.settle()
    comments = project.comments(pr)
    assert len(comments) == 1 and "CI got 101 % slower" in comments[0].body
    assert project.check(sha=pr.head_sha).conclusion == "neutral"


async def test_rerun_updates_comment_and_check_run_in_place(project):
    run = await project.pr_run(ci_jobs(build=600))
    comment, check = project.the_comment(), project.check()
    await project.github.rerun(run, ci_jobs(build=620), started_at=PR_TIME + dt.timedelta(hours=1))
    await project.world.settle()
    updated = project.the_comment()
    assert updated.id == comment.id and "attempt 2" in updated.body and "10m20s" in updated.body
    assert project.check().id == check.id
    assert annotations_of(project.check()) == [(CI_PATH, BUILD_LINE, "warning", "Slower: build (+5m04s (+103 %))")]


async def test_redelivered_and_repeated_events_do_not_duplicate_the_comment(project):
    github = project.github
    run = await project.pr_run(ci_jobs(build=600), deliver=False)
    delivery = await github.deliver_workflow_run(run)
    await project.world.settle()
    await github.redeliver(delivery)
    await github.deliver_workflow_run(run)  # the same event again under a new delivery id
    await project.world.settle()
    assert len(project.comments()) == 1 and github.calls[POST_COMMENT] == 1

    later = await project.pr_run(ci_jobs(build=620), created_at=PR_TIME + dt.timedelta(minutes=30), deliver=False)
    other = await project.pr_run(ci_jobs(build=640), created_at=PR_TIME + dt.timedelta(minutes=40), deliver=False)
    await asyncio.gather(github.deliver_workflow_run(later), github.deliver_workflow_run(other))
    await project.world.settle()
    assert len(project.comments()) == 1 and github.calls[POST_COMMENT] == 1
    assert [c.name for c in github.check_runs_for(project.repo, project.pr.head_sha)] == [CHECK_NAME]
    shown = project.the_comment().body
    assert ("| build | 4m56s | 10m20s |" in shown) != ("| build | 4m56s | 10m40s |" in shown)  # one run, not a mix


async def test_concurrent_publishers_share_one_comment_and_a_restarted_one_finds_it(project):
    """Below the dispatcher's ordering: the Publisher itself serialises work on one marker."""
    services = project.world.state.services
    gh = services.github.for_installation(project.repo.installation_id)
    repository = Repository(project.repo.id, project.repo.full_name, project.repo.installation_id)
    marker = "<!-- ci-orchestrator:comparison pull-request -->"

    def appending(line: str):
        def render(existing):
            return (existing.body if existing else marker) + f"\n{line}"

        return render

    publisher = services.caches.publisher
    outcomes = await asyncio.gather(
        *(
            publisher.upsert_comment(gh, repository, project.pr.number, [marker], appending(f"line {i}"), create=True)
            for i in range(3)
        )
    )
    assert sorted(outcomes) == ["created", "updated", "updated"]
    assert [c.body for c in project.comments()] == [f"{marker}\nline 0\nline 1\nline 2"]  # no edit was lost
    first = await publisher.upsert_check_run(
        gh, repository, project.pr.head_sha, CHECK_NAME, Report("neutral", "title", "summary")
    )

    # A restarted App (or another instance) finds both in the store: no listing on GitHub.
    restarted = Publisher(project.github.app_id, services.store)
    listed = Counter(project.github.calls)
    outcome = await restarted.upsert_comment(
        gh, repository, project.pr.number, [marker], appending("after restart"), create=True
    )
    assert outcome == "updated"
    assert [c.body for c in project.comments()] == [f"{marker}\nline 0\nline 1\nline 2\nafter restart"]
    again = await restarted.upsert_check_run(
        gh, repository, project.pr.head_sha, CHECK_NAME, Report("success", "title", "summary")
    )
    assert again == first and project.check().conclusion == "success"
    assert {route for (method, route) in Counter(project.github.calls) - listed if method == "GET"} == set()

    # An App whose store was lost finds them on GitHub, by marker and by name.
    empty = await Store.open("sqlite+aiosqlite:///:memory:")
    try:
        lost = Publisher(project.github.app_id, empty)
        outcome = await lost.upsert_comment(gh, repository, project.pr.number, [marker], appending("lost"), create=True)
        assert outcome == "updated" and len(project.comments()) == 1
        assert (
            await lost.upsert_check_run(
                gh, repository, project.pr.head_sha, CHECK_NAME, Report("success", "title", "summary")
            )
            == first
        )
    finally:
        await empty.close()


async def test_warm_pull_request_events_cost_four_github_calls(project):
    github = project.github
    run = await project.pr_run(ci_jobs(build=600))  # cold: config, baseline list and jobs are read here

    project.pr.head_sha = await github.synchronize(project.pr, {"src/app.py": "slow = 2\n"})
    await project.world.settle()
    before = Counter(github.calls)
    run = await project.pr_run(ci_jobs(build=610), created_at=PR_TIME + dt.timedelta(hours=1))
    assert Counter(github.calls) - before == {
        ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs"): 1,
        ("GET", "/repos/{owner}/{repo}/contents/{path}"): 1,  # the workflow file, for the annotation's line
        ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"): 1,
        ("POST", "/repos/{owner}/{repo}/check-runs"): 1,  # a new head: no check run to look for
    }

    before = Counter(github.calls)
    await github.rerun(run, ci_jobs(build=620), started_at=PR_TIME + dt.timedelta(hours=2))
    await project.world.settle()
    assert Counter(github.calls) - before == {
        (
            "GET",
            "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs",
        ): 1,  # attempt 1 is in the store; the workflow file at this commit was read already
        ("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}"): 1,
        ("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}"): 1,
    }
    assert "attempt 2" in project.the_comment().body and "samples from this PR: 3" in project.the_comment().body


async def test_two_workflows_on_one_pull_request_share_one_comment_with_a_section_each(world):
    github = world.github
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n"})
    ci = github.add_workflow(repo, CI_PATH, "CI", content=CI_WORKFLOW)
    lint = github.add_workflow(repo, ".github/workflows/lint.yml", "Lint", content=LINT_WORKFLOW)
    add_baseline(github, repo, ci)
    add_runs_on_main(
        github, repo, lint, lambda i: [JobSpec("lint", duration=60 + i % 3, steps=[StepSpec("make lint", 55 + i % 3)])]
    )
    github.commit(repo, "feature", {"src/app.py": "slow = True\n"})
    pr = await github.open_pull_request(repo, "feature")
    await world.settle()
    project = Project(world, github, repo, ci, pr)

    await project.pr_run(ci_jobs(build=600))
    await project.pr_run([JobSpec("lint", duration=180, steps=[StepSpec("make lint", 175)])], workflow=lint)
    await project.pr_run(ci_jobs(build=610), created_at=PR_TIME + dt.timedelta(minutes=5))
    sections = sections_of(project.the_comment().body)
    assert list(sections) == [ci.id, lint.id]
    assert "CI comparison: CI" in sections[ci.id] and "CI comparison: Lint" in sections[lint.id]
    assert "lint" in sections[lint.id] and "build" not in sections[lint.id]
    assert "10m10s" in sections[ci.id]  # the CI section carries the latest CI run
    assert project.check("CI comparison: Lint").annotations[0].start_line == 4
    assert project.check("CI comparison: CI").conclusion == "neutral"


async def test_not_enough_history_gives_numbers_without_verdict(world):
    project = await start_project(world, baseline_runs=3)
    await project.pr_run(ci_jobs(build=600))
    assert project.comments() == []  # on-change: nothing worth a new comment
    check = project.check()
    assert check.conclusion == "neutral" and "not enough history (3 runs on main, need 5)" in check.output["title"]
    assert "10m00s" in check.output["summary"] and "🔴" not in check.output["summary"]


async def test_cancelled_run_is_reported_not_compared(project):
    run = await project.pr_run(ci_jobs(build=600))
    await project.github.rerun(
        run,
        [JobSpec("build", conclusion="cancelled"), JobSpec("test", conclusion="cancelled")],
        started_at=PR_TIME + dt.timedelta(hours=1),
    )
    await project.world.settle()
    body = project.the_comment().body
    assert "Run was cancelled: nothing compared" in body and "slower" not in body
    check = project.checks()[-1]  # the first said "slower" with an annotation: a new one tells the new story
    assert check.conclusion == "neutral" and check.output["title"] == "Run was cancelled: nothing compared"
    assert check.annotations == []


def matrix_jobs(pythons, *, slow: str | None = None) -> list[JobSpec]:
    return [
        JobSpec(f"test (ubuntu-latest, {p})", duration=600 if p == slow else 300, steps=[StepSpec("pytest", 290)])
        for p in pythons
    ]


async def test_matrix_legs_are_matched_by_name(world):
    github = world.github
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n"})
    workflow = github.add_workflow(repo, CI_PATH, "CI", content=CI_WORKFLOW)
    add_runs_on_main(github, repo, workflow, lambda i: matrix_jobs(["3.11", "3.12"]))
    github.commit(repo, "feature", {"src/app.py": "slow = True\n"})
    pr = await github.open_pull_request(repo, "feature")
    await world.settle()
    project = Project(world, github, repo, workflow, pr)

    await project.pr_run(matrix_jobs(["3.12", "3.13"], slow="3.12"))
    body = project.the_comment().body
    assert "| test \\(ubuntu-latest, 3.12\\) | 5m00s | 10m00s | +5m00s (+100 %) | 🔴 slower |" in body
    assert "| test \\(ubuntu-latest, 3.13\\) | – | 5m00s | – | 🆕 new |" in body
    assert "| test \\(ubuntu-latest, 3.11\\) | 5m00s | – | – | ➖ removed |" in body


async def test_huge_comment_is_truncated_to_githubs_limit(project):
    long_name = "integration suite with a deliberately long descriptive job name for shard "
    jobs = [
        *ci_jobs(build=600),
        *(JobSpec(f"{long_name}{i:03d} of 400", duration=100, steps=[StepSpec("run", 95)]) for i in range(400)),
    ]
    await project.pr_run(jobs)
    body = project.the_comment().body  # the simulator answers 422 above 65,536 characters
    assert len(body) <= 65_536 and "Shortened to fit GitHub's size limit" in body
    assert "CI got" in body and "slower" in body
    check = project.check()
    assert len(check.output["summary"].encode()) <= 65_535


async def test_markdown_injection_in_a_job_name_is_escaped(world):
    evil = "evil | <img src=x onerror=alert(1)> [x](http://e) @everyone"
    github = world.github
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n"})
    workflow = github.add_workflow(repo, CI_PATH, "CI", content=CI_WORKFLOW)
    add_baseline(github, repo, workflow, test_name=evil)
    github.commit(repo, "feature", {"src/app.py": "slow = True\n"})
    pr = await github.open_pull_request(repo, "feature")
    await world.settle()
    project = Project(world, github, repo, workflow, pr)

    await project.pr_run(ci_jobs(test=500, test_name=evil))
    body, summary = project.the_comment().body, project.check().output["summary"]
    for text in (body, summary):
        assert "<img" not in text and "](http://e)" not in text and "@everyone" not in text and "evil |" not in text
        assert "evil \\| &lt;img src=x onerror=alert\\(1\\)&gt; \\[x\\]\\(http:\u200b//e\\) @\u200beveryone" in text
    title = project.check().output["title"]
    assert " got " in title and "slower" in title  # a title is plain text on GitHub: nothing in it renders


async def test_run_on_main_joins_the_baseline_in_the_store_and_does_not_comment(world):
    project = await start_project(world, baseline_runs=10)
    github, repo = project.github, project.repo
    await project.pr_run(ci_jobs(build=600))
    assert "10 successful of 10 recent runs on main" in project.the_comment().body
    assert github.calls[LIST_RUNS] == 1

    sha = github.commit(repo, "main", {"src/app.py": "version = 10\n"}, message="Change 10")
    main_run = github.add_run(
        repo,
        project.workflow,
        head_sha=sha,
        head_branch="main",
        event="push",
        created_at=PR_TIME - dt.timedelta(hours=12),
        jobs=ci_jobs(),
    )
    await github.deliver_workflow_run(main_run)
    await world.settle()
    assert github.check_runs_for(repo, sha) == [] and len(project.comments()) == 1
    assert github.calls[LIST_RUNS] == 1  # the run came with its delivery: recorded, nothing fetched

    project.pr.head_sha = await github.synchronize(project.pr, {"src/app.py": "slow = 2\n"})
    await world.settle()
    await project.pr_run(ci_jobs(build=600), created_at=PR_TIME + dt.timedelta(hours=1))
    body = project.the_comment().body
    assert "11 successful of 11 recent runs on main" in body and f"runs/{main_run.id})" in body
    assert github.calls[LIST_RUNS] == 1  # the baseline is read from the store


async def test_comment_always_comments_without_a_finding(world):
    project = await start_project(world, config="comparison:\n  comment: always\n")
    await project.pr_run(ci_jobs())
    body = project.the_comment().body
    assert "no significant change" in body
    assert project.check().conclusion == "neutral"


async def test_comment_never_leaves_only_the_check_run(world):
    project = await start_project(world, config="comparison:\n  comment: never\n")
    await project.pr_run(ci_jobs(build=600))
    assert project.comments() == []
    assert "slower" in project.check().output["title"]


async def test_fail_on_regression_fails_the_check_run(world):
    project = await start_project(world, config="comparison:\n  fail_on: regression\n")
    await project.pr_run(ci_jobs(build=600))
    check = project.check()
    assert check.conclusion == "failure" and annotations_of(check)[0][:3] == (CI_PATH, BUILD_LINE, "warning")


async def test_github_outage_mid_event_is_retried_without_duplicates(project):
    project.github.faults.queue_errors(502, count=2)
    await project.pr_run(ci_jobs(build=600))
    assert "CI got 101 % slower" in project.the_comment().body
    assert project.check().conclusion == "neutral"
    assert len(project.world.slept) == 2 and all(0 < seconds < 60 for seconds in project.world.slept)


async def test_late_run_of_an_outdated_head_does_not_overwrite_the_comment(project):
    github = project.github
    outdated = await project.pr_run(ci_jobs(build=120), deliver=False)  # slow to finish; the PR moves on meanwhile
    project.pr.head_sha = await github.synchronize(project.pr, {"src/app.py": "slow = 2\n"})
    await project.world.settle()
    await project.pr_run(ci_jobs(build=600), created_at=PR_TIME + dt.timedelta(hours=1))
    delivery = await github.deliver_workflow_run(outdated)
    await project.world.settle()
    assert [pr["number"] for pr in delivery.payload["workflow_run"]["pull_requests"]] == [
        project.pr.number
    ]  # same branch
    assert "CI got 101 % slower" in project.the_comment().body
    assert github.check_runs_for(project.repo, outdated.head_sha) == []


async def test_a_burst_of_pull_request_runs_on_one_base_fetches_the_baseline_once(project):
    github, repo = project.github, project.repo
    prs = [project.pr]
    for name in ("second", "third", "fourth"):
        github.commit(repo, name, {"src/app.py": f"{name} = True\n"}, message=name)
        prs.append(await github.open_pull_request(repo, name, title=name))
    await project.world.settle()
    runs = [
        github.add_run(
            repo,
            project.workflow,
            head_sha=pr.head_sha,
            head_branch=pr.head_branch,
            event="pull_request",
            created_at=PR_TIME,
            jobs=ci_jobs(build=600),
        )
        for pr in prs
    ]
    await asyncio.gather(*(github.deliver_workflow_run(run) for run in runs))  # handled concurrently: 4 PRs, 4 keys
    await project.world.settle()
    assert github.calls[LIST_RUNS] == 1
    baseline_jobs = github.calls[("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs")]
    assert baseline_jobs == 20 + len(runs)  # each baseline run's jobs once, plus each PR run's own
    assert all(len(project.comments(pr)) == 1 for pr in prs)
