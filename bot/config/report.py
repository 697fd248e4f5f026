"""The check run that reports a broken `.github/ci-orchestrator.yml` on the commit that changed it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.comparison.report import CheckRunOutput, escape_markdown
from bot.config.schema import CONFIG_PATH, ConfigProblem

CHECK_NAME = "ci-orchestrator config"


def config_check(problems: Sequence[ConfigProblem]) -> tuple[CheckRunOutput, list[dict[str, Any]]]:
    """Conclusion, plain-words summary and one annotation per problem, at its line."""
    if not problems:
        summary = f"`{CONFIG_PATH}` is valid. Its settings apply from the next event on."
        return CheckRunOutput("success", "Configuration is valid", summary), []
    count = f"{len(problems)} problem{'s' if len(problems) > 1 else ''}"
    lines = [
        f"`{CONFIG_PATH}` has {count}. Until it is fixed, every setting that is wrong falls back to the organization's"
        " value or the default; the valid settings still apply.",
        "",
        "| line | setting | problem |",
        "| ---: | --- | --- |",
    ]
    # No code span around the key: backslash escapes show literally inside one.
    lines += [
        f"| {p.line} | {escape_markdown(p.key or '(file)')} | {escape_markdown(p.message, 500)} |" for p in problems
    ]
    annotations = [
        {
            "path": CONFIG_PATH,
            "start_line": p.line,
            "end_line": p.line,
            "annotation_level": "failure",
            "title": f"Invalid setting {p.key}"[:255] if p.key else "Invalid configuration file",
            "message": p.message[:65_000],
        }
        for p in problems
    ]
    return CheckRunOutput("failure", f"Configuration has {count}", "\n".join(lines)), annotations
