"""Issues the App keeps (the "CI health" issue): found by label and hidden marker, created once, labels ensured.

A create whose answer was lost (`WriteOutcomeUnknown`) is never sent again blindly: the issue is looked for
by its marker first, as the publisher does for comments.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import gidgethub

from bot.github.client import GitHubUnavailable, WriteOutcomeUnknown
from bot.github.endpoints import RepoAPI

log = logging.getLogger(__name__)
CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class FoundIssue:
    """An issue of the App, as the flows see it."""

    number: int
    state: str  # open or closed
    body: str
    html_url: str | None


def _issue(item: dict[str, Any]) -> FoundIssue:
    return FoundIssue(
        int(item["number"]), str(item.get("state") or "open"), item.get("body") or "", item.get("html_url")
    )


async def find_marked_issue(api: RepoAPI, label: str, marker: str) -> FoundIssue | None:
    """The oldest issue (not pull request) with `label`, opened by a bot (the App), whose body carries `marker`."""
    found = None
    async for item in api.issues_with_label(label):
        body = item.get("body") or ""
        if "pull_request" in item or marker not in body or (item.get("user") or {}).get("type") != "Bot":
            continue
        if found is None or int(item["number"]) < found.number:
            found = _issue(item)
    return found


async def ensure_label(api: RepoAPI, name: str, color: str, description: str) -> None:
    """Create the label unless it exists (another instance may create it at the same time: 422 is fine)."""
    try:
        await api.label(name)
        return
    except gidgethub.BadRequest as error:
        if error.status_code != 404:
            raise
    try:
        await api.create_label(name, color, description)
    except gidgethub.BadRequest as error:
        if error.status_code != 422:  # already exists
            raise


async def create_marked_issue(api: RepoAPI, title: str, body: str, label: str, marker: str) -> FoundIssue:
    """Create the issue; after a lost answer, look for it by marker before sending again."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            return _issue(await api.create_issue(title, body, [label]))
        except WriteOutcomeUnknown as error:
            log.warning(
                "issue %r in %s: %s (attempt %d); looking whether it was created", title, api.full_name, error, attempt
            )
            found = await find_marked_issue(api, label, marker)
            if found is not None:
                return found
    raise GitHubUnavailable(f"the issue {title!r} could not be created in {CREATE_ATTEMPTS} attempts")
