"""GitHub's run and job JSON read into the provider-neutral records the comparison works on."""

import json
from pathlib import Path

from bot.github.records import run_from_github

OFFICIAL_PAYLOADS = Path(__file__).resolve().parents[1] / "fixtures/github-webhooks"


def test_run_from_github_reads_the_openapi_shapes_and_keeps_each_jobs_attempt() -> None:
    run = {
        "id": 30433642,
        "name": "Build",
        "path": ".github/workflows/build.yml",
        "workflow_id": 159038,
        "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "head_branch": "master",
        "event": "push",
        "status": "completed",
        "conclusion": "success",
        "run_attempt": 2,
        "created_at": "2020-01-22T19:33:08Z",
        "run_started_at": "2020-01-22T19:40:00Z",
        "updated_at": "2020-01-22T19:50:30Z",
        "html_url": "https://github.com/octo-org/octo-repo/actions/runs/30433642",
        "unknown_new_field": {"ignored": True},
    }
    jobs = [
        {
            "name": "build",
            "status": "completed",
            "conclusion": "success",
            "run_attempt": 1,
            "created_at": "2020-01-22T19:33:10Z",
            "started_at": "2020-01-22T19:33:40Z",
            "completed_at": "2020-01-22T19:35:39Z",
            "html_url": "https://github.com/octo-org/octo-repo/runs/1/jobs/2",
            "steps": [
                {
                    "name": "Set up job",
                    "status": "completed",
                    "conclusion": "success",
                    "number": 1,
                    "started_at": "2020-01-22T11:33:40.000-08:00",
                    "completed_at": "2020-01-22T11:33:41.000-08:00",
                },
                {
                    "name": "Cleanup",
                    "status": "queued",
                    "conclusion": None,
                    "number": 2,
                    "started_at": None,
                    "completed_at": None,
                },
            ],
        },
        {
            "name": "deploy",
            "status": "completed",
            "conclusion": "failure",
            "created_at": None,
            "started_at": None,
            "completed_at": None,
            "steps": None,
        },
    ]
    record = run_from_github(json.loads(json.dumps(run)), jobs)
    assert record.duration == 630.0
    assert record.queue_time == 412.0
    assert record.run_attempt == 2
    build, deploy = record.jobs
    assert (build.run_attempt, deploy.run_attempt) == (1, 2)  # a missing job attempt falls back to the run's
    assert build.duration == 119.0 and build.queue_time == 30.0
    assert build.steps[0].duration == 1.0 and build.steps[1].duration is None
    assert deploy.duration is None and deploy.steps == ()
    assert record.total_job_time == 119.0


def test_official_example_payloads_become_records() -> None:
    run_payload = json.loads((OFFICIAL_PAYLOADS / "workflow_run/completed.payload.json").read_text())
    job_payloads = [
        json.loads(path.read_text())["workflow_job"]
        for path in sorted((OFFICIAL_PAYLOADS / "workflow_job").glob("*.json"))
    ]
    record = run_from_github(run_payload["workflow_run"], job_payloads)
    assert record.id == 289782451 and record.workflow_path == ".github/workflows/test.yml"
    assert len(record.jobs) == len(job_payloads)
    failed = next(job for job in record.jobs if job.conclusion == "failure")
    assert failed.name == "linters" and failed.duration == 198.0 and failed.queue_time == 60.0
    assert any(job.conclusion is None and job.duration is None for job in record.jobs)  # queued jobs
