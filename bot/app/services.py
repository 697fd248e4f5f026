"""What every handler receives besides the event and the installation's client: settings and shared caches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.app.settings import Settings
from bot.flows.test_on_demand import DispatchPolicy, Place
from bot.github.client import GitHubApp
from bot.github.provider import GitHubCaches, GitHubProvider
from bot.store import Store


@dataclass
class Services:
    settings: Settings
    github: GitHubApp
    caches: GitHubCaches = field(init=False)
    store: Store | None = None  # on-demand test sessions need it
    testing: DispatchPolicy = field(init=False)

    def __post_init__(self) -> None:
        self.caches = GitHubCaches(app_id=self.settings.app_id)
        self.testing = DispatchPolicy(budget_per_hour=self.settings.testing_dispatches_per_hour)

    def provider(self, gh: Any, repo: str) -> GitHubProvider:
        """The flows' view of `repo` through the installation's client `gh`."""
        return GitHubProvider(gh, repo, self.caches)

    def forget_installation(self, installation_id: int, repositories: Iterable[str]) -> None:
        """The App was uninstalled or suspended: drop the installation's token and client, and what it keeps
        of `repositories` (GitHub lists them only when the installation had selected repositories)."""
        self.github.forget_installation(installation_id)
        self.forget_repositories(repositories)

    def forget_repositories(self, repositories: Iterable[str]) -> None:
        """The App lost access to these repositories: drop their configs, baseline runs, pull-request samples and
        what it remembers of its comments and check runs there."""
        lost = set(repositories)
        for repo in lost:
            self.caches.configs.invalidate(repo)
            self.caches.baselines.forget_repository(repo)
            self.caches.publisher.forget_repository(repo)
        for key in [key for key in self.caches.pr_runs if key[0] in lost]:
            self.caches.pr_runs.pop(key, None)
        for running in [key for key in self.caches.running if key[0] in lost]:
            self.caches.running.pop(running, None)

    def testing_place(
        self, gh: Any, repo: str, repository_id: int, installation_id: int | None, default_branch: str
    ) -> Place | None:
        """Where on-demand test sessions of `repo` start and report; None while the App has no store."""
        if self.store is None:
            return None
        provider = self.provider(gh, repo)
        return Place(provider, self.store.sessions, repository_id, installation_id, default_branch, self.testing)
