"""Benchmark: a 10,000-child practice through the marts, the analytics tables and every query.

    python benchmarks/bench_analytics.py [--children 10000] [--months 12] [--repeat 3] [--keep DIR]

Generates the practice with ``pipelines.sample.generate``, writes it as one canonical CSV,
loads it (``pipelines.load.load``), then times (median of ``--repeat`` runs):
``transform.build`` (SQL models), ``analytics.build_tables`` (flags, per-child trends and
effect sizes, GAS reviews, goal progress, reliable change), and every query function of
``analytics`` on a reader, unfiltered (reads the stored tables where it can) and
with a filter (date range, modality, team: computed at query time).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

import analytics  # noqa: E402
from analytics import stored  # noqa: E402
from pipelines import sample, transform, warehouse  # noqa: E402
from pipelines.load import load  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median wall time of ``repeat`` runs, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


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


def size(obj) -> str:
    if hasattr(obj, "shape"):
        return f"{obj.shape[0]} rows"
    if isinstance(obj, dict):
        return f"{len(obj)} keys"
    return type(obj).__name__


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

        con = warehouse.connect_reader(db)
        end = analytics.as_of(con)
        child = analytics.child_list(con)["child_id"].iloc[0]
        filt = analytics.Filters(date_from=end - dt.timedelta(days=182), date_to=end,
                                 modalities=("OT", "speech"), teams=("North", "South"))
        calls = [
            ("filter_options", lambda f: analytics.filter_options(con)),
            ("as_of", lambda f: analytics.as_of(con)),
            ("kpis", lambda f: analytics.kpis(con, f)),
            ("monthly_trends", lambda f: analytics.monthly_trends(con, f)),
            ("monthly_trends by modality", lambda f: analytics.monthly_trends(con, f, by="modality")),
            ("group_grid", lambda f: analytics.group_grid(con, f)),
            ("child_list", lambda f: analytics.child_list(con, f)),
            ("child_timeline", lambda f: analytics.child_timeline(con, child, f)),
            ("child_goal_ratings", lambda f: analytics.child_goal_ratings(con, child, f)),
            ("child_gas_t", lambda f: analytics.child_gas_t(con, child)),
            ("child_comparison", lambda f: analytics.child_comparison(con, child, f)),
            ("child_periods (month)", lambda f: analytics.child_periods(con, f, period="month")),
            ("child_trends", lambda f: analytics.child_trends(con, f)),
            ("approach_pairs", lambda f: analytics.approach_pairs(con, f)),
            ("approach_effects", lambda f: analytics.approach_effects(con, f)),
            ("approach_effects by modality", lambda f: analytics.approach_effects(con, f, by="modality")),
            ("approach_effects by therapist", lambda f: analytics.approach_effects(con, f, by="therapist_id")),
            ("approach_gas", lambda f: analytics.approach_gas(con, f)),
            ("approach_gas by age_group", lambda f: analytics.approach_gas(con, f, by="age_group")),
            ("reliable_change", lambda f: analytics.reliable_change(con, f)),
            ("flags", lambda f: analytics.flags(con, f)),
            ("flags as of 60 days earlier", lambda f: analytics.flags(
                con, analytics.Filters(date_to=end - dt.timedelta(days=60)))),
            ("goal_summary", lambda f: analytics.goal_summary(con, f)),
        ]
        print(f"\n{'query (median of ' + str(args.repeat) + ')':34s} {'unfiltered':>12s} {'filtered':>12s}   result")
        for name, fn in calls:
            t_all, out = timed(lambda: fn(analytics.Filters()), args.repeat)
            t_f, _ = timed(lambda: fn(filt), args.repeat)
            print(f"{name:34s} {t_all * 1000:9.0f} ms {t_f * 1000:9.0f} ms   {size(out)}")
        con.close()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
