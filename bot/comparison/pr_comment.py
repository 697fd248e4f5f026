"""One comparison comment per pull request: a section per workflow, found again in the posted body and edited.

The comment starts with `PULL_REQUEST_MARKER`; each workflow's section sits between hidden markers
that carry the workflow's id, so a later run of one workflow replaces only its own section, and a
section parsed back from GitHub needs no memory of the App's. Workflows that are still running get a
one-line "waiting for `docs`" section until their run completes.

Comments of earlier versions, one per (pull request, workflow), carry `workflow_marker(id)`; the App
keeps editing those where they exist instead of adding a pull-request comment next to them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.report import COMMENT_MAX_CHARACTERS, escape_markdown

PULL_REQUEST_MARKER = "<!-- ci-orchestrator:comparison pull-request -->"
_SECTION_START = "<!-- ci-orchestrator:section workflow={workflow_id} -->"
_SECTION_END = "<!-- ci-orchestrator:end-section -->"
_SECTION = re.compile(
    r"<!-- ci-orchestrator:section workflow=(?P<id>\d+) -->\n(?P<body>.*?)\n<!-- ci-orchestrator:end-section -->",
    re.DOTALL,
)
_FRAME_CHARACTERS = 400  # title, markers and separators around the sections
_CUT_NOTE = "_✂️ Shortened to fit GitHub's size limit._"


def workflow_marker(workflow_id: int | None) -> str:
    """The marker of a per-workflow comment (the App's only kind before one comment per pull request)."""
    return f"<!-- ci-orchestrator:comparison workflow={workflow_id} -->"


def sections_of(body: str | None) -> dict[int, str]:
    """The sections of a posted pull-request comment by workflow id, in the order they appear."""
    if not body:
        return {}
    return {int(match["id"]): match["body"] for match in _SECTION.finditer(body)}


def waiting_section(workflow_name: str) -> str:
    return f"⏳ Waiting for **{escape_markdown(workflow_name)}** to finish."


def section_limit(section_count: int) -> int:
    """The characters one of `section_count` sections may take so that the comment fits GitHub's limit."""
    return (COMMENT_MAX_CHARACTERS - _FRAME_CHARACTERS) // max(1, section_count) - 100


def compose(sections: Mapping[int, str]) -> str:
    """The whole comment from its sections (each cut to its share of GitHub's limit if it must be)."""
    share = section_limit(len(sections))
    parts = [PULL_REQUEST_MARKER]
    for workflow_id, body in sections.items():
        if len(body) > share:
            body = body[: share - len(_CUT_NOTE) - 2].rsplit("\n", 1)[0] + "\n\n" + _CUT_NOTE
        parts += [_SECTION_START.format(workflow_id=workflow_id), body, _SECTION_END, ""]
    return "\n".join(parts)


def with_section(
    current: str | None, workflow_id: int, section: str, waiting: Mapping[int, str] | None = None
) -> dict[int, str]:
    """The comment's sections once this workflow's `section` replaces its old one.

    `waiting` maps workflows still running on the pull request's head to their names: those without a
    section yet get a waiting line; a waiting line of a workflow no longer running is dropped.
    """
    waiting = waiting or {}
    sections = sections_of(current)
    for other_id, text in list(sections.items()):
        if other_id != workflow_id and text.startswith("⏳") and other_id not in waiting:
            del sections[other_id]
    sections[workflow_id] = section
    for other_id, name in waiting.items():
        if other_id != workflow_id and other_id not in sections:
            sections[other_id] = waiting_section(name)
    return sections
