"""The health flow over a fake store and a fake GitHub: when the issue is created, edited, left alone, reopened, and
when the team is alerted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config.loading import check_config_text
from bot.config.schema import LoadedConfig
from bot.flows.health import (
    IssueRef,
    RepositoryRef,
    health_command,
    health_command_reply,
    refresh_health,
    refresh_rollup,
)
from bot.health import HealthData, HealthOptions, JobFailure, JobOutcomes, Period

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
REPOSITORY = RepositoryRef(7, "octo-org/app", "main")


def broken(job: str) -> dict[str, Any]:
    """Data in which `job` failed its last three runs on main."""
    failures = tuple(JobFailure("CI", job, run, f"{run:040x}", NOW - timedelta(hours=run), None) for run in (7, 8, 9))
    return {"job_outcomes": (JobOutcomes("CI", job, 10, 3, 6, 9),), "failing_streaks": failures}


@dataclass
class FakeHistory:
    parts: dict[str, Any] = field(default_factory=dict)
    saved: dict[str, dict[str, Any]] = field(default_factory=dict)
    alerted: set[tuple[str, str]] = field(default_factory=set)

    async def health_data(
        self, repository_id: int, repository: str, default_branch: str, *, now: datetime, options: HealthOptions,
        events: Sequence[str] = ("push",),
    ) -> HealthData:  # fmt: skip
        window = Period(now - timedelta(days=options.window_days), now)
        previous = Period(window.start - timedelta(days=options.window_days), window.start)
        return HealthData(repository, default_branch, now, window, previous, **self.parts)

    async def summary(self, scope: str) -> dict[str, Any] | None:
        return self.saved.get(scope)

    async def summaries(self, scopes: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {scope: self.saved[scope] for scope in scopes if scope in self.saved}

    async def save_summary(self, scope: str, summary: dict[str, Any], *, now: datetime) -> None:
        self.saved[scope] = summary

    async def claim_alerts(self, scope: str, findings: Sequence[str], *, now: datetime) -> list[str]:
        fresh = [finding for finding in findings if (scope, finding) not in self.alerted]
        self.alerted.update((scope, finding) for finding in fresh)
        return fresh


@dataclass
class FakeGitHub:
    config_text: str = ""
    repo: str = "octo-org/app"
    issues: dict[int, IssueRef] = field(default_factory=dict)
    comments: list[tuple[int, str, str]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    async def config(self) -> LoadedConfig:
        config, problems = check_config_text(self.config_text)
        assert problems == []
        return LoadedConfig(config, problems, [])

    async def find_issue(self, label: str, marker: str) -> IssueRef | None:
        self.calls.append("find")
        return next((issue for issue in self.issues.values() if marker in issue.body), None)

    async def create_issue(self, title: str, body: str, label: str, marker: str) -> IssueRef:
        self.calls.append(f"create {label}")
        issue = IssueRef(len(self.issues) + 1, "open", body)
        self.issues[issue.number] = issue
        return issue

    async def update_issue(self, number: int, *, body: str | None = None, reopen: bool = False) -> None:
        self.calls.append("reopen" if reopen else "update")
        issue = self.issues[number]
        self.issues[number] = replace(issue, body=body or issue.body, state="open" if reopen else issue.state)

    async def post_issue_comment(self, number: int, marker: str, body: str) -> None:
        self.comments.append((number, marker, body))


async def test_nothing_to_say_creates_no_issue_but_keeps_the_summary():
    github, history = FakeGitHub(), FakeHistory()
    outcome = await refresh_health(github, history, REPOSITORY, now=NOW)
    assert outcome.action == "nothing to say" and github.issues == {}
    assert history.saved["repository:7"]["problems"] == {}
    assert health_command_reply(outcome).startswith("No CI health problem found")


async def test_the_command_refreshes_and_says_what_it_did():
    github, history = FakeGitHub(), FakeHistory(broken("lint"))
    assert await health_command(github, history, REPOSITORY, now=NOW) == (
        "Created the CI health issue #1: 1 problem(s) found."
    )


async def test_disabled_health_does_nothing():
    github, history = FakeGitHub("health:\n  enabled: false\n"), FakeHistory(broken("lint"))
    outcome = await refresh_health(github, history, REPOSITORY, now=NOW)
    assert outcome.action == "disabled" and github.calls == [] and history.saved == {}


async def test_a_problem_creates_the_labelled_issue_and_alerts_the_team_once():
    github = FakeGitHub('health:\n  notify: "@octo-org/ci-team"\n  label: ci\n')
    history = FakeHistory(broken("lint"))
    first = await refresh_health(github, history, REPOSITORY, now=NOW)
    assert first.action == "created" and github.calls == ["find", "create ci"]
    assert "**CI / lint** is broken" in github.issues[1].body
    [(number, marker, body)] = github.comments
    assert number == 1 and marker.startswith("<!-- ci-orchestrator:health-alert:") and body.startswith(marker)
    assert "@octo-org/ci-team: new on the default branch" in body and "CI / lint: broken" in body

    again = await refresh_health(github, history, REPOSITORY, now=NOW + timedelta(hours=1))
    assert again.action in ("updated", "unchanged") and len(github.issues) == 1
    assert len(github.comments) == 1 and again.alerted == ()


async def test_without_notify_nobody_is_mentioned():
    github, history = FakeGitHub(), FakeHistory(broken("lint"))
    await refresh_health(github, history, REPOSITORY, now=NOW)
    assert github.comments == [] and history.alerted == set()


async def test_a_closed_issue_is_reopened_only_for_a_new_problem():
    github, history = FakeGitHub(), FakeHistory(broken("lint"))
    await refresh_health(github, history, REPOSITORY, now=NOW)
    github.issues[1] = replace(github.issues[1], state="closed")

    same = await refresh_health(github, history, REPOSITORY, now=NOW + timedelta(days=7))
    assert same.action == "unchanged" and github.issues[1].state == "closed" and "reopen" not in github.calls

    history.parts = broken("docs")
    new = await refresh_health(github, history, REPOSITORY, now=NOW + timedelta(days=14))
    assert new.action == "reopened" and github.issues[1].state == "open"
    assert "**CI / docs** is broken" in github.issues[1].body
    assert health_command_reply(new) == "Reopened the CI health issue #1: a new problem was found."


async def test_the_rollup_lists_the_repositories_with_a_summary():
    history = FakeHistory(broken("lint"))
    await refresh_health(FakeGitHub(), history, REPOSITORY, now=NOW)
    home = FakeGitHub(repo="octo-org/.github")
    others = [REPOSITORY, RepositoryRef(8, "octo-org/no-report", "main")]
    outcome = await refresh_rollup(home, history, "octo-org", others, now=NOW)
    assert outcome.action == "created" and home.calls == ["find", "create ci-health"]
    body = home.issues[1].body
    assert "| octo-org/app |" in body and "no-report" not in body
    assert (await refresh_rollup(home, history, "octo-org", others, now=NOW)).action == "unchanged"
    empty = FakeHistory()
    assert (await refresh_rollup(FakeGitHub(), empty, "octo-org", others, now=NOW)).action == "nothing to say"
