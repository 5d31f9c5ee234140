"""Benchmark: the same practice built by DuckDB (the normal load) and by Spark local mode.

For each size (default ~300k export rows; ``--sizes 300000 3000000`` adds ~3M) a synthetic
practice from ``pipelines.sample`` (12 months, one clean canonical CSV) is built

1. duckdb — ``pipelines.load.load(..., after_build=analytics.STEPS)`` into a new warehouse
2. spark  — ``spark_engine.build.build`` with the stored statistics, on ``--master``
   (default ``local[2]``), the marts written as Parquet

and the wall time of each is printed with its phases (files: read + stage + upsert; models;
statistics). Spark's session start (JVM) is timed once, apart. Spark on 2 cores is slower
than DuckDB; the figures show what it costs here and how it grows (docs/scale.md). Usage:

    .venv/bin/python benchmarks/bench_spark.py                      # ~300k rows
    .venv/bin/python benchmarks/bench_spark.py --sizes 300000 3000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import tempfile
import time
from pathlib import Path

from _root import ROOT  # noqa: F401  (the project root on sys.path when run as a script)

TODAY = dt.date(2026, 11, 1)


def generate(rows: int, work: Path) -> tuple[Path, int, int]:
    """A one-file practice of about ``rows`` export rows: (file, rows, children)."""
    from pipelines import sample

    probe, _ = sample.generate(children=300, months=12, seed=11)
    children = max(50, round(rows / (len(probe) / 300)))
    frame, _truth = sample.generate(children=children, months=12, seed=11)
    path = work / f"export_{rows}.csv"
    frame.to_csv(path, index=False)
    return path, len(frame), children


def run_duckdb(path: Path, work: Path) -> dict:
    from analytics import stored
    from pipelines.load import load

    t0 = time.perf_counter()
    report = load([path], db=work / "bench.duckdb", today=TODAY, after_build=stored.STEPS)
    wall = time.perf_counter() - t0
    assert not report.failed, report.failed[0].message
    return {"wall_s": wall, **report.timings}


def run_spark(path: Path, work: Path, spark) -> dict:
    from analytics import stored
    from spark_engine import build

    t0 = time.perf_counter()
    result = build.build([path], work / "marts", spark=spark, today=TODAY, per_child=stored.compute_tables,
                         finish=stored.meta_table)
    wall = time.perf_counter() - t0
    assert not [f for f in result.files if f.status == "failed"]
    return {"wall_s": wall, **result.timings, "sessions": result.tables.get("sessions")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[300_000], help="approximate export rows")
    ap.add_argument("--master", default=None, help="Spark master (default local[2])")
    ap.add_argument("--driver-memory", default="2g")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    from spark_engine import session

    t0 = time.perf_counter()
    spark = session.get(master=args.master, driver_memory=args.driver_memory)
    start_s = time.perf_counter() - t0
    print(f"Spark session ({spark.sparkContext.master}) started in {start_s:.1f} s")
    results = []
    for size in args.sizes:
        work = Path(tempfile.mkdtemp(prefix=f"bench-spark-{size}-"))
        try:
            path, rows, children = generate(size, work)
            print(f"\n{rows:,} export rows, {children:,} children ({path.stat().st_size / 1e6:.0f} MB)")
            duck = run_duckdb(path, work)
            print(f"  duckdb {duck['wall_s']:7.1f} s")
            sp = run_spark(path, work, spark)
            print(f"  spark  {sp['wall_s']:7.1f} s")
            results.append({"rows": rows, "children": children, "duckdb": duck, "spark": sp})
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\n| export rows | children | engine | wall s | files s | models s | statistics s |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for r in results:
        for engine in ("duckdb", "spark"):
            t = r[engine]
            print(f"| {r['rows']:,} | {r['children']:,} | {engine} | {t['wall_s']:.1f} | {t.get('files_s', 0):.1f} | "
                  f"{t.get('models_s', 0):.1f} | {t.get('statistics_s', 0):.1f} |")
    print(f"(Spark session start, once: {start_s:.1f} s; master {spark.sparkContext.master})")
    if args.json:
        args.json.write_text(json.dumps({"session_start_s": start_s, "results": results}, indent=2, default=str))
    spark.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
