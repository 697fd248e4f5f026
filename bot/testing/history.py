"""A synthetic CI history for the store, with known incidents: a slowdown from a known commit, a flaky job, a
broken job and a runner label short of runners. For health tests, the report command's tests and benchmarks.

Runs are evenly spaced; run `k` of the default branch has the commit `sha(k)`. Durations are log-normal around
each job's median; everything is drawn from one seeded random generator, so a history is the same every time.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.comparison.model import StepRecord
from bot.store.records import Installation, Repository, WorkflowJob, WorkflowJobEvent, WorkflowRun, WorkflowRunEvent

WEB = "https://github.com"


@dataclass(frozen=True)
class SyntheticJob:
    """A job of the synthetic workflow: its median duration, labels and usual queue time."""

    name: str
    seconds: float
    labels: tuple[str, ...] = ("ubuntu-latest",)
    queue_seconds: float = 8.0


@dataclass(frozen=True)
class Incidents:
    """What the history hides (days count from the start of the history)."""

    slow_job: str | None = None  # this job (and so the run) gets `slowdown` times slower from `slow_from_day` on
    slow_from_day: float = 0.0
    slowdown: float = 1.5
    flaky_job: str | None = None  # fails its first attempt with this probability; a re-run passes
    flaky_probability: float = 0.15
    broken_job: str | None = None  # fails from `broken_from_day` on, re-runs too
    broken_from_day: float = 0.0
    starved_label: str | None = None  # jobs on this label wait `starved_queue_seconds` from `starved_from_day` on
    starved_from_day: float = 0.0
    starved_queue_seconds: float = 900.0


DEFAULT_JOBS = (
    SyntheticJob("lint", 60),
    SyntheticJob("build", 420),
    SyntheticJob("test (ubuntu)", 600),
    SyntheticJob("test (windows)", 900, ("windows-latest",)),
    SyntheticJob("test (macos)", 720, ("macos-14",)),
    SyntheticJob("integration", 480, ("self-hosted", "linux", "gpu")),
)


@dataclass
class SyntheticHistory:
    """`events()` yields the `workflow_run` and `workflow_job` events of `days` days of CI ending at `now`."""

    repository: Repository
    installation: Installation
    now: datetime
    days: int = 60
    runs_per_day: float = 4.0
    pr_runs_per_day: float = 0.0
    workflow_id: int = 5001
    workflow_name: str = "CI"
    workflow_path: str = ".github/workflows/ci.yml"
    jobs: Sequence[SyntheticJob] = DEFAULT_JOBS
    incidents: Incidents = field(default_factory=Incidents)
    sigma: float = 0.08
    seed: int = 0
    first_run_id: int = 1_000_000

    @property
    def start(self) -> datetime:
        return self.now - timedelta(days=self.days)

    @property
    def default_runs(self) -> int:
        return int(self.days * self.runs_per_day)

    def sha(self, index: int, branch: str | None = None) -> str:
        """The commit of the default branch's run `index` (or of a pull request's run on `branch`)."""
        return hashlib.sha1(f"{self.repository.full_name}\n{branch or ''}\n{index}".encode()).hexdigest()

    def run_time(self, index: int) -> datetime:
        return self.start + timedelta(days=index / self.runs_per_day)

    def first_run_on_day(self, day: float) -> int:
        """The index of the first default-branch run created on or after `day`."""
        return math.ceil(day * self.runs_per_day)

    def events(self) -> Iterator[WorkflowRunEvent | WorkflowJobEvent]:
        rng = random.Random(self.seed)
        job_id = self.first_run_id * 100
        per_run = self.pr_runs_per_day / self.runs_per_day  # pull-request runs per default-branch run
        run_id = self.first_run_id
        for index in range(self.default_runs):
            pulls = math.floor((index + 1) * per_run) - math.floor(index * per_run)
            branches: list[str | None] = [None, *(f"feature-{index}-{pull}" for pull in range(pulls))]
            for branch in branches:
                run_id += 1
                yield from self._run(rng, index, run_id, job_id, branch)
                job_id += 2 * len(self.jobs)

    def _run(
        self, rng: random.Random, index: int, run_id: int, first_job_id: int, branch: str | None
    ) -> list[WorkflowRunEvent | WorkflowJobEvent]:
        incidents = self.incidents
        created = self.run_time(index) + (timedelta(minutes=7) if branch else timedelta(0))
        day = index / self.runs_per_day
        on_default = branch is None
        head_branch = branch or self.repository.default_branch or "main"
        sha = self.sha(index, branch)
        events: list[WorkflowRunEvent | WorkflowJobEvent] = []
        attempts = [1]
        outcomes: dict[tuple[int, str], str] = {}
        for job in self.jobs:
            failing = job.name == incidents.broken_job and on_default and day >= incidents.broken_from_day
            flaky = job.name == incidents.flaky_job and rng.random() < incidents.flaky_probability
            if failing:
                outcomes[(1, job.name)] = outcomes[(2, job.name)] = "failure"
                attempts = [1, 2]
            elif flaky:
                outcomes[(1, job.name)], outcomes[(2, job.name)] = "failure", "success"
                attempts = [1, 2]
            else:
                outcomes[(1, job.name)] = "success"
        attempt_start = created
        job_id = first_job_id
        for attempt in attempts:
            latest = attempt_start
            for job in self.jobs:
                conclusion = outcomes.get((attempt, job.name))
                if conclusion is None:
                    continue  # a partial re-run: the job kept its first attempt
                seconds = job.seconds * math.exp(rng.gauss(0.0, self.sigma))
                if job.name == incidents.slow_job and on_default and day >= incidents.slow_from_day:
                    seconds *= incidents.slowdown
                if conclusion == "failure":
                    seconds *= 0.4
                queue = job.queue_seconds * math.exp(rng.gauss(0.0, 0.3))
                starved = incidents.starved_label in job.labels and day >= incidents.starved_from_day
                if starved:
                    queue = incidents.starved_queue_seconds * math.exp(rng.gauss(0.0, 0.3))
                started = attempt_start + timedelta(seconds=queue)
                completed = started + timedelta(seconds=seconds)
                latest = max(latest, completed)
                job_id += 1
                events.append(
                    WorkflowJobEvent(
                        self.installation,
                        self.repository,
                        WorkflowJob(
                            repository_id=self.repository.id,
                            id=job_id,
                            run_id=run_id,
                            run_attempt=attempt,
                            name=job.name,
                            workflow_name=self.workflow_name,
                            status="completed",
                            conclusion=conclusion,
                            head_sha=sha,
                            head_branch=head_branch,
                            labels=job.labels,
                            runner_name="runner",
                            created_at=attempt_start,
                            started_at=started,
                            completed_at=completed,
                            steps=(StepRecord("Run", 1, conclusion, started, completed),),
                            html_url=f"{WEB}/{self.repository.full_name}/actions/runs/{run_id}/job/{job_id}",
                        ),
                    )
                )
            failed = any(value == "failure" for (number, _name), value in outcomes.items() if number == attempt)
            events.append(
                WorkflowRunEvent(
                    self.installation,
                    self.repository,
                    WorkflowRun(
                        repository_id=self.repository.id,
                        id=run_id,
                        attempt=attempt,
                        workflow_id=self.workflow_id,
                        workflow_name=self.workflow_name,
                        workflow_path=self.workflow_path,
                        event="push" if on_default else "pull_request",
                        status="completed",
                        conclusion="failure" if failed else "success",
                        head_branch=head_branch,
                        head_sha=sha,
                        pull_requests=() if on_default else (index + 1,),
                        created_at=created,
                        run_started_at=attempt_start,
                        updated_at=latest,
                        html_url=f"{WEB}/{self.repository.full_name}/actions/runs/{run_id}",
                    ),
                )
            )
            attempt_start = latest + timedelta(minutes=2)
        return events
