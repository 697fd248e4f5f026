"""The simulator's control API: build repositories, PRs and runs in-process and send their webhook deliveries."""

from __future__ import annotations

import asyncio
import copy
import secrets
import time
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.testing.simulator.api import ApiContext, Contract, RecordedRequest, RestApi
from bot.testing.simulator.faults import FaultInjector
from bot.testing.simulator.render import JSONDict, Renderer
from bot.testing.simulator.state import (
    CheckRun,
    DispatchScript,
    HookDelivery,
    Installation,
    InstallationToken,
    Issue,
    IssueComment,
    Job,
    JobSpec,
    PullRequest,
    Repo,
    Review,
    RunAttempt,
    SimState,
    Workflow,
    WorkflowRun,
    job_from_spec,
    run_conclusion,
    run_status,
    utcnow,
)
from bot.testing.simulator.webhooks import Delivery, PayloadBuilder, build_delivery, send

ZERO_SHA = "0" * 40


class GitHubSimulator:
    """A local GitHub: REST API on 127.0.0.1 plus signed webhook deliveries to the App under test."""

    def __init__(
        self,
        app_id: int,
        webhook_secret: str,
        private_key_pem: str | bytes | None = None,
        public_key_pem: str | bytes | None = None,
        webhook_url: str | None = None,
        contract: Contract | None = None,
        seed: int = 0,
    ) -> None:
        if public_key_pem is not None:
            public_key = serialization.load_pem_public_key(_bytes(public_key_pem))
        elif private_key_pem is not None:
            public_key = serialization.load_pem_private_key(_bytes(private_key_pem), password=None).public_key()
        else:
            raise ValueError("GitHubSimulator needs the App's private_key_pem or public_key_pem")
        self.app_id = app_id
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.state = SimState(app_id=app_id)
        self.faults = FaultInjector(self._expire_tokens, seed=seed)
        self._context = ApiContext(
            self.state,
            self.faults,
            public_key,
            contract,
            redeliver=self._redeliver_later,
            on_dispatch=self._play_dispatch,
            on_cancel=self._cancel,
            on_rerun=self._play_rerun,
        )
        self._rerun_scripts: dict[int, list[list[JobSpec]]] = {}
        self._playbacks: set[asyncio.Task[None]] = set()
        self.deliveries: list[Delivery] = []
        self._redeliveries: set[asyncio.Task[Delivery]] = set()
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    # ---- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> str:
        """Serve the REST API on a free port of 127.0.0.1; returns its base URL."""
        self._runner = web.AppRunner(RestApi(self._context).application(), access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def close(self) -> None:
        await self.settle_redeliveries()
        for playback in list(self._playbacks):
            playback.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> GitHubSimulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # ---- recordings -------------------------------------------------------------------------------------

    @property
    def calls(self) -> Counter[tuple[str, str]]:
        """REST calls served, keyed by (method, route template), e.g. ("GET", "/repos/{owner}/{repo}")."""
        return self._context.calls

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._context.requests

    @property
    def contract_violations(self) -> list[str]:
        return self._context.contract_violations

    @property
    def render(self) -> Renderer:
        return Renderer(self.state, self.base_url or "http://127.0.0.1")

    # ---- building the world -----------------------------------------------------------------------------

    def add_installation(self, account: str, account_type: str = "Organization") -> Installation:
        installation = Installation(self.state.ids.next("installation", 40_000_001), account, account_type)
        self.state.installations[installation.id] = installation
        return installation

    def add_repo(
        self,
        full_name: str,
        installation: Installation | None,
        default_branch: str = "main",
        files: dict[str, str] | None = None,
        private: bool = False,
        collaborators: dict[str, str] | None = None,
    ) -> Repo:
        owner, name = full_name.split("/", 1)
        repo = Repo(
            self.state.ids.next("repo", 10_000_001),
            owner,
            name,
            default_branch,
            installation.id if installation else None,
            utcnow(),
            private=private,
            collaborators=dict(collaborators or {}),
        )
        self.state.repos[full_name] = repo
        self.state.commit(repo, default_branch, dict(files or {}), "Initial commit", author=owner)
        return repo

    def add_fork(self, repo: Repo, owner: str, installation: Installation | None = None) -> Repo:
        fork = Repo(
            self.state.ids.next("repo", 10_000_001),
            owner,
            repo.name,
            repo.default_branch,
            installation.id if installation else None,
            utcnow(),
            parent=repo,
            branches=dict(repo.branches),
            commits=dict(repo.commits),
        )
        self.state.repos[fork.full_name] = fork
        return fork

    def commit(
        self,
        repo: Repo,
        branch: str,
        files: dict[str, str] | None = None,
        message: str = "Update",
        deleted: tuple[str, ...] | list[str] = (),
        author: str = "octocat",
    ) -> str:
        """Add a commit to `branch` without any webhook; returns its sha."""
        return self.state.commit(repo, branch, dict(files or {}), message, deleted, author).sha

    def set_collaborator(self, repo: Repo, login: str, permission: str) -> None:
        """`permission` is one of admin, maintain, write, triage, read, none."""
        repo.collaborators[login] = permission

    def personal_token(self, installation: Installation) -> str:
        """A token for the command line (`GITHUB_TOKEN`), valid for a day, reaching the installation's repositories."""
        token = InstallationToken(f"ghp_{secrets.token_hex(18)}", installation.id, utcnow() + timedelta(days=1))
        self.state.tokens[token.token] = token
        return token.token

    def add_workflow(self, repo: Repo, path: str, name: str, content: str | None = None) -> Workflow:
        """Register a workflow; with `content`, also commit its file to the default branch."""
        if content is not None:
            self.commit(repo, repo.default_branch, {path: content}, f"Add {path}")
        workflow = Workflow(self.state.ids.next("workflow", 20_000_001), repo, path, name, utcnow())
        self.state.workflows[workflow.id] = workflow
        return workflow

    def add_run(
        self,
        repo: Repo,
        workflow: Workflow,
        head_sha: str | None = None,
        head_branch: str | None = None,
        event: str = "push",
        created_at: datetime | None = None,
        jobs: list[JobSpec] | None = None,
        conclusion: str | None = None,
        status: str | None = None,
        actor: str = "octocat",
        head_repo: Repo | None = None,
        display_title: str | None = None,
    ) -> WorkflowRun:
        """A run whose job timestamps follow from `created_at`, queue times and durations.

        Its `pull_requests` lists the open PRs of the same repository whose head matches the run (GitHub's rule);
        runs from forks get an empty list, as on GitHub."""
        head_repo = head_repo or repo
        head_branch = head_branch if head_branch is not None else repo.default_branch
        if head_sha is None:
            head_sha = head_repo.branches[head_branch]
        created_at = (created_at or utcnow()).replace(microsecond=0)
        run_id = self.state.ids.next("run", 90_000_001)
        attempt = self._attempt(run_id, 1, created_at, jobs or [JobSpec("build")], conclusion, status, actor)
        run = WorkflowRun(
            id=run_id,
            repo=repo,
            workflow=workflow,
            run_number=1 + sum(1 for r in self.state.runs.values() if r.workflow is workflow),
            head_sha=head_sha,
            head_branch=head_branch,
            head_repo=head_repo,
            event=event,
            actor=actor,
            created_at=created_at,
            display_title=display_title or head_repo.commits[head_sha].message.split("\n")[0],
            attempts=[attempt],
        )
        self.state.runs[run.id] = run
        return run

    def complete_run(self, run: WorkflowRun, jobs: list[JobSpec] | None = None) -> WorkflowRun:
        """Finish a run added `in_progress` (or `queued`): its latest attempt gets these jobs, completed."""
        latest = run.latest
        specs = jobs or [JobSpec("build")]
        run.attempts[-1] = self._attempt(
            run.id, latest.number, latest.run_started_at, specs, None, None, latest.triggering_actor
        )
        return run

    def _attempt(
        self,
        run_id: int,
        number: int,
        started: datetime,
        specs: list[JobSpec],
        conclusion: str | None,
        status: str | None,
        actor: str,
        kept: list[Job] | None = None,
    ) -> RunAttempt:
        jobs = list(kept or []) + [
            job_from_spec(spec, self.state.ids.next("job", 30_000_001), run_id, number, started) for spec in specs
        ]
        status = status or run_status(jobs)
        conclusion = conclusion or run_conclusion(jobs) if status == "completed" else None
        ends = [job.completed_at for job in jobs if job.completed_at] + [started]
        return RunAttempt(number, started, status, conclusion, max(ends), jobs, actor)

    async def rerun(
        self,
        run: WorkflowRun,
        jobs: list[JobSpec] | None = None,
        partial: bool = False,
        started_at: datetime | None = None,
        actor: str | None = None,
        deliver: bool = True,
    ) -> WorkflowRun:
        """A new attempt of `run`. With `partial`, jobs not named in `jobs` keep their previous attempt's record."""
        previous = run.latest
        started = (started_at or max(previous.updated_at, utcnow())).replace(microsecond=0)
        specs = jobs or [JobSpec(job.name) for job in previous.jobs]
        kept = [job for job in previous.jobs if job.name not in {s.name for s in specs}] if partial else []
        run.attempts.append(
            self._attempt(
                run.id, previous.number + 1, started, specs, None, None, actor or previous.triggering_actor, kept
            )
        )
        if deliver:
            await self.deliver_workflow_run(
                run, action="completed" if run.latest.status == "completed" else "requested"
            )
        return run

    # ---- dispatched runs -----------------------------------------------------------------------------------

    def script_dispatches(self, workflow: Workflow, script: DispatchScript) -> None:
        """How runs dispatched of `workflow` play: `script(inputs)` gives their jobs (None: never picked up)."""
        self.state.dispatch_scripts[workflow.id] = script

    def _play_dispatch(self, run: WorkflowRun) -> None:
        task = asyncio.get_running_loop().create_task(self._play(run, self.state.dispatch_scripts.get(run.workflow.id)))
        self._playbacks.add(task)
        task.add_done_callback(self._playbacks.discard)

    @property
    def playing(self) -> bool:
        """Whether runs are still being played (their deliveries not all sent yet)."""
        return bool(self._playbacks)

    async def played(self) -> None:
        """Wait until every dispatched run has sent the deliveries of what it played so far."""
        while self._playbacks:
            await asyncio.gather(*list(self._playbacks))

    async def _play(self, run: WorkflowRun, script: DispatchScript | None) -> None:
        await asyncio.sleep(0)  # the dispatch is answered first
        await self.deliver_workflow_run(run, "requested")
        specs = script(dict(run.inputs)) if script is not None else None
        if specs is not None:
            await self.play_run(run, specs)

    async def play_run(self, run: WorkflowRun, specs: Sequence[JobSpec]) -> None:
        """Play a queued run with these jobs, as GitHub does: each job queued; the run in progress; each job in
        progress and completed; the run completed. A run cancelled meanwhile stops playing."""
        started = utcnow()
        final = self._attempt(run.id, 1, started, list(specs), None, None, run.latest.triggering_actor)
        waiting = [
            replace(job, status="queued", conclusion=None, started_at=None, completed_at=None, steps=[])
            for job in final.jobs
        ]
        running = [
            replace(job, status="in_progress", conclusion=None, completed_at=None, steps=[]) for job in final.jobs
        ]
        stages: list[tuple[str, list[Job], str | None]] = [
            ("queued", waiting, None),
            ("in_progress", running, "in_progress"),
            ("completed", final.jobs, None),
        ]
        for action, jobs, run_action in stages:
            if run.latest.status == "completed":  # cancelled meanwhile
                return
            if run_action is not None:
                run.attempts[-1] = RunAttempt(1, started, "in_progress", None, started, jobs, final.triggering_actor)
                await self.deliver_workflow_run(run, run_action)
            for job in jobs:
                payload = PayloadBuilder(self.render).workflow_job(run, job, action, self._installation(run.repo))
                await self.deliver("workflow_job", payload)
        run.attempts[-1] = final
        await self.deliver_workflow_run(run, "completed")

    def script_rerun(self, run: WorkflowRun, jobs: list[JobSpec]) -> None:
        """How the next re-run of `run` asked through the API plays: its re-run jobs get these specs.

        Without a script, re-run jobs take as long as they took before and pass."""
        self._rerun_scripts.setdefault(run.id, []).append(jobs)

    def _play_rerun(self, run: WorkflowRun, names: set[str] | None) -> None:
        scripted = self._rerun_scripts.get(run.id)
        specs = scripted.pop(0) if scripted else [_spec_of(job) for job in run.latest.jobs]
        chosen = [spec for spec in specs if names is None or spec.name in names]
        self.state.rerunning.add(run.id)
        task = asyncio.get_running_loop().create_task(self._rerun_later(run, chosen, partial=names is not None))
        self._playbacks.add(task)
        task.add_done_callback(self._playbacks.discard)

    async def _rerun_later(self, run: WorkflowRun, jobs: list[JobSpec], *, partial: bool) -> None:
        await asyncio.sleep(0)  # the re-run request is answered first
        self.state.rerunning.discard(run.id)
        await self.rerun(run, jobs=jobs, partial=partial)

    def _cancel(self, run: WorkflowRun) -> None:
        latest = run.latest
        jobs = [
            job
            if job.status == "completed"
            else replace(job, status="completed", conclusion="cancelled", completed_at=utcnow())
            for job in latest.jobs
        ]
        run.attempts[-1] = RunAttempt(
            latest.number, latest.run_started_at, "completed", "cancelled", utcnow(), jobs, latest.triggering_actor
        )
        task = asyncio.get_running_loop().create_task(self._deliver_cancelled(run))
        self._playbacks.add(task)
        task.add_done_callback(self._playbacks.discard)

    async def _deliver_cancelled(self, run: WorkflowRun) -> None:
        await asyncio.sleep(0)
        await self.deliver_workflow_run(run, "completed")

    def add_check_run(
        self, repo: Repo, head_sha: str, name: str, status: str = "completed", conclusion: str | None = "success"
    ) -> CheckRun:
        """A check run as if the App had created it (no REST call recorded)."""
        now = utcnow()
        check = CheckRun(
            self.state.ids.next("check_run", 50_000_001),
            repo,
            head_sha,
            name,
            self.app_id,
            status,
            conclusion if status == "completed" else None,
            now,
            now if status == "completed" else None,
            None,
            None,
            {"title": None, "summary": None, "text": None},
        )
        self.state.check_runs[check.id] = check
        return check

    # ---- pull requests and pushes -----------------------------------------------------------------------

    async def push(
        self,
        repo: Repo,
        branch: str,
        files: dict[str, str] | None = None,
        message: str = "Update",
        deleted: tuple[str, ...] | list[str] = (),
        author: str = "octocat",
    ) -> str:
        """Commit to `branch` and deliver `push`."""
        before = repo.branches.get(branch, ZERO_SHA)
        sha = self.commit(repo, branch, files, message, deleted, author)
        payload = PayloadBuilder(self.render).push(repo, self._installation(repo), branch, before, sha, author)
        await self.deliver("push", payload)
        return sha

    async def open_pull_request(
        self,
        repo: Repo,
        head: str,
        base: str | None = None,
        title: str = "Change",
        head_repo: Repo | None = None,
        user: str = "octocat",
        body: str | None = None,
        draft: bool = False,
        deliver: bool = True,
    ) -> PullRequest:
        """Open a PR from `head` (a branch of `head_repo`, by default `repo`) and deliver `pull_request.opened`."""
        head_repo = head_repo or repo
        base = base or repo.default_branch
        if head not in head_repo.branches:
            raise ValueError(f"{head_repo.full_name} has no branch {head!r}")
        now = utcnow()
        head_sha = head_repo.branches[head]
        self._share_commits(repo, head_repo)
        number = self.state.next_issue_number(repo)
        pr = PullRequest(
            self.state.ids.next("pull", 1_000_001),
            number,
            repo,
            head_repo,
            head,
            base,
            title,
            body,
            user,
            now,
            now,
            head_sha,
            self._merge_base(repo, base, head_repo, head_sha),
            draft=draft,
        )
        pr.commit_shas = self._pr_commits(pr)
        self.state.pulls[(repo.full_name, number)] = pr
        if deliver:
            await self.deliver_pull_request(pr, "opened")
        return pr

    async def synchronize(
        self,
        pr: PullRequest,
        files: dict[str, str] | None = None,
        message: str = "Update",
        deleted: tuple[str, ...] | list[str] = (),
        author: str | None = None,
    ) -> str:
        """Push a new head commit to the PR's branch and deliver `pull_request.synchronize`."""
        before = pr.head_sha
        sha = self.commit(pr.head_repo, pr.head_branch, files, message, deleted, author or pr.user)
        self._share_commits(pr.repo, pr.head_repo)
        pr.head_sha = sha
        pr.updated_at = utcnow()
        pr.commit_shas = self._pr_commits(pr)
        await self.deliver_pull_request(pr, "synchronize", before=before)
        return sha

    async def close_pull_request(self, pr: PullRequest, merged: bool = False) -> None:
        pr.state = "closed"
        pr.merged = merged
        pr.closed_at = pr.updated_at = utcnow()
        await self.deliver_pull_request(pr, "closed")

    async def reopen_pull_request(self, pr: PullRequest) -> None:
        pr.state = "open"
        pr.closed_at = None
        pr.updated_at = utcnow()
        await self.deliver_pull_request(pr, "reopened")

    async def ready_for_review(self, pr: PullRequest) -> None:
        pr.draft = False
        pr.updated_at = utcnow()
        await self.deliver_pull_request(pr, "ready_for_review")

    @staticmethod
    def _share_commits(repo: Repo, head_repo: Repo) -> None:
        """A PR's head commits become reachable in the base repository (GitHub's `refs/pull/N/head`)."""
        if head_repo is not repo:
            for sha, commit in head_repo.commits.items():
                repo.commits.setdefault(sha, commit)

    @staticmethod
    def _merge_base(repo: Repo, base: str, head_repo: Repo, head_sha: str) -> str:
        base_history = set(repo.history(repo.branches[base]))
        return next((sha for sha in head_repo.history(head_sha) if sha in base_history), repo.branches[base])

    def _pr_commits(self, pr: PullRequest) -> list[str]:
        merge_base = self._merge_base(pr.repo, pr.base_branch, pr.head_repo, pr.head_sha)
        pr.base_sha = merge_base
        shas = []
        for sha in pr.head_repo.history(pr.head_sha):
            if sha == merge_base:
                break
            shas.append(sha)
        return list(reversed(shas))

    # ---- deliveries -------------------------------------------------------------------------------------

    def _installation(self, repo: Repo) -> Installation | None:
        return self.state.installations.get(repo.installation_id) if repo.installation_id else None

    async def deliver(self, event: str, payload: JSONDict) -> Delivery:
        """Sign and POST `payload` as `event` to the webhook URL (recorded only when there is no URL)."""
        delivery = build_delivery(event, payload, self.webhook_secret, self.app_id)
        self.deliveries.append(delivery)
        await self._send(delivery, redelivery=False)
        return delivery

    async def redeliver(self, delivery: Delivery) -> Delivery:
        """Send a delivery again with the same GUID, as GitHub's redelivery does."""
        again = build_delivery(
            delivery.event, copy.deepcopy(delivery.payload), self.webhook_secret, self.app_id, guid=delivery.guid
        )
        self.deliveries.append(again)
        await self._send(again, redelivery=True)
        return again

    def _redeliver_later(self, record: HookDelivery) -> None:
        """`POST /app/hook/deliveries/{id}/attempts`: GitHub answers 202 and sends the delivery again soon after."""
        original = next(d for d in self.deliveries if d.guid == record.guid)
        task = asyncio.get_running_loop().create_task(self.redeliver(original))
        self._redeliveries.add(task)
        task.add_done_callback(self._redeliveries.discard)

    async def settle_redeliveries(self) -> None:
        """Wait until the redeliveries the App asked for have been sent."""
        while self._redeliveries:
            await asyncio.gather(*self._redeliveries)

    async def _send(self, delivery: Delivery, *, redelivery: bool) -> None:
        started = time.monotonic()
        if self.webhook_url is None:
            status = "failed to connect to host"
        else:
            if self._session is None:
                self._session = aiohttp.ClientSession()
            status = await send(self._session, self.webhook_url, delivery)
        installation, repository = delivery.payload.get("installation"), delivery.payload.get("repository")
        record = HookDelivery(
            id=self.state.ids.next("hook_delivery", 7_000_000_001),
            guid=delivery.guid,
            event=delivery.event,
            action=delivery.action,
            installation_id=installation.get("id") if isinstance(installation, dict) else None,
            repository_id=repository.get("id") if isinstance(repository, dict) else None,
            delivered_at=utcnow(),
            redelivery=redelivery,
            duration=time.monotonic() - started,
            status_code=delivery.status_code or 0,
            status=status,
        )
        self.state.hook_deliveries.append(record)
        delivery.id = record.id

    async def deliver_pull_request(
        self, pr: PullRequest, action: str, before: str | None = None, sender: str | None = None
    ) -> Delivery:
        payload = PayloadBuilder(self.render).pull_request(
            pr, action, self._installation(pr.repo), sender or pr.user, before
        )
        return await self.deliver("pull_request", payload)

    async def deliver_workflow_run(self, run: WorkflowRun, action: str = "completed") -> Delivery:
        payload = PayloadBuilder(self.render).workflow_run(run, action, self._installation(run.repo))
        return await self.deliver("workflow_run", payload)

    async def deliver_workflow_jobs(self, run: WorkflowRun, *, only: Collection[str] = ()) -> list[Delivery]:
        """`workflow_job` `completed` for each job that ran in the run's latest attempt, as GitHub sends them when
        the jobs finish (jobs a partial re-run kept from an earlier attempt were delivered back then); `only`:
        just the jobs of these names (the others' webhooks are late)."""
        builder = PayloadBuilder(self.render)
        latest, installation = run.latest, self._installation(run.repo)
        return [
            await self.deliver("workflow_job", builder.workflow_job(run, job, "completed", installation))
            for job in latest.jobs
            if job.run_attempt == latest.number and job.status == "completed" and (not only or job.name in only)
        ]

    async def deliver_check_run(
        self, check: CheckRun, action: str, sender: str = "octocat", requested_action: str | None = None
    ) -> Delivery:
        payload = PayloadBuilder(self.render).check_run(
            check, action, self._installation(check.repo), sender, requested_action
        )
        return await self.deliver("check_run", payload)

    async def add_issue_comment(self, pr: PullRequest, body: str, user: str = "octocat") -> IssueComment:
        """A user comments on a PR; delivers `issue_comment.created`."""
        now = utcnow()
        comment = IssueComment(self.state.ids.next("comment", 60_000_001), pr.repo, pr.number, body, user, now, now)
        self.state.comments[comment.id] = comment
        payload = PayloadBuilder(self.render).issue_comment(comment, pr, self._installation(pr.repo))
        await self.deliver("issue_comment", payload)
        return comment

    async def deliver_installation_created(self, installation: Installation, sender: str = "octocat") -> Delivery:
        payload = PayloadBuilder(self.render).installation_created(
            installation, self.state.repos_of(installation.id), sender
        )
        return await self.deliver("installation", payload)

    async def deliver_ping(self, installation: Installation | None = None) -> Delivery:
        return await self.deliver("ping", PayloadBuilder(self.render).ping(self.app_id, installation, "octocat"))

    # ---- inspection -------------------------------------------------------------------------------------

    def pull_request(self, repo: Repo, number: int) -> PullRequest:
        return self.state.pulls[(repo.full_name, number)]

    def issue_comments(self, repo: Repo, number: int) -> list[IssueComment]:
        return [c for c in self.state.comments.values() if c.repo is repo and c.issue_number == number]

    def issues(self, repo: Repo) -> list[Issue]:
        """The repository's issues (pull requests aside), oldest first."""
        return sorted((i for i in self.state.issues.values() if i.repo is repo), key=lambda issue: issue.number)

    def close_issue(self, issue: Issue, reason: str = "completed") -> None:
        """A user closes an issue (no webhook: the App does not subscribe to `issues`)."""
        issue.state, issue.state_reason, issue.closed_at = "closed", reason, utcnow()
        issue.updated_at = issue.closed_at

    def check_runs_for(self, repo: Repo, sha: str) -> list[CheckRun]:
        return [c for c in self.state.check_runs.values() if c.repo is repo and c.head_sha == sha]

    def reviews(self, repo: Repo, number: int) -> list[Review]:
        return [r for r in self.state.reviews.values() if r.repo is repo and r.pull_number == number]

    def runs(self, repo: Repo) -> list[WorkflowRun]:
        return [r for r in self.state.runs.values() if r.repo is repo]

    def _expire_tokens(self) -> None:
        for token in self.state.tokens.values():
            token.revoked = True


def new_app_private_key() -> str:
    """A fresh RSA private key (PEM) for an App registered with the simulator, as GitHub generates one."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _bytes(pem: str | bytes) -> bytes:
    return pem.encode() if isinstance(pem, str) else pem


def _spec_of(job: Job) -> JobSpec:
    """A job played again as it ran: same queue time and duration, passing."""
    duration = (job.completed_at - job.started_at).total_seconds() if job.completed_at and job.started_at else 60.0
    queue = (job.started_at - job.created_at).total_seconds() if job.started_at else 5.0
    return JobSpec(job.name, duration=duration, queue=queue, labels=tuple(job.labels))
