"""One typed report that every capability renders and the publisher posts, GitHub's output limits, and escaping.

A `Report` is what a check run shows: conclusion, title, summary, optional text and annotations.
The limits GitHub puts on check runs and comments are defined here once and enforced when a
`Report` is built, so no capability can post an output GitHub would refuse.

Every text that comes from a repository or a user (workflow, job and step names, paths, branches,
messages of external tools) is untrusted: it goes through `escape_markdown` in markdown, or
`plain_text` where GitHub shows plain text (titles, annotation messages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

Conclusion = Literal["success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required"]
AnnotationLevel = Literal["notice", "warning", "failure"]

CHECK_OUTPUT_MAX_BYTES = 65_535  # output.summary and output.text, each
CHECK_TITLE_MAX_CHARACTERS = 255  # output.title and annotation titles
CHECK_NAME_MAX_CHARACTERS = 100
ANNOTATIONS_PER_REQUEST = 50
ANNOTATION_MESSAGE_MAX_BYTES = 64_000
COMMENT_MAX_CHARACTERS = 65_536
NAME_MAX_CHARACTERS = 200  # a name quoted in a report
CUT_NOTE = "\n… (cut to fit GitHub's size limit)\n"

# Control characters, line/paragraph separators, bidirectional marks, overrides and isolates.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\u0085\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
_INVISIBLE_IN_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_\[\]()#!|~])")
# What GitHub links in text even when escaped: issue and pull request references.
_REFERENCE = re.compile(r"(#|\bGH-)(?=\d)", re.IGNORECASE)
_ZERO_WIDTH_SPACE = "\u200b"


def plain_text(text: str, limit: int = NAME_MAX_CHARACTERS) -> str:
    """One line of text: control characters and newlines become spaces; cut to `limit` with an ellipsis."""
    text = _CONTROL_CHARACTERS.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain_lines(text: str) -> str:
    """Text shown as plain text on several lines (annotation messages): NUL, controls and bidi marks removed."""
    return _INVISIBLE_IN_TEXT.sub("", text)


@lru_cache(maxsize=8192)
def escape_markdown(text: str, limit: int = NAME_MAX_CHARACTERS) -> str:
    """Untrusted text made inert in GitHub markdown, inside or outside a table cell: THE escaping of the App.

    One line (control characters, bidi marks and NUL gone); HTML special characters as entities;
    markdown punctuation (including `|`) backslash-escaped; a zero-width space after `@` (no mentions),
    after `#` and `GH-` before a number (no issue references), and inside `://` and `www.` (no autolinks).
    """
    text = plain_text(text, limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    text = _REFERENCE.sub(lambda match: match[1] + _ZERO_WIDTH_SPACE, text)
    text = _MARKDOWN_PUNCTUATION.sub(r"\\\1", text)
    return (
        text.replace("@", "@" + _ZERO_WIDTH_SPACE)
        .replace("://", ":" + _ZERO_WIDTH_SPACE + "//")
        .replace("www.", "www" + _ZERO_WIDTH_SPACE + ".")
    )


def code_span(text: str, limit: int = NAME_MAX_CHARACTERS) -> str:
    """Untrusted text shown verbatim in a code span (inert: no markdown, HTML, mentions or references in it).

    One line; the fence is longer than any run of backticks inside; `|` is escaped so that a table cell
    is not split (GitHub removes that backslash).
    """
    text = plain_text(text, limit).replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") or not text else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def code_block(text: str, info: str = "") -> str:
    """Untrusted text as a fenced block whose fence no line of the text can close."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{info}\n{plain_lines(text)}\n{fence}"


def fits_bytes(text: str, limit: int = CHECK_OUTPUT_MAX_BYTES) -> bool:
    return len(text.encode("utf-8")) <= limit


def fit_bytes(text: str, limit: int = CHECK_OUTPUT_MAX_BYTES, note: str = CUT_NOTE) -> str:
    """`text` cut at a line boundary so that its UTF-8 form, with `note` after it, stays within `limit` bytes."""
    if fits_bytes(text, limit):
        return text
    budget = limit - len(note.encode("utf-8"))
    kept: list[str] = []
    used = 0
    for line in text.splitlines(keepends=True):
        size = len(line.encode("utf-8"))
        if used + size > budget:
            break
        kept.append(line)
        used += size
    if not kept:  # one huge line: cut inside it, on a character boundary
        kept = [text.encode("utf-8")[:budget].decode("utf-8", "ignore")]
    return "".join(kept) + note


@dataclass(frozen=True)
class Annotation:
    """A finding on a line of a file in the repository, as a check run shows it."""

    path: str
    start_line: int
    end_line: int
    level: AnnotationLevel
    message: str
    title: str = ""
    start_column: int | None = None
    end_column: int | None = None
    raw_details: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "start_line", max(1, self.start_line))
        object.__setattr__(self, "end_line", max(self.start_line, self.end_line))
        object.__setattr__(self, "title", plain_text(self.title, CHECK_TITLE_MAX_CHARACTERS))
        object.__setattr__(self, "message", fit_bytes(plain_lines(self.message), ANNOTATION_MESSAGE_MAX_BYTES))
        if self.raw_details is not None:
            object.__setattr__(
                self, "raw_details", fit_bytes(plain_lines(self.raw_details), ANNOTATION_MESSAGE_MAX_BYTES)
            )
        if self.start_column is not None and self.start_line != self.end_line:
            object.__setattr__(self, "start_column", None)  # GitHub takes columns on one-line annotations only
            object.__setattr__(self, "end_column", None)

    @property
    def key(self) -> tuple[str, int, str, str]:
        """What makes an annotation the same finding again (numbers in its title may differ between attempts)."""
        return self.path, self.start_line, self.level, self.title.split(":", 1)[0]


@dataclass(frozen=True)
class Report:
    """What one capability has to say about one commit: a check run's conclusion and output.

    A report without a conclusion is one still in progress (e.g. waiting for a confirming re-run)."""

    conclusion: Conclusion | None
    title: str
    summary: str
    text: str = ""
    annotations: tuple[Annotation, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", plain_text(self.title, CHECK_TITLE_MAX_CHARACTERS))
        object.__setattr__(self, "summary", fit_bytes(self.summary))
        object.__setattr__(self, "text", fit_bytes(self.text))
        object.__setattr__(self, "annotations", tuple(self.annotations))


def check_run_name(name: str) -> str:
    """A check run's name as GitHub takes it: one line, at most 100 characters."""
    return plain_text(name, CHECK_NAME_MAX_CHARACTERS)
