"""Run every benchmark, one after the other (so they do not share the CPUs): `python benchmarks/run_all.py`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = (
    "bench_comparison.py",
    "bench_review.py",
    "bench_store.py",
    "bench_ondemand.py",
    "bench_hostile.py",
    "bench_health.py",
    "bench_intake.py",
)


def main() -> int:
    here = Path(__file__).parent
    failed = []
    for script in BENCHMARKS:
        print(f"\n=== {script} ===", flush=True)
        if subprocess.run([sys.executable, str(here / script)]).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
