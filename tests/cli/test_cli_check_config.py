"""`ci-orchestrator check-config FILE`: problems with their lines, exit 1; a valid file, exit 0."""

from __future__ import annotations

from pathlib import Path

from bot.cli import main


def test_a_broken_config_lists_each_problem_at_its_line(tmp_path: Path, capsys) -> None:
    config = tmp_path / "ci-orchestrator.yml"
    config.write_text("comparison:\n  min_runs: 1\nreview:\n  fail_on: sometimes\n")
    assert main(["check-config", str(config)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(": ", 1)[0].rsplit(":", 2)[1] for line in lines] == ["2", "4"]
    assert "did you mean" not in lines[0] and "review.fail_on must be one of" in lines[1]


def test_a_valid_config_exits_0_and_a_missing_file_2(tmp_path: Path, capsys) -> None:
    config = tmp_path / "ci-orchestrator.yml"
    config.write_text("review:\n  fail_on: warning\n")
    assert main(["check-config", str(config)]) == 0
    assert capsys.readouterr().out.strip().endswith(": valid")
    assert main(["check-config", str(tmp_path / "absent.yml")]) == 2
    assert "cannot read" in capsys.readouterr().err
