"""The report on a `.github/ci-orchestrator.yml`: valid, or its problems in plain words, each at its line."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config.schema import CONFIG_PATH, ConfigProblem
from bot.report import Annotation, Report, escape_markdown

CHECK_NAME = "ci-orchestrator config"


def render_config_check(problems: Sequence[ConfigProblem]) -> Report:
    """Conclusion, plain-words summary and one annotation per problem, at its line."""
    if not problems:
        summary = f"`{CONFIG_PATH}` is valid. Its settings apply from the next event on."
        return Report("success", "Configuration is valid", summary)
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
        Annotation(
            path=CONFIG_PATH,
            start_line=p.line,
            end_line=p.line,
            level="failure",
            title=f"Invalid setting {p.key}" if p.key else "Invalid configuration file",
            message=p.message,
        )
        for p in problems
    ]
    return Report("failure", f"Configuration has {count}", "\n".join(lines), annotations=tuple(annotations))
