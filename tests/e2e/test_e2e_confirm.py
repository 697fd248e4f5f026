"""Confirm before alarming: a job that looks slower in one run is re-run, and only two slow samples call it slower."""

from __future__ import annotations

import datetime as dt

from helpers import CI_WORKFLOW, add_baseline, add_runs_on_main, ci_jobs

from bot.testing.simulator import JobSpec, StepSpec

PR_TIME = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
CHECK = "CI comparison: CI"
RERUN_JOB = ("POST", "/repos/{owner}/{repo}/actions/jobs/{job_id}/rerun")


async def project_with(world, config: str | None = None, jobs_on_main=None):
    """A repository with a CI workflow, its history on main (`jobs_on_main(i)`, else ±5 % noise) and an open PR."""
    github = world.github
    installation = github.add_installation("octo-org")
    files = {"README.md": "hi\n"}
    if config is not None:
        files[".github/ci-orchestrator.yml"] = config
    repo = github.add_repo("octo-org/app", installation, files=files)
    workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=CI_WORKFLOW)
    if jobs_on_main is None:
        add_baseline(github, repo, workflow)
    else:
        add_runs_on_main(github, repo, workflow, jobs_on_main)
    github.commit(repo, "feature", {"src/app.py": "change = 1\n"}, message="A change")
    pr = await github.open_pull_request(repo, "feature", title="A change")
    await world.settle()
    return github, repo, workflow, pr


def build_job(seconds: float) -> list[JobSpec]:
    return [JobSpec("build", duration=seconds, steps=[StepSpec("make build", seconds - 5)])]


def add_pr_run(github, repo, workflow, pr, jobs):
    return github.add_run(
        repo, workflow, head_sha=pr.head_sha, head_branch="feature", event="pull_request", created_at=PR_TIME, jobs=jobs
    )


async def pr_run(world, github, repo, workflow, pr, jobs):
    run = add_pr_run(github, repo, workflow, pr, jobs)
    await github.deliver_workflow_run(run)
    await world.settle()
    return run


def reruns(github) -> list[str]:
    return [r.path for r in github.requests if (r.method, r.route) == RERUN_JOB]


def checking_states(github) -> list[dict]:
    """The check-run writes that showed the comparison waiting for its confirming re-run."""
    return [
        r.json
        for r in github.requests
        if r.method in ("POST", "PATCH") and "/check-runs" in r.path and (r.json or {}).get("status") == "in_progress"
    ]


def comparison_comments(github, repo, pr):
    return [c for c in github.issue_comments(repo, pr.number) if "ci-orchestrator:comparison" in c.body]


async def test_a_spike_is_checked_by_a_re_run_and_raises_no_alarm(world):
    github, repo, workflow, pr = await project_with(world)
    run = add_pr_run(github, repo, workflow, pr, ci_jobs(build=700))  # a spike: build took twice its usual time
    github.script_rerun(run, ci_jobs(build=300)[:1])  # the re-run of build takes its usual time
    await github.deliver_workflow_run(run)
    await world.settle()

    build_id = next(job.id for job in run.attempts[0].jobs if job.name == "build")
    assert reruns(github) == [f"/repos/octo-org/app/actions/jobs/{build_id}/rerun"]
    (checking,) = checking_states(github)
    assert "checking: re-running build to confirm" in checking["output"]["title"]
    assert run.latest.number == 2  # the confirming attempt came back through its workflow_run delivery
    assert comparison_comments(github, repo, pr) == []  # no alarm: nothing worth a comment
    (check,) = [c for c in github.check_runs_for(repo, pr.head_sha) if c.name == CHECK]
    assert check.status == "completed" and "slower" not in check.output["title"]


async def test_a_real_slowdown_is_called_slower_once_the_re_run_agrees(world):
    github, repo, workflow, pr = await project_with(world)
    run = add_pr_run(github, repo, workflow, pr, ci_jobs(build=700))
    github.script_rerun(run, ci_jobs(build=690)[:1])  # slow again: the change made it slower
    await github.deliver_workflow_run(run)
    await world.settle()

    assert len(reruns(github)) == 1 and run.latest.number == 2
    (comment,) = comparison_comments(github, repo, pr)
    assert "slower" in comment.body and "build" in comment.body
    (check,) = [c for c in github.check_runs_for(repo, pr.head_sha) if c.name == CHECK]
    assert check.status == "completed" and "slower" in check.output["title"]


async def test_the_re_run_budget_of_a_pull_request_is_respected(world):
    github, repo, workflow, pr = await project_with(world, "comparison:\n  confirm_reruns: 1\n")
    first = await pr_run(world, github, repo, workflow, pr, ci_jobs(build=700))
    assert len(reruns(github)) == 1 and first.latest.number == 2

    await github.synchronize(pr, {"src/app.py": "change = 2\n"})
    await world.settle()
    second = await pr_run(world, github, repo, workflow, pr, ci_jobs(build=700))
    assert len(reruns(github)) == 1 and second.latest.number == 1  # budget spent: one sample decides
    (check,) = [c for c in github.check_runs_for(repo, pr.head_sha) if c.name == CHECK]
    assert check.status == "completed"


async def test_confirm_never_decides_on_one_sample_at_a_stricter_level(world):
    github, repo, workflow, pr = await project_with(world, "comparison:\n  confirm: never\n")
    await pr_run(world, github, repo, workflow, pr, ci_jobs(build=1200))
    assert reruns(github) == [] and checking_states(github) == []
    (check,) = [c for c in github.check_runs_for(repo, pr.head_sha) if c.name == CHECK]
    assert check.status == "completed" and "slower" in check.output["title"]  # a slowdown this large still shows


async def test_a_slow_stretch_the_base_branch_had_unchanged_is_no_slowdown_and_asks_no_re_run(world):
    # build takes 300 s, but took 360 and 365 s two runs in a row (a slow runner pool)
    github, repo, workflow, pr = await project_with(
        world, jobs_on_main=lambda i: ci_jobs(build={8: 360.0, 9: 365.0}.get(i, 295.0 + 3 * (i % 5)))
    )
    await pr_run(world, github, repo, workflow, pr, ci_jobs(build=375))  # as slow as that stretch
    assert reruns(github) == [] and checking_states(github) == []  # a second sample could not make it slower
    (check,) = [c for c in github.check_runs_for(repo, pr.head_sha) if c.name == CHECK]
    assert check.status == "completed" and "slower" not in check.output["title"]
    assert comparison_comments(github, repo, pr) == []
