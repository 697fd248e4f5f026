"""Signed but malformed deliveries: thousands of mutated official payloads against the App and the local GitHub.

Every delivery is correctly signed, so it passes the signature check and reaches the envelope, the
dispatcher, the handlers and the flows. Whatever a mutation did (a field removed or of another type,
numbers out of range, invalid UTF-8, deep nesting, another event's payload), the App must answer
below 500, write no traceback to the log, and send GitHub no request its OpenAPI description refuses
(the `world` fixture checks every request the App makes).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import orjson
import pytest
from contract import OpenAPIContract
from helpers import CI_WORKFLOW, FIXTURES, add_baseline, ci_jobs, signed_headers

from bot.testing.simulator.webhooks import PayloadBuilder

SEED = 20261125
DELIVERIES = 2500
CONCURRENCY = 8
REVIEW_CHECK = "workflow review"
DISPATCHABLE = """name: Matrix
on:
  workflow_dispatch:
    inputs:
      python-version:
        required: true
jobs:
  test:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - run: pytest
"""
SUITES = """suites:
  python-matrix:
    workflow: matrix.yml
    matrix:
      python-version: ["3.12", "3.13"]
"""

_MARK = "\u0000fuzz-raw\u0000"  # a string value replaced by raw JSON text after serialising
_MARKED = json.dumps(_MARK).encode()
REPLACEMENT_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 2**63, 2**64 + 1, -(2**63) - 1, "", "x", "0" * 40, "a" * 70_000,
    "../../etc/passwd", "refs/heads/../../x", "@octo-org/team #1 <img src=x onerror=alert(1)>", "\u202egnp.exe",
    "a\nb\r\nc", "\u0000", "%2F..%2F", "😀" * 100, "owner/repo/extra", "/", [], [1, "a"], {}, {"id": "1"},
    "2026-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-02-30T00:00:00Z",
]  # fmt: skip
RAW_VALUES = [
    b"1e400", b"-1e400", b"1e-400", b"123456789012345678901234567890", b'"\\ud800"', b'"\xff\xfe"', b'"\xc3"',
    b"[" * 1000 + b"]" * 1000, b"[" * 5000 + b"]" * 5000, b'{"a":' * 600 + b"1" + b"}" * 600,
]  # fmt: skip
#: The keys the handlers read: half of the mutations are aimed at places with these names.
READ_KEYS = {
    "action", "installation", "id", "number", "sha", "head_sha", "ref", "full_name", "name", "path", "pull_requests",
    "app", "head", "base", "repo", "default_branch", "workflow_id", "run_attempt", "created_at", "updated_at",
    "run_started_at", "after", "before", "commits", "added", "modified", "head_commit", "deleted", "repositories",
    "repositories_removed", "head_repository", "owner", "login", "conclusion", "status", "event", "head_branch",
    "workflow_run", "check_run", "pull_request", "repository",
}  # fmt: skip
EVENTS = [
    "check_run",
    "installation",
    "installation_repositories",
    "issue_comment",
    "pull_request",
    "push",
    "workflow_job",
    "workflow_run",
]


class RememberedContract:
    """The OpenAPI contract, each distinct request and response checked once: the App repeats itself a lot,
    and one check costs more than the App's whole handling of a delivery. GitHub's description declares no
    header parameters, so a request is known by its method, URL and body (checked in `__init__`)."""

    def __init__(self, contract: OpenAPIContract) -> None:
        operations = [op for item in contract.spec["paths"].values() for op in item.values() if isinstance(op, dict)]
        parameters = [p for op in operations for p in op.get("parameters", [])]
        components = contract.spec["components"]["parameters"]
        resolved = [components[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p for p in parameters]
        assert not [p for p in resolved if p.get("in") == "header"], "a request's headers matter now"
        self._contract = contract
        self._seen: dict[str, list[str]] = {}

    def _once(self, key: list[Any], check: Callable[[], list[str]]) -> list[str]:
        text = json.dumps(key, sort_keys=True, default=repr)
        if text not in self._seen:
            self._seen[text] = check()
        return self._seen[text]

    def check_request(self, method: str, url: str, headers: dict[str, str], body: Any) -> list[str]:
        return self._once(
            ["request", method, url, body], lambda: self._contract.check_request(method, url, headers, body)
        )

    def check_response(self, method: str, url: str, status: int, headers: dict[str, str], body: Any) -> list[str]:
        varying = ("x-github-request-id", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset")
        kept = {name: value for name, value in headers.items() if name.lower() not in varying}
        return self._once(
            ["response", method, url, status, kept, body],
            lambda: self._contract.check_response(method, url, status, headers, body),
        )


@pytest.fixture
def openapi_contract(openapi_contract: OpenAPIContract) -> RememberedContract:
    return RememberedContract(openapi_contract)


def official_seeds(installation_id: int, repository: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """GitHub's official examples of every event, delivered to the simulated installation and repository."""
    seeds = []
    for path in sorted((FIXTURES / "github-webhooks").glob("*/*.json")):
        payload = json.loads(path.read_text())
        payload["installation"] = {"id": installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
        if "repository" in payload:
            payload["repository"] = copy.deepcopy(repository)
        seeds.append((path.parent.name, payload))
    return seeds


async def simulated_seeds(github) -> tuple[list[tuple[str, dict[str, Any]]], int, dict[str, Any]]:
    """Deliveries of a project the simulator knows in full, so that the flows go all the way to their writes;
    with the installation id and the repository JSON."""
    installation = github.add_installation("octo-org")
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n", ".github/ci-testing.yml": SUITES})
    workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content=CI_WORKFLOW)
    github.add_workflow(repo, ".github/workflows/matrix.yml", "Matrix", content=DISPATCHABLE)
    github.set_collaborator(repo, "mona", "write")
    add_baseline(github, repo, workflow, 8)
    changed = CI_WORKFLOW.replace("timeout-minutes: 30\n", "", 1) + "  lint:\n    runs-on: ubuntu-latest\n"
    github.commit(repo, "feature", {".github/workflows/ci.yml": changed, ".github/ci-orchestrator.yml": "x: [\n"})
    pr = await github.open_pull_request(repo, "feature", deliver=False)
    run = github.add_run(
        repo, workflow, head_sha=pr.head_sha, head_branch="feature", event="pull_request", jobs=ci_jobs(build=900)
    )
    check = github.add_check_run(repo, pr.head_sha, REVIEW_CHECK)
    build = PayloadBuilder(github.render)
    main_sha = repo.branches["main"]
    url, github.webhook_url = github.webhook_url, None  # comments recorded, not delivered
    commands = [
        await github.add_issue_comment(pr, text, user="mona") for text in ("/ci test python-matrix", "/ci help")
    ]
    github.webhook_url = url
    return (
        [
            *(("issue_comment", build.issue_comment(comment, pr, installation)) for comment in commands),
            ("pull_request", build.pull_request(pr, "opened", installation, "octocat")),
            ("pull_request", build.pull_request(pr, "synchronize", installation, "octocat", before=main_sha)),
            ("workflow_run", build.workflow_run(run, "completed", installation)),
            ("check_run", build.check_run(check, "rerequested", installation, "octocat")),
            ("push", build.push(repo, installation, "feature", main_sha, pr.head_sha, "octocat")),
        ],
        installation.id,
        github.render.repository(repo),
    )


def locations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a JSON document: each key of each object and each index of each list."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*path, index)
            yield from locations(item, (*path, index))


def mutated(
    rng: random.Random, event: str, payload: bytes, places: list[tuple[Any, ...]], read: list[tuple[Any, ...]]
) -> tuple[str, bytes, str]:
    """One to three mutations of a payload (its JSON, and every place in it): (event header, body, what was done)."""
    data = orjson.loads(payload)
    raw = b""
    done = []
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(read if read and rng.random() < 0.5 else places)
        try:
            parent = data
            for step in path[:-1]:
                parent = parent[step]
            parent[path[-1]]  # still there after the mutations before?
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):
            continue
        kind = rng.random()
        if kind < 0.25 and isinstance(parent, dict):
            del parent[path[-1]]
            done.append(f"del {path}")
        elif kind < 0.8 or raw:
            parent[path[-1]] = copy.deepcopy(rng.choice(REPLACEMENT_VALUES))
            done.append(f"set {path}")
        else:
            raw = rng.choice(RAW_VALUES)
            parent[path[-1]] = _MARK
            done.append(f"raw {path} {raw[:12]!r}")
    body = json.dumps(data).encode()
    if raw:
        body = body.replace(_MARKED, raw, 1)
    whole = rng.random()
    if whole < 0.03:
        body, done = (
            rng.choice([b"[]", b"null", b'"x"', b"1", b"\xef\xbb\xbf" + body, body[: len(body) // 2]]),
            ["body"],
        )
    if whole > 0.93:
        event = rng.choice(EVENTS)
        done.append(f"as {event}")
    return event, body, "; ".join(done)


async def test_mutated_signed_deliveries_get_no_5xx_no_traceback_and_no_invalid_request(world, caplog):
    caplog.set_level(logging.INFO)
    rng = random.Random(SEED)
    simulated, installation_id, repository = await simulated_seeds(world.github)
    seeds = []
    for event, payload in simulated * 4 + official_seeds(installation_id, repository):
        places = list(locations(payload))
        read = [path for path in places if path[-1] in READ_KEYS or isinstance(path[-1], int)]
        seeds.append((event, orjson.dumps(payload), places, read))
    url = world.github.webhook_url
    answers: Counter[int] = Counter()
    fives: list[str] = []
    queue: asyncio.Queue[tuple[str, bytes, str]] = asyncio.Queue()
    for _ in range(DELIVERIES):
        queue.put_nowait(mutated(rng, *rng.choice(seeds)))

    async def sender(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            event, body, what = queue.get_nowait()
            headers = signed_headers(event, body, delivery_id=str(uuid.uuid4()))
            async with session.post(url, data=body, headers=headers) as response:
                answers[response.status] += 1
                if response.status >= 500:
                    fives.append(f"{response.status} {event}: {what}: {await response.text()}")

    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(sender(session) for _ in range(CONCURRENCY)))
    await asyncio.wait_for(world.settle(), 60)
    print(f"{DELIVERIES} deliveries in {time.monotonic() - started:.1f} s, answers {dict(answers)}")

    assert fives == []
    tracebacks = [f"{r.levelname} {r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or r.levelno >= 40]
    assert tracebacks == []
    # Not a test that cannot fail: most deliveries got through to the handlers, and the flows reached GitHub.
    assert answers[202] > DELIVERIES // 2 and answers[400] > 0
    writes = Counter(request.method for request in world.github.requests if request.method != "GET")
    assert writes["POST"] > 0 and writes["PATCH"] > 0, writes
    assert "ignored:" in caplog.text and "GitHub refused" in caplog.text
