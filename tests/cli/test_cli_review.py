"""Tests for `ci-orchestrator review`: file discovery, formats, exit codes, --config, and the pre-commit hook."""

import json
import re
from pathlib import Path
from textwrap import dedent

import pytest
from ruamel.yaml import YAML

from bot.cli.review import main

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
    assert capsys.readouterr().out == ""


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
    assert capsys.readouterr().out.startswith(".github/workflows/greet.yml:9:")


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
