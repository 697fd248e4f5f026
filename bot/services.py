"""What every handler receives besides the event and the installation's client: settings and shared caches."""

from __future__ import annotations

from dataclasses import dataclass

from bot.github import GitHubApp
from bot.settings import Settings


@dataclass
class Services:
    settings: Settings
    github: GitHubApp
