"""GitHub's own `workflow_run` / `workflow_job` example payloads, varied into the events of a small CI history."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.store import WorkflowJobEvent, WorkflowRunEvent, workflow_job_event, workflow_run_event

WEBHOOKS = Path(__file__).resolve().parent / "fixtures" / "github-webhooks"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
REPOSITORY_ID = 186853002  # the repository of GitHub's workflow_job examples
INSTALLATION_ID = 77
WORKFLOW_ID = 2823525


def load_payload(relative: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / relative).read_text())


RUN_TEMPLATE = load_payload("workflow_run/completed.payload.json")
JOB_TEMPLATE = load_payload("workflow_job/completed.success.with-organization.payload.json")


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def run_payload(
    run_id: int,
    attempt: int,
    status: str,
    *,
    created: datetime,
    minutes: int = 10,
    conclusion: str | None = None,
    branch: str = "main",
    event: str = "push",
    pull_requests: tuple[int, ...] = (),
    workflow_id: int = WORKFLOW_ID,
) -> dict[str, Any]:
    """A `workflow_run` delivery for one stage (`queued`, `in_progress`, `completed`) of one attempt."""
    payload = copy.deepcopy(RUN_TEMPLATE)
    payload["action"] = {"queued": "requested", "in_progress": "in_progress", "completed": "completed"}[status]
    payload["repository"] = copy.deepcopy(JOB_TEMPLATE["repository"])
    payload["installation"] = {"id": INSTALLATION_ID, "account": {"login": "Codertocat"}}
    started = created + timedelta(minutes=attempt - 1)
    updated = {"queued": created, "in_progress": started + timedelta(seconds=5)}.get(
        status, started + timedelta(minutes=minutes)
    )
    run = payload["workflow_run"]
    run.update(
        id=run_id,
        run_attempt=attempt,
        name="CI",
        workflow_id=workflow_id,
        head_branch=branch,
        head_sha=f"{run_id:040x}",
        event=event,
        status=status,
        conclusion=conclusion if status == "completed" else None,
        created_at=stamp(created),
        run_started_at=stamp(started),
        updated_at=stamp(updated),
        pull_requests=[
            {"number": number, "base": {"ref": "main", "repo": {"id": REPOSITORY_ID}}} for number in pull_requests
        ],
    )
    return payload


def job_payload(
    job_id: int,
    run_id: int,
    attempt: int,
    name: str,
    status: str,
    *,
    created: datetime,
    seconds: int = 120,
    conclusion: str | None = "success",
    steps: int = 3,
) -> dict[str, Any]:
    """A `workflow_job` delivery for one stage (`queued`, `in_progress`, `completed`) of one job."""
    payload = copy.deepcopy(JOB_TEMPLATE)
    payload["action"] = status
    payload["installation"] = {"id": INSTALLATION_ID}
    started = created + timedelta(seconds=20)
    completed = started + timedelta(seconds=seconds)
    job = payload["workflow_job"]
    step_list = []
    for number in range(1, steps + 1):
        step_start = started + timedelta(seconds=(number - 1) * seconds // steps)
        step_done = started + timedelta(seconds=number * seconds // steps)
        step_status = (
            "completed" if status == "completed" or number == 1 else "in_progress" if number == 2 else "queued"
        )
        if status == "queued":
            break
        step_list.append(
            {
                "name": f"step {number}",
                "number": number,
                "status": step_status,
                "conclusion": (conclusion if number == steps else "success") if step_status == "completed" else None,
                "started_at": stamp(step_start) if step_status != "queued" else None,
                "completed_at": stamp(step_done) if step_status == "completed" else None,
            }
        )
    job.update(
        id=job_id,
        run_id=run_id,
        run_attempt=attempt,
        name=name,
        head_sha=f"{run_id:040x}",
        status=status,
        conclusion=conclusion if status == "completed" else None,
        created_at=stamp(created),
        started_at=stamp(started) if status != "queued" else None,
        completed_at=stamp(completed) if status == "completed" else None,
        runner_name=None if status == "queued" else f"runner {job_id % 3}",
        labels=["ubuntu-latest"],
        steps=step_list,
    )
    return payload


def lifecycle(
    run_id: int,
    attempt: int,
    jobs: list[tuple[int, str, str]],
    *,
    created: datetime,
    conclusion: str = "success",
    attempt_of_jobs: dict[int, int] | None = None,
    **run_options: Any,
) -> list[dict[str, Any]]:
    """Every delivery of one run attempt: the run's three stages, and each job's (`(job id, name, conclusion)`)."""
    payloads = [
        run_payload(run_id, attempt, status, created=created, conclusion=conclusion, **run_options)
        for status in ("queued", "in_progress", "completed")
    ]
    for job_id, name, job_conclusion in jobs:
        job_attempt = (attempt_of_jobs or {}).get(job_id, attempt)
        job_created = created + timedelta(minutes=job_attempt - 1, seconds=job_id % 10)
        payloads += [
            job_payload(job_id, run_id, job_attempt, name, status, created=job_created, conclusion=job_conclusion)
            for status in ("queued", "in_progress", "completed")
        ]
    return payloads


def small_history() -> list[dict[str, Any]]:
    """Four runs: one failed and re-run (only its failed job), one with a pull request, one on another branch."""
    return [
        *lifecycle(
            100, 1, [(1001, "build", "success"), (1002, "test", "failure")], created=START, conclusion="failure"
        ),
        *lifecycle(100, 2, [(1003, "test", "success")], created=START),
        *lifecycle(101, 1, [(1011, "build", "success"), (1012, "test", "success")], created=START + timedelta(hours=1)),
        *lifecycle(
            102,
            1,
            [(1021, "build", "success")],
            created=START + timedelta(hours=2),
            branch="feature",
            event="pull_request",
            pull_requests=(7,),
        ),
    ]


def parse(payload: dict[str, Any]) -> WorkflowRunEvent | WorkflowJobEvent:
    return workflow_run_event(payload) if "workflow_run" in payload else workflow_job_event(payload)
