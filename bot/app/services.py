"""What every handler receives besides the event and the installation's client: settings, the store, shared caches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.app.backfills import Backfills
from bot.app.settings import Settings
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

    def __post_init__(self) -> None:
        self.caches = GitHubCaches(store=self.store, app_id=self.settings.app_id)
        self.backfills = Backfills(
            self.github.for_installation,
            self.store,
            share=self.settings.backfill_rate_share,
            days=self.settings.backfill_days,
        )

    def provider(self, gh: Any, repository: events.Repository) -> GitHubProvider:
        """The flows' view of `repository` through the installation's client `gh`."""
        installation_id = getattr(gh, "installation_id", None)
        stored = Repository(repository.id, repository.full_name, installation_id, repository.default_branch)
        return GitHubProvider(gh, stored, self.caches)
