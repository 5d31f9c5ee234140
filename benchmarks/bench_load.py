"""Benchmark: load a generated export (default 1,000,000 rows) three ways, in one run.

1. floor   — DuckDB's own ``read_csv`` of the file into a table (no mapping, no validation)
2. ours    — ``python -m pipelines load`` (sniff, map, validate, archive, upsert, marts, swap)
3. pandas  — a plain pandas implementation of the same load and validation

Each is run in a fresh process (so peak memory is that process's own max RSS), ``--runs``
times; medians (min-max) and ratios are printed. Usage:

    .venv/bin/python benchmarks/bench_load.py --rows 1000000 --runs 3

``--compare before=/tmp/base after=.`` runs, in alternated rounds of one invocation, the floor and
each named tree's own ``benchmarks/bench_load.py --one ours`` (that tree's code and benchmark),
and prints CPU seconds (user + system of the whole process, from ``wait4``), wall, peak RSS,
medians and ratios to the floor and between the trees:

    .venv/bin/python benchmarks/bench_load.py --rows 1000000 --runs 4 --compare before=/tmp/base13 after=.
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
    f = report.files[0]
    assert f.status == "loaded", f.message
    return {**report.timings, "rows_loaded": f.rows_loaded, "rows_rejected": f.rows_rejected}


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


def _spawn_reaping_ourselves(cmd: list[str], cwd: Path) -> dict:
    """``spawn`` with the child reaped by ``os.wait4`` (Popen's own wait would lose its rusage)."""
    import os

    t0 = time.perf_counter()
    r_fd, w_fd = os.pipe()
    e_fd, ew_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: exec straight away, so it shares nothing with the driver but its small image
        os.chdir(cwd)
        os.dup2(w_fd, 1)
        os.dup2(ew_fd, 2)
        os.close(r_fd)
        os.close(e_fd)
        os.execv(cmd[0], cmd)
    os.close(w_fd)
    os.close(ew_fd)
    with os.fdopen(r_fd) as fo, os.fdopen(e_fd) as fe:
        import threading

        errbuf: list[str] = []
        t = threading.Thread(target=lambda: errbuf.append(fe.read()))
        t.start()
        out = fo.read()
        t.join()
    _pid, status, ru = os.wait4(pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{''.join(errbuf)[-3000:]}")
    res = json.loads(out.strip().splitlines()[-1])
    res.update(cpu_s=ru.ru_utime + ru.ru_stime, process_wall_s=wall, peak_mb=ru.ru_maxrss / 1024)
    return res


def generate_file(rows: int, work: Path) -> Path:
    """One clean canonical CSV of about ``rows`` rows (``pipelines.sample``, 12 months, seed 11),
    written by a child process so the driver never holds the frame."""
    path = work / "export.csv"
    code = ("import sys; sys.path.insert(0, sys.argv[3]); from pipelines import sample; "
            "probe, _ = sample.generate(children=500, months=12, seed=11); "
            "n = max(50, round(int(sys.argv[1]) / (len(probe) / 500))); "
            "f, _ = sample.generate(children=n, months=12, seed=11); f.to_csv(sys.argv[2], index=False)")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, str(rows), str(path), str(REPO)], check=True)
    print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s", flush=True)
    return path


def compare(path: Path, trees: dict[str, Path], runs: int, out: Path | None) -> int:
    """Alternated runs in one invocation: for each round, DuckDB's read_csv (the floor) and then
    each tree's own ``benchmarks/bench_load.py --one ours`` (its own code, its own benchmark),
    each a fresh process; CPU seconds, wall, peak RSS; medians and ratios are printed."""
    import os

    rows = sum(1 for _ in open(path, "rb")) - 1
    kinds = ["floor", *trees]
    raw: dict[str, list[dict]] = {k: [] for k in kinds}
    with open("/proc/loadavg") as fh:
        load_before = fh.read().split()[:3]
    for i in range(runs):
        order = kinds if i % 2 == 0 else ["floor", *reversed(list(trees))]  # before/after, then after/before
        for kind in order:
            root = REPO if kind == "floor" else trees[kind]
            cmd = [sys.executable, str(root / "benchmarks" / "bench_load.py"), "--one",
                   "floor" if kind == "floor" else "ours", str(path)]
            res = _spawn_reaping_ourselves(cmd, root)
            raw[kind].append(res)
            with open("/proc/loadavg") as fh:
                la = fh.read().split()[0]
            print(f"  round {i + 1} {kind:>8}: cpu {res['cpu_s']:6.2f} s  wall {res['wall_s']:6.2f} s  "
                  f"peak {res['peak_mb']:5.0f} MB  load avg {la}", flush=True)
    with open("/proc/loadavg") as fh:
        load_after = fh.read().split()[:3]

    def m(kind: str, key: str) -> tuple[float, float, float]:
        vals = [r.get(key, 0.0) for r in raw[kind]]
        return statistics.median(vals), min(vals), max(vals)

    def f(t: tuple[float, float, float]) -> str:
        return f"{t[0]:.2f} ({t[1]:.2f}-{t[2]:.2f})"

    lines = [f"load of {rows:,} export rows ({path.stat().st_size / 1e6:.0f} MB), {runs} alternated rounds, "
             f"medians (min-max); load average {' '.join(load_before)} before, {' '.join(load_after)} after "
             f"({os.cpu_count()} CPUs)", "",
             "| run | CPU s | wall s | process wall s | read+validate+upsert wall s | marts wall s | statistics wall s "
             "| peak RSS MB |",
             "|---|---|---|---|---|---|---|---:|"]
    for k in kinds:
        lines.append(f"| {k} | {f(m(k, 'cpu_s'))} | {f(m(k, 'wall_s'))} | {f(m(k, 'process_wall_s'))} | "
                     + (" | | | " if k == "floor" else
                        f"{f(m(k, 'files_s'))} | {f(m(k, 'models_s'))} | {f(m(k, 'statistics_s'))} | ")
                     + f"{m(k, 'peak_mb')[0]:.0f} |")
    fl_cpu, fl_wall = m("floor", "cpu_s")[0], m("floor", "wall_s")[0]
    lines += ["", "| run | CPU / floor CPU | wall / floor wall | read+validate+upsert wall / floor wall |",
              "|---|---:|---:|---:|"]
    for k in trees:
        lines.append(f"| {k} | {m(k, 'cpu_s')[0] / fl_cpu:.2f}x | {m(k, 'wall_s')[0] / fl_wall:.2f}x | "
                     f"{m(k, 'files_s')[0] / fl_wall:.2f}x |")
    names = list(trees)
    if len(names) == 2:
        a, b = names
        lines += ["", f"{b} / {a}: CPU {m(b, 'cpu_s')[0] / m(a, 'cpu_s')[0]:.2f}x, "
                  f"wall {m(b, 'wall_s')[0] / m(a, 'wall_s')[0]:.2f}x, "
                  f"peak RSS {m(b, 'peak_mb')[0] / m(a, 'peak_mb')[0]:.2f}x"]
    loaded = {k: sorted({(r.get('rows_loaded'), r.get('rows_rejected')) for r in raw[k]}) for k in trees}
    lines += ["", "rows loaded, rejected (where the tree's benchmark reports them): "
              + "; ".join(f"{k} {v}" for k, v in loaded.items()),
              "CPU s = user + system seconds of the whole process (imports, all DuckDB threads), from wait4; "
              "wall s = the load call itself (bench_load.one); process wall s = the whole process (imports too); "
              "peak RSS = the process's ru_maxrss."]
    text = "\n".join(lines)
    print("\n" + text)
    if out is not None:
        out.write_text(json.dumps({"rows": rows, "file": str(path), "trees": {k: str(v) for k, v in trees.items()},
                                   "load_before": load_before, "load_after": load_after, "runs": raw},
                                  indent=2))
    return 0


def profile(path: Path, top: int = 25) -> int:
    """Where the time of our load goes, in this process: wall and CPU seconds (process-wide,
    DuckDB's threads included) of every SQL statement the load runs on its connection, grouped
    by statement, and of the Python stages (read, landing archive, models, stored statistics)."""
    import contextlib
    import re

    import pipelines.ingest as ingest
    from analytics import stored
    from pipelines import transform, upsert, warehouse
    from pipelines.load import load

    stats: dict[str, list[float]] = {}

    def note(key: str, w: float, c: float) -> None:
        e = stats.setdefault(key, [0.0, 0.0, 0])
        e[0] += w
        e[1] += c
        e[2] += 1

    def timed(key: str, fn):
        def run(*a, **k):
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*a, **k)
            finally:
                note(key, time.perf_counter() - w, time.process_time() - c)
        return run

    class Timed:
        """The writer's connection, timing every statement."""

        def __init__(self, con):
            self._con = con

        def __getattr__(self, name):
            return getattr(self._con, name)

        def _run(self, fn, sql, *a, **k):
            key = re.sub(r"\s+", " ", sql.split("--")[0] if not sql.lstrip().startswith("--") else sql).strip()
            model = re.match(r"create or replace (table|view) (\w+)", key)
            key = f"model {model.group(2)}" if model else "sql " + key[:90]
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(sql, *a, **k)
            finally:
                note(key, time.perf_counter() - w, time.process_time() - c)

        def execute(self, sql, *a, **k):
            self._run(self._con.execute, sql, *a, **k)
            return self

        def fetchall(self):
            return self._con.fetchall()

        def sql(self, q, *a, **k):
            return self._run(self._con.sql, q, *a, **k)

    real_writer = warehouse.writer

    @contextlib.contextmanager
    def writer(*a, **k):
        with real_writer(*a, **k) as con:
            yield Timed(con)

    warehouse.writer = writer
    ingest.read_into = timed("stage: read (ingest.read_into)", ingest.read_into)
    upsert.ingest.read_into = ingest.read_into
    upsert.archive_rows = timed("stage: landing archive (archive_rows)", upsert.archive_rows)
    upsert.upsert_staged = timed("stage: upsert (upsert_staged)", upsert.upsert_staged)
    transform.build = timed("stage: models + statistics (transform.build)", transform.build)
    steps = [timed(f"stage: statistics ({getattr(s, '__name__', s)})", s) for s in stored.STEPS]
    with tempfile.TemporaryDirectory() as tmp:
        w, c = time.perf_counter(), time.process_time()
        report = load([path], db=Path(tmp) / "bench.duckdb", after_build=steps)
        total_w, total_c = time.perf_counter() - w, time.process_time() - c
    f = report.files[0]
    print(f"{f.status}: {f.message}; load {total_w:.2f} s wall, {total_c:.2f} s CPU; timings "
          + ", ".join(f"{k} {v:.2f}" for k, v in report.timings.items()))
    print("\n| stage or statement | n | wall s | CPU s |\n|---|---:|---:|---:|")
    for key, (w, c, n) in sorted(stats.items(), key=lambda kv: -kv[1][0])[:top]:
        print(f"| {key.replace('|', '/')} | {n} | {w:.2f} | {c:.2f} |")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000, help="approximate export rows to generate")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--file", type=Path, help="use this export instead of generating one")
    ap.add_argument("--one", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--compare", nargs="+", metavar="NAME=TREE",
                    help="alternate the floor and each tree's own `bench_load.py --one ours` (e.g. "
                         "before=/tmp/base after=.), CPU s, wall, peak RSS, ratios")
    ap.add_argument("--json", type=Path, help="with --compare: write every run here")
    ap.add_argument("--profile", action="store_true",
                    help="one load of --file (or a generated export) in this process: time per stage and statement")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], Path(args.one[1]))))
        return 0
    if args.profile:
        return profile(args.file or generate_file(args.rows, Path(tempfile.mkdtemp(prefix="bench-load-"))))
    if args.compare:
        trees = {n: Path(t).resolve() for n, t in (c.split("=", 1) for c in args.compare)}
        path = args.file or generate_file(args.rows, Path(tempfile.mkdtemp(prefix="bench-load-")))
        return compare(path, trees, args.runs, args.json)
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    path = args.file
    if path is None:  # generated by a child process: the driver holding a 1M-row frame inflated each run's peak RSS
        path = generate_file(args.rows, work)
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
    print(f"ours / floor  = {med['ours']['wall_s'] / med['floor']['wall_s']:.2f}x whole load (issue 14 target <= 3x, "
          f"in CPU: run.py), {phases['files_s'] / med['floor']['wall_s']:.2f}x read + validate + upsert (target <= 1.5x)")
    print(f"pandas / ours = {med['pandas']['wall_s'] / med['ours']['wall_s']:.2f}x whole load, "
          f"{med['pandas']['wall_s'] / phases['files_s']:.2f}x read + validate (the same work; the baseline, no target)")
    print(f"ours peak     = {med['ours']['peak_mb']:.0f} MB  (issue 14 target < 1 GB at 10M rows)")
    (work / "bench_load.json").write_text(json.dumps({"rows": rows, "runs": results, "medians": med}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
