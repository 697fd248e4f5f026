"""Check a pushed `.github/ci-orchestrator.yml` and publish its check run; refresh on default-branch pushes."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config.loading import check_config_text
from bot.config.report import CHECK_NAME, render_config_check
from bot.config.schema import CONFIG_PATH, ConfigProblem
from bot.flows.provider import CIProvider, UnreadableFile
from bot.report import Report


@dataclass(frozen=True)
class Push:
    """A push of commits to a branch, and the paths its commits added or modified."""

    branch: str
    default_branch: str
    after: str
    touched: frozenset[str]


def check_config(text: str) -> Report:
    """The config check's report for one file's text (also what `ci-orchestrator check-config` prints)."""
    _, problems = check_config_text(text)
    return render_config_check(problems)


async def check_pushed_config(provider: CIProvider, push: Push) -> Report | None:
    """Publish the config check on the pushed commit when the push changes the config file; None otherwise.

    A push to the default branch also makes the App read the configuration again.
    """
    if push.branch == push.default_branch:
        provider.forget_config()
    if CONFIG_PATH not in push.touched:
        return None
    try:
        text = await provider.file_text(CONFIG_PATH, push.after)
    except UnreadableFile as error:
        report = render_config_check([ConfigProblem(1, 1, "", str(error))])
    else:
        if text is None:  # changed, then deleted again in the same push
            return None
        report = check_config(text)
    await provider.publish_check_run(push.after, CHECK_NAME, report)
    return report
