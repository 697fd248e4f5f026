"""Comment commands (`/ci test …`, `/ci help`): found in a comment's text, parsed by a real argument parser.

Pure. A command is a `CommandSpec` (name, one-line summary, its arguments); `COMMANDS` parses a comment with all
of them. Only a line that starts with `/ci` counts: lines in quotes (`>`), fenced or indented code blocks and
HTML comments are skipped, and only the first command of a comment is taken. Bad arguments give a `UsageError`
whose message and usage are what the App replies, never silence.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

PREFIX = "/ci"
MAX_COMMAND_CHARACTERS = 2000
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_COMMAND_LINE = re.compile(r"^ {0,3}/ci(?:\s|$)")


class UsageError(Exception):
    """A command was written wrongly; `usage` is how to write it."""

    def __init__(self, message: str, usage: str) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage


def no_arguments(parser: argparse.ArgumentParser) -> None:
    """A command that takes no arguments."""


@dataclass(frozen=True)
class CommandSpec:
    """One comment command: `/ci NAME ARGUMENTS`. `arguments` adds its arguments to an argparse parser."""

    name: str
    summary: str
    arguments: Callable[[argparse.ArgumentParser], None] = no_arguments
    needs_write: bool = True  # only users with write permission (or maintain/admin) may run it


@dataclass(frozen=True)
class Command:
    """A parsed command: its spec and its arguments."""

    spec: CommandSpec
    arguments: argparse.Namespace
    text: str  # the command line as written


class _Parser(argparse.ArgumentParser):
    """argparse that raises `UsageError` instead of printing and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, self.format_usage().strip())

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise UsageError(message or "see the usage", self.format_help().strip())


def command_line(body: str) -> str | None:
    """The first `/ci …` line of a comment written as a command (not quoted, not in code or an HTML comment)."""
    body = re.sub(r"<!--.*?(-->|$)", "", body, flags=re.S)
    fence: str | None = None
    for line in body.splitlines():
        opening = _FENCE.match(line)
        if fence is not None:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = None
            continue
        if opening:
            fence = opening.group(1)
            continue
        if _COMMAND_LINE.match(line):  # a quote starts with `>`, an indented code block with 4 spaces
            return line.strip()[:MAX_COMMAND_CHARACTERS]
    return None


@dataclass
class CommandSet:
    """The commands the App knows; `add` registers one (one line per command)."""

    specs: dict[str, CommandSpec] = field(default_factory=dict)

    def add(self, spec: CommandSpec) -> CommandSpec:
        self.specs[spec.name] = spec
        return spec

    def _parser(self, spec: CommandSpec) -> _Parser:
        parser = _Parser(prog=f"{PREFIX} {spec.name}", description=spec.summary, add_help=False, allow_abbrev=False)
        spec.arguments(parser)
        return parser

    def usage(self, names: Iterable[str] | None = None) -> str:
        """Every command's usage line and summary (or those of `names`)."""
        chosen = [self.specs[name] for name in (names or self.specs) if name in self.specs]
        return "\n".join(
            f"{self._parser(spec).format_usage().strip().removeprefix('usage: ')}\n    {spec.summary}"
            for spec in chosen
        )

    def parse(self, body: str) -> Command | None:
        """The command in a comment; None when the comment holds none. Raises `UsageError` when it is wrong."""
        line = command_line(body)
        if line is None:
            return None
        try:
            words = shlex.split(line)
        except ValueError as error:  # an unclosed quote
            raise UsageError(f"the command cannot be read: {error}", self.usage()) from None
        if len(words) < 2:
            raise UsageError("which command? These are the commands:", self.usage())
        name, rest = words[1], words[2:]
        spec = self.specs.get(name)
        if spec is None:
            from difflib import get_close_matches

            close = get_close_matches(name, list(self.specs), n=1)
            hint = f"; did you mean {PREFIX} {close[0]}?" if close else ""
            raise UsageError(f"unknown command {name!r}{hint}", self.usage())
        return Command(spec, self._parser(spec).parse_args(rest), line)


def _test_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        nargs="?",
        metavar="SUITE|WORKFLOW",
        help="a suite of .github/ci-testing.yml, or a workflow file such as ci.yml (default: the only suite)",
    )
    parser.add_argument(
        "--matrix", metavar="JSON", help='inputs and their values, e.g. \'{"python": ["3.11", "3.12"]}\''
    )
    parser.add_argument("--ref", metavar="REF", help="the branch or tag to dispatch (default: the pull request's head)")


COMMANDS = CommandSet()
TEST = COMMANDS.add(
    CommandSpec("test", "dispatch a test suite (or a workflow) for every leg of its matrix", _test_arguments)
)
RERUN_FAILED = COMMANDS.add(CommandSpec("rerun-failed", "dispatch the failed legs of the last test session again"))
CANCEL = COMMANDS.add(CommandSpec("cancel", "cancel this pull request's running test sessions"))
HEALTH = COMMANDS.add(CommandSpec("health", "refresh this repository's CI health issue now"))
HELP = COMMANDS.add(CommandSpec("help", "list the commands", needs_write=False))
