"""Benchmark: load a generated export (default 1,000,000 rows) three ways, in one run.

1. floor   — DuckDB's own ``read_csv`` of the file into a table (no mapping, no validation)
2. ours    — ``python -m pipelines load`` (sniff, map, validate, archive, upsert, marts, swap)
3. pandas  — a plain pandas implementation of the same load and validation

Each is run in a fresh process (so peak memory is that process's own max RSS), ``--runs``
times; medians (min-max) and ratios are printed. Usage:

    .venv/bin/python benchmarks/bench_load.py --rows 1000000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _root import ROOT as REPO  # the project root on sys.path when run as a script


def run_floor(path: Path, db: Path) -> None:
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("create table t as select * from read_csv($p)", {"p": str(path)})
    con.close()


def run_ours(path: Path, db: Path) -> dict:
    from analytics import stored
    from pipelines.load import load

    report = load([path], db=db, after_build=stored.STEPS)
    assert report.files[0].status == "loaded", report.files[0].message
    return report.timings


def run_pandas(path: Path, db: Path) -> None:
    """What a user would write: pandas read, normalise, validate, write good rows and rejects."""
    import duckdb
    import numpy as np
    import pandas as pd

    from pipelines.profiles import load as load_profile

    prof = load_profile("canonical")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df = df.apply(lambda s: s.str.strip())
    df = df.replace("", np.nan)
    errors = pd.Series("", index=df.index)

    def flag(mask, text):
        nonlocal errors
        errors = errors.where(~mask.fillna(False), errors + text + "; ")

    for col in ("session_id", "child_id", "therapist_id", "session_date", "modality", "approach"):
        flag(df[col].isna(), f"{col}: required value missing")
    for col in ("modality", "approach", "attendance", "setting"):
        mapping = prof.values[col]
        norm = df[col].str.lower().str.replace(r"\s+", " ", regex=True)
        mapped = norm.map(mapping)
        flag(df[col].notna() & mapped.isna(), f"{col}: unknown value")
        df[col] = mapped
    df["attendance"] = df["attendance"].fillna("attended")
    for col in ("session_date", "date_of_birth"):
        parsed = pd.to_datetime(df[col], format="%Y-%m-%d", errors="coerce")
        flag(df[col].notna() & parsed.isna(), f"{col}: not a date")
        df[col] = parsed
    for col, lo, hi in (("engagement", 1, 5), ("gas_level", -3, 2), ("duration_min", 1, 600)):
        num = pd.to_numeric(df[col], errors="coerce")
        flag(df[col].notna() & (num.isna() | (num < lo) | (num > hi) | (num != num.round())), f"{col}: out of range")
        df[col] = num
    for col in ("goal_weight", "measure_score"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    today = pd.Timestamp.today().normalize()
    flag(df["session_date"] > today, "session_date: in the future")
    flag(df["session_date"] < df["date_of_birth"], "session_date: before birth")
    flag(df["engagement"].notna() & (df["attendance"] != "attended"), "engagement: not attended")
    flag(df["gas_level"].notna() & df["goal_id"].isna(), "goal_id: missing for GAS level")
    flag(df.groupby("session_id")["child_id"].transform("nunique") > 1, "child_id: two children")
    flag(df.duplicated(keep="first"), "exact duplicate")
    good = df[errors == ""]
    bad = df[errors != ""].assign(reason=errors[errors != ""])
    con = duckdb.connect(str(db))
    con.register("good", good)
    con.register("bad", bad)
    con.execute("create table session_rows as select * from good")
    con.execute("create table rejects as select * from bad")
    con.close()


RUNNERS = {"floor": run_floor, "ours": run_ours, "pandas": run_pandas}


def one(kind: str, path: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        phases = RUNNERS[kind](path, db) or {}
        wall = time.perf_counter() - t0
    return {"wall_s": wall, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, **phases}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="approximate export rows to generate")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--file", type=Path, help="use this export instead of generating one")
    ap.add_argument("--one", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], Path(args.one[1]))))
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    path = args.file
    if path is None:
        from pipelines import sample

        probe, _ = sample.generate(children=500, months=12, seed=11)
        children = max(50, round(args.rows / (len(probe) / 500)))
        t0 = time.perf_counter()
        frame, _truth = sample.generate(children=children, months=12, seed=11)
        path = work / "export.csv"
        frame.to_csv(path, index=False)
        print(f"generated {len(frame):,} rows ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    rows = sum(1 for _ in open(path, "rb")) - 1
    results: dict[str, list[dict]] = {k: [] for k in RUNNERS}
    for _ in range(args.runs):
        for kind in RUNNERS:  # interleaved so drift hits all three alike
            out = subprocess.run([sys.executable, __file__, "--one", kind, str(path)], capture_output=True,
                                 text=True, cwd=REPO)
            if out.returncode:
                print(out.stderr, file=sys.stderr)
                return 1
            results[kind].append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: {m: statistics.median(r[m] for r in v) for m in ("wall_s", "peak_mb")} for k, v in results.items()}
    print(f"\nload of {rows:,} rows, {args.runs} runs each, medians (min-max):")
    print("| method | wall s | rows/s | peak MB |")
    print("|---|---|---|---|")
    for k, v in results.items():
        walls = [r["wall_s"] for r in v]
        print(f"| {k} | {med[k]['wall_s']:.2f} ({min(walls):.2f}-{max(walls):.2f}) | "
              f"{rows / med[k]['wall_s']:,.0f} | {med[k]['peak_mb']:.0f} |")
    phases = {p: statistics.median(r[p] for r in results["ours"]) for p in ("files_s", "models_s", "statistics_s")}
    print(f"\nours, by phase (medians): read + validate + upsert {phases['files_s']:.2f} s, "
          f"marts {phases['models_s']:.2f} s, statistics and flags {phases['statistics_s']:.2f} s")
    print(f"ours / floor  = {med['ours']['wall_s'] / med['floor']['wall_s']:.2f}x whole load, "
          f"{phases['files_s'] / med['floor']['wall_s']:.2f}x read + validate  (target <= 2x)")
    print(f"pandas / ours = {med['pandas']['wall_s'] / med['ours']['wall_s']:.2f}x whole load, "
          f"{med['pandas']['wall_s'] / phases['files_s']:.2f}x read + validate (the same work)  (target >= 2x)")
    print(f"ours peak     = {med['ours']['peak_mb']:.0f} MB  (target < 500 MB)")
    (work / "bench_load.json").write_text(json.dumps({"rows": rows, "runs": results, "medians": med}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
