"""Webhook payloads read into the plain inputs of flows; a field that is missing or of the wrong type is refused.

GitHub's payloads are trusted only after the signature check, and even then a handler reads just
the fields it needs, through these functions. A malformed payload raises `MalformedEvent` with a
plain-words reason ("workflow_run.id is not an integer"), which the dispatcher logs in one line.
What goes into a URL is checked for the shape GitHub gives it (ids, commit SHAs, owner/name, branch
names), so that a malformed delivery never turns into a request GitHub would refuse or not serve.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.comparison.model import parse_timestamp
from bot.flows.check_config import Push
from bot.flows.comment_commands import CommentCommand
from bot.flows.compare_run import CompletedRun
from bot.flows.provider import PullRequestRef
from bot.flows.test_on_demand import RunSeen
from bot.github.records import run_from_github
from bot.ondemand.session import RunObservation
from bot.store import (
    Installation,
    WorkflowJobEvent,
    WorkflowRunEvent,
    installation_record,
    repository_record,
    workflow_job_event,
    workflow_run_event,
)
from bot.store import Repository as StoredRepository


class MalformedEvent(ValueError):
    """A delivery lacks a field a handler needs, or has it with the wrong type; the message names it."""


def _mapping(data: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise MalformedEvent(f"{where} is not an object")
    return data


def _field(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = data.get(key)
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise MalformedEvent(f"{where}.{key} is not {_kind_name(kind)}")
    if not isinstance(value, kind):
        raise MalformedEvent(f"{where}.{key} is {'missing' if value is None else 'not ' + _kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {int: "an integer", str: "a string", list: "a list", dict: "an object", bool: "true or false"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _object_or_empty(value: Any) -> Mapping[str, Any]:
    """An optional object of the payload: itself, or empty when absent or not an object."""
    return value if isinstance(value, Mapping) else {}


def _list_or_empty(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _optional(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    return None if data.get(key) is None else _field(data, key, kind, where)


_SHA = re.compile(r"[0-9a-f]{40}")
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}")
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_ID = 2**63 - 1
MAX_NAME = 255  # git's limit on a branch name, and more than any workflow file path needs


def _id(data: Mapping[str, Any], key: str, where: str) -> int:
    value: int = _field(data, key, int, where)
    if not 0 < value <= MAX_ID:
        raise MalformedEvent(f"{where}.{key} is not a GitHub id")
    return value


def _sha(data: Mapping[str, Any], key: str, where: str) -> str:
    value: str = _field(data, key, str, where)
    if not _SHA.fullmatch(value):
        raise MalformedEvent(f"{where}.{key} is not a commit SHA")
    return value


def _name(data: Mapping[str, Any], key: str, where: str) -> str:
    """A branch name or a file path: not empty, at most 255 characters, no control characters."""
    value: str = _field(data, key, str, where)
    if not 0 < len(value) <= MAX_NAME or _CONTROL.search(value):
        raise MalformedEvent(f"{where}.{key} is not a branch name or path")
    return value


def _login(data: Mapping[str, Any], key: str, where: str) -> str:
    value: str = _field(data, key, str, where)
    if not _LOGIN.fullmatch(value):
        raise MalformedEvent(f"{where}.{key} is not a GitHub login")
    return value


def _optional_name(data: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if data.get(key) is None else _name(data, key, where)


def _timestamp(data: Mapping[str, Any], key: str, where: str) -> datetime | None:
    """An optional ISO 8601 time with its offset, as GitHub writes them; None when absent."""
    value = data.get(key)
    if value is None:
        return None
    moment = parse_timestamp(value)
    if moment is None or moment.tzinfo is None or not 1970 <= moment.astimezone(UTC).year < 9999:
        raise MalformedEvent(f"{where}.{key} is not a time with an offset")
    return moment


@dataclass(frozen=True)
class Repository:
    full_name: str
    id: int
    default_branch: str


def _repository_name(data: Mapping[str, Any], key: str, where: str) -> str:
    full_name: str = _field(data, key, str, where)
    if not _REPOSITORY.fullmatch(full_name):
        raise MalformedEvent(f"{where}.{key} is not owner/name")
    return full_name


def repository(data: Mapping[str, Any]) -> Repository:
    repo = _mapping(data.get("repository"), "repository")
    return Repository(
        full_name=_repository_name(repo, "full_name", "repository"),
        id=_id(repo, "id", "repository"),
        default_branch=_optional_name(repo, "default_branch", "repository") or "main",
    )


def installation_id(data: Mapping[str, Any]) -> int | None:
    """The id of the installation a delivery is for (None when it names none)."""
    value = _object_or_empty(data.get("installation")).get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID else None


def pull_request_ref(pull: Any, where: str = "pull_request") -> PullRequestRef:
    pr = _mapping(pull, where)
    head = _mapping(pr.get("head"), f"{where}.head")
    base = _mapping(pr.get("base"), f"{where}.base")
    return PullRequestRef(
        number=_id(pr, "number", where),
        head_sha=_sha(head, "sha", f"{where}.head"),
        base_branch=_name(base, "ref", f"{where}.base"),
    )


def completed_run(data: Mapping[str, Any]) -> CompletedRun:
    """A `workflow_run` `completed` delivery as the compare flow's input."""
    repo = repository(data)
    where = "workflow_run"
    run = _mapping(data.get(where), where)
    for key in ("id", "workflow_id"):
        _id(run, key, where)
    if run.get("run_attempt") is not None:
        _id(run, "run_attempt", where)
    _sha(run, "head_sha", where)
    _name(run, "path", where)
    _optional_name(run, "head_branch", where)
    for key in ("created_at", "run_started_at", "updated_at"):
        _timestamp(run, key, where)
    head_repository = _object_or_empty(run.get("head_repository"))
    login = _object_or_empty(head_repository.get("owner")).get("login")
    listed: list[Any] = _optional(run, "pull_requests", list, where) or []
    pulls: dict[int, PullRequestRef] = {}
    for index, entry in enumerate(listed):
        listed_where = f"{where}.pull_requests[{index}]"
        pull = pull_request_ref(entry, listed_where)
        base_repo = _mapping(entry["base"].get("repo"), f"{listed_where}.base.repo")
        # The list may name PRs of other repositories with the same head branch, and the same PR twice.
        if base_repo.get("id") == repo.id and pull.head_sha == run["head_sha"]:
            pulls.setdefault(pull.number, pull)
    return CompletedRun(
        run=run_from_github(run, []),
        default_branch=repo.default_branch,
        from_this_repository=head_repository.get("full_name") == repo.full_name,
        head_owner=login if isinstance(login, str) and _LOGIN.fullmatch(login) else None,
        listed_pulls=tuple(pulls.values()),
    )


@dataclass(frozen=True)
class PullRequestEvent:
    repository: Repository
    pull: PullRequestRef
    action: str
    happened_at: datetime | None


def pull_request_event(data: Mapping[str, Any]) -> PullRequestEvent:
    action = _field(data, "action", str, "delivery")
    pr = _mapping(data.get("pull_request"), "pull_request")
    return PullRequestEvent(
        repository=repository(data),
        pull=pull_request_ref(pr),
        action=action,
        happened_at=_timestamp(pr, "created_at" if action == "opened" else "updated_at", "pull_request"),
    )


def push_event(data: Mapping[str, Any]) -> Push | None:
    """A `push` delivery as the config flow's input; None for tags and deleted branches."""
    repo = repository(data)
    ref = _name(data, "ref", "push")
    if not ref.startswith("refs/heads/") or data.get("deleted"):
        return None
    commits = [c for c in (_optional(data, "commits", list, "push") or []) if isinstance(c, Mapping)]
    if isinstance(data.get("head_commit"), Mapping):
        commits.append(data["head_commit"])
    touched = {
        path
        for commit in commits
        for key in ("added", "modified")
        for path in _list_or_empty(commit.get(key))
        if isinstance(path, str)
    }
    return Push(
        branch=ref.removeprefix("refs/heads/"),
        default_branch=repo.default_branch,
        after=_sha(data, "after", "push"),
        touched=frozenset(touched),
    )


def pusher(data: Mapping[str, Any]) -> str:
    """Who pushed: the pusher's name, else the sender's login."""
    name = _object_or_empty(data.get("pusher")).get("name")
    login = _object_or_empty(data.get("sender")).get("login")
    return name if isinstance(name, str) else login if isinstance(login, str) else "someone"


@dataclass(frozen=True)
class CheckRunEvent:
    repository: Repository
    name: str
    app_id: int | None
    head_sha: str
    pull_numbers: tuple[int, ...]


def check_run_event(data: Mapping[str, Any]) -> CheckRunEvent:
    check = _mapping(data.get("check_run"), "check_run")
    app = _object_or_empty(check.get("app"))
    listed: list[Any] = _optional(check, "pull_requests", list, "check_run") or []
    numbers = [
        _id(_mapping(entry, f"check_run.pull_requests[{i}]"), "number", f"check_run.pull_requests[{i}]")
        for i, entry in enumerate(listed)
    ]
    app_id = app.get("id")
    return CheckRunEvent(
        repository=repository(data),
        name=_field(check, "name", str, "check_run"),
        app_id=app_id if isinstance(app_id, int) and not isinstance(app_id, bool) else None,
        head_sha=_sha(check, "head_sha", "check_run"),
        pull_numbers=tuple(dict.fromkeys(numbers)),
    )


def workflow_run_history(data: Mapping[str, Any]) -> WorkflowRunEvent:
    """A `workflow_run` delivery (any action) as the history store records it."""
    try:
        return workflow_run_event(data)
    except ValueError as error:
        raise MalformedEvent(str(error)) from None


def workflow_job_history(data: Mapping[str, Any]) -> WorkflowJobEvent:
    """A `workflow_job` delivery (any action) as the history store records it."""
    try:
        return workflow_job_event(data)
    except ValueError as error:
        raise MalformedEvent(str(error)) from None


@dataclass(frozen=True)
class RepositoriesAdded:
    """An installation and the repositories it was just given (None: not listed, all it can see)."""

    installation: Installation
    repositories: list[StoredRepository] | None


def repositories_added(data: Mapping[str, Any]) -> RepositoriesAdded:
    """`installation` `created` (`repositories`) or `installation_repositories` `added` (`repositories_added`)."""
    try:
        installation = installation_record(data.get("installation"))
        listed = data.get("repositories_added" if "repositories_added" in data else "repositories")
        if listed is None:
            return RepositoriesAdded(installation, None)
        if not isinstance(listed, list):
            raise MalformedEvent("repositories is not a list")
        repositories = [
            repository_record(entry, installation.id, f"repositories[{index}]") for index, entry in enumerate(listed)
        ]
    except MalformedEvent:
        raise
    except ValueError as error:
        raise MalformedEvent(str(error)) from None
    return RepositoriesAdded(installation, repositories)


@dataclass(frozen=True)
class LostAccess:
    """Repositories the App may no longer see; `installation_id` too when the whole installation went."""

    installation_id: int
    repositories: tuple[str, ...]


def _repository_names(data: Mapping[str, Any], key: str) -> tuple[str, ...]:
    listed: list[Any] = _optional(data, key, list, "delivery") or []
    return tuple(
        _repository_name(_mapping(entry, f"{key}[{i}]"), "full_name", f"{key}[{i}]") for i, entry in enumerate(listed)
    )


def installation_lost(data: Mapping[str, Any]) -> LostAccess:
    """An `installation` `deleted` or `suspend` delivery: the installation and the repositories it listed."""
    installation = _mapping(data.get("installation"), "installation")
    return LostAccess(_id(installation, "id", "installation"), _repository_names(data, "repositories"))


def repositories_removed(data: Mapping[str, Any]) -> LostAccess:
    """An `installation_repositories` `removed` delivery: the repositories taken from the installation."""
    installation = _mapping(data.get("installation"), "installation")
    return LostAccess(_id(installation, "id", "installation"), _repository_names(data, "repositories_removed"))


def comment_command(data: Mapping[str, Any]) -> CommentCommand:
    """An `issue_comment` delivery as the comment-command flow's input."""
    repo = repository(data)
    issue = _mapping(data.get("issue"), "issue")
    comment = _mapping(data.get("comment"), "comment")
    user = _mapping(comment.get("user"), "comment.user")
    login = _login(user, "login", "comment.user")
    return CommentCommand(
        repository_id=repo.id,
        installation_id=installation_id(data),
        default_branch=repo.default_branch,
        number=_id(issue, "number", "issue"),
        is_pull_request=isinstance(issue.get("pull_request"), Mapping),
        comment_id=_id(comment, "id", "comment"),
        body=_optional(comment, "body", str, "comment") or "",
        author=login,
        author_is_bot=user.get("type") == "Bot" or login.endswith("[bot]"),
    )


def dispatched_run_seen(data: Mapping[str, Any]) -> RunSeen:
    """What a `workflow_run` delivery says about its run, for on-demand test sessions."""
    run = _mapping(data.get("workflow_run"), "workflow_run")
    status = _optional(run, "status", str, "workflow_run")
    started = _timestamp(run, "run_started_at", "workflow_run")
    completed = _timestamp(run, "updated_at", "workflow_run") if status == "completed" else None
    return RunSeen(
        run_id=_id(run, "id", "workflow_run"),
        observation=RunObservation(
            status=status,
            conclusion=_optional(run, "conclusion", str, "workflow_run"),
            attempt=_optional(run, "run_attempt", int, "workflow_run") or 1,
            html_url=_optional(run, "html_url", str, "workflow_run"),
            started_at=started if status in ("in_progress", "completed") else None,
            completed_at=completed,
        ),
        dispatched=run.get("event") == "workflow_dispatch",
        display_title=_optional(run, "display_title", str, "workflow_run") or "",
    )


def job_run_seen(data: Mapping[str, Any]) -> RunSeen:
    """What a `workflow_job` delivery says about its job's run: started when a job started, the failing job."""
    job = _mapping(data.get("workflow_job"), "workflow_job")
    status = _optional(job, "status", str, "workflow_job")
    conclusion = _optional(job, "conclusion", str, "workflow_job")
    failed = status == "completed" and conclusion in ("failure", "timed_out")
    steps = [step for step in _list_or_empty(job.get("steps")) if isinstance(step, Mapping)]
    failing_step = next((str(s.get("name")) for s in steps if s.get("conclusion") in ("failure", "timed_out")), None)
    started = _timestamp(job, "started_at", "workflow_job") if status in ("in_progress", "completed") else None
    return RunSeen(
        run_id=_id(job, "run_id", "workflow_job"),
        observation=RunObservation(
            status="in_progress" if status in ("in_progress", "completed") else "queued",
            attempt=_optional(job, "run_attempt", int, "workflow_job") or 1,
            started_at=started,
            failing_job=_field(job, "name", str, "workflow_job") if failed else None,
            failing_step=failing_step if failed else None,
            failing_job_url=_optional(job, "html_url", str, "workflow_job") if failed else None,
        ),
        dispatched=False,
    )


@dataclass(frozen=True)
class RequestedAction:
    repository: Repository
    check_run_id: int
    app_id: int | None
    identifier: str
    sender: str


def requested_action(data: Mapping[str, Any]) -> RequestedAction:
    """A `check_run` `requested_action` delivery: which button on which check run, clicked by whom."""
    check = _mapping(data.get("check_run"), "check_run")
    action = _mapping(data.get("requested_action"), "requested_action")
    sender = _mapping(data.get("sender"), "sender")
    app_id = _object_or_empty(check.get("app")).get("id")
    return RequestedAction(
        repository=repository(data),
        check_run_id=_id(check, "id", "check_run"),
        app_id=app_id if isinstance(app_id, int) and not isinstance(app_id, bool) else None,
        identifier=_field(action, "identifier", str, "requested_action"),
        sender=_login(sender, "login", "sender"),
    )
