"""Benchmark: a later export loaded into an existing warehouse, against a full load, in fresh processes.

Two increments of one generated export (``bench_load.generate_file``, or ``--file``):

* ``month``       the last 30 days plus corrections of about 1 in 100 earlier sessions
                  (``pipelines.increments.split_last_month``): nearly every child is touched,
                  so the build is whole (``pipelines.incremental.MAX_SHARE``);
* ``corrections`` every row again, with engagement corrected, of the sessions of the first
                  ``--children`` children (by id) of the month's base: few children touched,
                  the incremental path (marts and, at the same as-of date, statistics).

Each run copies the base warehouse and loads the increment into it in a fresh process (CPU
seconds from ``wait4``); the full load of base + increment is timed the same way. Usage:

    .venv/bin/python benchmarks/bench_increment.py --rows 100000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _root import ROOT  # the project root on sys.path when run as a script

ORDERS = {"base": "2026-10-01", "month": "2026-11-01", "corrections": "2026-10-15"}


def one(kind: str, folder: Path) -> dict:
    """In this process: load ``<kind>.csv`` (beside ``folder``; ``base``: in it) into ``folder/wh``;
    ``full``: the whole export into a new warehouse."""
    import datetime as dt

    from analytics import stored
    from pipelines.load import load

    db = folder / "wh" / "practice.duckdb"
    if kind == "full":  # the whole export into a new warehouse
        t0 = time.perf_counter()
        report = load([folder.parent / "export.csv"], db=db, after_build=stored.STEPS)
    else:
        t0 = time.perf_counter()
        report = load([(folder if kind == "base" else folder.parent) / f"{kind}.csv"], db=db,
                      after_build=stored.STEPS, export_date=dt.datetime.fromisoformat(ORDERS[kind]))
    assert all(f.status == "loaded" for f in report.files), [f.message for f in report.files]
    return {"wall_s": time.perf_counter() - t0, **report.timings,
            "statistics_incremental": stored.LAST_BUILD["incremental"]}


def corrections(base: Path, out: Path, children: int) -> int:
    import duckdb

    con = duckdb.connect()
    con.execute("create table b as select * from read_csv($p, all_varchar = true)", {"p": str(base)})
    con.execute("copy (select * replace (case when engagement is not null then "
                "cast(6 - cast(engagement as integer) as varchar) end as engagement) from b "
                "where child_id in (select distinct child_id from b order by 1 limit $n)) to $o (header, delimiter ',')",
                {"n": children, "o": str(out)})
    n = con.execute("select count(*) from read_csv($o, all_varchar = true)", {"o": str(out)}).fetchall()[0][0]
    con.close()
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--file", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--children", type=int, default=50, help="children whose sessions the corrections file repeats")
    ap.add_argument("--one", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], Path(args.one[1])), default=str))
        return 0
    from bench_load import _spawn_reaping_ourselves, generate_file

    from pipelines import increments

    work = Path(tempfile.mkdtemp(prefix="bench-increment-"))
    try:
        export = generate_file(args.rows, work) if args.file is None else args.file
        if export != work / "export.csv":
            (work / "export.csv").symlink_to(export.resolve())
        n_base, n_month = increments.split_last_month(export, work / "base.csv", work / "month.csv")
        n_corr = corrections(work / "base.csv", work / "corrections.csv", args.children)
        cmd = [sys.executable, __file__, "--one"]
        _spawn_reaping_ourselves(cmd + ["base", str(work)], ROOT)
        raw: dict[str, list[dict]] = {"full": [], "month": [], "corrections": []}
        for i in range(args.runs):
            for kind in raw:
                run = work / f"run-{kind}-{i}"
                if kind != "full":
                    shutil.copytree(work / "wh", run / "wh")
                else:
                    run.mkdir()
                raw[kind].append(_spawn_reaping_ourselves(cmd + [kind, str(run)], ROOT))
                shutil.rmtree(run, ignore_errors=True)
                r = raw[kind][-1]
                print(f"  run {i + 1} {kind:>11}: cpu {r['cpu_s']:6.2f} s  wall {r['wall_s']:6.2f} s  "
                      f"touched {r.get('touched_children')}  marts incremental {bool(r.get('marts_incremental'))}  "
                      f"statistics incremental {r.get('statistics_incremental')}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    def m(kind: str, key: str) -> str:
        v = [r.get(key, 0.0) for r in raw[kind]]
        return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})"

    full = statistics.median(r["cpu_s"] for r in raw["full"])
    print(f"\nbase {n_base:,} rows; month {n_month:,} rows; corrections {n_corr:,} rows ({args.children} children); "
          f"{args.runs} alternated runs, medians (min-max), CPU s from wait4\n")
    print("| load | CPU s | wall s | read+validate+upsert s | models s | statistics s | children touched | "
          "marts / statistics incremental | CPU / full |")
    print("|---|---|---|---|---|---|---:|---|---:|")
    for kind, label in (("full", "full: the whole export, new warehouse"), ("month", "month into base"),
                        ("corrections", "corrections into base")):
        r0 = raw[kind][0]
        print(f"| {label} | {m(kind, 'cpu_s')} | {m(kind, 'wall_s')} | {m(kind, 'files_s')} | {m(kind, 'models_s')} | "
              f"{m(kind, 'statistics_s')} | {r0.get('touched_children', '')} | "
              f"{'yes' if r0.get('marts_incremental') else 'no'} / {'yes' if r0.get('statistics_incremental') else 'no'}"
              f" | {statistics.median(r['cpu_s'] for r in raw[kind]) / full:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
