"""Webhook deliveries of the simulated GitHub: bodies from official examples, GitHub's headers and signatures."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

import aiohttp

from bot.testing.simulator.render import JSONDict, Renderer, iso, node_id, template
from bot.testing.simulator.state import CheckRun, Installation, IssueComment, Job, PullRequest, Repo, WorkflowRun

HOOKSHOT_VERSION = "a1b2c3d"


@dataclass
class Delivery:
    """One webhook delivery: what was sent and how the App answered (None when nothing could be sent)."""

    guid: str
    event: str
    action: str | None
    payload: JSONDict
    headers: dict[str, str]
    body: bytes
    status_code: int | None = None
    response_text: str = ""
    id: int = 0  # GitHub's id of the delivery record, once sent


def signature_headers(body: bytes, secret: str) -> dict[str, str]:
    """`X-Hub-Signature-256` (HMAC-SHA256) and the legacy `X-Hub-Signature` (HMAC-SHA1) of a raw body."""
    key = secret.encode()
    return {
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
        "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
    }


def build_delivery(event: str, payload: JSONDict, secret: str, app_id: int, guid: str | None = None) -> Delivery:
    """Serialize and sign a payload with the headers GitHub sends to an App's webhook URL."""
    body = json.dumps(payload).encode()
    guid = guid or str(uuid.uuid4())
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": guid,
        "Content-Type": "application/json",
        "User-Agent": f"GitHub-Hookshot/{HOOKSHOT_VERSION}",
        "X-GitHub-Hook-ID": "1",
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        "X-GitHub-Hook-Installation-Target-ID": str(app_id),
        **signature_headers(body, secret),
    }
    return Delivery(guid, event, payload.get("action"), payload, headers, body)


async def send(session: aiohttp.ClientSession, url: str, delivery: Delivery, timeout: float = 10.0) -> str:
    """POST a delivery and record the App's status code; GitHub gives up after 10 seconds. Returns GitHub's words
    for the outcome (the `status` of its delivery record)."""
    try:
        async with session.post(
            url, data=delivery.body, headers=delivery.headers, timeout=aiohttp.ClientTimeout(total=timeout)
        ) as response:
            delivery.status_code = response.status
            delivery.response_text = await response.text()
    except TimeoutError:
        delivery.status_code, delivery.response_text = None, "timed out"
        return "timed out"
    except aiohttp.ClientError as error:
        delivery.status_code = None
        delivery.response_text = f"{type(error).__name__}: {error}"
        return "failed to connect to host"
    return "OK" if 200 <= delivery.status_code < 300 else f"Invalid HTTP Response: {delivery.status_code}"


class PayloadBuilder:
    """Builds event bodies from the stored official examples, with every object overwritten from state."""

    def __init__(self, render: Renderer) -> None:
        self.render = render

    def _envelope(self, name: str, repo: Repo | None, sender: str, installation: Installation | None) -> JSONDict:
        body = template(name)
        body.pop("organization", None)
        body.pop("enterprise", None)
        if repo is not None:
            body["repository"] = self.render.repository(repo)
            owner = body["repository"]["owner"]
            if owner["type"] == "Organization":
                body["organization"] = {
                    key: owner[key]
                    for key in ("login", "id", "node_id", "url", "repos_url", "events_url", "avatar_url")
                } | {
                    "hooks_url": f"{owner['url']}/hooks",
                    "issues_url": f"{owner['url']}/issues",
                    "members_url": f"{owner['url']}/members{{/member}}",
                    "public_members_url": f"{owner['url']}/public_members{{/member}}",
                    "description": None,
                }
        body["sender"] = self.render.user(sender, "Bot" if sender.endswith("[bot]") else "User")
        if installation is not None:
            body["installation"] = {"id": installation.id, "node_id": node_id("Installation", installation.id)}
        else:
            body.pop("installation", None)
        return body

    def push(
        self, repo: Repo, installation: Installation | None, branch: str, before: str, after: str, pusher: str
    ) -> JSONDict:
        body = self._envelope("push", repo, pusher, installation)
        known = (
            set(repo.history(before))
            if before in repo.commits
            else {sha for other, tip in repo.branches.items() if other != branch for sha in repo.history(tip)}
        )
        shas = []
        for sha in repo.history(after):
            if sha in known:
                break
            shas.append(sha)
        commits = [self._commit(repo, sha) for sha in reversed(shas)]
        body.update(
            ref=f"refs/heads/{branch}",
            before=before,
            after=after,
            created=before == "0" * 40,
            deleted=False,
            forced=False,
            base_ref=None,
            compare=f"https://github.com/{repo.full_name}/compare/{before[:12]}...{after[:12]}",
            commits=commits,
            head_commit=commits[-1] if commits else None,
            pusher={"name": pusher, "email": f"{pusher}@users.noreply.github.com"},
        )
        return body

    def _commit(self, repo: Repo, sha: str) -> JSONDict:
        commit = repo.commits[sha]
        parent_tree = repo.commits[commit.parent].tree if commit.parent else {}
        person = {
            "name": commit.author,
            "email": f"{commit.author}@users.noreply.github.com",
            "username": commit.author,
        }
        return {
            "id": sha,
            "tree_id": self.render.head_commit(repo, sha)["tree_id"],
            "distinct": True,
            "message": commit.message,
            "timestamp": iso(commit.timestamp),
            "url": f"https://github.com/{repo.full_name}/commit/{sha}",
            "author": person,
            "committer": person,
            "added": sorted(commit.tree.keys() - parent_tree.keys()),
            "removed": sorted(parent_tree.keys() - commit.tree.keys()),
            "modified": sorted(p for p in commit.tree.keys() & parent_tree.keys() if commit.tree[p] != parent_tree[p]),
        }

    def pull_request(
        self, pr: PullRequest, action: str, installation: Installation | None, sender: str, before: str | None = None
    ) -> JSONDict:
        body = self._envelope(f"pull_request.{action}", pr.repo, sender, installation)
        body.update(action=action, number=pr.number, pull_request=self.render.pull_request(pr))
        if action == "synchronize":
            body.update(before=before, after=pr.head_sha)
        return body

    def workflow_run(self, run: WorkflowRun, action: str, installation: Installation | None) -> JSONDict:
        name = "workflow_run.requested" if action == "requested" else "workflow_run.completed"
        body = self._envelope(name, run.repo, run.latest.triggering_actor, installation)
        body.update(
            action=action, workflow=self.render.workflow(run.workflow), workflow_run=self.render.workflow_run(run)
        )
        return body

    def workflow_job(self, run: WorkflowRun, job: Job, action: str, installation: Installation | None) -> JSONDict:
        body = self._envelope(f"workflow_job.{action}", run.repo, run.latest.triggering_actor, installation)
        body.pop("deployment", None)
        body.update(action=action, workflow_job=self.render.job(run, job))
        return body

    def check_run(
        self,
        check: CheckRun,
        action: str,
        installation: Installation | None,
        sender: str,
        requested_action: str | None = None,
    ) -> JSONDict:
        body = self._envelope(f"check_run.{action}", check.repo, sender, installation)
        rendered = self.render.check_run(check)
        rendered["check_suite"] = {
            "id": check.id + 9_000_000,
            "head_sha": check.head_sha,
            "head_branch": next((b for b, s in check.repo.branches.items() if s == check.head_sha), None),
            "status": check.status,
            "conclusion": check.conclusion,
            "app": rendered["app"],
            "pull_requests": rendered["pull_requests"],
        }
        body.update(action=action, check_run=rendered)
        if action == "requested_action":
            body["requested_action"] = {"identifier": requested_action or ""}
        else:
            body.pop("requested_action", None)
        return body

    def issue_comment(self, comment: IssueComment, pr: PullRequest, installation: Installation | None) -> JSONDict:
        body = self._envelope("issue_comment.created", comment.repo, comment.user, installation)
        pull = self.render.pull_request(pr, full=False)
        issue = body["issue"]
        issue.update(
            url=pull["issue_url"],
            repository_url=self.render.repository(comment.repo)["url"],
            comments_url=pull["comments_url"],
            html_url=pull["html_url"],
            id=pr.id,
            node_id=node_id("Issue", pr.id),
            number=pr.number,
            title=pr.title,
            user=self.render.user(pr.user),
            state=pr.state,
            body=pr.body,
            labels=[],
            assignee=None,
            assignees=[],
            milestone=None,
            pull_request={
                "url": pull["url"],
                "html_url": pull["html_url"],
                "diff_url": pull["diff_url"],
                "patch_url": pull["patch_url"],
                "merged_at": None,
            },
            created_at=pull["created_at"],
            updated_at=pull["updated_at"],
            closed_at=pull["closed_at"],
        )
        body.update(action="created", comment=self.render.issue_comment(comment))
        return body

    def installation_created(self, installation: Installation, repos: list[Repo], sender: str) -> JSONDict:
        body = self._envelope("installation.created", None, sender, None)
        body["installation"] = self.render.installation_object(installation)
        body["repositories"] = [
            {
                "id": r.id,
                "node_id": node_id("Repository", r.id),
                "name": r.name,
                "full_name": r.full_name,
                "private": r.private,
            }
            for r in repos
        ]
        return body

    def ping(self, app_id: int, installation: Installation | None, sender: str) -> JSONDict:
        body = self._envelope("ping", None, sender, installation)
        body.pop("repository", None)
        body["hook"]["app_id"] = app_id
        return body
