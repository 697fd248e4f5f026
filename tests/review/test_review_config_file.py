"""Tests for the config analyzer: problems from bot.config.loading.check_config_text become config/invalid findings."""

from dataclasses import dataclass

import pytest

from bot.config import loading
from bot.review.config_file import ConfigFileAnalyzer
from bot.review.model import ReviewContext, SourceFile

CONFIG_PATH = ".github/ci-orchestrator.yml"


@dataclass(frozen=True)
class Problem:
    line: int
    column: int
    key: str
    message: str


def test_problems_become_error_findings_on_their_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []

    def check_config_text(text: str):
        checked.append(text)
        return object(), [Problem(3, 5, "review.fail_on", "must be one of error, warning, never")]

    monkeypatch.setattr(loading, "check_config_text", check_config_text)
    files = [
        SourceFile(CONFIG_PATH, "review:\n  enabled: true\n  fail_on: sometimes\n"),
        SourceFile(".github/workflows/ci.yml", "on: push\n"),
    ]
    findings = ConfigFileAnalyzer().analyze(files, ReviewContext())
    assert checked == ["review:\n  enabled: true\n  fail_on: sometimes\n"]
    assert [(f.path, f.line, f.column, f.level, f.rule, f.message) for f in findings] == [
        (CONFIG_PATH, 3, 5, "error", "config/invalid", "`review.fail_on`: must be one of error, warning, never")
    ]


def test_with_the_real_config_checker() -> None:
    analyzer = ConfigFileAnalyzer()
    bad = analyzer.analyze([SourceFile(CONFIG_PATH, "review:\n  fail_on: sometimes\n")], ReviewContext())
    assert [(f.line, f.rule) for f in bad] == [(2, "config/invalid")]
    good = analyzer.analyze([SourceFile(CONFIG_PATH, "review:\n  fail_on: warning\n")], ReviewContext())
    assert good == []


def test_other_files_are_not_checked() -> None:
    analyzer = ConfigFileAnalyzer()
    assert analyzer.analyze([SourceFile("docs/ci-orchestrator.yml", "x: [")], ReviewContext()) == []
