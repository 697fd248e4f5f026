"""JSON representations of simulator state, shaped like GitHub's REST responses (official examples as templates)."""

from __future__ import annotations

import base64
import copy
import json
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from bot.testing.simulator.state import (
    Annotation,
    CheckRun,
    FileChange,
    Installation,
    Issue,
    IssueComment,
    Job,
    Label,
    PullRequest,
    Reaction,
    Repo,
    Review,
    ReviewComment,
    RunAttempt,
    SimState,
    Workflow,
    WorkflowRun,
    git_blob_sha,
)

WEB = "https://github.com"
APP_SLUG = "ci-orchestrator"
APP_HOMEPAGE = f"{WEB}/apps/{APP_SLUG}"
JSONDict = dict[str, Any]


@cache
def _template(name: str) -> JSONDict:
    text = resources.files("bot.testing.simulator.payloads").joinpath(f"{name}.json").read_text()
    return json.loads(text)


def template(name: str) -> JSONDict:
    """A fresh copy of a stored example body, e.g. `rest.job` or `pull_request.opened`."""
    return copy.deepcopy(_template(name))


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def _rewrite(value: Any, replacements: list[tuple[str, str]]) -> Any:
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {key: _rewrite(item, replacements) for key, item in value.items()}
    if isinstance(value, list):
        return [_rewrite(item, replacements) for item in value]
    return value


class Renderer:
    """Turns state objects into GitHub-shaped dicts whose API URLs point at the simulator's `api` root."""

    def __init__(self, state: SimState, api: str) -> None:
        self.state = state
        self.api = api.rstrip("/")

    def user(self, login: str, kind: str = "User") -> JSONDict:
        api_user = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": self.state.user_id(login),
            "node_id": node_id("User", self.state.user_id(login)),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{self.state.user_id(login)}?v=4",
            "gravatar_id": "",
            "url": api_user,
            "html_url": f"{WEB}/{login}",
            "followers_url": f"{api_user}/followers",
            "following_url": f"{api_user}/following{{/other_user}}",
            "gists_url": f"{api_user}/gists{{/gist_id}}",
            "starred_url": f"{api_user}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api_user}/subscriptions",
            "organizations_url": f"{api_user}/orgs",
            "repos_url": f"{api_user}/repos",
            "events_url": f"{api_user}/events{{/privacy}}",
            "received_events_url": f"{api_user}/received_events",
            "type": kind,
            "site_admin": False,
            "user_view_type": "public",
        }

    def owner(self, repo: Repo) -> JSONDict:
        installation = self.state.installations.get(repo.installation_id or -1)
        if installation is not None and installation.account == repo.owner:
            return self.user(repo.owner, installation.account_type)
        return self.user(repo.owner)

    def repository(self, repo: Repo) -> JSONDict:
        body = _rewrite(
            template("rest.full-repository"),
            [
                ("https://api.github.com/repos/octocat/Hello-World", f"{self.api}/repos/{repo.full_name}"),
                ("http://api.github.com/repos/octocat/Hello-World", f"{self.api}/repos/{repo.full_name}"),
                ("octocat/Hello-World", repo.full_name),
                ("Hello-World", repo.name),
            ],
        )
        for key in ("template_repository", "organization", "source", "parent", "security_and_analysis"):
            body.pop(key, None)
        body.update(
            id=repo.id,
            node_id=node_id("Repository", repo.id),
            name=repo.name,
            full_name=repo.full_name,
            owner=self.owner(repo),
            private=repo.private,
            visibility="private" if repo.private else "public",
            fork=repo.parent is not None,
            default_branch=repo.default_branch,
            description=None,
            homepage=None,
            language="Python",
            created_at=iso(repo.created_at),
            pushed_at=iso(max(c.timestamp for c in repo.commits.values()) if repo.commits else repo.created_at),
            updated_at=iso(repo.created_at),
            permissions={"admin": False, "maintain": False, "push": False, "triage": False, "pull": True},
            license=None,
            topics=[],
            has_discussions=False,
        )
        if repo.parent is not None:
            body["parent"] = self.minimal_repository(repo.parent)
            body["source"] = self.minimal_repository(repo.parent)
        return body

    def minimal_repository(self, repo: Repo) -> JSONDict:
        full = self.repository(repo)
        keep = [
            "id",
            "node_id",
            "name",
            "full_name",
            "owner",
            "private",
            "html_url",
            "description",
            "fork",
            "url",
            "archive_url",
            "assignees_url",
            "blobs_url",
            "branches_url",
            "collaborators_url",
            "comments_url",
            "commits_url",
            "compare_url",
            "contents_url",
            "contributors_url",
            "deployments_url",
            "downloads_url",
            "events_url",
            "forks_url",
            "git_commits_url",
            "git_refs_url",
            "git_tags_url",
            "git_url",
            "hooks_url",
            "issue_comment_url",
            "issue_events_url",
            "issues_url",
            "keys_url",
            "labels_url",
            "languages_url",
            "merges_url",
            "milestones_url",
            "notifications_url",
            "pulls_url",
            "releases_url",
            "ssh_url",
            "stargazers_url",
            "statuses_url",
            "subscribers_url",
            "subscription_url",
            "tags_url",
            "teams_url",
            "trees_url",
            "clone_url",
            "default_branch",
            "visibility",
            "created_at",
            "updated_at",
            "pushed_at",
        ]
        return {key: full[key] for key in keep if key in full}

    def content_file(self, repo: Repo, path: str, text: str, ref: str) -> JSONDict:
        sha = git_blob_sha(text)
        api_url = f"{self.api}/repos/{repo.full_name}/contents/{path}?ref={ref}"
        git_url = f"{self.api}/repos/{repo.full_name}/git/blobs/{sha}"
        html_url = f"{WEB}/{repo.full_name}/blob/{ref}/{path}"
        encoded = base64.encodebytes(text.encode()).decode()
        return {
            "type": "file",
            "encoding": "base64",
            "size": len(text.encode()),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": encoded,
            "sha": sha,
            "url": api_url,
            "git_url": git_url,
            "html_url": html_url,
            "download_url": f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}",
            "_links": {"git": git_url, "self": api_url, "html": html_url},
        }

    def content_directory(self, repo: Repo, path: str, tree: dict[str, str], ref: str) -> list[JSONDict]:
        prefix = f"{path}/" if path else ""
        entries: dict[str, str] = {}
        for file_path in tree:
            if file_path.startswith(prefix):
                first, _, rest = file_path[len(prefix) :].partition("/")
                entries[first] = "dir" if rest else "file"
        listing = []
        for name, kind in sorted(entries.items()):
            entry = self.content_file(repo, prefix + name, tree.get(prefix + name, ""), ref)
            entry.pop("content")
            entry.pop("encoding")
            entry["type"] = kind
            if kind == "dir":
                entry.update(size=0, download_url=None, sha=git_blob_sha(prefix + name))
            listing.append(entry)
        return listing

    def workflow(self, workflow: Workflow) -> JSONDict:
        repo = workflow.repo.full_name
        return {
            "id": workflow.id,
            "node_id": node_id("Workflow", workflow.id),
            "name": workflow.name,
            "path": workflow.path,
            "state": workflow.state,
            "created_at": iso(workflow.created_at),
            "updated_at": iso(workflow.created_at),
            "url": f"{self.api}/repos/{repo}/actions/workflows/{workflow.id}",
            "html_url": f"{WEB}/{repo}/blob/{workflow.repo.default_branch}/{workflow.path}",
            "badge_url": f"{WEB}/{repo}/workflows/{workflow.name}/badge.svg",
        }

    def pull_request_ref(self, pr: PullRequest) -> JSONDict:
        """The short PR object inside `workflow_run.pull_requests` and `check_run.pull_requests`."""
        return {
            "id": pr.id,
            "number": pr.number,
            "url": f"{self.api}/repos/{pr.repo.full_name}/pulls/{pr.number}",
            "head": {"ref": pr.head_branch, "sha": pr.head_sha, "repo": self._repo_ref(pr.head_repo)},
            "base": {"ref": pr.base_branch, "sha": pr.repo.branches[pr.base_branch], "repo": self._repo_ref(pr.repo)},
        }

    def _repo_ref(self, repo: Repo) -> JSONDict:
        return {"id": repo.id, "url": f"{self.api}/repos/{repo.full_name}", "name": repo.name}

    def head_commit(self, repo: Repo, sha: str) -> JSONDict:
        commit = repo.commits[sha]
        person = {"name": commit.author, "email": f"{commit.author}@users.noreply.github.com"}
        return {
            "id": commit.sha,
            "tree_id": git_blob_sha(repr(sorted(commit.tree.items()))),
            "message": commit.message,
            "timestamp": iso(commit.timestamp),
            "author": person,
            "committer": person,
        }

    def workflow_run(self, run: WorkflowRun, attempt: RunAttempt | None = None) -> JSONDict:
        attempt = attempt or run.latest
        base = f"{self.api}/repos/{run.repo.full_name}/actions/runs/{run.id}"
        pulls = [
            self.pull_request_ref(pr)
            for pr in self.state.pulls_matching(run.repo, run.head_repo, run.head_sha, run.head_branch)
        ]
        body = template("rest.workflow-run")
        body.pop("referenced_workflows", None)
        body.update(
            id=run.id,
            name=run.workflow.name,
            node_id=node_id("WorkflowRun", run.id),
            check_suite_id=run.id + 7_000_000,
            check_suite_node_id=node_id("CheckSuite", run.id + 7_000_000),
            head_branch=run.head_branch,
            head_sha=run.head_sha,
            path=run.workflow.path,
            run_number=run.run_number,
            event=run.event,
            display_title=run.display_title,
            status=attempt.status,
            conclusion=attempt.conclusion,
            workflow_id=run.workflow.id,
            url=base,
            html_url=f"{WEB}/{run.repo.full_name}/actions/runs/{run.id}",
            pull_requests=pulls,
            created_at=iso(run.created_at),
            updated_at=iso(attempt.updated_at),
            actor=self.user(run.actor),
            run_attempt=attempt.number,
            run_started_at=iso(attempt.run_started_at),
            triggering_actor=self.user(attempt.triggering_actor),
            jobs_url=f"{base}/jobs",
            logs_url=f"{base}/logs",
            check_suite_url=f"{self.api}/repos/{run.repo.full_name}/check-suites/{run.id + 7_000_000}",
            artifacts_url=f"{base}/artifacts",
            cancel_url=f"{base}/cancel",
            rerun_url=f"{base}/rerun",
            previous_attempt_url=f"{base}/attempts/{attempt.number - 1}" if attempt.number > 1 else None,
            workflow_url=f"{self.api}/repos/{run.repo.full_name}/actions/workflows/{run.workflow.id}",
            head_commit=self.head_commit(run.head_repo, run.head_sha),
            repository=self.minimal_repository(run.repo),
            head_repository=self.minimal_repository(run.head_repo),
        )
        return body

    def job(self, run: WorkflowRun, job: Job) -> JSONDict:
        repo = run.repo.full_name
        body = template("rest.job")
        body.update(
            id=job.id,
            run_id=run.id,
            run_url=f"{self.api}/repos/{repo}/actions/runs/{run.id}",
            run_attempt=job.run_attempt,
            node_id=node_id("CheckRun", job.id),
            head_sha=run.head_sha,
            url=f"{self.api}/repos/{repo}/actions/jobs/{job.id}",
            html_url=f"{WEB}/{repo}/actions/runs/{run.id}/job/{job.id}",
            status=job.status,
            conclusion=job.conclusion,
            created_at=iso(job.created_at),
            started_at=iso(job.started_at or job.created_at),
            completed_at=iso(job.completed_at),
            name=job.name,
            steps=[
                {
                    "name": step.name,
                    "status": step.status,
                    "conclusion": step.conclusion,
                    "number": step.number,
                    "started_at": iso(step.started_at),
                    "completed_at": iso(step.completed_at),
                }
                for step in job.steps
            ],
            check_run_url=f"{self.api}/repos/{repo}/check-runs/{job.id}",
            labels=job.labels,
            runner_id=None if job.started_at is None else 1,
            runner_name=None if job.started_at is None else "GitHub Actions 1",
            runner_group_id=None if job.started_at is None else 1,
            runner_group_name=None if job.started_at is None else "GitHub Actions",
            workflow_name=run.workflow.name,
            head_branch=run.head_branch,
        )
        return body

    def check_run(self, check: CheckRun) -> JSONDict:
        repo = check.repo.full_name
        body = template("rest.check-run")
        matching = self.state.pulls_matching(check.repo, check.repo, check.head_sha, None)
        pulls = [self.pull_request_ref(pr) for pr in matching]
        body.update(
            id=check.id,
            head_sha=check.head_sha,
            node_id=node_id("CheckRun", check.id),
            external_id=check.external_id or "",
            url=f"{self.api}/repos/{repo}/check-runs/{check.id}",
            html_url=f"{WEB}/{repo}/runs/{check.id}",
            details_url=check.details_url or APP_HOMEPAGE,
            status=check.status,
            conclusion=check.conclusion,
            started_at=iso(check.started_at),
            completed_at=iso(check.completed_at),
            output={
                "title": check.output.get("title"),
                "summary": check.output.get("summary"),
                "text": check.output.get("text"),
                "annotations_count": len(check.annotations),
                "annotations_url": f"{self.api}/repos/{repo}/check-runs/{check.id}/annotations",
            },
            name=check.name,
            check_suite={"id": check.id + 9_000_000},
            app=self.app(check.app_id),
            pull_requests=pulls,
        )
        return body

    def app(self, app_id: int) -> JSONDict:
        body = template("rest.check-run")["app"]
        body.update(id=app_id, slug=APP_SLUG, name="CI Orchestrator", node_id=node_id("Integration", app_id))
        return body

    def annotation(self, check: CheckRun, annotation: Annotation) -> JSONDict:
        return {
            "path": annotation.path,
            "start_line": annotation.start_line,
            "end_line": annotation.end_line,
            "start_column": annotation.start_column,
            "end_column": annotation.end_column,
            "annotation_level": annotation.annotation_level,
            "title": annotation.title,
            "message": annotation.message,
            "raw_details": annotation.raw_details,
            "blob_href": f"{WEB}/{check.repo.full_name}/blob/{check.head_sha}/{annotation.path}",
        }

    def label(self, repo: Repo, label: Label) -> JSONDict:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.api}/repos/{repo.full_name}/labels/{label.name}",
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": False,
        }

    def issue(self, issue: Issue) -> JSONDict:
        repo = issue.repo.full_name
        api = f"{self.api}/repos/{repo}/issues/{issue.number}"
        known = self.state.labels.get(repo, {})
        comments = sum(
            1 for c in self.state.comments.values() if c.repo is issue.repo and c.issue_number == issue.number
        )
        return {
            "id": issue.id,
            "node_id": node_id("Issue", issue.id),
            "url": api,
            "repository_url": f"{self.api}/repos/{repo}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{WEB}/{repo}/issues/{issue.number}",
            "number": issue.number,
            "state": issue.state,
            "state_reason": issue.state_reason,
            "title": issue.title,
            "body": issue.body,
            "user": self.user(issue.user, "Bot" if issue.user.endswith("[bot]") else "User"),
            "labels": [self.label(issue.repo, known[name.lower()]) for name in issue.labels if name.lower() in known],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "active_lock_reason": None,
            "comments": comments,
            "closed_at": iso(issue.closed_at),
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_by": None,
            "author_association": "NONE" if issue.user.endswith("[bot]") else "OWNER",
            "timeline_url": f"{api}/timeline",
        }

    def pull_request_as_issue(self, pr: PullRequest) -> JSONDict:
        """A pull request as the issues API lists it: an issue with a `pull_request` object."""
        repo = pr.repo.full_name
        api = f"{self.api}/repos/{repo}/issues/{pr.number}"
        body = self.issue(
            Issue(pr.id, pr.number, pr.repo, pr.title, pr.body, pr.user, [], pr.created_at, pr.updated_at)
        )
        body.update(
            state=pr.state,
            closed_at=iso(pr.closed_at),
            url=api,
            html_url=f"{WEB}/{repo}/pull/{pr.number}",
            pull_request={
                "url": f"{self.api}/repos/{repo}/pulls/{pr.number}",
                "html_url": f"{WEB}/{repo}/pull/{pr.number}",
                "diff_url": f"{WEB}/{repo}/pull/{pr.number}.diff",
                "patch_url": f"{WEB}/{repo}/pull/{pr.number}.patch",
                "merged_at": iso(pr.closed_at) if pr.merged else None,
            },
        )
        return body

    def issue_comment(self, comment: IssueComment) -> JSONDict:
        repo = comment.repo.full_name
        return {
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "url": f"{self.api}/repos/{repo}/issues/comments/{comment.id}",
            "html_url": f"{WEB}/{repo}/{self._issue_kind(comment)}/{comment.issue_number}#issuecomment-{comment.id}",
            "body": comment.body,
            "user": self.user(comment.user, "Bot" if comment.user.endswith("[bot]") else "User"),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "issue_url": f"{self.api}/repos/{repo}/issues/{comment.issue_number}",
            "author_association": "NONE" if comment.user.endswith("[bot]") else "CONTRIBUTOR",
            "performed_via_github_app": None,
            "reactions": {
                "url": f"{self.api}/repos/{repo}/issues/comments/{comment.id}/reactions",
                "total_count": 0,
                "+1": 0,
                "-1": 0,
                "laugh": 0,
                "hooray": 0,
                "confused": 0,
                "heart": 0,
                "rocket": 0,
                "eyes": 0,
            },
        }

    def _issue_kind(self, comment: IssueComment) -> str:
        return "issues" if (comment.repo.full_name, comment.issue_number) in self.state.issues else "pull"

    def _branch_side(self, repo: Repo, branch: str, sha: str, owner_login: str) -> JSONDict:
        return {
            "label": f"{repo.owner}:{branch}",
            "ref": branch,
            "sha": sha,
            "user": self.user(owner_login),
            "repo": self.repository(repo),
        }

    def pull_request(self, pr: PullRequest, full: bool = True) -> JSONDict:
        repo = pr.repo.full_name
        api = f"{self.api}/repos/{repo}"
        html = f"{WEB}/{repo}/pull/{pr.number}"
        body = template("rest.pull-request")
        body.update(
            active_lock_reason=None,
            url=f"{api}/pulls/{pr.number}",
            id=pr.id,
            node_id=node_id("PullRequest", pr.id),
            html_url=html,
            diff_url=f"{html}.diff",
            patch_url=f"{html}.patch",
            issue_url=f"{api}/issues/{pr.number}",
            commits_url=f"{api}/pulls/{pr.number}/commits",
            review_comments_url=f"{api}/pulls/{pr.number}/comments",
            review_comment_url=f"{api}/pulls/comments{{/number}}",
            comments_url=f"{api}/issues/{pr.number}/comments",
            statuses_url=f"{api}/statuses/{pr.head_sha}",
            number=pr.number,
            state=pr.state,
            locked=False,
            title=pr.title,
            user=self.user(pr.user),
            body=pr.body,
            labels=[],
            milestone=None,
            created_at=iso(pr.created_at),
            updated_at=iso(pr.updated_at),
            closed_at=iso(pr.closed_at),
            merged_at=iso(pr.closed_at) if pr.merged else None,
            merge_commit_sha=None,
            assignee=None,
            assignees=[],
            requested_reviewers=[],
            requested_teams=[],
            head=self._branch_side(pr.head_repo, pr.head_branch, pr.head_sha, pr.head_repo.owner),
            base=self._branch_side(pr.repo, pr.base_branch, pr.repo.branches[pr.base_branch], pr.repo.owner),
            _links={
                "self": {"href": f"{api}/pulls/{pr.number}"},
                "html": {"href": html},
                "issue": {"href": f"{api}/issues/{pr.number}"},
                "comments": {"href": f"{api}/issues/{pr.number}/comments"},
                "review_comments": {"href": f"{api}/pulls/{pr.number}/comments"},
                "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
                "commits": {"href": f"{api}/pulls/{pr.number}/commits"},
                "statuses": {"href": f"{api}/statuses/{pr.head_sha}"},
            },
            author_association="CONTRIBUTOR",
            auto_merge=None,
            draft=pr.draft,
        )
        full_only = [
            "merged",
            "mergeable",
            "rebaseable",
            "mergeable_state",
            "merged_by",
            "comments",
            "review_comments",
            "maintainer_can_modify",
            "commits",
            "additions",
            "deletions",
            "changed_files",
        ]
        if not full:
            for key in full_only:
                body.pop(key, None)
            return body
        files = self.state.pull_files(pr)
        body.update(
            merged=pr.merged,
            mergeable=True,
            rebaseable=True,
            mergeable_state="clean",
            merged_by=None,
            comments=sum(1 for c in self.state.comments.values() if c.repo is pr.repo and c.issue_number == pr.number),
            review_comments=sum(
                1 for c in self.state.review_comments.values() if c.repo is pr.repo and c.pull_number == pr.number
            ),
            maintainer_can_modify=False,
            commits=len(pr.commit_shas),
            additions=sum(f.additions for f in files),
            deletions=sum(f.deletions for f in files),
            changed_files=len(files),
        )
        return body

    def diff_entry(self, pr: PullRequest, change: FileChange) -> JSONDict:
        repo = pr.repo.full_name
        entry: JSONDict = {
            "sha": change.sha,
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{WEB}/{repo}/blob/{pr.head_sha}/{change.filename}",
            "raw_url": f"{WEB}/{repo}/raw/{pr.head_sha}/{change.filename}",
            "contents_url": f"{self.api}/repos/{repo}/contents/{change.filename}?ref={pr.head_sha}",
        }
        if change.patch is not None:
            entry["patch"] = change.patch
        if change.previous_filename is not None:
            entry["previous_filename"] = change.previous_filename
        return entry

    def review(self, review: Review) -> JSONDict:
        repo = review.repo.full_name
        html = f"{WEB}/{repo}/pull/{review.pull_number}#pullrequestreview-{review.id}"
        pull_url = f"{self.api}/repos/{repo}/pulls/{review.pull_number}"
        body: JSONDict = {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": self.user(review.user, "Bot" if review.user.endswith("[bot]") else "User"),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": pull_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "commit_id": review.commit_id,
            "author_association": "NONE",
        }
        if review.submitted_at is not None:
            body["submitted_at"] = iso(review.submitted_at)
        return body

    def review_comment(self, comment: ReviewComment) -> JSONDict:
        repo = comment.repo.full_name
        url = f"{self.api}/repos/{repo}/pulls/comments/{comment.id}"
        html = f"{WEB}/{repo}/pull/{comment.pull_number}#discussion_r{comment.id}"
        pull_url = f"{self.api}/repos/{repo}/pulls/{comment.pull_number}"
        return {
            "url": url,
            "pull_request_review_id": comment.review_id,
            "id": comment.id,
            "node_id": node_id("PullRequestReviewComment", comment.id),
            "diff_hunk": comment.diff_hunk,
            "path": comment.path,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": self.user(comment.user, "Bot" if comment.user.endswith("[bot]") else "User"),
            "body": comment.body,
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.created_at),
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": "NONE",
            "_links": {"self": {"href": url}, "html": {"href": html}, "pull_request": {"href": pull_url}},
            "start_line": comment.start_line,
            "original_start_line": comment.start_line,
            "start_side": comment.start_side,
            "line": comment.line,
            "original_line": comment.line,
            "side": comment.side,
            "subject_type": "line",
        }

    def installation_object(self, installation: Installation) -> JSONDict:
        """The REST API's `installation` (as `GET /app/installations` lists it)."""
        body: JSONDict = template("installation.created")["installation"]
        body.update(self.installation(installation))
        created = iso(installation.created_at)
        body.update(
            target_type=installation.account_type,
            created_at=created,
            updated_at=created,
            target_id=self.state.user_id(installation.account),
            access_tokens_url=f"{self.api}/app/installations/{installation.id}/access_tokens",
            repositories_url=f"{self.api}/installation/repositories",
            html_url=f"{WEB}/settings/installations/{installation.id}",
        )
        return body

    def reaction(self, reaction: Reaction) -> JSONDict:
        return {
            "id": reaction.id,
            "node_id": node_id("Reaction", reaction.id),
            "user": self.user(reaction.user, "Bot" if reaction.user.endswith("[bot]") else "User"),
            "content": reaction.content,
            "created_at": iso(reaction.created_at),
        }

    def installation(self, installation: Installation) -> JSONDict:
        return {
            "id": installation.id,
            "node_id": node_id("Installation", installation.id),
            "account": self.user(installation.account, installation.account_type),
            "app_id": self.state.app_id,
            "app_slug": APP_SLUG,
            "repository_selection": "selected",
        }
