"""Benchmark of the workflow review over the 143 fixture files: per-file time with and without zizmor.

Run ``python benchmarks/bench_review.py``. Each measurement is repeated and the best run kept (the
machine is noisy); the YAML parse cache is cleared before every run so parsing is always counted.
The pure-Python measurements are CPU time of this process (``time.process_time``): on 2 cores shared with other
work, wall time mostly measures the others. Those with zizmor are wall time (zizmor runs in a subprocess).
The reference is a plain ruamel.yaml round-trip load of the same files, measured in the same run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ruamel.yaml import YAML

from bot.review.engine import review_files
from bot.review.model import ReviewOptions, SourceFile
from bot.review.yaml_lines import parse_yaml

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "workflows"
PURE_PYTHON_ANALYZERS = ("syntax", "speed", "shared-actions", "config")
ALL_ANALYZERS = ReviewOptions().analyzers
REPEATS = 3
SINGLE_FILE_SAMPLE = 20
TARGET_WITH_ZIZMOR_SECONDS = 0.5
TARGET_PURE_PYTHON_SECONDS = 0.020


def load_fixtures() -> list[SourceFile]:
    paths = sorted(path for path in FIXTURES.rglob("*") if path.suffix in (".yml", ".yaml"))
    return [SourceFile(path.relative_to(FIXTURES).as_posix(), path.read_text(encoding="utf-8")) for path in paths]


def best_seconds(action: Callable[[], object], clock: Callable[[], float] = time.process_time) -> float:
    """Shortest of REPEATS timed runs of ``action``, with a cold parse cache each time."""
    timings = []
    for _ in range(REPEATS):
        parse_yaml.cache_clear()
        start = clock()
        action()
        timings.append(clock() - start)
    return min(timings)


def parsed_seconds(action: Callable[[], object], files: list[SourceFile]) -> float:
    """Shortest of REPEATS timed runs (CPU time) of ``action`` with every file already parsed (the analyzers' own
    time)."""
    timings = []
    for _ in range(REPEATS):
        parse_yaml.cache_clear()
        for source in files:
            parse_yaml(source.text)
        start = time.process_time()
        action()
        timings.append(time.process_time() - start)
    return min(timings)


def parse_all(files: list[SourceFile]) -> None:
    for source in files:
        parse_yaml(source.text)


def ruamel_load_all(files: list[SourceFile]) -> None:
    for source in files:
        YAML(typ="rt").load(source.text)


def review_one_by_one(files: list[SourceFile]) -> None:
    for source in files:
        review_files([source], ReviewOptions(analyzers=ALL_ANALYZERS))


def verdict(seconds: float, target: float) -> str:
    return "within target" if seconds < target else "OVER TARGET"


def main() -> int:
    files = load_fixtures()
    count = len(files)
    sample = files[:: max(count // SINGLE_FILE_SAMPLE, 1)][:SINGLE_FILE_SAMPLE]
    reference = best_seconds(lambda: ruamel_load_all(files)) / count
    parse = best_seconds(lambda: parse_all(files)) / count
    pure = best_seconds(lambda: review_files(files, ReviewOptions(analyzers=PURE_PYTHON_ANALYZERS))) / count
    analyzers_only = (
        parsed_seconds(lambda: review_files(files, ReviewOptions(analyzers=PURE_PYTHON_ANALYZERS)), files) / count
    )
    wall = time.perf_counter
    batch = best_seconds(lambda: review_files(files, ReviewOptions(analyzers=ALL_ANALYZERS)), wall) / count
    single = best_seconds(lambda: review_one_by_one(sample), wall) / len(sample)
    print(f"workflow review benchmark: {count} fixture files, best of {REPEATS} runs")
    print(f"  (pure-Python analyzers: {', '.join(PURE_PYTHON_ANALYZERS)}; CPU time)")
    print(f"  reference, ruamel.yaml round-trip load:      {reference * 1000:8.2f} ms/file")
    print(
        f"  the review's YAML parse (libyaml + ruamel):   {parse * 1000:8.2f} ms/file "
        f"({parse / reference:.2f}x the reference)"
    )
    print(
        f"  pure-Python analyzers:                        {pure * 1000:8.2f} ms/file "
        f"({pure / reference:.2f}x the reference; target < {TARGET_PURE_PYTHON_SECONDS * 1000:.0f} ms: "
        f"{verdict(pure, TARGET_PURE_PYTHON_SECONDS)})"
    )
    print(f"  pure-Python analyzers, files already parsed:  {analyzers_only * 1000:8.2f} ms/file")
    print("  (with zizmor: wall time)")
    print(
        f"  all analyzers incl. zizmor, one batch:        {batch * 1000:8.2f} ms/file "
        f"(target < {TARGET_WITH_ZIZMOR_SECONDS * 1000:.0f} ms: {verdict(batch, TARGET_WITH_ZIZMOR_SECONDS)})"
    )
    print(
        f"  all analyzers incl. zizmor, one file a time:  {single * 1000:8.2f} ms/file "
        f"({len(sample)} files; target < {TARGET_WITH_ZIZMOR_SECONDS * 1000:.0f} ms: "
        f"{verdict(single, TARGET_WITH_ZIZMOR_SECONDS)})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
