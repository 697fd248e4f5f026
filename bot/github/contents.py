"""Files read through GitHub's contents API: their text, and the App's configuration of a repository."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import cachetools
import gidgethub

from bot.config.loading import config_source, merge_config_files
from bot.config.schema import CONFIG_PATH, ORG_CONFIG_REPO, ConfigProblem, LoadedConfig
from bot.flows.provider import UnreadableFile
from bot.github.endpoints import RepoAPI

CONFIG_TTL_SECONDS = 300.0


def text_from_contents(item: Any) -> str:
    """The text of a file from a `GET /repos/{owner}/{repo}/contents/{path}` response."""
    if isinstance(item, list):
        raise UnreadableFile("the path is a directory, not a file")
    name = str(item.get("path") or "the file") if isinstance(item, Mapping) else "the file"
    if not isinstance(item, Mapping) or item.get("type") != "file":
        kind = item.get("type") if isinstance(item, Mapping) else None
        raise UnreadableFile(f"{name} is not a regular file" + (f" (it is a {kind})" if kind else ""))
    if item.get("encoding") != "base64":
        raise UnreadableFile(f"{name} is too large to read (GitHub sends files up to 1 MB inline)")
    try:
        return base64.b64decode(item.get("content") or "").decode("utf-8-sig")
    except (binascii.Error, UnicodeDecodeError):
        raise UnreadableFile(f"{name} is not UTF-8 text") from None


async def read_contents(api: RepoAPI, path: str, ref: str | None) -> Any | None:
    """The contents API's answer for `path` at `ref`, or None when there is no such file (404)."""
    try:
        return await api.contents(path, ref)
    except gidgethub.BadRequest as error:
        if error.status_code == HTTPStatus.NOT_FOUND:
            return None
        raise


async def read_text(api: RepoAPI, path: str, ref: str | None) -> str | None:
    """The text of `path` at `ref`; None when it does not exist; `UnreadableFile` when it is not text."""
    contents = await read_contents(api, path, ref)
    return None if contents is None else text_from_contents(contents)


async def load_repo_config(gh: Any, owner: str, repo: str, *, ref: str | None = None) -> LoadedConfig:
    """Read the organization's and the repository's config files and merge them over the defaults.

    A missing file (404) is no error; other API errors propagate. Problems never raise: they are
    returned, and the settings they concern fall back to what applies without them.
    """
    locations = [(owner, repo, ref)]
    if repo.lower() != ORG_CONFIG_REPO:
        locations.insert(0, (owner, ORG_CONFIG_REPO, None))
    files: list[tuple[str, str | ConfigProblem]] = []
    for location_owner, location_repo, location_ref in locations:
        contents = await read_contents(RepoAPI(gh, f"{location_owner}/{location_repo}"), CONFIG_PATH, location_ref)
        if contents is None:
            continue
        source = config_source(location_owner, location_repo, location_ref)
        try:
            files.append((source, text_from_contents(contents)))
        except UnreadableFile as error:
            files.append((source, ConfigProblem(1, 1, "", str(error), source)))
    return merge_config_files(files)


class ConfigCache:
    """Each repository's merged configuration, kept until a push changes its default branch (or 5 minutes pass)."""

    def __init__(self, *, maxsize: int = 4096) -> None:
        self._configs: cachetools.TTLCache[str, LoadedConfig] = cachetools.TTLCache(maxsize, CONFIG_TTL_SECONDS)

    async def get(self, gh: Any, repo: str) -> LoadedConfig:
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
