"""Untrusted text in everything the App posts: PR authors' names, paths and branches never become markup.

A table of hostile inputs goes into a workflow's name, its jobs' and steps' names, the PR's branch and a
config file; every surface the App then posts (comments, check-run names, titles, summaries, texts,
annotations, reviews and review comments) is checked: no mention, no issue reference, no HTML, no link,
no broken table, no bidi control and no NUL outside code spans, where GitHub shows text verbatim.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from helpers import add_baseline

from bot.config.schema import CONFIG_PATH
from bot.report import code_span, escape_markdown, plain_text
from bot.testing.simulator import JobSpec, StepSpec

HOSTILE = {
    "mention": "@org/team",
    "issue reference": "#123",
    "GitHub reference": "GH-42",
    "html": "<img src=x onerror=alert(1)>",
    "link": "[click](https://evil.example)",
    "autolink": "https://evil.example/x",
    "table": "a | b",
    "emphasis": "**bold**",
    "code": "`tick`",
    "bidi override": "\u202eevil\u202c",
    "nul": "nul\x00byte",
    "newline": "line\nbreak",
}
EVERYTHING = " ".join(HOSTILE.values())
# A workflow file name with what URLs and markdown treat specially: the App must read this very file.
HOSTILE_PATH = ".github/workflows/evil @org #5 <b>x a%2Fb ?q=1 `t` | c.yml"
BIDI_AND_NUL = re.compile(r"[\x00\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FENCED_BLOCK = re.compile(r"^(`{3,})[^\n]*\n.*?^\1\s*$", re.DOTALL | re.MULTILINE)
CODE_SPAN = re.compile(r"(?<![\\`])(`+)(?!`).*?(?<![`\\])\1(?!`)", re.DOTALL)  # not backslash-escaped ones
# What GitHub would turn into markup, outside code: an unescaped mention, reference, HTML tag, link or cell break.
MARKUP = {
    "mention": re.compile(r"(?<![\w`])@(?!\u200b)[A-Za-z0-9]"),
    "issue reference": re.compile(r"(?<![\\\w])#\d|\bGH-\d", re.IGNORECASE),
    "html": re.compile(r"<img|<b>", re.IGNORECASE),
    "link": re.compile(r"\]\(https://evil|(?<!\u200b)//evil\.example"),
    "table": re.compile(r"\ba \| b\b"),  # the hostile "a | b" with its pipe unescaped
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_input_is_inert_in_markdown_and_plain_text(name: str) -> None:
    for rendered in (escape_markdown(HOSTILE[name]), f"x {code_span(HOSTILE[name])} y"):
        assert outside_code(rendered) == rendered.replace(code_span(HOSTILE[name]), "") or "`" in rendered
        assert not any(pattern.search(outside_code(rendered)) for pattern in MARKUP.values()), rendered
        assert not BIDI_AND_NUL.search(rendered) and "\n" not in rendered
    assert not BIDI_AND_NUL.search(plain_text(HOSTILE[name])) and "\n" not in plain_text(HOSTILE[name])


def outside_code(markdown: str) -> str:
    return CODE_SPAN.sub("", FENCED_BLOCK.sub("", markdown))


def quoted(text: str) -> str:
    """A YAML double-quoted string of `text` (NUL left out: a workflow file cannot hold one)."""
    escaped = text.replace("\x00", "").replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + escaped.replace("\u202e", "\\u202E").replace("\u202c", "\\u202C") + '"'


def hostile_workflow() -> str:
    return f"""name: {quoted("CI " + EVERYTHING)}
on:
  pull_request:
jobs:
  build:
    name: {quoted("build " + EVERYTHING)}
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: {quoted("setup " + EVERYTHING)}
        uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -r requirements.txt
  test:
    name: {quoted("test " + EVERYTHING)}
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: {quoted("setup " + EVERYTHING)}
        uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - run: pip install -r requirements.txt
"""


async def test_every_posted_surface_is_inert(world) -> None:
    github = world.github
    installation = github.add_installation("octo-org")
    config = "comparison:\n  comment: always\nreview:\n  suggestions: true\n  only_changed_lines: false\n"
    repo = github.add_repo("octo-org/app", installation, files={"README.md": "hi\n", CONFIG_PATH: config})
    workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI " + EVERYTHING, content="on: push\n")
    job_names = {"build": "build " + EVERYTHING, "test": "test " + EVERYTHING}
    add_baseline(github, repo, workflow, test_name=job_names["test"])
    branch = "feature-@admins-#7"
    github.commit(
        repo,
        branch,
        {
            ".github/workflows/ci.yml": hostile_workflow(),
            HOSTILE_PATH: hostile_workflow(),
            CONFIG_PATH: config + "  bogus " + EVERYTHING + ": 1\n",
        },
        message="Hostile names",
    )
    pr = await github.open_pull_request(repo, branch, title=EVERYTHING)
    run = github.add_run(
        repo,
        workflow,
        head_sha=pr.head_sha,
        head_branch=branch,
        event="pull_request",
        created_at=dt.datetime(2026, 11, 3, tzinfo=dt.UTC),
        jobs=[
            JobSpec("build", duration=900, steps=[StepSpec("step " + EVERYTHING, 890)]),
            JobSpec(
                job_names["test"], duration=200, conclusion="failure", steps=[StepSpec("make test", 195, "failure")]
            ),
        ],
    )
    await github.deliver_workflow_run(run)
    await world.settle()

    markdown: dict[str, str] = {}
    plain: dict[str, str] = {}
    for comment in github.issue_comments(repo, pr.number):
        markdown[f"comment {comment.id}"] = comment.body
    for review in github.reviews(repo, pr.number):
        markdown[f"review {review.id}"] = review.body
    for comment in github.state.review_comments.values():
        markdown[f"review comment {comment.id}"] = comment.body
    for check in github.check_runs_for(repo, pr.head_sha):
        plain[f"check name {check.id}"] = check.name
        plain[f"check title {check.id}"] = check.output.get("title") or ""
        markdown[f"check summary {check.id}"] = check.output.get("summary") or ""
        markdown[f"check text {check.id}"] = check.output.get("text") or ""
        for index, annotation in enumerate(check.annotations):
            for part in ("title", "message", "raw_details"):
                plain[f"annotation {part} {check.id}/{index}"] = getattr(annotation, part) or ""

    (review,) = [c for c in github.check_runs_for(repo, pr.head_sha) if c.name == "workflow review"]
    assert {a.path for a in review.annotations} >= {HOSTILE_PATH, ".github/workflows/ci.yml"}
    # The very file was read: each path segment encoded (`#`, `?`, `%`, ...), decoded by GitHub to the same name.
    assert f"/repos/octo-org/app/contents/{HOSTILE_PATH}" in [r.path for r in github.requests]
    names = {check.name for check in github.check_runs_for(repo, pr.head_sha)}
    assert names >= {"workflow review", plain_text("CI comparison: CI " + EVERYTHING, 100)}
    assert sum("evil" in text for text in markdown.values()) >= 3  # the hostile names were shown, made inert
    assert any("suggestion" in text for text in markdown.values())  # the review suggestions were posted too
    for where, text in markdown.items():
        visible = outside_code(text)
        for kind, pattern in MARKUP.items():
            assert not pattern.search(visible), f"{kind} in {where}: {visible[:2000]!r}"
        assert not BIDI_AND_NUL.search(text), where
    for where, text in plain.items():
        assert not BIDI_AND_NUL.search(text), where
