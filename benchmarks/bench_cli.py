"""Start-up time of the CLI: ``python -m pipelines --help`` and ``status`` (issue 14 target:
under 0.3 s each), median wall and CPU seconds of fresh processes.

    python benchmarks/bench_cli.py [--db PATH] [--runs 7]

Without ``--db`` it builds the tiny practice's warehouse in a temp dir. Not a test: it
prints numbers for the record.
"""

from __future__ import annotations

import _root  # noqa: F401  (the project root on sys.path when run as a script)

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.3


def timed(args: list[str], runs: int) -> tuple[float, float]:
    """Median (wall s, CPU s of the child process) of ``python -m pipelines ARGS``."""
    walls, cpus = [], []
    for _ in range(runs):
        r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipelines", *args], capture_output=True, check=True, cwd=_root.ROOT)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        walls.append(time.perf_counter() - t0)
        cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="a warehouse for 'status' (default: the tiny practice's)")
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        db = args.db
        if db is None:
            from pipelines import load, small_practice

            db = Path(tmp) / "w.duckdb"
            load.load(small_practice.write_tiny_practice(Path(tmp) / "exports"), db)
        print(f"{'command':<10}{'wall s':>9}{'cpu s':>9}{'target':>9}   runs={args.runs}, fresh process each")
        for name, cmd in (("--help", ["--help"]), ("status", ["status", "--db", str(db)])):
            wall, cpu = timed(cmd, args.runs)
            print(f"{name:<10}{wall:>9.3f}{cpu:>9.3f}{TARGET_S:>9.1f}   {'met' if cpu < TARGET_S else 'missed'} (CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
