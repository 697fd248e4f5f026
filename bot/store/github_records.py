"""GitHub's `workflow_run` / `workflow_job` JSON (webhook payloads and REST objects) read into the store's records.

Payloads come from the network: a field of the wrong type is a `ValueError` naming the field (e.g.
`workflow_job.steps[2].number: expected an integer, got str`), raised here and never deeper down.
Unknown fields are ignored; optional fields may be absent or null.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.comparison.model import StepRecord
from bot.store.records import Installation, Repository, WorkflowJob, WorkflowJobEvent, WorkflowRun, WorkflowRunEvent


class _Fields:
    """One JSON object and where it sits in the payload, for error messages."""

    __slots__ = ("_object", "path")

    def __init__(self, value: object, path: str) -> None:
        if not isinstance(value, Mapping):
            raise ValueError(f"{path}: expected an object, got {_kind(value)}")
        self._object: Mapping[str, Any] = value
        self.path = path

    def _present(self, key: str, required: bool) -> Any:
        value = self._object.get(key)
        if value is None and required:
            raise ValueError(f"{self.path}.{key}: missing")
        return value

    def integer(self, key: str) -> int:
        value = self._present(key, required=True)
        if type(value) is not int:
            raise ValueError(f"{self.path}.{key}: expected an integer, got {_kind(value)}")
        return value

    def optional_integer(self, key: str, default: int) -> int:
        return default if self._object.get(key) is None else self.integer(key)

    def text(self, key: str) -> str:
        value = self._present(key, required=True)
        if not isinstance(value, str):
            raise ValueError(f"{self.path}.{key}: expected a string, got {_kind(value)}")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self._object.get(key) is None else self.text(key)

    def timestamp(self, key: str) -> datetime | None:
        value = self.optional_text(key)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(f"{self.path}.{key}: not an ISO 8601 timestamp") from None
        if moment.tzinfo is None:
            raise ValueError(f"{self.path}.{key}: timestamp without a time zone")
        return moment

    def child(self, key: str) -> _Fields:
        return _Fields(self._present(key, required=True), f"{self.path}.{key}")

    def optional_child(self, key: str) -> _Fields | None:
        return None if self._object.get(key) is None else self.child(key)

    def items(self, key: str) -> list[_Fields]:
        """The objects of a list field; an absent or null list is empty."""
        value = self._object.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(f"{self.path}.{key}: expected a list, got {_kind(value)}")
        return [_Fields(item, f"{self.path}.{key}[{index}]") for index, item in enumerate(value)]

    def texts(self, key: str) -> tuple[str, ...]:
        value = self._object.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError(f"{self.path}.{key}: expected a list of strings")
        return tuple(value)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__


def installation_record(installation: object, path: str = "installation") -> Installation:
    """An `installation` object (a webhook's or the REST API's)."""
    fields = _Fields(installation, path)
    account = fields.optional_child("account")
    return Installation(id=fields.integer("id"), account=account.optional_text("login") if account else None)


def repository_record(repository: object, installation_id: int | None, path: str = "repository") -> Repository:
    """A `repository` object (a webhook's or the REST API's)."""
    fields = _Fields(repository, path)
    return Repository(
        id=fields.integer("id"),
        full_name=fields.text("full_name"),
        installation_id=installation_id,
        default_branch=fields.optional_text("default_branch"),
    )


def _pull_request_numbers(run: _Fields, repository_id: int) -> tuple[int, ...]:
    """Numbers of the run's pull requests in its own repository (the list also names PRs of other repositories)."""
    numbers = []
    for pull_request in run.items("pull_requests"):
        base = pull_request.optional_child("base")
        base_repo = base.optional_child("repo") if base else None
        if base_repo is not None and base_repo.integer("id") != repository_id:
            continue
        numbers.append(pull_request.integer("number"))
    return tuple(sorted(set(numbers)))


def workflow_run_record(run: object, repository_id: int, path: str = "workflow_run") -> WorkflowRun:
    """One `workflow-run` object (a `workflow_run` delivery's, or an item of the REST API's run lists)."""
    fields = _Fields(run, path)
    return WorkflowRun(
        repository_id=repository_id,
        id=fields.integer("id"),
        attempt=fields.optional_integer("run_attempt", 1),
        workflow_id=fields.integer("workflow_id"),
        workflow_name=fields.optional_text("name") or "",
        workflow_path=fields.optional_text("path") or "",
        event=fields.optional_text("event"),
        status=fields.optional_text("status"),
        conclusion=fields.optional_text("conclusion"),
        head_branch=fields.optional_text("head_branch"),
        head_sha=fields.text("head_sha"),
        pull_requests=_pull_request_numbers(fields, repository_id),
        created_at=fields.timestamp("created_at"),
        run_started_at=fields.timestamp("run_started_at"),
        updated_at=fields.timestamp("updated_at"),
        html_url=fields.optional_text("html_url"),
    )


def _step_record(step: _Fields) -> StepRecord:
    return StepRecord(
        name=step.optional_text("name") or "",
        number=step.integer("number"),
        conclusion=step.optional_text("conclusion"),
        started_at=step.timestamp("started_at"),
        completed_at=step.timestamp("completed_at"),
    )


def workflow_job_record(job: object, repository_id: int, path: str = "workflow_job") -> WorkflowJob:
    """One `job` object (a `workflow_job` delivery's, or an item of the REST API's job lists)."""
    fields = _Fields(job, path)
    return WorkflowJob(
        repository_id=repository_id,
        id=fields.integer("id"),
        run_id=fields.integer("run_id"),
        run_attempt=fields.optional_integer("run_attempt", 1),
        name=fields.optional_text("name") or "",
        workflow_name=fields.optional_text("workflow_name"),
        status=fields.optional_text("status"),
        conclusion=fields.optional_text("conclusion"),
        head_sha=fields.optional_text("head_sha"),
        head_branch=fields.optional_text("head_branch"),
        labels=fields.texts("labels"),
        runner_name=fields.optional_text("runner_name"),
        created_at=fields.timestamp("created_at"),
        started_at=fields.timestamp("started_at"),
        completed_at=fields.timestamp("completed_at"),
        steps=tuple(_step_record(step) for step in fields.items("steps")),
        html_url=fields.optional_text("html_url"),
    )


def _payload(payload: object) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping):
        raise ValueError(f"payload: expected an object, got {_kind(payload)}")
    return payload


def _installation_and_repository(payload: Mapping[str, Any]) -> tuple[Installation | None, Repository]:
    installation = None if payload.get("installation") is None else installation_record(payload["installation"])
    repository = repository_record(payload.get("repository"), installation.id if installation else None)
    return installation, repository


def workflow_run_event(payload: object) -> WorkflowRunEvent:
    """The records in a `workflow_run` delivery (any action)."""
    data = _payload(payload)
    installation, repository = _installation_and_repository(data)
    return WorkflowRunEvent(installation, repository, workflow_run_record(data.get("workflow_run"), repository.id))


def workflow_job_event(payload: object) -> WorkflowJobEvent:
    """The records in a `workflow_job` delivery (any action)."""
    data = _payload(payload)
    installation, repository = _installation_and_repository(data)
    return WorkflowJobEvent(installation, repository, workflow_job_record(data.get("workflow_job"), repository.id))
