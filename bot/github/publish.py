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
from typing import Any, Protocol

import cachetools

log = logging.getLogger(__name__)

ANNOTATIONS_PER_REQUEST = 50
_ABSENT = 0  # remembered: there is no such comment yet


class CheckOutput(Protocol):
    """What a check run's `output` shows; `text` is optional (the comparison's, review's and config check's outputs)."""

    title: str
    summary: str


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

    async def upsert_comment(self, gh, repo: str, number: int, marker: str, body: str, *, create: bool) -> str:
        """Edit the comment carrying `marker`, or post it when `create`; returns "created", "updated" or "skipped"."""
        async with self._lock(("comment", repo, number, marker)):
            posted = _posted_in(self._comments, (repo, number))
            comment_id = posted.ids.get(marker)
            if comment_id is None:
                comment_id = _ABSENT if posted.complete else await self._find_comment(gh, repo, number, marker)
                posted.ids[marker] = comment_id
            if comment_id != _ABSENT:
                await gh.patch(
                    "/repos/{owner}/{repo}/issues/comments/{comment_id}",
                    url_vars=repo_vars(repo, comment_id=str(comment_id)),
                    data={"body": body},
                )
                return "updated"
            if not create:
                return "skipped"
            created = await gh.post(
                "/repos/{owner}/{repo}/issues/{number}/comments",
                url_vars=repo_vars(repo, number=str(number)),
                data={"body": body},
            )
            posted.ids[marker] = created["id"]
            return "created"

    @staticmethod
    async def _find_comment(gh, repo: str, number: int, marker: str) -> int:
        async for comment in gh.getiter(
            "/repos/{owner}/{repo}/issues/{number}/comments{?per_page}",
            url_vars=repo_vars(repo, number=str(number), per_page="100"),
        ):
            if marker in (comment.get("body") or "") and (comment.get("user") or {}).get("type") == "Bot":
                return comment["id"]
        return _ABSENT

    async def upsert_check_run(
        self,
        gh,
        repo: str,
        head_sha: str,
        name: str,
        *,
        conclusion: str,
        output: CheckOutput,
        annotations: Sequence[dict[str, Any]] = (),
        details_url: str | None = None,
        actions: Sequence[dict[str, str]] = (),
        replace: bool = False,
    ) -> int:
        """Create or complete the check run `name` on `head_sha`; annotations go 50 per request.

        `replace` posts a new check run of that name instead of updating the old one, as GitHub asks on
        "Re-run" (annotations cannot be taken back from a check run; GitHub shows the newest of a name).
        """
        async with self._lock(("check", repo, head_sha, name)):
            posted = _posted_in(self._check_runs, (repo, head_sha))
            check_run_id = _ABSENT if replace else posted.ids.get(name)
            if check_run_id is None:
                check_run_id = _ABSENT if posted.complete else await self._find_check_run(gh, repo, head_sha, name)
            url_vars = repo_vars(repo, check_run_id=str(check_run_id))
            to_send = list(annotations)
            if check_run_id and to_send:
                # Annotations append across updates: send only those the check run does not show yet.
                shown = self._annotation_keys.get(check_run_id)
                if shown is None:
                    listed = gh.getiter(
                        "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations{?per_page}",
                        url_vars={**url_vars, "per_page": "100"},
                    )
                    shown = {_annotation_key(a) async for a in listed}
                to_send = [a for a in to_send if _annotation_key(a) not in shown]
            batches = [
                to_send[i : i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(to_send), ANNOTATIONS_PER_REQUEST)
            ] or [[]]
            payload: dict[str, Any] = {
                "status": "completed",
                "conclusion": conclusion,
                "output": {"title": output.title, "summary": output.summary, "annotations": batches[0]},
            }
            text = getattr(output, "text", None)
            if text:
                payload["output"]["text"] = text
            if details_url:
                payload["details_url"] = details_url
            if actions:
                payload["actions"] = list(actions)
            if check_run_id:
                await gh.patch("/repos/{owner}/{repo}/check-runs/{check_run_id}", url_vars=url_vars, data=payload)
            else:
                created = await gh.post(
                    "/repos/{owner}/{repo}/check-runs",
                    url_vars=repo_vars(repo),
                    data={"name": name, "head_sha": head_sha, **payload},
                )
                check_run_id = created["id"]
                url_vars["check_run_id"] = str(check_run_id)
            posted.ids[name] = check_run_id
            self._annotation_keys[check_run_id] = self._annotation_keys.get(check_run_id, set()) | {
                _annotation_key(a) for a in annotations
            }
            for batch in batches[1:]:
                more = {"title": output.title, "summary": output.summary, "annotations": batch}
                await gh.patch(
                    "/repos/{owner}/{repo}/check-runs/{check_run_id}", url_vars=url_vars, data={"output": more}
                )
            return check_run_id

    async def _find_check_run(self, gh, repo: str, head_sha: str, name: str) -> int:
        found = await gh.getitem(
            "/repos/{owner}/{repo}/commits/{ref}/check-runs{?check_name,app_id,filter}",
            url_vars=repo_vars(repo, ref=head_sha, check_name=name, app_id=str(self._app_id), filter="latest"),
        )
        runs = [run for run in found.get("check_runs", []) if run.get("name") == name]
        return runs[0]["id"] if runs else 0


def _annotation_key(annotation: dict[str, Any]) -> tuple[Any, ...]:
    """What makes an annotation the same finding again (its numbers may differ between attempts)."""
    return (
        annotation["path"],
        annotation["start_line"],
        annotation["annotation_level"],
        str(annotation.get("title", "")).split(":", 1)[0],
    )


def repo_vars(full_name: str, **more: str) -> dict[str, str]:
    """URL variables for `/repos/{owner}/{repo}/...` from a repository's full name."""
    owner, _, name = full_name.partition("/")
    return {"owner": owner, "repo": name, **more}
