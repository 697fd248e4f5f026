"""Webhook payloads read into the plain inputs of flows; a field that is missing or of the wrong type is refused.

GitHub's payloads are trusted only after the signature check, and even then a handler reads just
the fields it needs, through these functions. A malformed payload raises `MalformedEvent` with a
plain-words reason ("workflow_run.id is not an integer"), which the dispatcher logs in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.comparison.model import parse_timestamp
from bot.flows.check_config import Push
from bot.flows.comment_commands import CommentCommand
from bot.flows.compare_run import CompletedRun
from bot.flows.provider import PullRequestRef
from bot.flows.test_on_demand import RunSeen
from bot.github.records import run_from_github
from bot.ondemand.session import RunObservation


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


@dataclass(frozen=True)
class Repository:
    full_name: str
    id: int
    default_branch: str


def repository(data: Mapping[str, Any]) -> Repository:
    repo = _mapping(data.get("repository"), "repository")
    full_name = _field(repo, "full_name", str, "repository")
    if full_name.count("/") != 1:
        raise MalformedEvent("repository.full_name is not owner/name")
    default_branch = _optional(repo, "default_branch", str, "repository") or "main"
    return Repository(full_name=full_name, id=_field(repo, "id", int, "repository"), default_branch=default_branch)


def installation_id(data: Mapping[str, Any]) -> int | None:
    """The id of the installation a delivery is for (None when it names none)."""
    value = _object_or_empty(data.get("installation")).get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def pull_request_ref(pull: Any, where: str = "pull_request") -> PullRequestRef:
    pr = _mapping(pull, where)
    head = _mapping(pr.get("head"), f"{where}.head")
    base = _mapping(pr.get("base"), f"{where}.base")
    return PullRequestRef(
        number=_field(pr, "number", int, where),
        head_sha=_field(head, "sha", str, f"{where}.head"),
        base_branch=_field(base, "ref", str, f"{where}.base"),
    )


def completed_run(data: Mapping[str, Any]) -> CompletedRun:
    """A `workflow_run` `completed` delivery as the compare flow's input."""
    repo = repository(data)
    run = _mapping(data.get("workflow_run"), "workflow_run")
    for key in ("id", "workflow_id"):
        _field(run, key, int, "workflow_run")
    for key in ("head_sha", "path"):
        _field(run, key, str, "workflow_run")
    _optional(run, "run_attempt", int, "workflow_run")
    head_repository = _object_or_empty(run.get("head_repository"))
    owner = _object_or_empty(head_repository.get("owner"))
    listed: list[Any] = _optional(run, "pull_requests", list, "workflow_run") or []
    pulls: dict[int, PullRequestRef] = {}
    for index, entry in enumerate(listed):
        pull = pull_request_ref(entry, f"workflow_run.pull_requests[{index}]")
        base_repo = _mapping(_mapping(entry.get("base"), "base").get("repo"), "base.repo")
        # The list may name PRs of other repositories with the same head branch, and the same PR twice.
        if base_repo.get("id") == repo.id and pull.head_sha == run["head_sha"]:
            pulls.setdefault(pull.number, pull)
    return CompletedRun(
        run=run_from_github(run, []),
        default_branch=repo.default_branch,
        from_this_repository=head_repository.get("full_name") == repo.full_name,
        head_owner=owner.get("login") if isinstance(owner.get("login"), str) else None,
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
    happened = pr.get("created_at" if action == "opened" else "updated_at")
    return PullRequestEvent(
        repository=repository(data),
        pull=pull_request_ref(pr),
        action=action,
        happened_at=parse_timestamp(happened),
    )


def push_event(data: Mapping[str, Any]) -> Push | None:
    """A `push` delivery as the config flow's input; None for tags and deleted branches."""
    repo = repository(data)
    ref = _field(data, "ref", str, "push")
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
        after=_field(data, "after", str, "push"),
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
        _field(_mapping(entry, f"check_run.pull_requests[{i}]"), "number", int, f"check_run.pull_requests[{i}]")
        for i, entry in enumerate(listed)
    ]
    app_id = app.get("id")
    return CheckRunEvent(
        repository=repository(data),
        name=_field(check, "name", str, "check_run"),
        app_id=app_id if isinstance(app_id, int) and not isinstance(app_id, bool) else None,
        head_sha=_field(check, "head_sha", str, "check_run"),
        pull_numbers=tuple(dict.fromkeys(numbers)),
    )


def comment_command(data: Mapping[str, Any]) -> CommentCommand:
    """An `issue_comment` delivery as the comment-command flow's input."""
    repo = repository(data)
    issue = _mapping(data.get("issue"), "issue")
    comment = _mapping(data.get("comment"), "comment")
    user = _mapping(comment.get("user"), "comment.user")
    login = _field(user, "login", str, "comment.user")
    return CommentCommand(
        repository_id=repo.id,
        installation_id=installation_id(data),
        default_branch=repo.default_branch,
        number=_field(issue, "number", int, "issue"),
        is_pull_request=isinstance(issue.get("pull_request"), Mapping),
        comment_id=_field(comment, "id", int, "comment"),
        body=_optional(comment, "body", str, "comment") or "",
        author=login,
        author_is_bot=user.get("type") == "Bot" or login.endswith("[bot]"),
    )


def dispatched_run_seen(data: Mapping[str, Any]) -> RunSeen:
    """What a `workflow_run` delivery says about its run, for on-demand test sessions."""
    run = _mapping(data.get("workflow_run"), "workflow_run")
    status = _optional(run, "status", str, "workflow_run")
    started = parse_timestamp(run.get("run_started_at"))
    completed = parse_timestamp(run.get("updated_at")) if status == "completed" else None
    return RunSeen(
        run_id=_field(run, "id", int, "workflow_run"),
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
    started = parse_timestamp(job.get("started_at")) if status in ("in_progress", "completed") else None
    return RunSeen(
        run_id=_field(job, "run_id", int, "workflow_job"),
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
        check_run_id=_field(check, "id", int, "check_run"),
        app_id=app_id if isinstance(app_id, int) and not isinstance(app_id, bool) else None,
        identifier=_field(action, "identifier", str, "requested_action"),
        sender=_field(sender, "login", str, "sender"),
    )
