"""Checks REST requests and responses against GitHub's official OpenAPI description (openapi-core)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

SPEC_PATH = Path(__file__).parent / "fixtures" / "github-openapi" / "api.github.com.json.gz"
SPEC_HOST = "https://api.github.com"
SPEC_URI = "urn:github:openapi"

# The paths the App uses and the simulator serves; pruning the 800+ others keeps path matching fast.
SERVED_PATHS = (
    "/app/installations/{installation_id}/access_tokens",
    "/app/installations",
    "/app/hook/deliveries",
    "/app/hook/deliveries/{delivery_id}/attempts",
    "/installation/repositories",
    "/rate_limit",
    "/repos/{owner}/{repo}/installation",
    "/repos/{owner}/{repo}",
    "/repos/{owner}/{repo}/contents/{path}",
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}",
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs",
    "/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches",
    "/repos/{owner}/{repo}/actions/runs/{run_id}/cancel",
    "/repos/{owner}/{repo}/actions/runs/{run_id}/rerun",
    "/repos/{owner}/{repo}/actions/jobs/{job_id}/rerun",
    "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
    "/repos/{owner}/{repo}/actions/runs",
    "/repos/{owner}/{repo}/actions/runs/{run_id}",
    "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}",
    "/repos/{owner}/{repo}/actions/runs/{run_id}/attempts/{attempt_number}/jobs",
    "/repos/{owner}/{repo}/actions/runs/{run_id}/jobs",
    "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
    "/repos/{owner}/{repo}/commits/{ref}/check-runs",
    "/repos/{owner}/{repo}/pulls",
    "/repos/{owner}/{repo}/pulls/{pull_number}",
    "/repos/{owner}/{repo}/pulls/{pull_number}/files",
    "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
    "/repos/{owner}/{repo}/issues",
    "/repos/{owner}/{repo}/issues/{issue_number}",
    "/repos/{owner}/{repo}/labels",
    "/repos/{owner}/{repo}/labels/{name}",
    "/repos/{owner}/{repo}/issues/{issue_number}/comments",
    "/repos/{owner}/{repo}/issues/comments/{comment_id}",
    "/repos/{owner}/{repo}/check-runs",
    "/repos/{owner}/{repo}/check-runs/{check_run_id}",
    "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations",
    "/repos/{owner}/{repo}/collaborators/{username}/permission",
)
MAX_MESSAGE = 300


def load_spec(path: Path = SPEC_PATH, paths: Iterable[str] = SERVED_PATHS) -> dict[str, Any]:
    """The OpenAPI document with `paths` pruned to the given templates (components stay whole)."""
    with gzip.open(path) as stream:
        spec = json.load(stream)
    wanted = set(paths)
    missing = wanted - spec["paths"].keys()
    if missing:
        raise ValueError(f"paths not in the OpenAPI description: {sorted(missing)}")
    spec["paths"] = {template: item for template, item in spec["paths"].items() if template in wanted}
    _repair(spec)
    return spec


def _repair(node: Any) -> None:
    """Fix the places where GitHub's description and openapi-core disagree about what GitHub really sends.

    - A `nullable` schema with an `enum` (e.g. `check-run.conclusion`) must accept null: GitHub sends it.
    - The `created` filter of workflow-run lists is typed `date-time`, but GitHub takes (and documents) search
      qualifiers there, e.g. `<2026-01-01T00:00:00Z` or `2026-01-01..2026-01-31`: any string is accepted.
    - A `oneOf` whose discriminator cannot apply to one of its options (contents: a directory is an array)
      is checked without the discriminator: openapi-core rejects every array there.
    - `GET /app/installations` describes an installation's account as a user and an enterprise at once
      (`allOf`), where the `installation` schema says either one (`anyOf`), as GitHub sends it.
    """
    if isinstance(node, dict):
        if node.get("in") == "query" and node.get("name") == "created":
            node.get("schema", {}).pop("format", None)
        if node.get("nullable") and "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        if "oneOf" in node and "discriminator" in node and "array" in node["discriminator"].get("mapping", {}):
            del node["discriminator"]
        if [option.get("title") for option in node.get("allOf", [])] == ["Simple User", "Enterprise"]:
            node["anyOf"] = node.pop("allOf")
        for value in node.values():
            _repair(value)
    elif isinstance(node, list):
        for value in node:
            _repair(value)


def _short(text: str) -> str:
    """Long messages lose their middle (the repr of a big value), keeping what is wrong at the end."""
    if len(text) <= MAX_MESSAGE:
        return text
    return text[: MAX_MESSAGE // 2] + " … " + text[-MAX_MESSAGE // 2 :]


def _schema_problems(error: BaseException) -> list[str]:
    """Readable `at <field>: <problem>` lines from an openapi-core error and the jsonschema errors inside it."""
    problems: list[str] = []
    cause: BaseException | None = error
    while cause is not None:
        for schema_error in getattr(cause, "schema_errors", ()) or ():
            where = ".".join(str(part) for part in schema_error.absolute_path) or "(top level)"
            problems.append(f"at {where}: {_short(schema_error.message)}")
            for sub in (schema_error.context or [])[:3]:
                sub_where = ".".join(str(part) for part in sub.absolute_path) or where
                problems.append(f"  (one option: at {sub_where}: {_short(sub.message)})")
        if problems:
            return problems
        cause = cause.__cause__
    name = getattr(error, "name", None)
    detail = f"parameter {name!r}: " if name else ""
    return [_short(detail + f"{type(error).__name__}: {error}")]


class OpenAPIContract:
    """`check_request` / `check_response` / `check_webhook` return readable problems (empty when all fits the spec).

    Status codes GitHub's description does not list are accepted for errors (4xx/5xx) and for `304 Not Modified`,
    which GitHub sends for any conditional GET; undeclared success statuses are problems.
    """

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self.spec = spec if spec is not None else load_spec()
        self.openapi = OpenAPI.from_dict(self.spec, config=Config(spec_validator_cls=None))
        self._registry = Registry().with_resource(SPEC_URI, Resource.from_contents(self.spec, DRAFT4))

    def check_webhook(self, event: str, body: dict[str, Any]) -> list[str]:
        """Problems of a delivery body against the description's `x-webhooks` schema for its event and action."""
        key = event.replace("_", "-")
        if "action" in body and f"{key}-{body['action']}".replace("_", "-") in self.spec["x-webhooks"]:
            key = f"{key}-{body['action']}".replace("_", "-")
        if key not in self.spec["x-webhooks"]:
            return [f"webhook {key}: not described by GitHub's OpenAPI description"]
        pointer = f"{SPEC_URI}#/x-webhooks/{key}/post/requestBody/content/application~1json/schema"
        validator = OAS30Validator({"$ref": pointer}, registry=self._registry)
        problems = []
        for error in validator.iter_errors(body):
            where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
            problems.append(f"webhook {key}: at {where}: {_short(error.message)}")
        return problems

    def _template(self, method: str, path: str) -> str:
        parts = path.strip("/").split("/")
        for template, item in self.spec["paths"].items():
            pieces = template.strip("/").split("/")
            if (
                method.lower() in item
                and len(pieces) == len(parts)
                and all(p == q or p.startswith("{") for p, q in zip(pieces, parts, strict=True))
            ):
                return template
        return path

    def _request(self, method: str, url: str, headers: dict[str, str], body: Any) -> tuple[MockRequest, str]:
        parts = urlsplit(url)
        path = parts.path
        repo_part, marker, file_path = path.partition("/contents/")
        if marker:  # `{path}` of the contents API spans several segments: match it as one
            path = repo_part + marker + quote(file_path, safe="")
        data = b"" if body is None else json.dumps(body).encode()
        header_map = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "content-type")}
        request = MockRequest(SPEC_HOST, method, path, args=dict(parse_qsl(parts.query)), headers=header_map, data=data)
        return request, f"{method.upper()} {self._template(method, path)}"

    def check_request(self, method: str, url: str, headers: dict[str, str], body: Any) -> list[str]:
        request, label = self._request(method, url, headers, body)
        problems = []
        for error in self.openapi.iter_request_errors(request):
            if isinstance(error, PathNotFound | OperationNotFound):
                problems.append(f"{label}: not an operation of GitHub's REST API")
                continue
            where = "request body" if "Body" in type(error).__name__ else "request"
            problems += [f"{label} {where}: {line}" for line in _schema_problems(error)]
        return problems

    def check_response(self, method: str, url: str, status: int, headers: dict[str, str], body: Any) -> list[str]:
        request, label = self._request(method, url, {}, None)
        data = b"" if body is None else json.dumps(body).encode()
        response = MockResponse(
            data, status_code=status, headers=dict(headers), content_type="application/json" if body is not None else ""
        )
        problems = []
        for error in self.openapi.iter_response_errors(request, response):
            if isinstance(error, PathNotFound | OperationNotFound):
                continue  # already reported by check_request
            if isinstance(error, ResponseNotFound):
                if status >= 400 or status == 304:
                    continue
                problems.append(f"{label} response: status {status} is not a documented answer")
                continue
            problems += [f"{label} response {status}: {line}" for line in _schema_problems(error)]
        return problems
