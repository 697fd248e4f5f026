"""Tests for the review engine and analyzer registry, including every fixture workflow through all analyzers."""

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from bot.review import registry
from bot.review.engine import review_files
from bot.review.model import DEFAULT_ANALYZERS, Finding, ReviewOptions, SharedAction, SourceFile
from bot.review.registry import ENTRY_POINT_GROUP, available_analyzers, load_analyzers

FIXTURES = Path(__file__).parents[1] / "fixtures" / "workflows"


class RuleAnalyzer:
    """A plugin-style analyzer: one notice per file."""

    name = "one-per-file"

    def analyze(self, files, context):
        return [Finding(f.path, 1, 1, 1, "notice", "plugin/one", "hello") for f in files]


class CrashingAnalyzer:
    name = "crashing"

    def analyze(self, files, context):
        raise RuntimeError("boom")


class ToolAnalyzer:
    name = "tool"

    def analyze(self, files, context):
        return [
            Finding("b.yml", 9, 1, 9, "warning", "speed/x", "late"),
            Finding("a.yml", 3, 1, 3, "error", "zizmor/y", "early"),
        ]

    def errors(self):
        return ["tool: it was slow"]

    def tool_versions(self):
        return {"tool": "1.0"}


def test_builtins_are_registered_through_entry_points() -> None:
    installed = available_analyzers()
    assert set(DEFAULT_ANALYZERS) <= set(installed)
    analyzers, errors = load_analyzers(DEFAULT_ANALYZERS)
    assert [a.name for a in analyzers] == list(DEFAULT_ANALYZERS) and errors == []


def test_third_party_entry_points_load_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    plugin = EntryPoint(name="one-per-file", value="test_review_engine:RuleAnalyzer", group=ENTRY_POINT_GROUP)
    broken = EntryPoint(name="broken", value="no_such_module_anywhere:Thing", group=ENTRY_POINT_GROUP)
    monkeypatch.setattr(registry, "entry_points", lambda group: [plugin, broken] if group == ENTRY_POINT_GROUP else [])
    result = review_files([SourceFile("x.yml", "")], ReviewOptions(analyzers=("one-per-file", "broken", "nope")))
    assert [f.rule for f in result.findings] == ["plugin/one"]
    assert result.analyzers_ran == ["one-per-file"]
    assert result.errors[0].startswith("analyzer 'broken' could not be loaded: ModuleNotFoundError")
    assert result.errors[1] == "analyzer 'nope' is not installed (installed: broken, one-per-file)"


def test_crashes_become_errors_and_results_are_sorted_and_filtered() -> None:
    result = review_files(
        [SourceFile("a.yml", "")],
        ReviewOptions(ignore=("plugin/*",)),
        analyzers=[CrashingAnalyzer(), ToolAnalyzer(), RuleAnalyzer()],
    )
    assert [(f.path, f.line) for f in result.findings] == [("a.yml", 3), ("b.yml", 9)]
    assert result.analyzers_ran == ["tool", "one-per-file"]
    assert result.errors == ["analyzer 'crashing' failed: RuntimeError: boom", "tool: it was slow"]
    assert result.tool_versions == {"tool": "1.0"}


def fixture_files() -> list[SourceFile]:
    paths = sorted(path for path in FIXTURES.rglob("*") if path.suffix in (".yml", ".yaml"))
    return [SourceFile(path.relative_to(FIXTURES).as_posix(), path.read_text(encoding="utf-8")) for path in paths]


def test_all_fixture_files_go_through_every_analyzer_without_errors() -> None:
    files = fixture_files()
    assert len(files) == 143
    options = ReviewOptions(
        shared_actions=(
            SharedAction("acme/setup-node@v1", ({"uses": "actions/checkout@*"}, {"uses": "actions/setup-node@*"})),
        )
    )
    result = review_files(files, options, step_timings={("build", "Run pnpm install"): 42.0})
    assert result.errors == []
    assert result.analyzers_ran == list(DEFAULT_ANALYZERS)
    assert "zizmor" in result.tool_versions
    families = {f.rule.split("/")[0] for f in result.findings}
    assert {"syntax", "zizmor", "speed", "shared-actions"} <= families
    known_paths = {f.path for f in files}
    for finding in result.findings:
        assert finding.path in known_paths
        assert 1 <= finding.line <= finding.end_line
        if finding.fix is not None:
            assert 1 <= finding.fix.start_line <= finding.fix.end_line
    assert result.findings == sorted(result.findings, key=lambda f: (f.path, f.line, f.column, f.rule))
