"""What every handler receives besides the event and the installation's client: settings and shared caches."""

from __future__ import annotations

from dataclasses import dataclass, field

import cachetools

from bot.app.settings import Settings
from bot.config.schema import ORG_CONFIG_REPO, LoadedConfig, load_repo_config
from bot.github.client import GitHubApp
from bot.github.publish import Publisher
from bot.github.runs import BaselineStore

CONFIG_TTL_SECONDS = 300.0


class ConfigStore:
    """Each repository's merged configuration, kept until a push changes its default branch (or 5 minutes pass)."""

    def __init__(self, *, maxsize: int = 4096) -> None:
        self._configs: cachetools.TTLCache[str, LoadedConfig] = cachetools.TTLCache(maxsize, CONFIG_TTL_SECONDS)

    async def get(self, gh, repo: str) -> LoadedConfig:
        loaded = self._configs.get(repo)
        if loaded is None:
            owner, _, name = repo.partition("/")
            loaded = self._configs[repo] = await load_repo_config(gh, owner, name)
        return loaded

    def invalidate(self, repo: str) -> None:
        """A push to `repo`'s default branch; the organization's `.github` repository concerns all its repositories."""
        owner, _, name = repo.partition("/")
        for key in list(self._configs):
            if key == repo or (name == ORG_CONFIG_REPO and key.partition("/")[0] == owner):
                self._configs.pop(key, None)


@dataclass
class Services:
    settings: Settings
    github: GitHubApp
    configs: ConfigStore = field(default_factory=ConfigStore)
    baselines: BaselineStore = field(default_factory=BaselineStore)
    publisher: Publisher = field(init=False)
    #: Recent successful runs of each (repository, pull request, workflow): extra samples for later comparisons.
    pr_runs: cachetools.LRUCache = field(default_factory=lambda: cachetools.LRUCache(20_000))

    def __post_init__(self) -> None:
        self.publisher = Publisher(self.settings.app_id)
