"""aiohttp routes of the simulated GitHub REST API: auth, pagination, ETags, rate-limit headers, faults, contract."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlencode

import jwt
from aiohttp import web
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from bot.config.testing_suites import dispatch_trigger
from bot.testing.simulator.faults import ConnectionReset, FaultInjector, LostAnswer
from bot.testing.simulator.render import JSONDict, Renderer
from bot.testing.simulator.state import (
    CONCLUSIONS,
    Annotation,
    CheckRun,
    HookDelivery,
    InstallationToken,
    Issue,
    IssueComment,
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
    commentable_lines,
    hunk_for_line,
    matches_created,
    utcnow,
)

DOCS = "https://docs.github.com/rest"
JSON_TYPE = "application/json; charset=utf-8"
BOT_LOGIN = "ci-orchestrator[bot]"
MAX_COMMENT_CHARS = 65_536
MAX_OUTPUT_BYTES = 65_535
MAX_ANNOTATIONS_PER_REQUEST = 50
RATE_LIMIT = 5000
JSON_BODY = web.RequestKey("json_body", object)
INSTALLATION = web.RequestKey("installation_id", object)
JWT_SKEW_SECONDS = 60
JWT_MAX_LIFETIME_SECONDS = 600


class Contract(Protocol):
    """Anything that checks requests and responses against an API description and lists the problems."""

    def check_request(self, method: str, url: str, headers: dict[str, str], body: Any) -> list[str]: ...

    def check_response(self, method: str, url: str, status: int, headers: dict[str, str], body: Any) -> list[str]: ...


@dataclass(frozen=True)
class RecordedRequest:
    """A request the simulator served; the Authorization header is left out."""

    method: str
    path: str
    route: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


class ApiError(Exception):
    """An error answer in GitHub's format: `{"message", "documentation_url", "errors"?}`."""

    def __init__(
        self, status: int, message: str, errors: list[Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body: JSONDict = {"message": message, "documentation_url": DOCS}
        if errors is not None:
            self.body["errors"] = errors
        self.headers = headers or {}


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def validation_failed(resource: str, field_name: str, message: str) -> ApiError:
    return ApiError(
        422, "Validation Failed", [{"resource": resource, "code": "custom", "field": field_name, "message": message}]
    )


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ApiContext:
    """What the routes share with the simulator's control API."""

    state: SimState
    faults: FaultInjector
    public_key: Any
    contract: Contract | None = None
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    requests: list[RecordedRequest] = field(default_factory=list)
    contract_violations: list[str] = field(default_factory=list)
    rate_used: Counter[str] = field(default_factory=Counter)
    #: Sends a recorded delivery again (`POST /app/hook/deliveries/{id}/attempts`); set by the simulator.
    redeliver: Callable[[HookDelivery], None] | None = None
    #: Called after a dispatched run was created, and after a run was cancelled (the simulator plays them).
    on_dispatch: Callable[[WorkflowRun], None] | None = None
    on_cancel: Callable[[WorkflowRun], None] | None = None
    #: Called after a re-run was asked for: the run, and the names of the jobs to re-run (None: all of them).
    on_rerun: Callable[[WorkflowRun, set[str] | None], None] | None = None


Handler = Callable[[web.Request], Awaitable[Reply]]


def _page(request: web.Request, items: list[Any]) -> tuple[list[Any], dict[str, str]]:
    """The requested page of `items` and GitHub's `Link` header for the other pages."""
    try:
        per_page = min(max(int(request.query.get("per_page", 30)), 1), 100)
        page = max(int(request.query.get("page", 1)), 1)
    except ValueError as error:
        raise ApiError(400, f"Invalid pagination parameter: {error}") from error
    last = max((len(items) + per_page - 1) // per_page, 1)
    links = []

    def url(number: int) -> str:
        query = dict(request.query)
        query.update(per_page=str(per_page), page=str(number))
        return f"{request.scheme}://{request.host}{request.path}?{urlencode(query)}"

    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    if page > 1:
        links += [f'<{url(1)}>; rel="first"', f'<{url(page - 1)}>; rel="prev"']
    headers = {"Link": ", ".join(links)} if links else {}
    return items[(page - 1) * per_page : page * per_page], headers


def _window_reset() -> int:
    """When the current rate-limit window ends (UNIX time): windows are whole hours here."""
    return (int(time.time()) // 3600 + 1) * 3600


def _hook_delivery_json(delivery: HookDelivery) -> JSONDict:
    return {
        "id": delivery.id,
        "guid": delivery.guid,
        "delivered_at": delivery.delivered_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "redelivery": delivery.redelivery,
        "duration": round(delivery.duration, 2),
        "status": delivery.status,
        "status_code": delivery.status_code,
        "event": delivery.event,
        "action": delivery.action,
        "installation_id": delivery.installation_id,
        "repository_id": delivery.repository_id,
        "throttled_at": None,
    }


_INPUT_EXPRESSION = re.compile(r"\$\{\{\s*(?:github\.event\.)?inputs\.([A-Za-z0-9_-]+)\s*\}\}")


def run_name(workflow_text: str, inputs: dict[str, str]) -> str:
    """The workflow's `run-name` with its `${{ inputs.NAME }}` expressions filled in ("" without one)."""
    try:
        document = YAML(typ="safe", pure=True).load(workflow_text)
    except YAMLError:
        return ""
    template = document.get("run-name") if isinstance(document, dict) else None
    if not isinstance(template, str):
        return ""
    return _INPUT_EXPRESSION.sub(lambda match: inputs.get(match[1], ""), template)


def _int(text: str) -> int:
    if not text.isdigit():
        raise not_found()
    return int(text)


class RestApi:
    """The REST routes. Each handler reads state, validates like GitHub and answers a `Reply`."""

    def __init__(self, context: ApiContext) -> None:
        self.context = context
        self.state = context.state

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware], client_max_size=30 * 1024 * 1024)
        repo = "/repos/{owner}/{repo}"
        routes: list[tuple[str, str, Handler]] = [
            ("POST", "/app/installations/{installation_id}/access_tokens", self.create_token),
            ("GET", "/app/installations", self.list_installations),
            ("GET", "/app/hook/deliveries", self.list_hook_deliveries),
            ("POST", "/app/hook/deliveries/{delivery_id}/attempts", self.redeliver_hook_delivery),
            ("GET", "/installation/repositories", self.list_installation_repositories),
            ("GET", "/rate_limit", self.get_rate_limit),
            ("GET", repo + "/installation", self.get_repo_installation),
            ("GET", repo, self.get_repo),
            ("GET", repo + "/contents/{path:.*}", self.get_contents),
            ("GET", repo + "/actions/workflows/{workflow_id}", self.get_workflow),
            ("GET", repo + "/actions/workflows/{workflow_id}/runs", self.list_workflow_runs),
            ("POST", repo + "/actions/workflows/{workflow_id}/dispatches", self.dispatch_workflow),
            ("POST", repo + "/actions/runs/{run_id}/cancel", self.cancel_run),
            ("POST", repo + "/actions/runs/{run_id}/rerun", self.rerun_run),
            ("POST", repo + "/actions/jobs/{job_id}/rerun", self.rerun_job),
            ("POST", repo + "/issues/comments/{comment_id}/reactions", self.create_reaction),
            ("GET", repo + "/actions/runs", self.list_runs),
            ("GET", repo + "/actions/runs/{run_id}", self.get_run),
            ("GET", repo + "/actions/runs/{run_id}/attempts/{attempt_number}", self.get_run_attempt),
            ("GET", repo + "/actions/runs/{run_id}/attempts/{attempt_number}/jobs", self.list_attempt_jobs),
            ("GET", repo + "/actions/runs/{run_id}/jobs", self.list_run_jobs),
            ("GET", repo + "/commits/{commit_sha}/pulls", self.list_commit_pulls),
            ("GET", repo + "/pulls", self.list_pulls),
            ("GET", repo + "/pulls/{pull_number}", self.get_pull),
            ("GET", repo + "/pulls/{pull_number}/files", self.list_pull_files),
            ("POST", repo + "/pulls/{pull_number}/reviews", self.create_review),
            ("GET", repo + "/pulls/{pull_number}/comments", self.list_review_comments),
            ("GET", repo + "/issues", self.list_issues),
            ("POST", repo + "/issues", self.create_issue),
            ("GET", repo + "/issues/{issue_number}", self.get_issue),
            ("PATCH", repo + "/issues/{issue_number}", self.update_issue),
            ("GET", repo + "/labels/{name}", self.get_label),
            ("POST", repo + "/labels", self.create_label),
            ("GET", repo + "/issues/{issue_number}/comments", self.list_issue_comments),
            ("POST", repo + "/issues/{issue_number}/comments", self.create_issue_comment),
            ("PATCH", repo + "/issues/comments/{comment_id}", self.update_issue_comment),
            ("POST", repo + "/check-runs", self.create_check_run),
            ("GET", repo + "/check-runs/{check_run_id}", self.get_check_run),
            ("PATCH", repo + "/check-runs/{check_run_id}", self.update_check_run),
            ("GET", repo + "/check-runs/{check_run_id}/annotations", self.list_annotations),
            ("GET", repo + "/commits/{ref}/check-runs", self.list_check_runs_for_ref),
            ("GET", repo + "/collaborators/{username}/permission", self.get_permission),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, path, self._wrap(handler))
        app.router.add_route("*", "/{tail:.*}", self._wrap(self.unknown_route))
        return app

    # ---- plumbing -------------------------------------------------------------------------------------

    def _wrap(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            reply = await handler(request)
            return self._respond(request, reply)

        return serve

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        route = self._route_template(request)
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
            parse_error = None
        except ValueError:
            body, parse_error = None, ApiError(400, "Problems parsing JSON")
        request[JSON_BODY] = body
        headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"}
        self.context.requests.append(
            RecordedRequest(request.method, request.path, route, dict(request.query), headers, body)
        )
        self.context.calls[(request.method, route)] += 1
        if self.context.contract is not None:
            self.context.contract_violations += self.context.contract.check_request(
                request.method, str(request.url), dict(request.headers), body
            )
        if self.context.faults.latency:
            await asyncio.sleep(self.context.faults.latency)
        fault = self.context.faults.next_fault(request.method)
        if isinstance(fault, LostAnswer):
            performed = await self._serve(request, handler, parse_error)
            if fault.status is not None:
                gateway = {"message": "Bad Gateway", "documentation_url": "https://docs.github.com/rest"}
                return self._respond(request, Reply(fault.status, gateway, {}), injected=True)
            if request.transport is not None:
                request.transport.close()
            return performed
        if isinstance(fault, ConnectionReset):
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)
        if fault is not None:
            return self._respond(request, Reply(fault.status, fault.body, dict(fault.headers)), injected=True)
        return await self._serve(request, handler, parse_error)

    async def _serve(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        parse_error: ApiError | None,
    ) -> web.StreamResponse:
        try:
            if parse_error is not None:
                raise parse_error
            request[INSTALLATION] = self._authenticate(request)
            return await handler(request)
        except ApiError as error:
            return self._respond(request, Reply(error.status, error.body, error.headers))

    @staticmethod
    def _route_template(request: web.Request) -> str:
        resource = request.match_info.route.resource
        if resource is None or resource.canonical == "/{tail}":
            return request.path
        return resource.canonical

    def _respond(self, request: web.Request, reply: Reply, injected: bool = False) -> web.Response:
        headers = dict(reply.headers)
        bucket = str(request.get(INSTALLATION) or "app")
        conditional_hit = False
        text = None if reply.body is None else json.dumps(reply.body, separators=(",", ":"))
        if request.method == "GET" and reply.status == 200 and text is not None:
            etag = f'W/"{hashlib.sha256(text.encode()).hexdigest()}"'
            headers["ETag"] = etag
            sent = [tag.strip().removeprefix("W/") for tag in request.headers.get("If-None-Match", "").split(",")]
            conditional_hit = etag.removeprefix("W/") in sent
        if not injected:
            if not conditional_hit and not headers.pop("x-rate-limit-free", None):
                self.context.rate_used[bucket] += 1
            window_reset = _window_reset()
            headers.setdefault("x-ratelimit-limit", str(RATE_LIMIT))
            headers.setdefault("x-ratelimit-remaining", str(max(RATE_LIMIT - self.context.rate_used[bucket], 0)))
            headers.setdefault("x-ratelimit-used", str(self.context.rate_used[bucket]))
            headers.setdefault("x-ratelimit-reset", str(window_reset))
            headers.setdefault("x-ratelimit-resource", "core")
        headers.setdefault("x-github-media-type", "github.v3; format=json")
        headers.setdefault("x-github-request-id", secrets.token_hex(8).upper())
        if conditional_hit:
            status, text = 304, None
        else:
            status = reply.status
        if self.context.contract is not None:
            self.context.contract_violations += self.context.contract.check_response(
                request.method, str(request.url), status, headers, None if text is None else reply.body
            )
        if text is None:
            return web.Response(status=status, headers=headers)
        return web.Response(status=status, text=text, headers={**headers, "Content-Type": JSON_TYPE})

    def _authenticate(self, request: web.Request) -> int | None:
        """The installation id a request acts for (None for App-JWT requests); raises 401 when credentials are bad."""
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        if request.path.startswith("/app/") or self._route_template(request) == "/repos/{owner}/{repo}/installation":
            if scheme.lower() != "bearer" or not self._valid_jwt(credential.strip()):
                raise ApiError(401, "A JSON web token could not be decoded")
            return None
        if scheme.lower() not in ("token", "bearer"):
            raise ApiError(401, "Requires authentication")
        token = self.state.tokens.get(credential.strip())
        if token is None or token.revoked or token.expires_at <= utcnow():
            raise ApiError(401, "Bad credentials")
        owner, repo = request.match_info.get("owner"), request.match_info.get("repo")
        if owner is not None and repo is not None:
            found = self.state.repos.get(f"{owner}/{repo}")
            if found is None or found.installation_id != token.installation_id:
                raise not_found()
        return token.installation_id

    def _valid_jwt(self, token: str) -> bool:
        try:
            claims = jwt.decode(
                token,
                self.context.public_key,
                algorithms=["RS256"],
                leeway=JWT_SKEW_SECONDS,
                options={"require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError:
            return False
        lifetime = claims["exp"] - claims["iat"]
        issued_in_future = claims["iat"] > time.time() + JWT_SKEW_SECONDS
        lifetime_ok = 0 < lifetime <= JWT_MAX_LIFETIME_SECONDS + JWT_SKEW_SECONDS
        return str(claims["iss"]) == str(self.state.app_id) and lifetime_ok and not issued_in_future

    def _render(self, request: web.Request) -> Renderer:
        return Renderer(self.state, f"{request.scheme}://{request.host}")

    def _repo(self, request: web.Request) -> Repo:
        repo = self.state.repos.get(f"{request.match_info['owner']}/{request.match_info['repo']}")
        if repo is None:
            raise not_found()
        return repo

    @staticmethod
    def _body(request: web.Request) -> JSONDict:
        body = request[JSON_BODY]
        if body is None:
            return {}
        if not isinstance(body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return body

    # ---- routes -----------------------------------------------------------------------------------------

    async def unknown_route(self, request: web.Request) -> Reply:
        raise not_found()

    async def create_token(self, request: web.Request) -> Reply:
        installation = self.state.installations.get(_int(request.match_info["installation_id"]))
        if installation is None:
            raise not_found()
        token = InstallationToken("ghs_" + secrets.token_urlsafe(27), installation.id, utcnow() + timedelta(hours=1))
        self.state.tokens[token.token] = token
        permissions = {
            "actions": "write",
            "checks": "write",
            "contents": "read",
            "issues": "write",
            "metadata": "read",
            "pull_requests": "write",
        }
        return Reply(
            201,
            {
                "token": token.token,
                "expires_at": token.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "permissions": permissions,
                "repository_selection": "selected",
            },
        )

    async def list_installations(self, request: web.Request) -> Reply:
        installations = sorted(self.state.installations.values(), key=lambda i: i.id)
        page, headers = _page(request, installations)
        render = self._render(request)
        return Reply(200, [render.installation_object(installation) for installation in page], headers)

    async def get_repo_installation(self, request: web.Request) -> Reply:
        installation = self.state.installations.get(self._repo(request).installation_id or 0)
        if installation is None:
            raise not_found()
        return Reply(200, self._render(request).installation_object(installation))

    async def list_installation_repositories(self, request: web.Request) -> Reply:
        installation_id = request[INSTALLATION]
        if installation_id is None:
            raise ApiError(403, "This endpoint requires an installation token")
        repos = sorted(self.state.repos_of(int(str(installation_id))), key=lambda r: r.id)
        page, headers = _page(request, repos)
        render = self._render(request)
        body = {
            "total_count": len(repos),
            "repositories": [render.repository(repo) for repo in page],
            "repository_selection": "selected",
        }
        return Reply(200, body, headers)

    async def get_rate_limit(self, request: web.Request) -> Reply:
        """Asking does not count against the limit (GitHub's rule)."""
        used = self.context.rate_used[str(request[INSTALLATION] or "app")]
        core = {"limit": RATE_LIMIT, "used": used, "remaining": max(RATE_LIMIT - used, 0), "reset": _window_reset()}
        search = {"limit": 30, "used": 0, "remaining": 30, "reset": int(time.time()) + 60}
        return Reply(200, {"resources": {"core": core, "search": search}, "rate": core}, {"x-rate-limit-free": "1"})

    async def list_hook_deliveries(self, request: web.Request) -> Reply:
        """Newest first; `cursor` is where a page starts (GitHub's is opaque too), `status` success or failure."""
        deliveries = sorted(self.state.hook_deliveries, key=lambda d: d.id, reverse=True)
        wanted = request.query.get("status")
        if wanted not in (None, "success", "failure"):
            raise validation_failed("HookDelivery", "status", "status must be one of: success, failure")
        if wanted is not None:
            deliveries = [d for d in deliveries if (200 <= d.status_code < 400) == (wanted == "success")]
        cursor = request.query.get("cursor")
        if cursor is not None:
            if not cursor.startswith("v1_") or not cursor[3:].isdigit():
                raise ApiError(400, "Invalid cursor")
            deliveries = [d for d in deliveries if d.id <= int(cursor[3:])]
        try:
            per_page = min(max(int(request.query.get("per_page", 30)), 1), 100)
        except ValueError as error:
            raise ApiError(400, f"Invalid pagination parameter: {error}") from error
        page, rest = deliveries[:per_page], deliveries[per_page:]
        headers = {}
        if rest:
            query = {key: value for key, value in request.query.items() if key != "cursor"}
            query.update(per_page=str(per_page), cursor=f"v1_{rest[0].id}")
            headers["Link"] = f'<{request.scheme}://{request.host}{request.path}?{urlencode(query)}>; rel="next"'
        return Reply(200, [_hook_delivery_json(d) for d in page], headers)

    async def redeliver_hook_delivery(self, request: web.Request) -> Reply:
        wanted = _int(request.match_info["delivery_id"])
        found = next((d for d in self.state.hook_deliveries if d.id == wanted), None)
        if found is None or self.context.redeliver is None:
            raise not_found()
        self.context.redeliver(found)
        return Reply(202, {})

    async def get_repo(self, request: web.Request) -> Reply:
        return Reply(200, self._render(request).repository(self._repo(request)))

    async def get_contents(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        ref = request.query.get("ref", repo.default_branch)
        commit = repo.resolve(ref)
        if commit is None:
            raise ApiError(404, f"No commit found for the ref {ref}")
        path = request.match_info["path"].strip("/")
        if path in commit.tree:
            return Reply(200, self._render(request).content_file(repo, path, commit.tree[path], ref))
        if path == "" or any(p.startswith(path + "/") for p in commit.tree):
            return Reply(200, self._render(request).content_directory(repo, path, commit.tree, ref))
        raise not_found()

    def _workflow(self, request: web.Request, repo: Repo) -> Workflow:
        key = request.match_info["workflow_id"]
        for workflow in self.state.workflows.values():
            if workflow.repo is repo and (str(workflow.id) == key or workflow.path.rsplit("/", 1)[-1] == key):
                return workflow
        raise not_found()

    async def get_workflow(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        return Reply(200, self._render(request).workflow(self._workflow(request, repo)))

    def _filtered_runs(self, request: web.Request, runs: list[WorkflowRun]) -> Reply:
        query = request.query
        if "branch" in query:
            runs = [r for r in runs if r.head_branch == query["branch"]]
        if "event" in query:
            runs = [r for r in runs if r.event == query["event"]]
        if "actor" in query:
            runs = [r for r in runs if r.actor == query["actor"]]
        if "head_sha" in query:
            runs = [r for r in runs if r.head_sha == query["head_sha"]]
        if "status" in query:
            wanted = query["status"]
            runs = [r for r in runs if (r.latest.conclusion if wanted in CONCLUSIONS else r.latest.status) == wanted]
        if "created" in query:
            try:
                runs = [r for r in runs if matches_created(r.created_at, query["created"])]
            except ValueError as error:
                raise validation_failed("WorkflowRun", "created", str(error)) from error
        runs = sorted(runs, key=lambda r: (r.created_at, r.id), reverse=True)
        page, headers = _page(request, runs)
        render = self._render(request)
        return Reply(200, {"total_count": len(runs), "workflow_runs": [render.workflow_run(r) for r in page]}, headers)

    async def list_workflow_runs(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        workflow = self._workflow(request, repo)
        return self._filtered_runs(request, [r for r in self.state.runs.values() if r.workflow is workflow])

    async def list_runs(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        return self._filtered_runs(request, [r for r in self.state.runs.values() if r.repo is repo])

    def _run(self, request: web.Request) -> WorkflowRun:
        repo = self._repo(request)
        run = self.state.runs.get(_int(request.match_info["run_id"]))
        if run is None or run.repo is not repo:
            raise not_found()
        return run

    async def get_run(self, request: web.Request) -> Reply:
        return Reply(200, self._render(request).workflow_run(self._run(request)))

    async def get_run_attempt(self, request: web.Request) -> Reply:
        run = self._run(request)
        attempt = run.attempt(_int(request.match_info["attempt_number"]))
        if attempt is None:
            raise not_found()
        return Reply(200, self._render(request).workflow_run(run, attempt))

    async def list_attempt_jobs(self, request: web.Request) -> Reply:
        run = self._run(request)
        attempt = run.attempt(_int(request.match_info["attempt_number"]))
        if attempt is None:
            raise not_found()
        page, headers = _page(request, attempt.jobs)
        render = self._render(request)
        return Reply(200, {"total_count": len(attempt.jobs), "jobs": [render.job(run, j) for j in page]}, headers)

    async def list_run_jobs(self, request: web.Request) -> Reply:
        run = self._run(request)
        choice = request.query.get("filter", "latest")
        if choice not in ("latest", "all"):
            raise validation_failed("Job", "filter", "filter must be one of: latest, all")
        if choice == "latest":
            jobs = list(run.latest.jobs)
        else:
            seen: dict[int, Any] = {}
            for attempt in run.attempts:
                for job in attempt.jobs:
                    seen.setdefault(job.id, job)
            jobs = list(seen.values())
        page, headers = _page(request, jobs)
        render = self._render(request)
        return Reply(200, {"total_count": len(jobs), "jobs": [render.job(run, j) for j in page]}, headers)

    async def dispatch_workflow(self, request: web.Request) -> Reply:
        """GitHub's checks, in its words: a branch or tag ref, a workflow with `workflow_dispatch` there, only
        declared inputs (at most 25), every required one, choices among their options."""
        repo = self._repo(request)
        workflow = self._workflow(request, repo)
        body = self._body(request)
        ref = body.get("ref")
        if not isinstance(ref, str):
            raise ApiError(422, 'Invalid request.\n\n"ref" wasn\'t supplied.')
        name = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
        if name not in repo.branches:
            raise ApiError(422, f"No ref found for: {ref}")
        commit = repo.commits[repo.branches[name]]
        text = commit.tree.get(workflow.path)
        trigger = dispatch_trigger(text) if text is not None else None
        if trigger is None or trigger.inputs is None:
            raise ApiError(422, "Workflow does not have 'workflow_dispatch' trigger")
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict) or len(inputs) > 25:
            raise ApiError(422, "Invalid request.\n\nFor 'properties/inputs', at most 25 inputs are allowed.")
        unexpected = [key for key in inputs if key not in trigger.inputs]
        if unexpected:
            raise ApiError(422, f"Unexpected inputs provided: {json.dumps(unexpected)}")
        values = {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in inputs.items()}
        for spec in trigger.inputs.values():
            if spec.required and spec.name not in values and not spec.has_default:
                raise ApiError(422, f"Required input '{spec.name}' not provided")
            if spec.type == "choice" and spec.name in values and values[spec.name] not in spec.options:
                raise ApiError(
                    422,
                    f"Provided value '{values[spec.name]}' for input '{spec.name}' not in the list of allowed values",
                )
        now = utcnow()
        run = WorkflowRun(
            id=self.state.ids.next("run", 90_000_001),
            repo=repo,
            workflow=workflow,
            run_number=1 + sum(1 for r in self.state.runs.values() if r.workflow is workflow),
            head_sha=commit.sha,
            head_branch=name,
            head_repo=repo,
            event="workflow_dispatch",
            actor=BOT_LOGIN,
            created_at=now,
            display_title=run_name(text or "", values) or workflow.name,
            attempts=[RunAttempt(1, now, "queued", None, now, [], BOT_LOGIN)],
            inputs=values,
        )
        self.state.runs[run.id] = run
        if self.context.on_dispatch is not None:
            self.context.on_dispatch(run)
        if body.get("return_run_details") is True and self.state.run_details:
            render = self._render(request)
            details = render.workflow_run(run)
            return Reply(200, {"workflow_run_id": run.id, "run_url": details["url"], "html_url": details["html_url"]})
        return Reply(204)

    async def cancel_run(self, request: web.Request) -> Reply:
        run = self._run(request)
        if run.latest.status == "completed":
            raise ApiError(409, "Cannot cancel a workflow run that is completed.")
        if self.context.on_cancel is not None:
            self.context.on_cancel(run)
        return Reply(202, {})

    async def rerun_run(self, request: web.Request) -> Reply:
        run = self._run(request)
        if run.latest.status != "completed" or run.id in self.state.rerunning:
            raise ApiError(403, "This workflow run is not completed yet, so it cannot be re-run.")
        if self.context.on_rerun is not None:
            self.context.on_rerun(run, None)
        return Reply(201, {})

    async def rerun_job(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        job_id = _int(request.match_info["job_id"])
        found = [
            (run, job)
            for run in self.state.runs.values()
            if run.repo is repo
            for job in run.latest.jobs
            if job.id == job_id
        ]
        if not found:
            raise not_found()
        run, job = found[0]
        if run.latest.status != "completed" or run.id in self.state.rerunning:
            raise ApiError(403, "This job could not be re-run: its workflow run is not completed yet.")
        if self.context.on_rerun is not None:
            self.context.on_rerun(run, {job.name})
        return Reply(201, {})

    async def create_reaction(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        comment = self.state.comments.get(_int(request.match_info["comment_id"]))
        if comment is None or comment.repo is not repo:
            raise not_found()
        content = self._body(request).get("content")
        if content not in ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"):
            raise validation_failed("Reaction", "content", f"{content} is not a valid reaction")
        reactions = self.state.reactions.setdefault(comment.id, [])
        existing = next((r for r in reactions if r.user == BOT_LOGIN and r.content == content), None)
        if existing is not None:
            return Reply(200, self._render(request).reaction(existing))
        reaction = Reaction(self.state.ids.next("reaction", 110_000_001), BOT_LOGIN, content, utcnow())
        reactions.append(reaction)
        return Reply(201, self._render(request).reaction(reaction))

    def _pull(self, request: web.Request) -> PullRequest:
        repo = self._repo(request)
        pr = self.state.pulls.get((repo.full_name, _int(request.match_info["pull_number"])))
        if pr is None:
            raise not_found()
        return pr

    async def list_commit_pulls(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        commit = repo.resolve(request.match_info["commit_sha"])
        if commit is None:
            raise ApiError(422, f"No commit found for SHA: {request.match_info['commit_sha']}")
        pulls = [pr for pr in self.state.pulls_of(repo) if commit.sha in pr.commit_shas]
        page, headers = _page(request, sorted(pulls, key=lambda p: p.number, reverse=True))
        render = self._render(request)
        return Reply(200, [render.pull_request(pr, full=False) for pr in page], headers)

    async def list_pulls(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        state = request.query.get("state", "open")
        pulls = [pr for pr in self.state.pulls_of(repo) if state == "all" or pr.state == state]
        if "head" in request.query:
            owner, _, branch = request.query["head"].partition(":")
            pulls = [pr for pr in pulls if pr.head_repo.owner == owner and (not branch or pr.head_branch == branch)]
        if "base" in request.query:
            pulls = [pr for pr in pulls if pr.base_branch == request.query["base"]]
        pulls.sort(key=lambda p: p.number, reverse=request.query.get("direction", "desc") == "desc")
        page, headers = _page(request, pulls)
        render = self._render(request)
        return Reply(200, [render.pull_request(pr, full=False) for pr in page], headers)

    async def get_pull(self, request: web.Request) -> Reply:
        return Reply(200, self._render(request).pull_request(self._pull(request)))

    async def list_pull_files(self, request: web.Request) -> Reply:
        pr = self._pull(request)
        page, headers = _page(request, self.state.pull_files(pr))
        render = self._render(request)
        return Reply(200, [render.diff_entry(pr, change) for change in page], headers)

    async def create_review(self, request: web.Request) -> Reply:
        pr = self._pull(request)
        body = self._body(request)
        event = body.get("event")
        text = body.get("body") or ""
        comments = body.get("comments") or []
        if event == "REQUEST_CHANGES" and not text:
            raise ApiError(422, "Unprocessable Entity", ["Review body is required for REQUEST_CHANGES"])
        if event == "COMMENT" and not text and not comments:
            raise ApiError(422, "Unprocessable Entity", ["Review body or comments are required for COMMENT"])
        commit_id = body.get("commit_id") or pr.head_sha
        files = {change.filename: change for change in self.state.pull_files(pr)}
        review_id = self.state.ids.next("review", 80_000_001)
        now = utcnow()
        new_comments: list[ReviewComment] = []
        for comment in comments:
            change = files.get(comment.get("path"))
            if change is None:
                raise ApiError(422, "Unprocessable Entity", ["Path could not be resolved"])
            side = comment.get("side", "RIGHT")
            lines = commentable_lines(change.patch)
            wanted = [comment.get("line")] + ([comment["start_line"]] if comment.get("start_line") else [])
            if comment.get("line") is None or not all(line in lines[side] for line in wanted):
                raise ApiError(422, "Unprocessable Entity", ["Line could not be resolved"])
            new_comments.append(
                ReviewComment(
                    id=self.state.ids.next("review_comment", 70_000_001),
                    review_id=review_id,
                    repo=pr.repo,
                    pull_number=pr.number,
                    path=change.filename,
                    line=comment["line"],
                    side=side,
                    start_line=comment.get("start_line"),
                    start_side=comment.get("start_side", side) if comment.get("start_line") else None,
                    body=comment.get("body", ""),
                    commit_id=commit_id,
                    diff_hunk=hunk_for_line(change.patch or "", comment["line"], side),
                    user=BOT_LOGIN,
                    created_at=now,
                )
            )
        states = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}
        review = Review(
            review_id,
            pr.repo,
            pr.number,
            BOT_LOGIN,
            text,
            states.get(str(event), "PENDING"),
            commit_id,
            now if event in states else None,
            [c.id for c in new_comments],
        )
        self.state.reviews[review.id] = review
        for comment in new_comments:
            self.state.review_comments[comment.id] = comment
        return Reply(200, self._render(request).review(review))

    async def list_review_comments(self, request: web.Request) -> Reply:
        pr = self._pull(request)
        comments = [c for c in self.state.review_comments.values() if c.repo is pr.repo and c.pull_number == pr.number]
        page, headers = _page(request, comments)
        render = self._render(request)
        return Reply(200, [render.review_comment(c) for c in page], headers)

    def _issue(self, request: web.Request) -> tuple[Repo, int]:
        """The repository and number of an issue or pull request (they share numbers and the comments API)."""
        repo = self._repo(request)
        number = _int(request.match_info["issue_number"])
        if (repo.full_name, number) not in self.state.pulls and (repo.full_name, number) not in self.state.issues:
            raise not_found()
        return repo, number

    def _labels_of(self, repo: Repo, names: Any) -> list[str]:
        """Label names of an issue request; unknown labels are created, as GitHub does."""
        if names is None:
            return []
        if not isinstance(names, list) or not all(isinstance(name, str) and name.strip() for name in names):
            raise validation_failed("Issue", "labels", "labels must be a list of label names")
        known = self.state.labels.setdefault(repo.full_name, {})
        for name in names:
            if name.lower() not in known:
                known[name.lower()] = Label(self.state.ids.next("label", 200_000_001), name, "ededed", None)
        return list(dict.fromkeys(known[name.lower()].name for name in names))

    async def list_issues(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        query = request.query
        state = query.get("state", "open")
        if state not in ("open", "closed", "all"):
            raise validation_failed("Issue", "state", "state must be one of: open, closed, all")
        wanted = {name.strip().lower() for name in query.get("labels", "").split(",") if name.strip()}
        render = self._render(request)
        found: list[tuple[Any, JSONDict]] = []
        for issue in self.state.issues.values():
            if issue.repo is repo and wanted <= {name.lower() for name in issue.labels}:
                found.append((issue.created_at, render.issue(issue)))
        if not wanted:
            found += [(pr.created_at, render.pull_request_as_issue(pr)) for pr in self.state.pulls_of(repo)]
        if "creator" in query:
            found = [item for item in found if item[1]["user"]["login"] == query["creator"]]
        found = [item for item in found if state == "all" or item[1]["state"] == state]
        found.sort(key=lambda item: (item[0], item[1]["number"]), reverse=query.get("direction", "desc") == "desc")
        page, headers = _page(request, [body for _created, body in found])
        return Reply(200, page, headers)

    async def create_issue(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        body = self._body(request)
        title = body.get("title")
        if not isinstance(title, str | int) or isinstance(title, bool) or not str(title).strip():
            raise ApiError(422, 'Invalid request.\n\n"title" wasn\'t supplied.')
        text = body.get("body")
        if text is not None and not isinstance(text, str):
            raise validation_failed("Issue", "body", "body must be a string")
        if isinstance(text, str) and len(text) > MAX_COMMENT_CHARS:
            raise validation_failed("Issue", "body", f"body is too long (maximum is {MAX_COMMENT_CHARS} characters)")
        now = utcnow()
        issue = Issue(
            self.state.ids.next("issue", 3_000_001),
            self.state.next_issue_number(repo),
            repo,
            str(title),
            text,
            BOT_LOGIN,
            self._labels_of(repo, body.get("labels")),
            now,
            now,
        )
        self.state.issues[(repo.full_name, issue.number)] = issue
        rendered = self._render(request).issue(issue)
        return Reply(201, rendered, {"Location": rendered["url"]})

    async def get_issue(self, request: web.Request) -> Reply:
        repo, number = self._issue(request)
        issue = self.state.issues.get((repo.full_name, number))
        render = self._render(request)
        if issue is None:
            return Reply(200, render.pull_request_as_issue(self.state.pulls[(repo.full_name, number)]))
        return Reply(200, render.issue(issue))

    async def update_issue(self, request: web.Request) -> Reply:
        repo, number = self._issue(request)
        issue = self.state.issues.get((repo.full_name, number))
        if issue is None:
            raise ApiError(422, "Pull requests are edited through the pulls API in this simulator")
        body = self._body(request)
        if "title" in body:
            if not isinstance(body["title"], str) or not body["title"].strip():
                raise validation_failed("Issue", "title", "title must be a non-empty string")
            issue.title = body["title"]
        if "body" in body:
            text = body["body"]
            if text is not None and (not isinstance(text, str) or len(text) > MAX_COMMENT_CHARS):
                raise validation_failed("Issue", "body", f"body must be a string of at most {MAX_COMMENT_CHARS}")
            issue.body = text
        if "labels" in body:
            issue.labels = self._labels_of(repo, body["labels"])
        now = utcnow()
        if "state" in body:
            if body["state"] not in ("open", "closed"):
                raise validation_failed("Issue", "state", "state must be open or closed")
            if body["state"] != issue.state:
                issue.state = body["state"]
                issue.closed_at = now if issue.state == "closed" else None
                default_reason = "completed" if issue.state == "closed" else "reopened"
                issue.state_reason = body.get("state_reason") or default_reason
        issue.updated_at = now
        return Reply(200, self._render(request).issue(issue))

    async def get_label(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        label = self.state.labels.get(repo.full_name, {}).get(request.match_info["name"].lower())
        if label is None:
            raise not_found()
        return Reply(200, self._render(request).label(repo, label))

    async def create_label(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        body = self._body(request)
        name, color = body.get("name"), body.get("color", "ededed")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(422, 'Invalid request.\n\n"name" wasn\'t supplied.')
        if not isinstance(color, str) or not re.fullmatch(r"[0-9a-fA-F]{6}", color):
            raise validation_failed("Label", "color", "color is invalid")
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 100):
            raise validation_failed("Label", "description", "description is too long (maximum is 100 characters)")
        known = self.state.labels.setdefault(repo.full_name, {})
        if name.lower() in known:
            raise ApiError(422, "Validation Failed", [{"resource": "Label", "code": "already_exists", "field": "name"}])
        label = Label(self.state.ids.next("label", 200_000_001), name, color.lower(), description)
        known[name.lower()] = label
        return Reply(201, self._render(request).label(repo, label))

    async def list_issue_comments(self, request: web.Request) -> Reply:
        repo, number = self._issue(request)
        comments = [c for c in self.state.comments.values() if c.repo is repo and c.issue_number == number]
        page, headers = _page(request, comments)
        render = self._render(request)
        return Reply(200, [render.issue_comment(c) for c in page], headers)

    @staticmethod
    def _comment_body(body: JSONDict) -> str:
        text = body.get("body")
        if not isinstance(text, str):
            raise ApiError(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
        if len(text) > MAX_COMMENT_CHARS:
            raise validation_failed(
                "IssueComment", "data", f"Body is too long (maximum is {MAX_COMMENT_CHARS} characters)"
            )
        return text

    async def create_issue_comment(self, request: web.Request) -> Reply:
        repo, number = self._issue(request)
        text = self._comment_body(self._body(request))
        now = utcnow()
        comment = IssueComment(self.state.ids.next("comment", 60_000_001), repo, number, text, BOT_LOGIN, now, now)
        self.state.comments[comment.id] = comment
        rendered = self._render(request).issue_comment(comment)
        return Reply(201, rendered, {"Location": rendered["url"]})

    async def update_issue_comment(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        comment = self.state.comments.get(_int(request.match_info["comment_id"]))
        if comment is None or comment.repo is not repo:
            raise not_found()
        comment.body = self._comment_body(self._body(request))
        comment.updated_at = utcnow()
        return Reply(200, self._render(request).issue_comment(comment))

    @staticmethod
    def _check_output(check: CheckRun, output: Any) -> None:
        """Apply an `output` object of a check-run request: limits checked, annotations appended."""
        if output is None:
            return
        if not isinstance(output, dict):
            raise validation_failed("CheckRun", "output", "output must be an object")
        for key in ("summary", "text"):
            value = output.get(key)
            if isinstance(value, str) and len(value.encode()) > MAX_OUTPUT_BYTES:
                raise ApiError(
                    422, f"Invalid request.\n\nOnly 65535 characters are allowed; {len(value.encode())} were supplied."
                )
        annotations = output.get("annotations") or []
        if len(annotations) > MAX_ANNOTATIONS_PER_REQUEST:
            raise ApiError(422, "Invalid request.\n\nOnly 50 annotations are allowed per request.")
        for item in annotations:
            missing = [k for k in ("path", "start_line", "end_line", "annotation_level", "message") if k not in item]
            if missing:
                raise ApiError(422, f'Invalid request.\n\n"{missing[0]}" wasn\'t supplied.')
            if item["annotation_level"] not in ("notice", "warning", "failure"):
                raise validation_failed("CheckRun", "annotation_level", "must be notice, warning or failure")
        for key in ("title", "summary", "text"):
            if key in output:
                check.output[key] = output[key]
        check.annotations += [
            Annotation(
                a["path"],
                a["start_line"],
                a["end_line"],
                a["annotation_level"],
                a["message"],
                a.get("title"),
                a.get("raw_details"),
                a.get("start_column"),
                a.get("end_column"),
            )
            for a in annotations
        ]

    @staticmethod
    def _apply_check_status(check: CheckRun, body: JSONDict) -> None:
        def moment(key: str) -> Any:
            value = body.get(key)
            try:
                return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))
            except (AttributeError, ValueError) as error:
                raise validation_failed("CheckRun", key, f"{key} is not an ISO 8601 timestamp") from error

        if "details_url" in body:
            check.details_url = body["details_url"]
        if "external_id" in body:
            check.external_id = body["external_id"]
        if "name" in body:
            check.name = body["name"]
        if body.get("started_at"):
            check.started_at = moment("started_at")
        if "status" in body:
            check.status = body["status"]
        if body.get("conclusion") is not None:
            if body["conclusion"] not in CONCLUSIONS:
                raise validation_failed("CheckRun", "conclusion", f"{body['conclusion']} is not a valid conclusion")
            check.conclusion = body["conclusion"]
            check.status = "completed"
        if check.status == "completed" and check.conclusion is None:
            raise ApiError(422, "Invalid request.\n\nNo conclusion was supplied for a completed check run.")
        if check.status == "completed":
            check.completed_at = moment("completed_at") or check.completed_at or utcnow()

    async def create_check_run(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        body = self._body(request)
        for key in ("name", "head_sha"):
            if not isinstance(body.get(key), str):
                raise ApiError(422, f'Invalid request.\n\n"{key}" wasn\'t supplied.')
        commit = repo.resolve(body["head_sha"])
        if commit is None:
            raise validation_failed("CheckRun", "head_sha", f"No commit found for SHA: {body['head_sha']}")
        check = CheckRun(
            self.state.ids.next("check_run", 50_000_001),
            repo,
            commit.sha,
            body["name"],
            self.state.app_id,
            "queued",
            None,
            utcnow(),
            None,
            None,
            None,
            {"title": None, "summary": None, "text": None},
        )
        self._apply_check_status(check, body)
        self._check_output(check, body.get("output"))
        self.state.check_runs[check.id] = check
        return Reply(201, self._render(request).check_run(check))

    def _check(self, request: web.Request) -> CheckRun:
        repo = self._repo(request)
        check = self.state.check_runs.get(_int(request.match_info["check_run_id"]))
        if check is None or check.repo is not repo:
            raise not_found()
        return check

    async def get_check_run(self, request: web.Request) -> Reply:
        return Reply(200, self._render(request).check_run(self._check(request)))

    async def update_check_run(self, request: web.Request) -> Reply:
        check = self._check(request)
        body = self._body(request)
        updated = replace(check, output=dict(check.output), annotations=list(check.annotations))
        self._apply_check_status(updated, body)
        self._check_output(updated, body.get("output"))
        self.state.check_runs[check.id] = updated
        return Reply(200, self._render(request).check_run(updated))

    async def list_annotations(self, request: web.Request) -> Reply:
        check = self._check(request)
        page, headers = _page(request, check.annotations)
        render = self._render(request)
        return Reply(200, [render.annotation(check, a) for a in page], headers)

    async def list_check_runs_for_ref(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        commit = repo.resolve(request.match_info["ref"])
        if commit is None:
            raise ApiError(422, f"No commit found for SHA: {request.match_info['ref']}")
        checks = [c for c in self.state.check_runs.values() if c.repo is repo and c.head_sha == commit.sha]
        query = request.query
        if "check_name" in query:
            checks = [c for c in checks if c.name == query["check_name"]]
        if "status" in query:
            checks = [c for c in checks if c.status == query["status"]]
        if "app_id" in query:
            checks = [c for c in checks if str(c.app_id) == query["app_id"]]
        checks.sort(key=lambda c: c.id, reverse=True)
        if query.get("filter", "latest") == "latest":
            newest: dict[str, CheckRun] = {}
            for check in checks:
                newest.setdefault(check.name, check)
            checks = list(newest.values())
        page, headers = _page(request, checks)
        render = self._render(request)
        return Reply(200, {"total_count": len(checks), "check_runs": [render.check_run(c) for c in page]}, headers)

    async def get_permission(self, request: web.Request) -> Reply:
        repo = self._repo(request)
        login = request.match_info["username"]
        if login == repo.owner:
            permission = "admin"
        else:
            permission = repo.collaborators.get(login, "none" if repo.private else "read")
        roles = {"admin": "admin", "maintain": "maintain", "write": "write", "triage": "triage", "read": "read"}
        user = self._render(request).user(login)
        user["role_name"] = roles.get(permission, "read")
        user["permissions"] = {
            "admin": permission == "admin",
            "maintain": permission in ("admin", "maintain"),
            "push": permission in ("admin", "maintain", "write"),
            "triage": permission != "none",
            "pull": permission != "none",
        }
        legacy = {"maintain": "write", "triage": "read"}.get(permission, permission)
        return Reply(200, {"permission": legacy, "role_name": roles.get(permission, "none"), "user": user})
