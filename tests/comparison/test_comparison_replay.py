"""The replay benchmark follows the App's procedure on real timings (benchmarks/bench_replay.py, a short stretch)."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERIES = ROOT / "tests/fixtures/ci-timings/bitcoin_ci_master.json"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_replay", ROOT / "benchmarks/bench_replay.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_a_job_that_looks_slower_is_re_run_alone_and_judged_on_both_samples(bench) -> None:
    series = bench.load_series(SERIES, wall_only=False, runs=slice(0, 30))
    position = next(iter(bench.positions(series, rounds=1)))
    job = "tidy"
    slowed = [sample.slowed(job, 1.5) for sample in (position.first, *position.stand_ins)]
    outcome = bench.judge(slowed[0], slowed[1:], position.baseline, position.run_id, True)
    assert job in outcome.first.confirm_jobs and not outcome.full_rerun
    assert set(outcome.rerun_jobs) == set(outcome.first.confirm_jobs)
    final = {comparison.name: comparison.duration for comparison in outcome.final.jobs}
    assert final[job].sample_count == 2 and final[job].verdict.value == "regression"
    assert all(final[name].sample_count == 1 for name in final if name not in outcome.rerun_jobs)
    assert not outcome.final.awaiting_confirmation  # the budget is spent: every verdict is final


def test_a_wall_only_series_is_confirmed_by_a_complete_rerun(bench) -> None:
    series = bench.load_series(SERIES, wall_only=True, runs=slice(0, 30))
    position = next(iter(bench.positions(series, rounds=1)))
    slowed = [sample.slowed(None, 3.0) for sample in (position.first, *position.stand_ins)]
    outcome = bench.judge(slowed[0], slowed[1:], position.baseline, position.run_id, True)
    assert outcome.first.confirm_run and outcome.full_rerun
    assert outcome.final.wall_time.sample_count == 2 and outcome.final.wall_time.verdict.value == "regression"


def test_a_persistent_shift_is_a_correct_call_and_a_transient_one_a_false_alarm(bench) -> None:
    steady = bench.load_series(SERIES, wall_only=True, runs=slice(0, 30))
    calm = [replace(sample, wall=3000.0 + 20.0 * (index % 5)) for index, sample in enumerate(steady)]
    shifted = [*calm[:22], *(sample.slowed(None, 2.0) for sample in calm[22:])]
    report = bench.replay("shift", shifted, confirm=True)
    assert report.false_run == 0 and report.persistent_calls >= 1
    spiky = [*calm[:22], calm[22].slowed(None, 2.0), calm[23].slowed(None, 2.0), *calm[24:]]
    report = bench.replay("two slow runs", spiky, confirm=True)
    assert report.false_run >= 1  # two slow runs in a row that do not last look like a slowdown, and count


def test_the_command_prints_every_figure_the_readme_quotes(bench, capsys) -> None:
    bench.main(["--series", str(SERIES), "--runs", "0:26", "--per-job"])
    out = capsys.readouterr().out
    for line in (
        "false alarms, run measure:",
        "false alarms, some job:",
        "confirmations asked:",
        "median smallest detectable slowdown, jobs ≥ 300 s:",
        "called at the smallest detectable slowdown claimed",
        "σ ≤ 0.12",
    ):
        assert line in out
