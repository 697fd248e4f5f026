"""Comment commands, acted on once: claim the comment, 👀, parse, check the author's permission, run the command's
action, then 🚀 (done) or 😕 (refused, wrong, failed) with a reply that says why.

A command registers in one line: `commands.register(SPEC, action)`, where SPEC is a `bot.commands.CommandSpec` and
`action(context, command)` returns True when it did what was asked (it may reply itself through `context`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.commands import HELP, Command, CommandSet, CommandSpec, UsageError, command_line
from bot.flows.provider import OnDemandProvider
from bot.ondemand.render import render_refusal
from bot.report import escape_markdown

log = logging.getLogger(__name__)

WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})


class CommandClaims(Protocol):
    async def claim_command(self, repository_id: int, comment_id: int, *, now: datetime) -> bool: ...


@dataclass(frozen=True)
class CommentCommand:
    """A comment that may hold a command, as the flow needs it (from an `issue_comment` delivery)."""

    repository_id: int
    installation_id: int | None
    default_branch: str
    number: int  # the pull request's (or issue's) number
    is_pull_request: bool
    comment_id: int
    body: str
    author: str
    author_is_bot: bool


@dataclass(frozen=True)
class CommandContext:
    """What an action gets: the comment, the repository's provider, the time, and a way to reply."""

    comment: CommentCommand
    provider: OnDemandProvider
    now: datetime
    commands: CommandSet
    services: Any = None  # the App's services (store, settings), for actions that need them

    async def reply(self, message: str, details: str = "") -> None:
        """Reply to the comment: `message` is markdown written by the App, `details` is shown verbatim."""
        marker_id = f"command-{self.comment.comment_id}"
        await self.provider.post_reply(
            self.comment.number,
            render_refusal(marker_id, message, details),
            f"ci-orchestrator:test-session:{marker_id}",
        )


CommandAction = Callable[[CommandContext, Command], Awaitable[bool]]


async def show_help(context: CommandContext, command: Command) -> bool:
    await context.reply("The commands of CI Orchestrator:", context.commands.usage())
    return True


@dataclass
class CommandRouter:
    """The commands the App acts on, each with its action."""

    commands: CommandSet = field(default_factory=CommandSet)
    actions: dict[str, CommandAction] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.register(HELP, show_help)

    def register(self, spec: CommandSpec, action: CommandAction) -> None:
        self.commands.add(spec)
        self.actions[spec.name] = action

    async def handle(
        self,
        comment: CommentCommand,
        provider: OnDemandProvider,
        claims: CommandClaims,
        now: datetime,
        services: Any = None,
    ) -> str:
        """Act on the comment's command once; what happened: ignored, duplicate, usage, refused, done or failed."""
        if comment.author_is_bot or command_line(comment.body) is None:
            return "ignored"
        if not await claims.claim_command(comment.repository_id, comment.comment_id, now=now):
            return "duplicate"
        await provider.react(comment.comment_id, "eyes")
        context = CommandContext(comment, provider, now, self.commands, services)
        try:
            command = self.commands.parse(comment.body)
        except UsageError as error:
            await context.reply(
                f"{escape_markdown(comment.author)}, I could not read that command.",
                f"{error.message}\n\n{error.usage}",
            )
            await provider.react(comment.comment_id, "confused")
            return "usage"
        assert command is not None
        if command.spec.needs_write:
            permission = await provider.permission(comment.author)
            if permission not in WRITE_PERMISSIONS:
                await context.reply(
                    f"Sorry {escape_markdown(comment.author)}, `/ci {command.spec.name}` needs write access to this "
                    f"repository, and yours is `{escape_markdown(permission)}`. Ask a maintainer to run it."
                )
                await provider.react(comment.comment_id, "confused")
                return "refused"
        try:
            done = await self.actions[command.spec.name](context, command)
        except Exception:
            with suppress(Exception):
                await provider.react(comment.comment_id, "confused")
            raise
        await provider.react(comment.comment_id, "rocket" if done else "confused")
        return "done" if done else "refused"
