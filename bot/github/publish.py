"""Publishing on GitHub: the App's PR comments (found by hidden marker) and check runs (one per head SHA and name).

Never doubled:
- Both are found again and edited in place. Their ids, a comment's body and the annotations a check run
  shows are kept in the history store, so any instance edits them without reading them back; work on
  one pull request's comments or one check run is serialised by the store's single flight (across
  instances on PostgreSQL), so concurrent and redelivered events update the one they share.
- A create whose answer was lost (`WriteOutcomeUnknown`: the connection reset after sending, or a proxy
  answered 5xx) is never sent again blindly: the publisher first looks for what it may have created
  (the comment by its marker, the check run by the unique `external_id` it was sent with).

Never self-contradicting: GitHub only appends annotations to a check run. When a new report no longer
carries an annotation the check run shows (a "new failure" that turned out flaky), a new check run of
the same name is posted instead of an update; GitHub shows the newest of a name.

A pull request seen being opened has no comments of the App, and a head commit seen arriving with
`opened`/`synchronize` has no check runs of the App other than those in the store: for those, nothing is
looked up on GitHub before posting (after a restart, or in another instance, the App looks again).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import cachetools
import gidgethub

from bot.github.client import GitHubUnavailable, WriteOutcomeUnknown
from bot.github.endpoints import RepoAPI
from bot.report import ANNOTATIONS_PER_REQUEST, Annotation, Report, check_run_name
from bot.store import AnnotationKey, Repository, Store

log = logging.getLogger(__name__)

CREATE_ATTEMPTS = 3  # a create whose answer is lost is looked for, then sent again, at most this often
MARKER_PREFIX = "<!-- ci-orchestrator:"


@dataclass
class PostedComment:
    """A comment of the App: its id, the hidden marker it carries, and its body as last posted or read."""

    id: int
    marker: str
    body: str


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
    """Finds, creates and updates the App's comments and check runs; remembers them in the store."""

    def __init__(self, app_id: int, store: Store, *, maxsize: int = 20_000) -> None:
        self._app_id = app_id
        self._store = store
        # Pull requests seen opened, and head commits seen arriving: none of the App's posts beyond the store's.
        self._new_pull_requests: cachetools.LRUCache[tuple[int, int], bool] = cachetools.LRUCache(maxsize)
        self._new_heads: cachetools.LRUCache[tuple[int, str], bool] = cachetools.LRUCache(maxsize)
        self.in_progress: dict[int, InProgressCheck] = {}

    def expect_new_pull_request(self, repository: Repository, number: int, head_sha: str) -> None:
        """Pull request `number` was just opened: it has no comments of the App, its head no check runs."""
        self._new_pull_requests[(repository.id, number)] = True
        self.expect_new_head(repository, head_sha)

    def expect_new_head(self, repository: Repository, head_sha: str) -> None:
        """`head_sha` just became a pull request's head: the App has no check runs on it."""
        self._new_heads[(repository.id, head_sha)] = True

    def forget_repository(self, repo: str) -> None:
        """The App lost access to `repo` (uninstalled, removed, deleted): its check runs leave the watchdog."""
        for check_run_id in [i for i, check in self.in_progress.items() if check.repo == repo]:
            self.in_progress.pop(check_run_id, None)

    # Comments

    async def upsert_comment(
        self,
        gh: Any,
        repository: Repository,
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
        api = RepoAPI(gh, repository.full_name)
        async with self._store.single_flight(f"comments {repository.id} {number}"):
            existing = await self._existing_comment(api, repository, number, markers)
            body = render(existing)
            if existing is not None:
                if body == existing.body:
                    return "unchanged"
                try:
                    await api.update_issue_comment(existing.id, body)
                except gidgethub.BadRequest as error:
                    if error.status_code != HTTPStatus.NOT_FOUND:
                        raise
                    log.info("comment %s on #%s was deleted: posting a new one", existing.id, number)
                    await self._store.forget_comment(repository.id, number, existing.marker)
                    return await self._post_comment(gh, api, repository, number, markers[-1], render(None), create)
                await self._store.remember_comment(repository.id, number, existing.marker, existing.id, **_now(body))
                return "updated"
            return await self._post_comment(gh, api, repository, number, markers[-1], body, create)

    async def _existing_comment(
        self, api: RepoAPI, repository: Repository, number: int, markers: Sequence[str]
    ) -> PostedComment | None:
        """The first comment carrying one of `markers`: from the store, else (unless the pull request is new) from
        GitHub, then remembered."""
        posted = await self._store.posted_comments(repository.id, number)
        for marker in markers:
            known = posted.get(marker)
            if known is not None and known.body is not None:
                return PostedComment(known.github_id, marker, known.body)
        if (repository.id, number) in self._new_pull_requests:
            return None
        found = await self._find_comments(api, number, markers)
        for marker, comment in found.items():
            await self._store.remember_comment(repository.id, number, marker, comment.id, **_now(comment.body))
        return next((found[marker] for marker in markers if marker in found), None)

    async def _post_comment(
        self, gh: Any, api: RepoAPI, repository: Repository, number: int, marker: str, body: str, create: bool
    ) -> str:
        if not create:
            return "skipped"
        created = await self._create_comment(gh, api, number, marker, body)
        await self._store.remember_comment(repository.id, number, marker, created.id, **_now(created.body))
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
        repository: Repository,
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
        api = RepoAPI(gh, repository.full_name)
        async with self._store.single_flight(f"check run {repository.id} {head_sha} {name}"):
            posted = None if replace else (await self._store.posted_check_runs(repository.id, head_sha)).get(name)
            check_run_id = None if posted is None else posted.github_id
            shown = None if posted is None else posted.annotations
            if not replace and posted is None and (repository.id, head_sha) not in self._new_heads:
                check_run_id = await self._find_check_run(api, head_sha, name)
            new_keys = {a.key for a in report.annotations}
            to_send = list(report.annotations)
            if check_run_id is not None:
                if shown is None:
                    shown = frozenset([_key_of_posted(a) async for a in api.check_run_annotations(check_run_id)])
                if shown - new_keys:  # annotations cannot be taken back: a new check run tells the new story
                    check_run_id, shown = None, None
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
            for batch in batches[1:]:
                await api.update_check_run(check_run_id, {"output": _output(report, batch)})
            await self._store.remember_check_run(
                repository.id,
                head_sha,
                name,
                check_run_id,
                annotations=(shown or frozenset()) | new_keys,
                now=datetime.now(UTC),
            )
            if report.conclusion is None:
                self.in_progress[check_run_id] = InProgressCheck(
                    gh, repository.full_name, check_run_id, name, time.monotonic(), report.title
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


def _now(body: str) -> dict[str, Any]:
    return {"body": body, "now": datetime.now(UTC)}


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


def _key_of_posted(annotation: dict[str, Any]) -> AnnotationKey:
    """`Annotation.key` of an annotation as GitHub lists it."""
    return (
        str(annotation.get("path")),
        int(annotation.get("start_line") or 0),
        str(annotation.get("annotation_level")),
        str(annotation.get("title") or "").split(":", 1)[0],
    )
