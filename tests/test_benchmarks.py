"""The benchmarks still run end to end (no timings asserted: those belong in benchmarks/README.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH_INTAKE = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_intake.py"


def test_intake_benchmark_runs_and_every_target_answers_2xx():
    command = [
        sys.executable,
        str(BENCH_INTAKE),
        "--targets",
        "app,bare,bare-buffered",
        "--rounds",
        "1",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        "--connections",
        "4",
        "--load-generator",
        "aiohttp",
        "--no-pin",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stdout + result.stderr
    for title in ("App (no-op handler)", "bare aiohttp", "bare, read_nowait"):
        assert title in result.stdout
    assert "non-2xx answers + socket errors, all targets: 0 (must be 0) PASS" in result.stdout


def test_store_benchmark_runs_end_to_end_on_sqlite():
    bench_store = BENCH_INTAKE.parent / "bench_store.py"
    command = [sys.executable, str(bench_store), "--jobs", "30", "--deliveries", "50", "--databases", "sqlite"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for measurement in ("ingest: batches of 100 events", "size of the history per 100k jobs", "journal: 19 KB"):
        assert measurement in result.stdout


def test_ondemand_benchmark_runs_a_session_within_its_targets():
    bench = BENCH_INTAKE.parent / "bench_ondemand.py"
    # Six legs: the session's fixed writes (reactions, check run, reply) are shared by fewer legs in smaller ones.
    result = subprocess.run(
        [sys.executable, str(bench), "--legs", "6", "--spacing", "0"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "session of 6 legs" in result.stdout and "polling calls (GET of runs or jobs): 0" in result.stdout


def test_hostile_benchmark_runs_and_the_app_logs_no_traceback():
    command = [sys.executable, str(BENCH_INTAKE.parent / "bench_hostile.py"), "--idle", "5", "--slow-heads", "5"]
    command += ["--bodies", "3", "--waves", "1", "--body-mib", "2", "--slow-bodies", "2", "--grace", "1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    for line in ("peak RSS (VmHWM):", "large bodies answered:", "SIGTERM to exit:"):
        assert line in result.stdout, result.stdout + result.stderr
    assert "'signed ping 200': 1" in result.stdout and "tracebacks in the App's log: 0" in result.stdout


def test_health_benchmark_runs_end_to_end_on_a_small_store():
    bench_health = BENCH_INTAKE.parent / "bench_health.py"
    command = [sys.executable, str(bench_health), "--seeds", "2", "--runs", "400", "--jobs-per-run", "4"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for part in ("1. Change points in synthetic series", "2. Replay of bitcoin_ci_master.json", "report, best of 3"):
        assert part in result.stdout
