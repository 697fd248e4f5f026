"""Config analyzer: checks `.github/ci-orchestrator.yml` with the App's own config checker (bot.config.schema)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from bot.review.model import Finding, ReviewContext, SourceFile, file_kind

CONFIG_CHECKER_MODULE = "bot.config.schema"


class ConfigFileAnalyzer:
    """Turns each problem ``bot.config.schema.check_config_text`` reports into an error finding."""

    name = "config"

    def __init__(self) -> None:
        self._errors: list[str] = []

    def errors(self) -> list[str]:
        return list(self._errors)

    def analyze(self, files: Sequence[SourceFile], context: ReviewContext) -> list[Finding]:
        self._errors = []
        configs = [source for source in files if file_kind(source.path) == "config"]
        if not configs:
            return []
        try:
            checker = importlib.import_module(CONFIG_CHECKER_MODULE).check_config_text
        except (ImportError, AttributeError) as error:
            self._errors.append(
                f"config: the config checker is not available ({error}), so the config file was not checked"
            )
            return []
        findings = []
        for source in configs:
            _, problems = checker(source.text)
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
