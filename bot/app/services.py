"""What every handler receives besides the event and the installation's client: settings and shared caches."""

from __future__ import annotations

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

    def testing_place(
        self, gh: Any, repo: str, repository_id: int, installation_id: int | None, default_branch: str
    ) -> Place | None:
        """Where on-demand test sessions of `repo` start and report; None while the App has no store."""
        if self.store is None:
            return None
        provider = self.provider(gh, repo)
        return Place(provider, self.store.sessions, repository_id, installation_id, default_branch, self.testing)
