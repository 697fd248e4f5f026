"""What every handler receives besides the event and the installation's client: settings and shared caches."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.app.settings import Settings
from bot.github.client import GitHubApp
from bot.github.provider import GitHubCaches, GitHubProvider


@dataclass
class Services:
    settings: Settings
    github: GitHubApp
    caches: GitHubCaches = field(init=False)

    def __post_init__(self) -> None:
        self.caches = GitHubCaches(app_id=self.settings.app_id)

    def provider(self, gh: Any, repo: str) -> GitHubProvider:
        """The flows' view of `repo` through the installation's client `gh`."""
        return GitHubProvider(gh, repo, self.caches)
