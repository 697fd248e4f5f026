"""The "CI health" flow: compute a repository's health report from the history store and keep its one issue.

- One issue per repository, labelled (`health.label`), found again by a hidden marker and edited in place: never
  a new issue each time. It is created only when the report finds a problem.
- A closed issue is still edited, and reopened only when a problem appears that the previous report did not
  have (a problem someone closed the issue over does not reopen it).
- `health.notify` (a user or team) is mentioned in a comment on the issue for each slowdown change point and
  each newly broken job, at most once per finding (the store remembers the findings alerted).
- The organization roll-up ranks every repository's last summary in the organization's `.github` repository.

`refresh_health` is what the schedule and the `/ci health` command call; `health_command_reply` turns its
outcome into the command's answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.config.options import health_options
from bot.config.schema import LoadedConfig
from bot.health import HealthData, HealthOptions, build_report
from bot.health.export import summary
from bot.health.markdown import MARKER, TITLE, render_markdown
from bot.health.rollup import MARKER as ROLLUP_MARKER
from bot.health.rollup import render_rollup
from bot.report import escape_markdown

ROLLUP_LABEL = "ci-health"


def repository_scope(repository_id: int) -> str:
    """The store's key of a repository's health schedule, summary and alerts."""
    return f"repository:{repository_id}"


def organization_scope(login: str) -> str:
    """The store's key of an organization roll-up's schedule."""
    return f"organization:{login.lower()}"


@dataclass(frozen=True)
class RepositoryRef:
    """A repository as the health flow needs it."""

    id: int
    full_name: str
    default_branch: str


@dataclass(frozen=True)
class IssueRef:
    """An issue the App keeps: number, state (open/closed), body."""

    number: int
    state: str
    body: str
    html_url: str | None = None


class HealthHistory(Protocol):
    """What the flow reads from and keeps in the history store (`bot.store.Store.health`)."""

    async def health_data(
        self,
        repository_id: int,
        repository: str,
        default_branch: str,
        *,
        now: datetime,
        options: HealthOptions,
        events: Sequence[str] = ("push",),
    ) -> HealthData: ...

    async def summary(self, scope: str) -> dict[str, Any] | None: ...

    async def summaries(self, scopes: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    async def save_summary(self, scope: str, summary: dict[str, Any], *, now: datetime) -> None: ...

    async def claim_alerts(self, scope: str, findings: Sequence[str], *, now: datetime) -> list[str]: ...


class IssueKeeper(Protocol):
    """What the flow asks of GitHub for one repository (`bot.github.provider.GitHubProvider`)."""

    repo: str

    async def config(self) -> LoadedConfig: ...

    async def find_issue(self, label: str, marker: str) -> IssueRef | None:
        """The App's issue with `label` whose body carries `marker` (open or closed), if any."""
        ...

    async def create_issue(self, title: str, body: str, label: str, marker: str) -> IssueRef:
        """Create the issue with `label` (created if missing); never twice, even when GitHub's answer is lost."""
        ...

    async def update_issue(self, number: int, *, body: str | None = None, reopen: bool = False) -> None: ...

    async def post_issue_comment(self, number: int, marker: str, body: str) -> None:
        """Post a comment carrying `marker` once (a comment already carrying it is edited instead)."""
        ...


@dataclass(frozen=True)
class HealthOutcome:
    """What one refresh did."""

    repository: str
    action: str  # created, updated, reopened, unchanged, nothing to say, disabled
    issue: IssueRef | None = None
    problems: int = 0
    alerted: tuple[str, ...] = ()


async def refresh_health(
    provider: IssueKeeper, history: HealthHistory, repository: RepositoryRef, *, now: datetime
) -> HealthOutcome:
    """Recompute the repository's health report and bring its issue up to date (creating it when there is a
    problem to report); alert `health.notify` of new slowdowns and broken jobs; keep the summary in the store."""
    loaded = await provider.config()
    settings = loaded.config.health
    if not settings.enabled:
        return HealthOutcome(repository.full_name, "disabled")
    options = health_options(settings)
    data = await history.health_data(
        repository.id,
        repository.full_name,
        repository.default_branch,
        now=now,
        options=options,
        events=settings.events,
    )
    report = build_report(data, options)
    scope = repository_scope(repository.id)
    previous = await history.summary(scope)
    problems = report.problems()
    known_before = set((previous or {}).get("problems") or {})
    new_problems = [key for key in problems if key not in known_before]
    body = render_markdown(report)

    issue = await provider.find_issue(settings.label, MARKER)
    if issue is None:
        if not problems:
            await history.save_summary(scope, summary(report), now=now)
            return HealthOutcome(repository.full_name, "nothing to say")
        issue = await provider.create_issue(TITLE, body, settings.label, MARKER)
        action = "created"
    else:
        reopen = issue.state == "closed" and bool(new_problems)
        if _without_time(issue.body) == _without_time(body) and not reopen:
            action = "unchanged"
        else:
            await provider.update_issue(issue.number, body=body, reopen=reopen)
            action = "reopened" if reopen else "updated"
    await history.save_summary(scope, summary(report), now=now)

    alerted: list[str] = []
    alerts = report.alerts()
    if settings.notify and alerts:
        alerted = await history.claim_alerts(scope, list(alerts), now=now)
        if alerted:
            await provider.post_issue_comment(
                issue.number, _alert_marker(alerted), _alert_body(settings.notify, alerted, alerts)
            )
    return HealthOutcome(repository.full_name, action, issue, len(problems), tuple(alerted))


def _without_time(body: str) -> str:
    """The body without its "updated …" time, to tell whether anything else changed."""
    return "\n".join(line for line in body.splitlines() if "; updated " not in line)


def _alert_marker(keys: Sequence[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]
    return f"<!-- ci-orchestrator:health-alert:{digest} -->"


def _alert_body(notify: str, keys: Sequence[str], alerts: dict[str, str]) -> str:
    lines = [_alert_marker(keys), f"{notify}: new on the default branch since the last report:", ""]
    lines += [f"- {escape_markdown(alerts[key], limit=300)}" for key in keys]
    lines += ["", "Details are in the issue above."]
    return "\n".join(lines)


async def refresh_rollup(
    provider: IssueKeeper,
    history: HealthHistory,
    organization: str,
    repositories: Sequence[RepositoryRef],
    *,
    now: datetime,
) -> HealthOutcome:
    """Bring the organization's roll-up issue (in its `.github` repository, `provider`) up to date from the last
    summaries of `repositories`; created when at least one repository has a summary."""
    found = await history.summaries([repository_scope(repository.id) for repository in repositories])
    summaries = sorted(found.values(), key=lambda item: str(item.get("repository")))
    issue = await provider.find_issue(ROLLUP_LABEL, ROLLUP_MARKER)
    if not summaries:
        return HealthOutcome(provider.repo, "nothing to say", issue)
    body = render_rollup(organization, summaries, now)
    if issue is None:
        issue = await provider.create_issue(f"CI health of {organization}", body, ROLLUP_LABEL, ROLLUP_MARKER)
        return HealthOutcome(provider.repo, "created", issue)
    if _without_time(issue.body) == _without_time(body):
        return HealthOutcome(provider.repo, "unchanged", issue)
    await provider.update_issue(issue.number, body=body)
    return HealthOutcome(provider.repo, "updated", issue)


async def health_command(
    provider: IssueKeeper, history: HealthHistory, repository: RepositoryRef, *, now: datetime
) -> str:
    """`/ci health`: refresh the report now; returns the reply to post. The caller has checked that the commenter
    may write to the repository (refused otherwise, with the reason)."""
    return health_command_reply(await refresh_health(provider, history, repository, now=now))


def health_command_reply(outcome: HealthOutcome) -> str:
    """The answer to `/ci health`: what the refresh did, with a link to the issue."""
    where = f" #{outcome.issue.number}" if outcome.issue is not None else ""
    replies = {
        "created": f"Created the CI health issue{where}: {outcome.problems} problem(s) found.",
        "updated": f"Refreshed the CI health issue{where}: {outcome.problems} problem(s) found.",
        "reopened": f"Reopened the CI health issue{where}: a new problem was found.",
        "unchanged": f"The CI health issue{where} is up to date: nothing changed.",
        "nothing to say": "No CI health problem found on the default branch: no issue needed.",
        "disabled": "CI health reports are turned off for this repository (`health.enabled: false`).",
    }
    return replies.get(outcome.action, f"CI health: {outcome.action}.")
