"""Every REST call the App makes on a repository, one named method each: URL templates and encoding in one place.

Paths, branches and names come from pull requests and are untrusted. Each file path is encoded
segment by segment here (`#`, `?`, `%` and the rest), so a file named `a%2Fb.yml` is read as that
file and never as `a/b.yml`; every other variable is expanded by gidgethub with full encoding.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

JSON = dict[str, Any]


def repo_vars(full_name: str, **more: str) -> dict[str, str]:
    """URL variables for `/repos/{owner}/{repo}/...` from a repository's full name."""
    owner, _, name = full_name.partition("/")
    return {"owner": owner, "repo": name, **more}


def encoded_path(path: str) -> str:
    """A repository path for a `{+path}` URL variable: each segment percent-encoded, `/` kept between them."""
    return "/".join(quote(segment, safe="") for segment in path.split("/"))


class RepoAPI:
    """The GitHub REST calls on one repository, through one client (`gh`, a gidgethub `GitHubAPI`)."""

    def __init__(self, gh: Any, full_name: str) -> None:
        self.gh = gh
        self.full_name = full_name

    def _vars(self, **more: str) -> dict[str, str]:
        return repo_vars(self.full_name, **more)

    async def repository(self) -> JSON:
        return await self.gh.getitem("/repos/{owner}/{repo}", url_vars=self._vars())

    # Contents
    async def contents(self, path: str, ref: str | None) -> Any:
        """`GET /repos/{owner}/{repo}/contents/{path}`: a file's JSON, or a directory's listing."""
        url_vars = self._vars(path=encoded_path(path))
        if ref is not None:
            url_vars["ref"] = ref
        return await self.gh.getitem("/repos/{owner}/{repo}/contents/{+path}{?ref}", url_vars=url_vars)

    # Pull requests
    async def pull(self, number: int) -> JSON:
        return await self.gh.getitem("/repos/{owner}/{repo}/pulls/{number}", url_vars=self._vars(number=str(number)))

    def pull_files(self, number: int) -> AsyncIterator[JSON]:
        url = "/repos/{owner}/{repo}/pulls/{number}/files{?per_page}"
        return self.gh.getiter(url, url_vars=self._vars(number=str(number), per_page="100"))

    async def pulls_for_commit(self, sha: str) -> list[JSON]:
        return await self.gh.getitem("/repos/{owner}/{repo}/commits/{sha}/pulls", url_vars=self._vars(sha=sha))

    async def open_pulls_from(self, head: str) -> list[JSON]:
        """Open pull requests whose head is `owner:branch`."""
        url = "/repos/{owner}/{repo}/pulls{?head,state}"
        return await self.gh.getitem(url, url_vars=self._vars(head=head, state="open"))

    def review_comments(self, number: int) -> AsyncIterator[JSON]:
        url = "/repos/{owner}/{repo}/pulls/{number}/comments{?per_page}"
        return self.gh.getiter(url, url_vars=self._vars(number=str(number), per_page="100"))

    async def create_review(self, number: int, review: JSON) -> JSON:
        url = "/repos/{owner}/{repo}/pulls/{number}/reviews"
        return await self.gh.post(url, url_vars=self._vars(number=str(number)), data=review)

    # Issue comments
    def issue_comments(self, number: int) -> AsyncIterator[JSON]:
        url = "/repos/{owner}/{repo}/issues/{number}/comments{?per_page}"
        return self.gh.getiter(url, url_vars=self._vars(number=str(number), per_page="100"))

    async def create_issue_comment(self, number: int, body: str) -> JSON:
        url = "/repos/{owner}/{repo}/issues/{number}/comments"
        return await self.gh.post(url, url_vars=self._vars(number=str(number)), data={"body": body})

    async def update_issue_comment(self, comment_id: int, body: str) -> JSON:
        url = "/repos/{owner}/{repo}/issues/comments/{comment_id}"
        return await self.gh.patch(url, url_vars=self._vars(comment_id=str(comment_id)), data={"body": body})

    async def add_reaction(self, comment_id: int, content: str) -> JSON:
        """React to an issue or pull-request comment (`eyes`, `rocket`, `confused`, …)."""
        url = "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"
        return await self.gh.post(url, url_vars=self._vars(comment_id=str(comment_id)), data={"content": content})

    async def collaborator_permission(self, username: str) -> JSON:
        """A user's permission on the repository: `{"permission": "admin"|"write"|"read"|"none", "role_name", …}`."""
        url = "/repos/{owner}/{repo}/collaborators/{username}/permission"
        return await self.gh.getitem(url, url_vars=self._vars(username=username))

    # Issues and labels
    def issues_with_label(self, label: str, *, state: str = "all") -> AsyncIterator[JSON]:
        """Issues (and pull requests) carrying `label`, newest first."""
        url = "/repos/{owner}/{repo}/issues{?labels,state,per_page}"
        return self.gh.getiter(url, url_vars=self._vars(labels=label, state=state, per_page="100"))

    async def create_issue(self, title: str, body: str, labels: list[str]) -> JSON:
        url = "/repos/{owner}/{repo}/issues"
        return await self.gh.post(url, url_vars=self._vars(), data={"title": title, "body": body, "labels": labels})

    async def update_issue(self, number: int, fields: JSON) -> JSON:
        """`PATCH` an issue: any of title, body, state, state_reason, labels."""
        url = "/repos/{owner}/{repo}/issues/{number}"
        return await self.gh.patch(url, url_vars=self._vars(number=str(number)), data=fields)

    async def label(self, name: str) -> JSON:
        return await self.gh.getitem("/repos/{owner}/{repo}/labels/{name}", url_vars=self._vars(name=name))

    async def create_label(self, name: str, color: str, description: str) -> JSON:
        data = {"name": name, "color": color, "description": description}
        return await self.gh.post("/repos/{owner}/{repo}/labels", url_vars=self._vars(), data=data)

    # Check runs
    async def check_runs_for_ref(self, ref: str, name: str, app_id: int) -> list[JSON]:
        url = "/repos/{owner}/{repo}/commits/{ref}/check-runs{?check_name,app_id,filter}"
        url_vars = self._vars(ref=ref, check_name=name, app_id=str(app_id), filter="latest")
        found = await self.gh.getitem(url, url_vars=url_vars)
        return list(found.get("check_runs") or [])

    async def create_check_run(self, check_run: JSON) -> JSON:
        return await self.gh.post("/repos/{owner}/{repo}/check-runs", url_vars=self._vars(), data=check_run)

    async def update_check_run(self, check_run_id: int, check_run: JSON) -> JSON:
        url = "/repos/{owner}/{repo}/check-runs/{check_run_id}"
        return await self.gh.patch(url, url_vars=self._vars(check_run_id=str(check_run_id)), data=check_run)

    def check_run_annotations(self, check_run_id: int) -> AsyncIterator[JSON]:
        url = "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations{?per_page}"
        return self.gh.getiter(url, url_vars=self._vars(check_run_id=str(check_run_id), per_page="100"))

    # Actions
    async def workflow(self, workflow_id: int | str) -> JSON:
        """A workflow by id or by file name (`ci.yml`)."""
        url = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}"
        return await self.gh.getitem(url, url_vars=self._vars(workflow_id=str(workflow_id)))

    async def workflow_runs(
        self, workflow_id: int, *, branch: str, status: str, per_page: int, event: str | None = None
    ) -> list[JSON]:
        """The newest runs of a workflow on a branch (one page)."""
        url_vars = self._vars(workflow_id=str(workflow_id), branch=branch, status=status, per_page=str(per_page))
        if event is not None:
            url_vars["event"] = event
        url = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs{?branch,event,status,per_page}"
        page = await self.gh.getitem(url, url_vars=url_vars)
        return list(page.get("workflow_runs") or [])

    async def repository_runs(self, *, branch: str, status: str, per_page: int, created: str) -> list[JSON]:
        """The newest runs of every workflow on a branch, created in a range (`2026-10-01T00:00:00Z..*`), one page."""
        url = "/repos/{owner}/{repo}/actions/runs{?branch,status,created,per_page}"
        url_vars = self._vars(branch=branch, status=status, created=created, per_page=str(per_page))
        page = await self.gh.getitem(url, url_vars=url_vars)
        return list(page.get("workflow_runs") or [])

    async def installation(self) -> JSON:
        """The App's installation on this repository (App JWT)."""
        return await self.gh.getitem("/repos/{owner}/{repo}/installation", url_vars=self._vars())

    async def dispatched_runs(self, workflow: str, per_page: int = 50) -> list[JSON]:
        """The newest `workflow_dispatch` runs of a workflow (one page), to find a run by the token in its name."""
        url = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs{?event,per_page}"
        url_vars = self._vars(workflow_id=workflow, event="workflow_dispatch", per_page=str(per_page))
        page = await self.gh.getitem(url, url_vars=url_vars)
        return list(page.get("workflow_runs") or [])

    async def run(self, run_id: int) -> JSON:
        """A workflow run (its latest attempt)."""
        return await self.gh.getitem(
            "/repos/{owner}/{repo}/actions/runs/{run_id}", url_vars=self._vars(run_id=str(run_id))
        )

    async def run_attempt(self, run_id: int, attempt: int) -> JSON:
        url = "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt}"
        return await self.gh.getitem(url, url_vars=self._vars(run_id=str(run_id), attempt=str(attempt)))

    async def dispatch_workflow(self, workflow: str, ref: str, inputs: dict[str, str]) -> JSON | None:
        """Start a `workflow_dispatch` run; GitHub answers the run's id and URLs (200), or nothing (204) where it
        does not support `return_run_details`."""
        url = "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
        data = {"ref": ref, "inputs": inputs, "return_run_details": True}
        answer = await self.gh.post(url, url_vars=self._vars(workflow_id=workflow), data=data)
        return answer if isinstance(answer, dict) else None

    async def cancel_run(self, run_id: int) -> None:
        url = "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel"
        await self.gh.post(url, url_vars=self._vars(run_id=str(run_id)), data={})

    async def rerun_job(self, job_id: int) -> None:
        """Re-run one job (and the jobs that need it): a new attempt of its run. Needs `actions: write`."""
        url = "/repos/{owner}/{repo}/actions/jobs/{job_id}/rerun"
        await self.gh.post(url, url_vars=self._vars(job_id=str(job_id)), data={})

    async def rerun_run(self, run_id: int) -> None:
        """Re-run a whole workflow run: a new attempt. Needs `actions: write`."""
        url = "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun"
        await self.gh.post(url, url_vars=self._vars(run_id=str(run_id)), data={})

    async def attempt_jobs(self, run_id: int, attempt: int) -> list[JSON]:
        """The jobs (with steps) of one attempt of a run."""
        url = "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt}/jobs{?per_page}"
        url_vars = self._vars(run_id=str(run_id), attempt=str(attempt), per_page="100")
        return [job async for job in self.gh.getiter(url, url_vars=url_vars, iterable_key="jobs")]


class AppAPI:
    """The REST calls made as the App itself (`gh` authenticates with the App's JWT)."""

    def __init__(self, gh: Any) -> None:
        self.gh = gh

    def installations(self) -> AsyncIterator[JSON]:
        return self.gh.getiter("/app/installations{?per_page}", url_vars={"per_page": "100"})

    def hook_deliveries(self) -> AsyncIterator[JSON]:
        """GitHub's record of the deliveries to the App's webhook, newest first."""
        return self.gh.getiter("/app/hook/deliveries{?per_page}", url_vars={"per_page": "100"})

    async def redeliver(self, hook_delivery_id: int) -> None:
        """Ask GitHub to send a delivery again (same GUID); GitHub answers 202 and sends it soon after."""
        url = "/app/hook/deliveries/{delivery_id}/attempts"
        await self.gh.post(url, url_vars={"delivery_id": str(hook_delivery_id)}, data={})


class InstallationAPI:
    """The REST calls about an installation as a whole (`gh` is the installation's client)."""

    def __init__(self, gh: Any) -> None:
        self.gh = gh

    def repositories(self) -> AsyncIterator[JSON]:
        url = "/installation/repositories{?per_page}"
        return self.gh.getiter(url, url_vars={"per_page": "100"}, iterable_key="repositories")

    async def hourly_limit(self) -> int:
        """The installation's REST API limit per hour (`GET /rate_limit`, which does not count against it)."""
        answer = await self.gh.getitem("/rate_limit")
        return int(answer["resources"]["core"]["limit"])
