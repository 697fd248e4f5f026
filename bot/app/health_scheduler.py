"""The schedule of "CI health" refreshes in the App: every repository's report on its `health.schedule`, then the
organization roll-ups, with the state in the store so that several instances never refresh the same one twice.

Each tick (a periodic task of the App, `bot.app.periodic`) puts every repository the store knows on the schedule
(due at once when new), claims what is due (a conditional UPDATE: one instance gets each), refreshes it, and
sets when it is due next. A repository refreshed marks its organization's roll-up due; a claim whose holder dies
expires after `lease` and is claimed again. A refresh that fails is retried after `retry`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from bot.flows.health import (
    RepositoryRef,
    organization_scope,
    refresh_health,
    refresh_rollup,
    repository_scope,
)
from bot.github.client import GitHubApp
from bot.github.provider import GitHubCaches, GitHubProvider
from bot.store import Repository, Store

log = logging.getLogger(__name__)

INTERVALS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
#: How soon a repository whose schedule is `off` (or health disabled) is looked at again: its config may change.
RECHECK = timedelta(days=1)
ROLLUP_EVERY = timedelta(days=7)
ORG_CONFIG_REPO = ".github"


INSTANCE = f"health-{secrets.token_hex(6)}"  # this process, as the holder of its claims


class HealthScheduler:
    """Runs the health refreshes that are due, one `tick(now)` at a time."""

    def __init__(
        self,
        store: Store,
        github: GitHubApp,
        caches: GitHubCaches,
        *,
        instance: str = INSTANCE,
        lease: timedelta = timedelta(minutes=30),
        retry: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.github = github
        self.caches = caches
        self.instance = instance
        self.lease = lease
        self.retry = retry
        self.clock = clock

    def _provider(self, repository: Repository) -> GitHubProvider:
        if repository.installation_id is None:
            raise LookupError(f"{repository.full_name} has no installation the App could act through")
        return GitHubProvider(self.github.for_installation(repository.installation_id), repository, self.caches)

    async def tick(self, now: datetime | None = None) -> list[str]:
        """Refresh what is due; returns the scopes refreshed (for logs and tests)."""
        now = now or self.clock()
        health = self.store.health
        repositories = {repository.id: repository for repository in await self.store.repositories()}
        await health.schedule([repository_scope(repository_id) for repository_id in repositories], due_at=now)
        done = []
        for scope in await health.claim_due(self.instance, now=now, lease=self.lease, prefix="repository:"):
            repository = repositories.get(int(scope.partition(":")[2]))
            try:
                next_due = await self._refresh_repository(repository, now) if repository else now + RECHECK
            except Exception:
                log.exception("health refresh of %s failed; retrying in %s", scope, self.retry)
                await health.unclaim(scope, self.instance, due_at=now + self.retry)
                continue
            await health.unclaim(scope, self.instance, due_at=next_due)
            if repository is not None:
                done.append(scope)
                owner = repository.full_name.partition("/")[0]
                await health.make_due([organization_scope(owner)], now=now)
        for scope in await health.claim_due(self.instance, now=now, lease=self.lease, prefix="organization:"):
            try:
                refreshed = await self._refresh_rollup(scope.partition(":")[2], repositories.values(), now)
            except Exception:
                log.exception("health roll-up %s failed; retrying in %s", scope, self.retry)
                await health.unclaim(scope, self.instance, due_at=now + self.retry)
                continue
            await health.unclaim(scope, self.instance, due_at=now + ROLLUP_EVERY)
            if refreshed:
                done.append(scope)
        return done

    async def _refresh_repository(self, repository: Repository, now: datetime) -> datetime:
        """Refresh one repository's report if its config asks for one; returns when it is due next."""
        provider = self._provider(repository)
        settings = (await provider.config()).config.health
        if not settings.enabled or settings.schedule not in INTERVALS:
            return now + RECHECK
        default_branch = repository.default_branch or str((await provider.api.repository())["default_branch"])
        reference = RepositoryRef(repository.id, repository.full_name, default_branch)
        outcome = await refresh_health(provider, self.store.health, reference, now=now)
        log.info("health of %s: %s (%d problems)", repository.full_name, outcome.action, outcome.problems)
        return now + INTERVALS[settings.schedule]

    async def _refresh_rollup(self, organization: str, repositories: Iterable[Repository], now: datetime) -> bool:
        """The roll-up of `organization`, in its `.github` repository when the App can reach it."""
        known = list(repositories)
        home = next(
            (r for r in known if r.full_name.lower() == f"{organization}/{ORG_CONFIG_REPO}".lower()),
            None,
        )
        if home is None:
            return False  # the App is not installed on the organization's .github repository
        members = [
            RepositoryRef(r.id, r.full_name, r.default_branch or "main")
            for r in known
            if r.full_name.partition("/")[0].lower() == organization.lower() and r.id != home.id
        ]
        outcome = await refresh_rollup(
            self._provider(home), self.store.health, home.full_name.partition("/")[0], members, now=now
        )
        log.info("health roll-up of %s: %s", organization, outcome.action)
        return outcome.action != "nothing to say"
