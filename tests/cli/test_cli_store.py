"""`ci-orchestrator backfill` and `ci-orchestrator status` against the local GitHub and a store on disk."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import gidgethub
import pytest
from helpers import ci_jobs, make_settings

from bot.cli import backfill as backfill_command
from bot.cli import status as status_command
from bot.store import Store

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def two_repositories(github):
    installation = github.add_installation("octo-org")
    for name, runs in (("octo-org/app", 12), ("octo-org/lib", 3)):
        repo = github.add_repo(name, installation, files={"README.md": "hi\n"})
        workflow = github.add_workflow(repo, ".github/workflows/ci.yml", "CI", content="name: CI\n")
        for i in range(runs):
            sha = github.commit(repo, "main", {"v": str(i)})
            created = NOW - dt.timedelta(days=2 * i + 1)
            github.add_run(repo, workflow, head_sha=sha, head_branch="main", created_at=created, jobs=ci_jobs())
    return installation


async def test_backfill_of_every_repository_then_one_then_the_status(world, tmp_path, capsys):
    github = world.github
    two_repositories(github)
    settings = make_settings(github.base_url, data_dir=tmp_path)

    assert await backfill_command.backfill(settings, None, days=10) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"octo-org/app: 5 runs on main since {(NOW - dt.timedelta(days=10)):%Y-%m-%d}",
        f"octo-org/lib: 3 runs on main since {(NOW - dt.timedelta(days=10)):%Y-%m-%d}",
    ]
    assert await backfill_command.backfill(settings, "octo-org/app", days=30) == 0  # further back
    assert "octo-org/app: 12 runs on main" in capsys.readouterr().out

    lines = await status_command.report(settings.store_url())
    assert "history: 2 repositories, 15 run attempts, 30 jobs" in lines[1]
    assert lines[2] == "backfills: 2"
    assert lines[3].startswith("  octo-org/app: finished") and "12 runs on main" in lines[3]
    assert lines[-1] == "deliveries: 0 queued, 0 running, 0 done, 0 failed"


async def test_an_unknown_repository_is_refused_and_nothing_is_recorded(world, tmp_path, capsys):
    two_repositories(world.github)
    settings = make_settings(world.github.base_url, data_dir=tmp_path)
    status = backfill_command.main(["--repo", "nobody"])
    assert status == 2 and "--repo must be OWNER/NAME" in capsys.readouterr().err
    with pytest.raises(gidgethub.BadRequest) as refused:  # main() prints it and exits 1
        await backfill_command.backfill(settings, "octo-org/none", days=10)
    assert refused.value.status_code == 404
    store = await Store.open(settings.store_url())
    try:
        assert await store.all_backfills() == []
    finally:
        await store.close()


def test_status_without_a_store_says_so(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path / "nothing")}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "status"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1 and "no store at" in result.stdout and "Traceback" not in result.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "status"],
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "mysql://u:hunter2@h/x"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "unsupported scheme" in bad.stderr and "hunter2" not in bad.stderr
