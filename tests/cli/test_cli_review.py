"""Tests for `ci-orchestrator review`: files, the repository's config, formats, exit codes, the pre-commit hook."""

import json
import re
from pathlib import Path
from textwrap import dedent

import pytest
from ruamel.yaml import YAML

from bot.cli.review import main
from bot.review import engine, security, syntax
from bot.review.model import Finding, ReviewContext, SourceFile

CLEAN = dedent("""\
    on: push
    permissions: {}
    jobs:
      build:
        runs-on: ubuntu-latest
        timeout-minutes: 10
        steps:
          - run: make
    """)
INJECTION = dedent("""\
    on: push
    permissions: {}
    jobs:
      greet:
        runs-on: ubuntu-latest
        timeout-minutes: 5
        steps:
          - run: make
          - run: echo "${{ github.event.head_commit.message }}"
    """)
ACTION = dedent("""\
    name: setup
    description: setup
    runs:
      using: composite
      steps:
        - run: echo hi
          shell: bash
    """)


@pytest.fixture(autouse=True)
def without_actionlint(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests describe the review without the optional actionlint extra, whether or not it is installed."""
    found = security.find_executable
    monkeypatch.setattr(security, "find_executable", lambda name: None if name == "actionlint" else found(name))


def make_repo(root: Path, workflows: dict[str, str]) -> Path:
    for name, text in workflows.items():
        path = root / ".github" / "workflows" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_clean_repository_exits_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path, {"ci.yml": CLEAN})
    monkeypatch.chdir(tmp_path)
    assert main(["."]) == 0
    captured = capsys.readouterr()
    assert captured.out == "1 file reviewed: no findings (settings: defaults, no .github/ci-orchestrator.yml)\n"
    assert captured.err == ""


def test_findings_exit_one_and_print_relative_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path / "repo", {"ci.yml": CLEAN, "greet.yml": INJECTION})
    (tmp_path / "repo" / "tools" / "setup").mkdir(parents=True)
    (tmp_path / "repo" / "tools" / "setup" / "action.yml").write_text(ACTION)
    (tmp_path / "repo" / "mkdocs.yml").write_text("not: [yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["repo"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^repo/\.github/workflows/greet\.yml:9:\d+: error zizmor/template-injection: ", out, re.M)
    assert "mkdocs" not in out
    assert main(["repo", "--fail-on", "never"]) == 0
    capsys.readouterr()
    assert main(["repo/.github/workflows/ci.yml", "repo/tools/setup/action.yml"]) == 0


def test_a_file_inside_workflows_keeps_its_kind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path, {"greet.yml": INJECTION})
    monkeypatch.chdir(tmp_path / ".github" / "workflows")
    assert main(["greet.yml"]) == 1
    assert capsys.readouterr().out.startswith("greet.yml:9:24: error zizmor/template-injection:")


def test_usage_errors_exit_two_with_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "no such file or directory" in err and "Traceback" not in err
    assert main([str(tmp_path), "--format", "xml"]) == 2
    assert main([]) == 2


def test_json_and_sarif_formats(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path, {"greet.yml": INJECTION})
    monkeypatch.chdir(tmp_path)
    assert main([".github", "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert "security" in data["analyzers_ran"] and data["errors"] == []
    assert any(f["rule"] == "zizmor/template-injection" and f["line"] == 9 for f in data["findings"])
    assert main([".", "--format", "sarif"]) == 1
    sarif = json.loads(capsys.readouterr().out)
    results = sarif["runs"][0]["results"]
    injection = next(r for r in results if r["ruleId"] == "zizmor/template-injection")
    location = injection["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == ".github/workflows/greet.yml"
    assert location["region"]["startLine"] == 9


def test_config_file_sets_ignore_and_fail_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path, {"greet.yml": INJECTION})
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "review-config.yml"
    config.write_text("review:\n  ignore: ['zizmor/*', 'actionlint/*']\n  fail_on: warning\n")
    assert main([".", "--config", str(config)]) == 0
    assert "zizmor/" not in capsys.readouterr().out
    config.write_text("review:\n  fail_on: sometimes\n")
    assert main([".", "--config", str(config)]) == 2
    assert "config file" in capsys.readouterr().err


def test_pre_commit_hook_definition() -> None:
    hooks = YAML(typ="safe").load(Path(__file__).parents[2].joinpath(".pre-commit-hooks.yaml").read_text())
    [hook] = hooks
    assert (hook["id"], hook["entry"], hook["language"]) == (
        "ci-orchestrator-review",
        "ci-orchestrator review",
        "python",
    )
    files = re.compile(hook["files"])
    for path in (
        ".github/workflows/ci.yml",
        ".github/workflows/a.yaml",
        "action.yml",
        "x/y/action.yaml",
        ".github/ci-orchestrator.yml",
    ):
        assert files.search(path), path
    for path in ("ci.yml", "src/.github/workflows/ci.yml", "myaction.yml", ".github/dependabot.yml"):
        assert not files.search(path), path


def test_the_repository_config_applies_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", {"greet.yml": INJECTION})
    (repo / ".git").mkdir()
    (repo / ".github" / "ci-orchestrator.yml").write_text("review:\n  ignore: ['zizmor/*']\n")
    (repo / "src").mkdir()
    monkeypatch.chdir(repo / "src")
    assert main([".."]) == 0
    assert capsys.readouterr().out == ("2 files reviewed: no findings (settings: ../.github/ci-orchestrator.yml)\n")
    monkeypatch.chdir(tmp_path)
    assert main(["repo/.github/workflows/greet.yml"]) == 0
    assert "(settings: repo/.github/ci-orchestrator.yml)" in capsys.readouterr().out
    assert main(["repo", "--no-config"]) == 1
    assert "(settings: defaults (--no-config))" in capsys.readouterr().out


def test_review_enabled_false_in_the_repository_config_reviews_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, {"greet.yml": INJECTION})
    (repo / ".github" / "ci-orchestrator.yml").write_text("review:\n  enabled: false\n")
    monkeypatch.chdir(repo)
    assert main(["."]) == 0
    assert capsys.readouterr().out == (
        "nothing reviewed: review.enabled is false (settings: .github/ci-orchestrator.yml)\n"
    )


def test_a_repository_config_with_problems_applies_its_valid_settings_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, {"greet.yml": INJECTION})
    (repo / ".github" / "ci-orchestrator.yml").write_text("review:\n  fail_on: never\n  sugestions: true\n")
    monkeypatch.chdir(repo)
    assert main([".github/workflows"]) == 0
    summary = capsys.readouterr().out.splitlines()[-1]
    assert summary.endswith(
        "(settings: .github/ci-orchestrator.yml, 1 problem left at their defaults: see `ci-orchestrator check-config`)"
    )


def test_the_repository_zizmor_config_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path, {"greet.yml": INJECTION})
    (repo / ".github" / "zizmor.yml").write_text("rules:\n  template-injection:\n    disable: true\n")
    monkeypatch.chdir(repo / ".github")
    assert main(["workflows/greet.yml"]) == 0
    assert "zizmor/template-injection" not in capsys.readouterr().out


def test_a_workflow_outside_the_workflows_folder_is_reviewed_as_what_it_looks_like(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "greet.yml").write_text(INJECTION)
    (tmp_path / "templates" / "setup.yml").write_text(ACTION.replace("shell: bash\n", ""))
    assert main(["templates/greet.yml", "templates/setup.yml"]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^templates/greet\.yml:9:\d+: error zizmor/template-injection", out, re.M)
    assert re.search(r"^templates/setup\.yml:\d+:\d+: error syntax/schema: .*without `shell`", out, re.M)
    assert out.endswith("2 files reviewed: 2 errors, 1 notice (settings: defaults, no .github/ci-orchestrator.yml)\n")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("version: 2\nupdates: []\n", "it has neither the `jobs:` of a workflow nor the `runs:` of an action"),
        ("jobs: [\n", "what it is cannot be told from its content: line 2, column 1: YAML syntax error"),
    ],
)
def test_a_named_file_that_is_neither_a_workflow_nor_an_action_is_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], text: str, reason: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "dependabot.yml").write_text(text)
    assert main(["dependabot.yml"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"ci-orchestrator review: error: dependabot.yml is not in .github/workflows/ nor named action.yml, and {reason}"
        + captured.err.split(reason, 1)[1]
    )


def test_paths_of_two_repositories_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_repo(tmp_path / "one", {"ci.yml": CLEAN})
    make_repo(tmp_path / "two", {"ci.yml": CLEAN})
    assert main([str(tmp_path / "one"), str(tmp_path / "two")]) == 2
    assert "belong to different repositories" in capsys.readouterr().err


def test_a_missing_zizmor_never_exits_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path, {"ci.yml": CLEAN, "greet.yml": INJECTION})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(security, "find_executable", lambda name: None)
    assert main([".github/workflows/ci.yml"]) == 2
    captured = capsys.readouterr()
    assert "ci-orchestrator review: security: zizmor is not installed, so no security audit ran" in captured.err
    assert "1 file reviewed: no findings; 1 problem while reviewing, printed above (settings: " in captured.out
    assert main([".github/workflows/ci.yml", "--fail-on", "notice"]) == 2
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.write_text("on: [push\n")
    assert main([".github/workflows/broken.yml"]) == 1  # a finding at --fail-on: 1, the problem still printed
    assert "zizmor is not installed" in capsys.readouterr().err


class Crashing:
    name = "crashing"

    def analyze(self, files: list[SourceFile], context: ReviewContext) -> list[Finding]:
        raise RuntimeError("boom")


def test_a_crashing_plug_in_or_an_analyzer_error_exits_two_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path, {"ci.yml": CLEAN})
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engine, "load_analyzers", lambda names: ([Crashing()], []))
    assert main(["."]) == 2
    assert "analyzer 'crashing' failed: RuntimeError: boom" in capsys.readouterr().err
    monkeypatch.undo()
    monkeypatch.chdir(tmp_path)

    def fails(source: SourceFile, kind: str) -> list[Finding]:
        raise ValueError("cannot")

    monkeypatch.setattr(syntax, "check_file", fails)
    assert main(["."]) == 2
    assert "syntax: could not check .github/workflows/ci.yml: ValueError: cannot" in capsys.readouterr().err


def test_sarif_uris_are_relative_to_the_repository_root_whatever_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(tmp_path / "repo", {"greet.yml": INJECTION})
    (repo / ".git").mkdir()
    (repo / "docs").mkdir()
    for cwd, target in ((tmp_path, "repo"), (repo / "docs", ".."), (repo / ".github" / "workflows", "greet.yml")):
        monkeypatch.chdir(cwd)
        assert main([target, "--format", "sarif"]) == 1
        captured = capsys.readouterr()
        results = json.loads(captured.out)["runs"][0]["results"]
        uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
        assert uris == {".github/workflows/greet.yml"}, cwd
        assert captured.err.startswith("1 file reviewed: 1 error")


def test_a_workflow_linked_from_outside_the_repository_is_reviewed_in_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "greet.yml").write_text(INJECTION)
    repo = make_repo(tmp_path / "repo", {"ci.yml": CLEAN})
    (repo / ".git").mkdir()
    (repo / ".github" / "workflows" / "greet.yml").symlink_to(shared / "greet.yml")
    monkeypatch.chdir(repo)
    assert main(["."]) == 1
    assert capsys.readouterr().out.startswith(".github/workflows/greet.yml:9:24: error zizmor/template-injection")
