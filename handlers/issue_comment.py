"""`issue_comment` created: comment commands (`/ci test`, `/ci rerun-failed`, `/ci cancel`, `/ci health`,
`/ci help`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from gidgethub import routing, sansio

from bot.app.services import Services
from bot.commands import CANCEL, HEALTH, RERUN_FAILED, TEST, Command
from bot.flows import test_on_demand
from bot.flows.comment_commands import CommandContext, CommandRouter
from bot.flows.health import RepositoryRef, health_command
from bot.github import events
from bot.github.provider import GitHubProvider

router = routing.Router()
log = logging.getLogger(__name__)
commands = CommandRouter()


def _place(context: CommandContext) -> test_on_demand.Place:
    services: Services = context.services
    comment = context.comment
    return test_on_demand.Place(
        context.provider,
        services.store.sessions,
        comment.repository_id,
        comment.installation_id,
        comment.default_branch,
        services.testing,
    )


async def _test(context: CommandContext, command: Command) -> bool:
    return await test_on_demand.test_command(_place(context), context, command)


async def _rerun_failed(context: CommandContext, command: Command) -> bool:
    return await test_on_demand.rerun_failed_command(_place(context), context, command)


async def _cancel(context: CommandContext, command: Command) -> bool:
    return await test_on_demand.cancel_command(_place(context), context, command)


async def _health(context: CommandContext, command: Command) -> bool:
    services: Services = context.services
    assert services.store is not None and isinstance(context.provider, GitHubProvider)
    comment = context.comment
    repository = RepositoryRef(comment.repository_id, context.provider.repo, comment.default_branch)
    await context.reply(await health_command(context.provider, services.store.health, repository, now=context.now))
    return True


commands.register(TEST, _test)
commands.register(HEALTH, _health)
commands.register(RERUN_FAILED, _rerun_failed)
commands.register(CANCEL, _cancel)


@router.register("issue_comment", action="created")
async def act_on_command(event: sansio.Event, gh: Any, services: Services) -> None:
    comment = events.comment_command(event.data)
    repo = events.repository(event.data)
    outcome = await commands.handle(
        comment, services.provider(gh, repo), services.store.sessions, datetime.now(UTC), services
    )
    log.info("comment %s on #%s: %s", comment.comment_id, comment.number, outcome)
