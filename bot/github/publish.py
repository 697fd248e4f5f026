"""Publishing on GitHub: the App's PR comments (found by hidden marker) and check runs (one per head SHA and name).

Never doubled:
- Both are found again and edited in place. What was found is remembered, and work on one pull
  request's comments or one check run is serialised by a lock, so concurrent and redelivered events
  update the one they share.
- A create whose answer was lost (`WriteOutcomeUnknown`: the connection reset after sending, or a proxy
  answered 5xx) is never sent again blindly: the publisher first looks for what it may have created
  (the comment by its marker, the check run by the unique `external_id` it was sent with).

Never self-contradicting: GitHub only appends annotations to a check run. When a new report no longer
carries an annotation the check run shows (a "new failure" that turned out flaky), a new check run of
the same name is posted instead of an update; GitHub shows the newest of a name.

A pull request seen being opened has no comments of the App, and a head commit seen arriving with
`opened`/`synchronize` has no check runs of the App: for those, nothing is looked up before posting
(after a restart, or once forgotten, the App looks again).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import cachetools

from bot.github.client import GitHubUnavailable, WriteOutcomeUnknown
from bot.github.endpoints import RepoAPI
from bot.report import ANNOTATIONS_PER_REQUEST, Annotation, Report, check_run_name

log = logging.getLogger(__name__)

CREATE_ATTEMPTS = 3  # a create whose answer is lost is looked for, then sent again, at most this often
MARKER_PREFIX = "<!-- ci-orchestrator:"


@dataclass
class PostedComment:
    """A comment of the App: its id, the hidden marker it carries, and its body as last posted or read."""

    id: int
    marker: str
    body: str


@dataclass
class _Comments:
    """The App's comments on one pull request, by marker; `complete`: seen from the start (none other exists)."""

    by_marker: dict[str, PostedComment | None] = field(default_factory=dict)  # None: known not to exist
    complete: bool = False


@dataclass
class _CheckRuns:
    """The App's check runs on one commit, by name; `complete`: seen from the start (none other exists)."""

    ids: dict[str, int | None] = field(default_factory=dict)  # None: known not to exist
    complete: bool = False


@dataclass(frozen=True)
class InProgressCheck:
    """A check run the App left `in_progress`, for the watchdog to complete if nothing else does."""

    gh: Any
    repo: str
    check_run_id: int
    name: str
    since: float  # time.monotonic()
    reason: str


class Publisher:
    """Finds, creates and updates the App's comments and check runs; remembers their ids."""

    def __init__(self, app_id: int, *, maxsize: int = 20_000) -> None:
        self._app_id = app_id
        self._comments: cachetools.LRUCache[tuple[str, int], _Comments] = cachetools.LRUCache(maxsize)
        self._check_runs: cachetools.LRUCache[tuple[str, str], _CheckRuns] = cachetools.LRUCache(maxsize)
        self._annotation_keys: cachetools.LRUCache[int, set[tuple[str, int, str, str]]] = cachetools.LRUCache(maxsize)
        self._locks: cachetools.LRUCache[tuple[Any, ...], asyncio.Lock] = cachetools.LRUCache(maxsize)
        self.in_progress: dict[int, InProgressCheck] = {}

    def _lock(self, key: tuple[Any, ...]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def expect_new_pull_request(self, repo: str, number: int, head_sha: str) -> None:
        """Pull request `number` was just opened: it has no comments of the App, its head no check runs."""
        if (repo, number) not in self._comments:
            self._comments[(repo, number)] = _Comments(complete=True)
        self.expect_new_head(repo, head_sha)

    def expect_new_head(self, repo: str, head_sha: str) -> None:
        """`head_sha` just became a pull request's head: the App has no check runs on it."""
        if (repo, head_sha) not in self._check_runs:
            self._check_runs[(repo, head_sha)] = _CheckRuns(complete=True)

    def forget_repository(self, repo: str) -> None:
        """The App lost access to `repo` (uninstalled, removed, deleted): drop what it remembers of it."""
        for number_key in [key for key in self._comments if key[0] == repo]:
            self._comments.pop(number_key, None)
        for sha_key in [key for key in self._check_runs if key[0] == repo]:
            self._check_runs.pop(sha_key, None)
        for check_run_id in [i for i, check in self.in_progress.items() if check.repo == repo]:
            self.in_progress.pop(check_run_id, None)

    # Comments

    async def upsert_comment(
        self,
        gh: Any,
        repo: str,
        number: int,
        markers: Sequence[str],
        render: Callable[[PostedComment | None], str],
        *,
        create: bool,
    ) -> str:
        """Edit the first existing comment carrying one of `markers`, or post one with the last marker when `create`.

        `render` gets the existing comment (None when there is none) and returns the whole new body, which
        must carry that comment's marker (or, for a new comment, the last of `markers`). Returns "created",
        "updated", "unchanged" or "skipped".
        """
        api = RepoAPI(gh, repo)
        async with self._lock(("comments", repo, number)):
            known = self._comments.get((repo, number))
            if known is None:
                known = self._comments[(repo, number)] = _Comments()
            if any(marker not in known.by_marker for marker in markers) and not known.complete:
                found = await self._find_comments(api, number, markers)
                for marker in markers:
                    known.by_marker.setdefault(marker, found.get(marker))
            existing = next((known.by_marker[m] for m in markers if known.by_marker.get(m) is not None), None)
            body = render(existing)
            if existing is not None:
                if body == existing.body:
                    return "unchanged"
                await api.update_issue_comment(existing.id, body)
                existing.body = body
                return "updated"
            if not create:
                return "skipped"
            known.by_marker[markers[-1]] = await self._create_comment(gh, api, number, markers[-1], body)
            return "created"

    async def _create_comment(self, gh: Any, api: RepoAPI, number: int, marker: str, body: str) -> PostedComment:
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                created = await api.create_issue_comment(number, body)
                return PostedComment(int(created["id"]), marker, body)
            except WriteOutcomeUnknown as error:
                log.warning("comment on #%s: %s; looking whether it was posted", number, error)
                found = (await self._find_comments(api, number, [marker])).get(marker)
                if found is not None:
                    if found.body != body:
                        await api.update_issue_comment(found.id, body)
                        found.body = body
                    return found
                await _pause(gh, attempt)
        raise GitHubUnavailable(f"the comment on #{number} could not be posted in {CREATE_ATTEMPTS} attempts")

    @staticmethod
    async def _find_comments(api: RepoAPI, number: int, markers: Sequence[str]) -> dict[str, PostedComment]:
        """The App's comments carrying one of `markers`, by marker (the oldest one of each)."""
        found: dict[str, PostedComment] = {}
        async for comment in api.issue_comments(number):
            body = comment.get("body") or ""
            if MARKER_PREFIX not in body or (comment.get("user") or {}).get("type") != "Bot":
                continue
            for marker in markers:
                if marker in body and marker not in found:
                    found[marker] = PostedComment(int(comment["id"]), marker, body)
        return found

    # Check runs

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
        """Create or update the check run `name` on `head_sha` so that it shows `report`; annotations go 50 a request.

        A report without a conclusion leaves the check run `in_progress` (the watchdog completes it if
        nothing else does). `replace` posts a new check run of that name instead of updating the old one,
        as GitHub asks on "Re-run"; so does a report that drops an annotation the old check run shows.
        """
        name = check_run_name(name)
        api = RepoAPI(gh, repo)
        async with self._lock(("check", repo, head_sha, name)):
            known = self._check_runs.get((repo, head_sha))
            if known is None:
                known = self._check_runs[(repo, head_sha)] = _CheckRuns()
            check_run_id = None if replace else known.ids.get(name)
            if not replace and name not in known.ids and not known.complete:
                check_run_id = await self._find_check_run(api, head_sha, name)
            new_keys = {a.key for a in report.annotations}
            to_send = list(report.annotations)
            if check_run_id is not None:
                shown = self._annotation_keys.get(check_run_id)
                if shown is None:
                    shown = {_key_of_posted(a) async for a in api.check_run_annotations(check_run_id)}
                if shown - new_keys:  # annotations cannot be taken back: a new check run tells the new story
                    check_run_id = None
                else:
                    to_send = [a for a in to_send if a.key not in shown]
            batches = [
                to_send[i : i + ANNOTATIONS_PER_REQUEST] for i in range(0, len(to_send), ANNOTATIONS_PER_REQUEST)
            ] or [[]]
            payload: dict[str, Any] = {"output": _output(report, batches[0])}
            if report.conclusion is None:
                payload["status"] = "in_progress"
            else:
                payload.update(status="completed", conclusion=report.conclusion)
            if details_url:
                payload["details_url"] = details_url
            if actions:
                payload["actions"] = list(actions)
            if check_run_id is not None:
                await api.update_check_run(check_run_id, payload)
            else:
                check_run_id = await self._create_check_run(gh, api, head_sha, name, payload)
                self._annotation_keys[check_run_id] = set()
            known.ids[name] = check_run_id
            self._annotation_keys[check_run_id] = self._annotation_keys.get(check_run_id, set()) | new_keys
            for batch in batches[1:]:
                await api.update_check_run(check_run_id, {"output": _output(report, batch)})
            if report.conclusion is None:
                self.in_progress[check_run_id] = InProgressCheck(
                    gh, repo, check_run_id, name, time.monotonic(), report.title
                )
            else:
                self.in_progress.pop(check_run_id, None)
            return check_run_id

    async def _create_check_run(self, gh: Any, api: RepoAPI, head_sha: str, name: str, payload: dict[str, Any]) -> int:
        external_id = f"ci-orchestrator:{secrets.token_hex(8)}"  # finds this very check run again
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                created = await api.create_check_run(
                    {"name": name, "head_sha": head_sha, "external_id": external_id, **payload}
                )
                return int(created["id"])
            except WriteOutcomeUnknown as error:
                log.warning("check run %r: %s; looking whether it was created", name, error)
                runs = await api.check_runs_for_ref(head_sha, name, self._app_id)
                found = [run for run in runs if run.get("external_id") == external_id]
                if found:
                    check_run_id = int(found[0]["id"])
                    await api.update_check_run(check_run_id, payload)
                    return check_run_id
                await _pause(gh, attempt)
        raise GitHubUnavailable(f"the check run {name!r} could not be created in {CREATE_ATTEMPTS} attempts")

    async def _find_check_run(self, api: RepoAPI, head_sha: str, name: str) -> int | None:
        runs = [run for run in await api.check_runs_for_ref(head_sha, name, self._app_id) if run.get("name") == name]
        return int(runs[0]["id"]) if runs else None

    async def complete_stale(self, older_than_seconds: float) -> list[InProgressCheck]:
        """Complete (neutral, with the reason) every check run left in progress for longer than the bound."""
        now = time.monotonic()
        stale = [check for check in self.in_progress.values() if now - check.since > older_than_seconds]
        for check in stale:
            minutes = round(older_than_seconds / 60)
            summary = (
                f"The App did not finish this check within {minutes} minutes, so it stopped waiting. "
                f"It was: {check.reason}. Re-run the workflow to get a new comparison."
            )
            output = {"title": "Stopped waiting: no result in time", "summary": summary}
            try:
                payload = {"status": "completed", "conclusion": "neutral", "output": output}
                await RepoAPI(check.gh, check.repo).update_check_run(check.check_run_id, payload)
            except Exception as error:  # one repository's failure must not stop the others
                log.warning("watchdog could not complete check run %s in %s: %s", check.check_run_id, check.repo, error)
                continue
            self.in_progress.pop(check.check_run_id, None)
            log.info("watchdog completed check run %r in %s after %.0f s", check.name, check.repo, now - check.since)
        return stale


async def _pause(gh: Any, attempt: int) -> None:
    """Wait a little before sending a create again, as the client waits between retries."""
    pause = getattr(gh, "pause", None)
    if pause is not None:
        await pause(2.0**attempt)


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
