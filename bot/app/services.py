"""What every handler receives besides the event and the installation's client: settings, the store, shared caches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.app.backfills import Backfills
from bot.app.settings import Settings
from bot.flows.test_on_demand import DispatchPolicy, Place
from bot.github import events
from bot.github.client import GitHubApp
from bot.github.provider import GitHubCaches, GitHubProvider
from bot.store import Repository, Store


@dataclass
class Services:
    settings: Settings
    github: GitHubApp
    store: Store
    caches: GitHubCaches = field(init=False)
    backfills: Backfills = field(init=False)
    testing: DispatchPolicy = field(init=False)

    def __post_init__(self) -> None:
        self.caches = GitHubCaches(store=self.store, app_id=self.settings.app_id)
        self.backfills = Backfills(
            self.github.for_installation,
            self.store,
            share=self.settings.backfill_rate_share,
            days=self.settings.backfill_days,
        )
        self.testing = DispatchPolicy(budget_per_hour=self.settings.testing_dispatches_per_hour)

    def provider(self, gh: Any, repository: events.Repository) -> GitHubProvider:
        """The flows' view of `repository` through the installation's client `gh`."""
        installation_id = getattr(gh, "installation_id", None)
        stored = Repository(repository.id, repository.full_name, installation_id, repository.default_branch)
        return GitHubProvider(gh, stored, self.caches)

    def forget_installation(self, installation_id: int, repositories: Iterable[str]) -> None:
        """The App was uninstalled or suspended: drop the installation's token and client, and what it keeps
        of `repositories` (GitHub lists them only when the installation had selected repositories)."""
        self.github.forget_installation(installation_id)
        self.forget_repositories(repositories)

    def forget_repositories(self, repositories: Iterable[str]) -> None:
        """The App lost access to these repositories: drop their configs, the files read there and the check runs
        the watchdog would complete there (their history stays in the store until retention)."""
        lost = set(repositories)
        for repo in lost:
            self.caches.configs.invalidate(repo)
            self.caches.publisher.forget_repository(repo)
        for key in [key for key in self.caches.files if key[0] in lost]:
            self.caches.files.pop(key, None)

    def testing_place(
        self, gh: Any, repo: str, repository_id: int, installation_id: int | None, default_branch: str
    ) -> Place:
        """Where on-demand test sessions of `repo` start and report."""
        provider = self.provider(gh, events.Repository(repo, repository_id, default_branch))
        return Place(provider, self.store.sessions, repository_id, installation_id, default_branch, self.testing)
