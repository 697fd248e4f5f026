"""Config analyzer: checks `.github/ci-orchestrator.yml` with the App's own config checker (`bot.config`)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config import loading
from bot.review.model import Finding, ReviewContext, SourceFile


class ConfigFileAnalyzer:
    """Turns each problem `bot.config.loading.check_config_text` reports into an error finding."""

    name = "config"

    def analyze(self, files: Sequence[SourceFile], context: ReviewContext) -> list[Finding]:
        findings = []
        for source in files:
            if source.kind != "config":
                continue
            _, problems = loading.check_config_text(source.text)
            for problem in problems:
                line = max(int(problem.line), 1)
                where = f"`{problem.key}`: " if problem.key else ""
                findings.append(
                    Finding(
                        path=source.path,
                        line=line,
                        column=max(int(problem.column), 1),
                        end_line=line,
                        level="error",
                        rule="config/invalid",
                        message=f"{where}{problem.message}",
                    )
                )
        return findings
