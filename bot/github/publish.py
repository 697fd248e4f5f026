"""Publishing results on GitHub: one sticky PR comment per marker, one check run per (head SHA, name).

Both are found again and edited in place, never duplicated: what was found is remembered per
installation client, and work on one (comment marker / check run) is serialised by a lock, so
concurrent and redelivered events update the one they share.

A pull request seen being opened has no comments of the App, and a head commit seen arriving with
`opened`/`synchronize` has no check runs of the App: for those, nothing is looked up before posting
(after a restart, or once forgotten, the App looks again). The one gap: a head forced back to a commit
the App already checked gets a second check run of that name, which GitHub shows instead of the first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cachetools

from bot.github.endpoints import RepoAPI
from bot.report import ANNOTATIONS_PER_REQUEST, Annotation, Report, check_run_name

log = logging.getLogger(__name__)

_ABSENT = 0  # remembered: there is no such comment yet


@dataclass
class _Posted:
    """What the App posted in one place: a pull request's comments by marker, or a commit's check runs by name."""

    ids: dict[str, int] = field(default_factory=dict)  # _ABSENT: known not to exist
    complete: bool = False  # seen from its very start: what is not in `ids` does not exist


def _posted_in(places: cachetools.LRUCache[tuple[str, Any], _Posted], place: tuple[str, Any]) -> _Posted:
    posted = places.get(place)
    if posted is None:
        posted = places[place] = _Posted()
    return posted


class Publisher:
    """Finds, creates and updates the App's comments and check runs; remembers their ids."""

    def __init__(self, app_id: int, *, maxsize: int = 20_000) -> None:
        self._app_id = app_id
        self._comments: cachetools.LRUCache[tuple[str, int], _Posted] = cachetools.LRUCache(maxsize)
        self._check_runs: cachetools.LRUCache[tuple[str, str], _Posted] = cachetools.LRUCache(maxsize)
        self._annotation_keys: cachetools.LRUCache[int, set[tuple[Any, ...]]] = cachetools.LRUCache(maxsize)
        self._locks: cachetools.LRUCache[tuple[Any, ...], asyncio.Lock] = cachetools.LRUCache(maxsize)

    def _lock(self, key: tuple[Any, ...]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def expect_new_pull_request(self, repo: str, number: int, head_sha: str) -> None:
        """Pull request `number` was just opened: it has no comments of the App, its head no check runs."""
        if (repo, number) not in self._comments:
            self._comments[(repo, number)] = _Posted(complete=True)
        self.expect_new_head(repo, head_sha)

    def expect_new_head(self, repo: str, head_sha: str) -> None:
        """`head_sha` just became a pull request's head: the App has no check runs on it."""
        if (repo, head_sha) not in self._check_runs:
            self._check_runs[(repo, head_sha)] = _Posted(complete=True)

    async def upsert_comment(self, gh: Any, repo: str, number: int, marker: str, body: str, *, create: bool) -> str:
        """Edit the comment carrying `marker`, or post it when `create`; returns "created", "updated" or "skipped"."""
        async with self._lock(("comment", repo, number, marker)):
            posted = _posted_in(self._comments, (repo, number))
            comment_id = posted.ids.get(marker)
            if comment_id is None:
                comment_id = _ABSENT if posted.complete else await self._find_comment(gh, repo, number, marker)
                posted.ids[marker] = comment_id
            api = RepoAPI(gh, repo)
            if comment_id != _ABSENT:
                await api.update_issue_comment(comment_id, body)
                return "updated"
            if not create:
                return "skipped"
            created = await api.create_issue_comment(number, body)
            posted.ids[marker] = created["id"]
            return "created"

    @staticmethod
    async def _find_comment(gh: Any, repo: str, number: int, marker: str) -> int:
        async for comment in RepoAPI(gh, repo).issue_comments(number):
            if marker in (comment.get("body") or "") and (comment.get("user") or {}).get("type") == "Bot":
                return int(comment["id"])
        return _ABSENT

    async def upsert_check_run(
        self,
        gh: Any,
        repo: str,
        head_sha: str,
        name: str,
        report: Report,
        *,
        details_url: str | None = None,
        actions: Sequence[dict[str, str]] = (),
        replace: bool = False,
    ) -> int:
        """Create or complete the check run `name` on `head_sha` showing `report`; annotations go 50 per request.

        `replace` posts a new check run of that name instead of updating the old one, as GitHub asks on
        "Re-run" (annotations cannot be taken back from a check run; GitHub shows the newest of a name).
        """
        name = check_run_name(name)
        api = RepoAPI(gh, repo)
        async with self._lock(("check", repo, head_sha, name)):
            posted = _posted_in(self._check_runs, (repo, head_sha))
            check_run_id = _ABSENT if replace else posted.ids.get(name)
            if check_run_id is None:
                check_run_id = _ABSENT if posted.complete else await self._find_check_run(api, head_sha, name)
            to_send = list(report.annotations)
            if check_run_id and to_send:
                # Annotations append across updates: send only those the check run does not show yet.
                shown = self._annotation_keys.get(check_run_id)
                if shown is None:
                    shown = {_key_of_posted(a) async for a in api.check_run_annotations(check_run_id)}
                to_send = [a for a in to_send if a.key not in shown]
            batches = [
                to_send[i : i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(to_send), ANNOTATIONS_PER_REQUEST)
            ] or [[]]
            payload: dict[str, Any] = {"status": "completed", "conclusion": report.conclusion}
            payload["output"] = _output(report, batches[0])
            if details_url:
                payload["details_url"] = details_url
            if actions:
                payload["actions"] = list(actions)
            if check_run_id:
                await api.update_check_run(check_run_id, payload)
            else:
                created = await api.create_check_run({"name": name, "head_sha": head_sha, **payload})
                check_run_id = int(created["id"])
            posted.ids[name] = check_run_id
            self._annotation_keys[check_run_id] = self._annotation_keys.get(check_run_id, set()) | {
                a.key for a in report.annotations
            }
            for batch in batches[1:]:
                await api.update_check_run(check_run_id, {"output": _output(report, batch)})
            return check_run_id

    async def _find_check_run(self, api: RepoAPI, head_sha: str, name: str) -> int:
        runs = [run for run in await api.check_runs_for_ref(head_sha, name, self._app_id) if run.get("name") == name]
        return int(runs[0]["id"]) if runs else _ABSENT


def _output(report: Report, annotations: Sequence[Annotation]) -> dict[str, Any]:
    """A check run's `output` object: the report's texts and one batch of its annotations."""
    output: dict[str, Any] = {"title": report.title, "summary": report.summary}
    if report.text:
        output["text"] = report.text
    output["annotations"] = [_annotation_json(a) for a in annotations]
    return output


def _annotation_json(annotation: Annotation) -> dict[str, Any]:
    item: dict[str, Any] = {
        "path": annotation.path,
        "start_line": annotation.start_line,
        "end_line": annotation.end_line,
        "annotation_level": annotation.level,
        "message": annotation.message,
    }
    if annotation.title:
        item["title"] = annotation.title
    if annotation.start_column is not None:
        item["start_column"] = annotation.start_column
        item["end_column"] = annotation.end_column if annotation.end_column is not None else annotation.start_column
    if annotation.raw_details:
        item["raw_details"] = annotation.raw_details
    return item


def _key_of_posted(annotation: dict[str, Any]) -> tuple[str, int, str, str]:
    """`Annotation.key` of an annotation as GitHub lists it."""
    return (
        str(annotation.get("path")),
        int(annotation.get("start_line") or 0),
        str(annotation.get("annotation_level")),
        str(annotation.get("title") or "").split(":", 1)[0],
    )
