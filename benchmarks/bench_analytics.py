"""Benchmark: a 10,000-child practice through the marts, the analytics tables and the calls
the dashboard pages make.

    python benchmarks/bench_analytics.py [--children 10000] [--months 12] [--repeat 3] [--keep DIR]

Generates the practice with ``pipelines.sample.generate``, writes it as one canonical CSV,
loads it (``pipelines.load.load``), then times (median of ``--repeat`` runs):
``transform.build`` (SQL models), ``analytics.build_tables`` (flags, per-child trends and
effect sizes, GAS reviews, goal progress, reliable change), and the calls each page makes,
recorded from a real render of it (``page_calls.record``: Streamlit AppTest, the lead's view)
twice: with the default filters (stored tables where they apply) and with a filter set in
the address (``FILTERED``: last 6 months, two modalities, two teams: computed at query time).
Each timing of a page's calls is a fresh process and a new reader, cold, then the same calls
warm on that reader (``page_calls.bench_pages``).
"""

from __future__ import annotations

import _root  # noqa: F401  (the project root on sys.path when run as a script)

import argparse
import datetime as dt
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

import analytics
import page_calls
from analytics import stored
from pipelines import sample, transform, warehouse
from pipelines.load import load

FILTERED = {"period": "6m", "modality": ["OT", "speech"], "team": ["North", "South"]}  # URL parameters


def timed_cpu(fn, repeat: int) -> tuple[float, float, object]:
    """Median wall and CPU time (this process, all threads) of ``repeat`` runs: on a shared
    machine the CPU time is the steadier figure."""
    walls, cpus, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return statistics.median(walls), statistics.median(cpus), out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--children", type=int, default=10_000)
    ap.add_argument("--months", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary folder)")
    args = ap.parse_args(argv)

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_analytics_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        rows, truth = sample.generate(children=args.children, months=args.months, seed=7)
        t_gen = time.perf_counter() - t0
        csv = work / "export.csv"
        with duckdb.connect() as c:
            c.register("rows_df", rows)
            c.execute(
                "copy (select * replace (cast(session_date as date) as session_date, "
                "cast(date_of_birth as date) as date_of_birth) from rows_df) to '"
                + str(csv).replace("'", "''") + "' (header, delimiter ',')")
        print(f"generated {args.children} children, {len(rows):,} rows, {truth['sessions']:,} sessions "
              f"in {t_gen:.2f} s")

        db = work / "practice.duckdb"
        db.unlink(missing_ok=True)
        t0 = time.perf_counter()
        report = load([csv], db=db, today=dt.date(2026, 11, 1), after_build=stored.STEPS)
        t_load = time.perf_counter() - t0
        assert not report.failed, report.failed
        print(f"load (read, validate, marts + analytics tables): {t_load:.2f} s")

        with warehouse.writer(db) as con:
            t_marts, c_marts, _ = timed_cpu(lambda: transform.build(con), args.repeat)  # SQL models only
            t_tables, c_tables, built = timed_cpu(lambda: analytics.build_tables(con), args.repeat)
            threads = con.execute("select current_setting('threads')").fetchone()[0]
        print(f"(median of {args.repeat}; DuckDB threads {threads})       wall        CPU")
        print(f"transform.build (SQL models):          {t_marts:7.3f} s  {c_marts:7.3f} s")
        print(f"analytics.build_tables ({len(built)} tables):   {t_tables:7.3f} s  {c_tables:7.3f} s")
        print(f"together:                              {t_marts + t_tables:7.3f} s  {c_marts + c_tables:7.3f} s")

        for title, query in (("default filters", None), (f"filtered: {FILTERED}", FILTERED)):
            pages = page_calls.bench_pages(db, page_calls.record(db, query=query), args.repeat)
            print(f"\nthe calls each page makes on a render, {title} (median of {args.repeat} fresh processes)")
            print(f"{'page / call':70s} {'cold ms':>9s} {'warm ms':>9s}")
            for page, d in pages.items():
                print(f"{page:70s} {d['cold_s']['median'] * 1000:9.0f} {d['warm_s']['median'] * 1000:9.0f}")
                for name in d["calls"]:
                    print(f"  {name[:68]:68s} {d['per_call_cold_s'][name]['median'] * 1000:9.0f} "
                          f"{d['per_call_warm_s'][name]['median'] * 1000:9.0f}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
