"""`ci-orchestrator test` against the local GitHub: dispatch, follow with conditional polls, report, exit status."""

from __future__ import annotations

import io
import json

import pytest
from helpers import WEBHOOK_SECRET, private_key_pem

from bot.cli import main
from bot.cli import test as test_command
from bot.testing.simulator import GitHubSimulator, JobSpec, StepSpec

CI = """\
name: CI
on:
  workflow_dispatch:
    inputs:
      python-version: {required: true}
      os: {type: choice, options: [ubuntu-latest, macos-latest]}
jobs:
  test:
    runs-on: ${{ inputs.os }}
    steps:
      - run: pytest
"""
SUITES = """\
suites:
  python-matrix:
    workflow: ci.yml
    matrix:
      python-version: ["3.11", "3.12", "3.13"]
      os: [ubuntu-latest, macos-latest]
"""
DISPATCH = ("POST", "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches")
GET_RUN = ("GET", "/repos/{owner}/{repo}/actions/runs/{run_id}")


def script(failing=("3.12", "macos-latest"), never=None):
    def jobs(inputs):
        leg = (inputs["python-version"], inputs["os"])
        if leg == never:
            return None
        conclusion = "failure" if leg == failing else "success"
        return [JobSpec("test", duration=120, conclusion=conclusion, steps=[StepSpec("Run pytest", 120, conclusion)])]

    return jobs


@pytest.fixture
async def local_github(openapi_contract):
    """The local GitHub alone: the command line gets no webhooks (deliveries are only recorded)."""
    github = GitHubSimulator(
        app_id=1, webhook_secret=WEBHOOK_SECRET, private_key_pem=private_key_pem(), contract=openapi_contract
    )
    await github.start()
    yield github
    await github.close()
    assert github.contract_violations == [], "\n".join(github.contract_violations)


@pytest.fixture
async def repo(local_github, monkeypatch):
    github = local_github
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation, files={".github/ci-testing.yml": SUITES})
    workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=CI)
    github.script_dispatches(workflow, script())
    monkeypatch.setenv("GITHUB_API_URL", github.base_url)
    return github, repo, workflow, github.personal_token(installation)


class FakeTime:
    """Sleeping lets every dispatched run play what it can, and moves the clock on."""

    def __init__(self, github):
        self.github, self.now, self.slept = github, 0.0, []

    async def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds
        await self.github.played()

    def clock(self):
        return self.now


async def run(github, token, *arguments, **options):
    out = io.StringIO()
    time = FakeTime(github)
    values = dict(token=token, ref=None, matrix=None, timeout_seconds=None, poll_seconds=15.0, out=out)
    values.update(options)
    status = await test_command.run_suite("octo-org/app", *arguments, sleep=time.sleep, clock=time.clock, **values)
    return status, out.getvalue(), time


async def test_a_suite_is_dispatched_followed_and_reported(repo):
    github, _, _, token = repo
    status, printed, time = await run(github, token, "python-matrix")
    assert status == 1
    assert "python-matrix: ci.yml on main: failure, 5 of 6 legs met the expectation" in printed
    assert printed.count("ok (success)") == 5 and "FAILED (failure) at Run pytest" in printed
    assert "\x1b[" not in printed  # no live display or colours when the output is not a terminal
    assert github.calls[DISPATCH] == 6 and time.slept.count(test_command.DISPATCH_INTERVAL_SECONDS) == 5
    assert github.calls[GET_RUN] == 6  # each leg looked at once: they had all finished


async def test_json_and_a_matrix_from_the_command_line(repo):
    github, _, _, token = repo
    status, printed, _ = await run(
        github, token, "ci.yml", matrix='{"python-version": "3.13", "os": ["ubuntu-latest"]}', output_format="json"
    )
    assert status == 0
    report = json.loads(printed)
    assert report["conclusion"] == "success" and report["workflow"] == ".github/workflows/ci.yml"
    assert [leg["inputs"] for leg in report["legs"]] == [{"python-version": "3.13", "os": "ubuntu-latest"}]
    assert (
        report["legs"][0]["met_expectation"] is True and report["legs"][0]["duration_seconds"] == 125
    )  # 5 s queued, 120 s running


async def test_polls_are_conditional_and_a_leg_that_never_starts_times_out(repo):
    github, _, workflow, token = repo
    github.script_dispatches(workflow, script(failing=None, never=("3.11", "ubuntu-latest")))
    status, printed, _ = await run(github, token, "python-matrix", timeout_seconds=60.0, poll_seconds=15.0)
    assert status == 1 and "FAILED (timed_out)" in printed
    polls = [r for r in github.requests if (r.method, r.route) == GET_RUN]
    assert len(polls) == 6 + 4  # the waiting leg is looked at on every poll until the timeout
    assert all("if-none-match" in r.headers for r in polls[6:])  # unchanged: 304, not counted by GitHub
    assert github.calls[("POST", "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel")] == 1


async def test_configuration_problems_exit_2_before_anything_is_dispatched(repo, capsys):
    github, _, _, token = repo
    status, _, _ = await run(github, token, "ci.yml", matrix='{"pyton": ["3.12"]}')
    assert status == 2 and github.calls[DISPATCH] == 0
    assert "declares no workflow_dispatch input 'pyton'" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("GITHUB_TOKEN", "t")
    assert main(["test", "suite", "--repo", "no-slash"]) == 2
    assert "OWNER/NAME" in capsys.readouterr().err
    assert main(["test", "suite", "--repo", "o/r", "--timeout", "soon"]) == 2
    assert "--timeout must be a duration" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)  # no git remote here
    assert main(["test", "suite"]) == 2
    assert "--repo is needed" in capsys.readouterr().err
    assert main(["test"]) == 2


def test_the_repository_comes_from_the_git_remote():
    assert test_command.repository_from_remote("https://github.com/octo-org/app.git") == "octo-org/app"
    assert test_command.repository_from_remote("git@github.com:octo-org/app.git") == "octo-org/app"
    assert test_command.repository_from_remote("https://github.com/octo-org/app") == "octo-org/app"
    assert test_command.repository_from_remote("/some/local/path") is None


def test_the_gh_extension_runs_the_same_command_with_ghs_token(tmp_path):
    import os
    import subprocess
    from pathlib import Path

    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for name, body in {"gh": "echo gho_from_gh\n", "ci-orchestrator": 'echo "$GH_TOKEN $*"\n'}.items():
        (fake_bin / name).write_text("#!/bin/sh\n" + body)
        (fake_bin / name).chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key not in ("GITHUB_TOKEN", "GH_TOKEN", "GH_HOST")}
    env["PATH"] = f"{fake_bin}:/usr/bin:/bin"
    script = Path(__file__).resolve().parents[2] / "gh-ci"
    answer = subprocess.run(
        [str(script), "test", "python-matrix", "--repo", "o/r"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert answer.returncode == 0 and answer.stdout == "gho_from_gh test python-matrix --repo o/r\n"
