"""GitHub's `workflow_run` / `workflow_job` payloads read into the store's records; malformed fields are a ValueError
naming the field."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from store_events import WEBHOOKS, load_payload

from bot.store import Installation, Repository, workflow_job_event, workflow_run_event


@pytest.mark.parametrize(
    "path",
    sorted(
        str(p.relative_to(WEBHOOKS))
        for event in ("workflow_run", "workflow_job")
        for p in (WEBHOOKS / event).glob("*.json")
    ),
    ids=str,
)
def test_every_example_payload_is_read(path: str):
    payload = load_payload(path)
    event = workflow_run_event(payload) if path.startswith("workflow_run") else workflow_job_event(payload)
    assert event.repository.id == payload["repository"]["id"]


def test_a_completed_job_with_its_steps_runner_and_labels():
    event = workflow_job_event(load_payload("workflow_job/completed.success.with-organization.payload.json"))
    job = event.job
    assert event.installation is None  # this example has none
    assert event.repository == Repository(186853002, "Codertocat/Hello-World", None, "master")
    assert (job.id, job.run_id, job.run_attempt, job.name) == (289782451, 2202229078, 1, "linters")
    assert (job.status, job.conclusion, job.workflow_name) == ("completed", "success", "CodeQL")
    assert (job.labels, job.runner_name) == (("ubuntu-latest",), "GitHub Actions 5")
    assert job.created_at == datetime(2021, 8, 5, 10, 33, 58, tzinfo=UTC)
    assert [(step.number, step.name) for step in job.steps][-2:] == [(12, "Post Checkout Repo"), (13, "Complete job")]
    assert job.steps[0].duration == 3


def test_a_job_still_in_progress_has_queued_steps():
    job = workflow_job_event(load_payload("workflow_job/in_progress.with-queued-steps.payload.json")).job
    assert job.status == "in_progress" and job.completed_at is None
    assert any(step.started_at is None for step in job.steps)


def test_a_run_with_its_installation_and_pull_requests():
    payload = load_payload("workflow_run/completed.payload.json")
    payload["installation"] = {"id": 5, "account": {"login": "octo-org"}}
    repository_id = payload["repository"]["id"]
    payload["workflow_run"]["pull_requests"] = [
        {"number": 4, "base": {"ref": "main", "repo": {"id": repository_id}}},
        {"number": 2, "base": {"ref": "main", "repo": {"id": 1}}},  # another repository's PR (forks list those)
        {"number": 3},
    ]
    event = workflow_run_event(payload)
    assert event.installation == Installation(5, "octo-org")
    assert event.repository.installation_id == 5
    run = event.run
    assert (run.id, run.attempt, run.workflow_id, run.workflow_path) == (
        289782451,
        1,
        2823525,
        ".github/workflows/test.yml",
    )
    assert (run.status, run.conclusion, run.event, run.head_branch) == (
        "completed",
        "success",
        "repository_dispatch",
        "master",
    )
    assert run.pull_requests == (3, 4)
    assert run.updated_at == datetime(2020, 10, 5, 16, 33, 49, tzinfo=UTC)


def _set(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(payload)
    *parents, last = path.split(".")
    target = changed
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[int(last) if isinstance(target, list) else last] = value
    return changed


_DELETE = object()
JOB = load_payload("workflow_job/completed.failure.with-organization.payload.json")
RUN = load_payload("workflow_run/completed.payload.json")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (_set(JOB, "workflow_job.id", "289782451"), "workflow_job.id: expected an integer, got str"),
        (_set(JOB, "workflow_job.run_id", True), "workflow_job.run_id: expected an integer, got bool"),
        (_set(JOB, "workflow_job.run_id", _DELETE), "workflow_job.run_id: missing"),
        (
            _set(JOB, "workflow_job.steps.2.number", "3"),
            r"workflow_job.steps\[2\].number: expected an integer, got str",
        ),
        (_set(JOB, "workflow_job.steps.1", "a step"), r"workflow_job.steps\[1\]: expected an object, got str"),
        (_set(JOB, "workflow_job.steps", {}), "workflow_job.steps: expected a list, got dict"),
        (_set(JOB, "workflow_job.labels", "ubuntu-latest"), "workflow_job.labels: expected a list of strings"),
        (_set(JOB, "workflow_job.started_at", "yesterday"), "workflow_job.started_at: not an ISO 8601 timestamp"),
        (_set(JOB, "workflow_job.started_at", "2021-08-05T10:34:58"), "workflow_job.started_at: timestamp without"),
        (_set(JOB, "workflow_job.name", ["linters"]), "workflow_job.name: expected a string, got list"),
        (_set(JOB, "workflow_job", None), "workflow_job: expected an object, got null"),
        (_set(JOB, "repository", _DELETE), "repository: expected an object, got null"),
        (_set(JOB, "repository.full_name", 7), "repository.full_name: expected a string, got int"),
        (_set(JOB, "installation", {"id": "1"}), "installation.id: expected an integer, got str"),
        (_set(RUN, "workflow_run.workflow_id", None), "workflow_run.workflow_id: missing"),
        (_set(RUN, "workflow_run.head_sha", 1), "workflow_run.head_sha: expected a string, got int"),
        (_set(RUN, "workflow_run.run_attempt", 1.0), "workflow_run.run_attempt: expected an integer, got float"),
        (_set(RUN, "workflow_run.pull_requests", [{"number": "2"}]), r"pull_requests\[0\].number: expected an integer"),
        (_set(RUN, "workflow_run.created_at", 1601915604), "workflow_run.created_at: expected a string, got int"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_a_malformed_field_is_named(payload: dict[str, Any], message: str):
    read = workflow_job_event if "workflow_job" in payload else workflow_run_event
    with pytest.raises(ValueError, match=message):
        read(payload)


@pytest.mark.parametrize("payload", [[], "text", None, 3])
def test_a_payload_that_is_not_an_object(payload: object):
    with pytest.raises(ValueError, match="payload: expected an object"):
        workflow_job_event(payload)
    with pytest.raises(ValueError, match="payload: expected an object"):
        workflow_run_event(payload)


def test_absent_optional_fields_are_none():
    payload = load_payload("workflow_job/queued.payload.json")
    for field in ("runner_name", "labels", "steps", "completed_at", "conclusion", "workflow_name"):
        payload["workflow_job"].pop(field, None)
    del payload["workflow_job"]["run_attempt"]
    job = workflow_job_event(payload).job
    assert (job.runner_name, job.labels, job.steps, job.completed_at, job.run_attempt) == (None, (), (), None, 1)
