"""Benchmarks and scale: every target of issue 14 measured in one run, at each size asked for.

    python benchmarks/run.py [--sizes 100000,1000000] [--runs 3] [--runs-large 1] [--include-10m]
                             [--skip-render] [--skip-browser] [--readme] [--estimate]
    python benchmarks/run.py --sizes 100000,1000000,3000000 --include-10m --readme   # the full run (~35-40 min idle)
    python benchmarks/run.py --readme-only     # README.md's table from results/latest.json, nothing measured

For each size a synthetic practice is generated with ``pipelines.sample`` in a fresh process
(one clean canonical CSV, ~42 rows per child-year, 12 months) and measured ``--runs`` times up
to 1.5M rows and ``--runs-large`` times above (default 1); every figure is the median (min-max)
of the runs. An estimate of the run's time is printed first (``--estimate``: only that).

1. load      export file -> ready warehouse, each run in a fresh process (``--one ours``):
             CPU (``wait4``), wall, rows/s, peak RSS (VmHWM), the phase split from
             ``LoadReport.timings`` (CPU when it has ``files_cpu_s`` ...); side by side with
             DuckDB's own ``read_csv`` (the floor) and a plain pandas load (the baseline,
             ``bench_load.run_pandas``, up to 3.5M rows). The last run's warehouse is the one
             the sections below read.
1b. increment one more month (``pipelines.increments.split_last_month``) into the rest's warehouse.
2. transform ``transform.build(con)`` on the loaded warehouse (SQL models vs Python statistics),
             beside a plain pandas implementation of the main metrics (``pandas_metrics``).
3. query     the calls each dashboard page makes, recorded from a real render of it with the
             default filters (``page_calls.record``), timed cold (a fresh process, a new reader)
             and warm (again on that reader).
4. render    each page through Streamlit's AppTest (``bench_dashboard.render_with_filter_change``):
             cold = a new session whose first run is that page, every Streamlit cache and the
             reader cleared; warm = a rerun (cache hits); filter change = then the period set to
             the last 6 months (no cache holds it) and the rerun timed. CPU and wall seconds.
5. browser   a sidebar click to the page's first chart or table drawn, per page, in headless
             Chromium on a ``streamlit run`` server (``bench_browser.click_pages``).
6. CLI       ``python -m pipelines --help`` and ``status`` start-up (``bench_cli.timed``).

At 10M rows (``--include-10m``; any size from 9M) only memory is measured: one load of ours and
of the floor (no pandas, increment, transform, queries, renders, browser or CLI).

The Targets table lists every target of issue 14 per size with its ratio or figure and whether it
is met. Writes ``benchmarks/results/latest.md``, ``latest.json`` and ``growth.png`` (plotly +
kaleido; skipped with a note when the image cannot be written) and prints the markdown;
``--readme`` also rewrites README.md's benchmark table (between its markers) from that run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _root import ROOT  # the project root on sys.path when run as a script

RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
README_MARKERS = ("<!-- benchmark-table:start (python benchmarks/run.py --readme) -->", "<!-- benchmark-table:end -->")
BENCH_LOAD = ROOT / "benchmarks" / "bench_load.py"
PANDAS_MAX_ROWS = 3_500_000   # the pandas baselines hold every row as Python strings: skipped above this
LARGE_ROWS = 1_500_000        # sizes above this are measured --runs-large times (default 1), the rest --runs
MEMORY_ONLY_ROWS = 9_000_000  # sizes from here (10M) measure memory only: one load of ours and the floor
# issue 14's targets, every one printed by the Targets table (CPU seconds unless said)
TARGETS = {
    "load_vs_floor": 3.0,        # whole load / DuckDB read_csv into a table <= 3x (aim 2x), at every size
    "files_vs_floor": 1.5,       # read + validate + upsert / read_csv <= 1.5x, at every size
    "growth_10x": 11.0,          # 10x rows costs at most 11x (load CPU), between each pair of sizes
    "increment_vs_full": 0.3,    # one more month into a 1M-row warehouse <= 0.3x a full load
    "peak_mb_10m": 1024,         # peak RSS of a load at 10M rows < 1 GB
    "render_cold_s": 1.0,        # every page at 1M, default filters, cold render (AppTest) < 1 s
    "render_warm_s": 0.3,        # ... warm render (a rerun, cache hits) < 300 ms
    "filter_change_s": 0.5,      # ... one filter change (a new combination) < 500 ms
    "browser_click_s": 1.5,      # in a real browser, a sidebar click to the page's chart drawn < 1.5 s
    "cli_start_s": 0.3,          # python -m pipelines --help / status start < 0.3 s
}
ISSUE_ROWS = 1_000_000        # "at 1M rows": the page and increment targets are judged at the size nearest this


# ----------------------------------------------------------------------------- helpers

def med(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def fmt(m: dict, scale: float = 1.0, digits: int = 2) -> str:
    return (f"{m['median'] * scale:.{digits}f} ({m['min'] * scale:.{digits}f}–{m['max'] * scale:.{digits}f})")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def rows_per_child() -> float:
    from pipelines import sample

    probe, _ = sample.generate(children=500, months=12, seed=11)
    return len(probe) / 500


def generate(size: int, per_child: float, work: Path) -> tuple[Path, int, int]:
    """One clean canonical CSV of about ``size`` rows; (path, rows, children)."""
    from pipelines import sample

    children = max(50, round(size / per_child))
    out = work / f"gen-{size}"
    written = sample.write_sample(out, children=children, months=12, seed=11, split=False)
    path = Path(written["files"][0]["path"])
    return path, int(written["rows"]), children


def one_generate(size: int, work: Path) -> dict:
    """``generate`` in this (fresh) process, so the driver never holds the rows."""
    t0 = time.perf_counter()
    path, rows, children = generate(size, rows_per_child(), work)
    return {"path": str(path), "rows": rows, "children": children, "wall_s": time.perf_counter() - t0}


def generate_fresh(size: int, work: Path) -> tuple[Path, int, int, dict]:
    """(path, rows, children, {"wall_s", "cpu_s"}) of ``one_generate`` in a fresh process."""
    res = _fresh_process([f"generate:{size}", str(work)])
    return Path(res["path"]), int(res["rows"]), int(res["children"]), {"wall_s": res["process_wall_s"],
                                                                       "cpu_s": res["cpu_s"]}


# ----------------------------------------------------------------------------- 1. load

def one_load(kind: str, path: Path) -> dict:
    """``bench_load.one`` in this (fresh) process, with peak memory from ``VmHWM``.

    ``ru_maxrss`` of a child started by fork + exec carries the parent's RSS at the fork
    (Linux keeps the larger of the two across exec), so a big parent inflates it; ``VmHWM``
    is the high-water mark of this process's own address space.
    """
    from bench_load import one, run_ours

    keep = os.environ.get("BENCH_KEEP_DB")
    if kind == "ours" and keep:  # this run's warehouse is kept (the query and render sections read it)
        t0 = time.perf_counter()
        phases = run_ours(path, Path(keep))
        res = {"wall_s": time.perf_counter() - t0, **phases}
    else:
        res = one(kind, path)
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                res["peak_mb"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return res


def _fresh_process(args: list[str]) -> dict:
    """``run.py --one ...`` in a fresh process: its JSON, with ``cpu_s`` (user + system of the
    whole process, all threads, imports included; from ``wait4``) and its own peak (VmHWM)."""
    from bench_load import _spawn_reaping_ourselves

    res = _spawn_reaping_ourselves([sys.executable, __file__, "--one", *args], ROOT)
    if "vmhwm_mb" in res:  # ru_maxrss of a forked child can carry the parent's RSS; VmHWM is its own
        res["peak_mb"] = res["vmhwm_mb"]
    return res


def _vmhwm_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


PHASES = ("files_s", "models_s", "statistics_s", "files_cpu_s", "models_cpu_s", "statistics_cpu_s")


def bench_load(path: Path, rows: int, runs: int, pandas: bool = True, keep_db: Path | None = None) -> dict:
    """floor, ours (and pandas) ``runs`` times each, alternated, a fresh process per run; the
    last run of ours keeps its warehouse at ``keep_db`` when given."""
    kinds = ["floor", "ours"] + (["pandas"] if pandas else [])
    raw: dict[str, list[dict]] = {k: [] for k in kinds}
    for i in range(runs):
        for kind in kinds:  # interleaved so machine drift hits all alike
            last_ours = kind == "ours" and i == runs - 1 and keep_db is not None
            if last_ours:
                os.environ["BENCH_KEEP_DB"] = str(keep_db)
            try:
                raw[kind].append(_fresh_process([kind, str(path)]))
            finally:
                os.environ.pop("BENCH_KEEP_DB", None)
            log(f"  load {kind} run {i + 1}: {raw[kind][-1]['wall_s']:.2f} s wall, {raw[kind][-1]['cpu_s']:.2f} s CPU, "
                f"peak {raw[kind][-1]['peak_mb']:.0f} MB")
    res: dict = {}
    for kind, rs in raw.items():
        res[kind] = {"wall_s": med([r["wall_s"] for r in rs]), "peak_mb": med([r["peak_mb"] for r in rs]),
                     "cpu_s": med([r["cpu_s"] for r in rs])}
        res[kind]["rows_per_s"] = rows / res[kind]["wall_s"]["median"]
    for phase in PHASES:  # the *_cpu_s split is there when LoadReport.timings has it
        if all(phase in r for r in raw["ours"]):
            res["ours"][phase] = med([r[phase] for r in raw["ours"]])
    return res


# the increment's export is a month newer than its base (pipelines.increments)
BASE_ORDER, INCREMENT_ORDER = "2026-10-01", "2026-11-01"


def one_increment(kind: str, folder: Path) -> dict:
    """In this (fresh) process: ``base`` loads ``folder/base.csv`` into ``folder/wh``; ``increment``
    loads ``folder/inc.csv`` into it (the timed run, on a copy of the base warehouse)."""
    import datetime as dt_

    from analytics import stored
    from pipelines.load import load

    name, order = ("base.csv", BASE_ORDER) if kind == "base" else ("inc.csv", INCREMENT_ORDER)
    t0 = time.perf_counter()
    report = load([folder.parent / name if kind == "increment" else folder / name],
                  db=folder / "wh" / "practice.duckdb", after_build=stored.STEPS,
                  export_date=dt_.datetime.fromisoformat(order))
    wall = time.perf_counter() - t0
    f = report.files[0]
    assert f.status == "loaded", f.message
    return {"wall_s": wall, **report.timings, "statistics_incremental": stored.LAST_BUILD["incremental"],
            "vmhwm_mb": _vmhwm_mb()}


def bench_increment(path: Path, work: Path, runs: int) -> dict:
    """A month's increment (``pipelines.increments.split_last_month``: ~10 % new rows and
    corrections) loaded into the warehouse of the rest, each run a fresh process on a fresh copy."""
    from pipelines import increments

    folder = work / "increment"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    n_base, n_inc = increments.split_last_month(path, folder / "base.csv", folder / "inc.csv")
    _fresh_process(["base", str(folder)])
    raw = []
    for i in range(runs):
        run_dir = folder / f"run{i}"
        shutil.copytree(folder / "wh", run_dir / "wh")
        raw.append(_fresh_process(["increment", str(run_dir)]))
        shutil.rmtree(run_dir, ignore_errors=True)
        log(f"  increment run {i + 1}: {raw[-1]['wall_s']:.2f} s wall, {raw[-1]['cpu_s']:.2f} s CPU")
    res = {"base_rows": n_base, "increment_rows": n_inc, "cpu_s": med([r["cpu_s"] for r in raw]),
           "wall_s": med([r["wall_s"] for r in raw]), "peak_mb": med([r["peak_mb"] for r in raw]),
           "touched_children": raw[0].get("touched_children"),
           "marts_incremental": bool(raw[0].get("marts_incremental")),
           "statistics_incremental": raw[0].get("statistics_incremental")}
    for phase in PHASES:
        if all(phase in r for r in raw):
            res[phase] = med([r[phase] for r in raw])
    shutil.rmtree(folder, ignore_errors=True)
    return res


# ----------------------------------------------------------------------------- 2. transform

def bench_transform(db: Path, work: Path, runs: int) -> dict:
    """``transform.build`` with the stored statistics (``analytics.stored.STEPS``) on a copy of
    the loaded warehouse, opened as a load opens it."""
    from analytics import stored
    from pipelines import transform, warehouse

    scratch = work / "transform.duckdb"
    shutil.copyfile(db, scratch)
    walls, cpus, models, stats = [], [], [], []
    with warehouse.writer(scratch) as con:
        for _ in range(runs):
            timings: dict[str, float] = {}
            t0, c0 = time.perf_counter(), time.process_time()
            transform.build(con, timings, stored.STEPS)
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            models.append(timings["models_s"])
            stats.append(timings["statistics_s"])
    scratch.unlink(missing_ok=True)
    return {"wall_s": med(walls), "cpu_s": med(cpus), "models_s": med(models), "statistics_s": med(stats)}


def pandas_metrics(df):
    """The main metrics in plain pandas, from the loaded rows (one row per session per goal).

    * weekly engagement per child (attended sessions, one value per session)
    * GAS T-score per child per month (Kiresuk-Sherman, rho = 0.3, each goal's last level in
      the month, goal weight default 1)
    * child-led vs directed paired difference in mean engagement per child
    """
    import numpy as np

    rho = 0.3
    sess = df.drop_duplicates("session_id")[["session_id", "child_id", "session_date", "approach",
                                             "attendance", "engagement"]]
    att = sess[(sess["attendance"] == "attended") & sess["engagement"].notna()].copy()
    att["engagement"] = att["engagement"].astype("float64")
    d = att["session_date"]
    att["week"] = d - pd_to_timedelta(d.dt.day_of_week)
    weekly = att.groupby(["child_id", "week"], sort=False)["engagement"].agg(["mean", "count"]).reset_index()

    g = df[df["gas_level"].notna() & df["goal_id"].notna()][["child_id", "goal_id", "session_date",
                                                              "gas_level", "goal_weight"]].copy()
    g["month"] = g["session_date"].dt.to_period("M")
    g = g.sort_values("session_date").groupby(["child_id", "month", "goal_id"], sort=False).tail(1)
    w = g["goal_weight"].astype("float64").fillna(1.0).to_numpy()
    x = g["gas_level"].astype("float64").to_numpy()
    g = g.assign(wx=w * x, w2=w * w, w=w)
    s = g.groupby(["child_id", "month"], sort=False)[["wx", "w2", "w"]].sum()
    s["t_score"] = 50 + 10 * s["wx"] / np.sqrt((1 - rho) * s["w2"] + rho * s["w"] ** 2)
    gas_t = s["t_score"].reset_index()

    by = att[att["approach"].isin(("child-led", "directed"))].groupby(["child_id", "approach"])["engagement"].mean()
    wide = by.unstack("approach").dropna()
    paired = (wide["child-led"] - wide["directed"]).rename("difference").reset_index()
    return {"weekly_engagement": weekly, "gas_t": gas_t, "paired": paired}


def pd_to_timedelta(days):
    import pandas as pd

    return pd.to_timedelta(days, unit="D")


def bench_pandas_metrics(db: Path, runs: int) -> dict:
    from pipelines import warehouse

    con = warehouse.connect_reader(db)
    # the loaded rows, one per session per goal, from the marts (the raw rows are per source since issue 13)
    df = con.execute("select s.child_id, s.session_id, g.goal_id, s.session_date, s.approach, s.attendance, "
                     "e.value as engagement, g.gas_level, g.goal_weight from sessions as s "
                     "left join (select session_id, value from observations where measure = 'engagement' "
                     "and goal_id is null) as e using (session_id) left join goal_ratings as g using (session_id)").df()
    con.close()
    walls, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = pandas_metrics(df)
        walls.append(time.perf_counter() - t0)
    del df
    return {"wall_s": med(walls), "sizes": {k: len(v) for k, v in out.items()}}


# ----------------------------------------------------------------------------- 3. query

QUERY_BUDGET_S = 60.0  # a page whose cold calls take longer is timed once, not --runs times


def bench_query(db: Path, runs: int) -> dict:
    """The calls each page makes on a default render (recorded), timed in fresh processes."""
    import page_calls
    from analytics import Filters

    recorded = page_calls.record(db)
    f = next((a for c in recorded["overview"] for a in c.args if isinstance(a, Filters)), Filters())
    return {"filter": {"date_from": str(f.date_from), "date_to": str(f.date_to)},
            "pages": page_calls.bench_pages(db, recorded, runs, QUERY_BUDGET_S, log)}


# ----------------------------------------------------------------------------- 4. render

RENDER_BUDGET_S = 60.0  # a page whose cold render takes longer is rendered once, not --runs times


def bench_render(db: Path, runs: int) -> dict:
    """Each page through AppTest, ``runs`` times: cold, warm and one filter change
    (``bench_dashboard.render_with_filter_change``), wall and CPU seconds."""
    from bench_dashboard import FILTER_CHANGE, render_with_filter_change, warm_up
    from page_calls import PAGES, dashboard_env, quiet_streamlit

    quiet_streamlit()
    res: dict = {}
    with dashboard_env(db):
        warm_up()
        for page in PAGES:
            rs, error = [], None
            for _ in range(runs):
                r = render_with_filter_change(page)
                rs.append(r)
                error = r["error"]
                if error or r["cold"] > RENDER_BUDGET_S:
                    break
            ok = [r for r in rs if r["filter"] is not None]
            res[page] = {"cold_s": med([r["cold"] for r in rs]), "cold_cpu_s": med([r["cold_cpu"] for r in rs]),
                         "error": error}
            for k in ("warm", "filter"):
                vals = [r for r in rs if r[k] is not None]
                res[page][f"{k}_s"] = med([r[k] for r in vals]) if vals else None
                res[page][f"{k}_cpu_s"] = med([r[f"{k}_cpu"] for r in vals]) if vals else None
            res[page]["filter_change"] = f"{FILTER_CHANGE[0]} = {FILTER_CHANGE[1]!r}" if ok else None
            log(f"  render {page}: cold {res[page]['cold_cpu_s']['median']:.2f} s CPU"
                + (f", filter change {res[page]['filter_cpu_s']['median']:.2f} s CPU" if ok else "")
                + (f" ERROR {error}" if error else ""))
    return res


# ----------------------------------------------------------------------------- 5. browser, 6. CLI

def bench_browser(db: Path, rounds: int) -> dict:
    """``bench_browser.click_pages``: a sidebar click to the page drawn, per page, in Chromium."""
    import bench_browser

    why = bench_browser.available()
    if why:
        return {"skipped": why}
    try:
        res = bench_browser.click_pages(db, runs=rounds, log=log)
    except Exception as exc:  # noqa: BLE001  (a page that never settles: say so in the results, keep the run)
        return {"skipped": f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"}
    return {"raw": res, "pages": bench_browser.summary(res), "open_s": res.get("open_s")}


def bench_cli(db: Path, runs: int = 5) -> dict:
    """``bench_cli.timed``: ``python -m pipelines --help`` and ``status --db`` in fresh processes."""
    import bench_cli as cli

    out = {}
    for name, cmd in (("--help", ["--help"]), ("status", ["status", "--db", str(db)])):
        wall, cpu = cli.timed(cmd, runs)
        out[name] = {"wall_s": wall, "cpu_s": cpu, "runs": runs}
    log(f"  cli: --help {out['--help']['cpu_s']:.3f} s CPU, status {out['status']['cpu_s']:.3f} s CPU")
    return out


# ----------------------------------------------------------------------------- report

def _max_share() -> float:
    from pipelines import incremental

    return incremental.MAX_SHARE


def _runs_text(results: dict) -> str:
    r = results.get("runs_rule") or {}
    if not r:
        return f"`--runs {results['runs']}`"
    return (f"`--runs {r['runs']}` up to {LARGE_ROWS:,} rows, `--runs-large {r['runs_large']}` above; "
            f"{r.get('memory_from', MEMORY_ONLY_ROWS):,} rows and more: memory only (one load of ours and the floor)")


def _phase(o: dict, name: str) -> tuple[float, str]:
    """(seconds, "CPU"|"wall") of a load phase: its CPU figure when ``LoadReport.timings`` has it."""
    if f"{name}_cpu_s" in o:
        return o[f"{name}_cpu_s"]["median"], "CPU"
    return o[f"{name}_s"]["median"], "wall"


def markdown(results: dict) -> str:
    sizes = results["sizes"]
    full = [s for s in sizes if s.get("mode", "full") == "full"]
    L: list[str] = []
    m = results["machine"]
    L.append(f"# Benchmark results ({results['date']})\n")
    L.append(f"Machine: {m['cpus']} CPUs, {m['python']}, DuckDB {m['duckdb']}, pandas {m['pandas']}; "
             f"{_runs_text(results)}; figures are median (min–max) of the runs"
             + (f"; the whole run took {results['elapsed_s'] / 60:.0f} min" if results.get("elapsed_s") else "")
             + ".\n")
    if results.get("targets"):
        _targets_section(L, results)

    L.append("## 1. Load: export file to ready warehouse (fresh process per run)\n")
    L.append("| rows | method | CPU s | wall s | rows/s (wall) | peak RSS MB |")
    L.append("|---:|---|---|---|---:|---:|")
    for s in sizes:
        for kind in ("floor", "ours", "pandas"):
            r = s["load"].get(kind)
            if r is None:
                why = "memory-only size" if s.get("mode") == "memory" else f"> {PANDAS_MAX_ROWS:,} rows"
                L.append(f"| {s['rows']:,} | {kind} | skipped ({why}) | | | |")
                continue
            label = {"floor": "floor: DuckDB read_csv", "ours": "ours: pipelines load",
                     "pandas": "pandas: same load (baseline)"}[kind]
            cpu = fmt(r["cpu_s"]) if "cpu_s" in r else ""
            L.append(f"| {s['rows']:,} | {label} | {cpu} | {fmt(r['wall_s'])} | {r['rows_per_s']:,.0f} | "
                     f"{r['peak_mb']['median']:.0f} |")
    L.append("\nCPU s = user + system seconds of the whole process (all DuckDB threads, imports included; "
             "`wait4`): the figure to read on a shared machine, where wall time is mostly waiting for a core. "
             "Peak RSS = the process's own high-water mark (`VmHWM`).\n")
    gen = [s for s in sizes if s.get("generate")]
    if gen:
        L.append("Generating each export (`pipelines.sample`, a fresh process): " + "; ".join(
            f"{s['rows']:,} rows {s['generate']['cpu_s']:.1f} s CPU, {s['generate']['wall_s']:.1f} s wall, "
            f"{s['csv_mb']:.0f} MB" for s in gen) + ".\n")
    cpu_split = all("files_cpu_s" in s["load"]["ours"] for s in sizes)
    L.append("\nOur load by phase (`LoadReport.timings`; " + ("CPU seconds" if cpu_split else
             "wall seconds: this code's timings have no CPU split") + "):\n")
    L.append("| rows | read + validate + upsert s | SQL models s | statistics + flags s | ours / floor CPU | "
             "read+validate+upsert / floor | pandas / ours read+validate+upsert |")
    L.append("|---:|---|---|---|---:|---:|---:|")
    for s in sizes:
        o, fl, pd_ = s["load"]["ours"], s["load"]["floor"], s["load"].get("pandas")
        k = "_cpu_s" if cpu_split else "_s"
        files, unit = _phase(o, "files")
        floor = fl["cpu_s"]["median"] if unit == "CPU" else fl["wall_s"]["median"]
        ratio_p = (f"{pd_['cpu_s']['median'] / files:.2f}x" if unit == "CPU" else
                   f"{pd_['wall_s']['median'] / files:.2f}x") if pd_ else "n/a"
        L.append(f"| {s['rows']:,} | {fmt(o['files' + k])} | {fmt(o['models' + k])} | {fmt(o['statistics' + k])} | "
                 f"{o['cpu_s']['median'] / fl['cpu_s']['median']:.2f}x | {files / floor:.2f}x ({unit}) | {ratio_p} |")

    if full and all(s.get("increment") for s in full):
        L.append("\n## 1b. Incremental: one more month into the warehouse of the rest (fresh process per run)\n")
        L.append("| rows | base rows | increment rows | CPU s | wall s | read+validate+upsert s | SQL models s | "
                 "statistics s | children touched | marts / statistics incremental | increment / full load CPU |")
        L.append("|---:|---:|---:|---|---|---|---|---|---:|---|---:|")
        for s in full:
            i, o = s["increment"], s["load"]["ours"]
            L.append(f"| {s['rows']:,} | {i['base_rows']:,} | {i['increment_rows']:,} | {fmt(i['cpu_s'])} | "
                     f"{fmt(i['wall_s'])} | {fmt(i['files_s'])} | {fmt(i['models_s'])} | {fmt(i['statistics_s'])} | "
                     f"{i['touched_children'] if i['touched_children'] is not None else 'n/a'} | "
                     f"{'yes' if i['marts_incremental'] else 'no'} / {'yes' if i['statistics_incremental'] else 'no'} | "
                     f"{i['cpu_s']['median'] / o['cpu_s']['median']:.2f}x |")
        L.append("\nThe increment (`pipelines.increments.split_last_month`): the export's last 30 days plus every row "
                 "of about 1 in 100 earlier sessions again, corrected. Marts are rebuilt for the touched children only "
                 f"when they are at most {int(100 * _max_share())} % of the children (`pipelines.incremental.MAX_SHARE`), "
                 "statistics only when the as-of date did not move.\n")

    if full and all(s.get("transform") for s in full):
        L.append("\n## 2. Transform: `transform.build(con)` on the loaded warehouse (not an issue 14 target)\n")
        L.append("| rows | build wall s | SQL models s | Python statistics s | CPU s | pandas metrics s |")
        L.append("|---:|---|---|---|---|---|")
        for s in full:
            t, p = s["transform"], s.get("pandas_metrics")
            L.append(f"| {s['rows']:,} | {fmt(t['wall_s'])} | {fmt(t['models_s'])} | {fmt(t['statistics_s'])} | "
                     f"{fmt(t['cpu_s'])} | {fmt(p['wall_s']) if p else 'skipped'} |")
        L.append("\n`pandas metrics` = `pandas_metrics()` in run.py from rows already in memory: weekly engagement "
                 "per child, GAS T per child per month (Kiresuk–Sherman), child-led − directed per child. "
                 "`transform.build` computes far more (every mart, flags, per-child trends with Theil–Sen and "
                 "Mann–Kendall, effect sizes, reliable change).\n")

    if full and all(s.get("query") for s in full):
        _query_sections(L, full)
    if full and all(s.get("render") for s in full):
        _render_section(L, full)
    if full and all(s.get("browser") for s in full):
        _browser_section(L, full)
    if full and all(s.get("cli") for s in full):
        L.append("\n## 6. Command line start-up (fresh processes, median of "
                 f"{full[0]['cli']['--help']['runs']}; s)\n")
        L.append("| rows | `--help` CPU | `--help` wall | `status` CPU | `status` wall |")
        L.append("|---:|---:|---:|---:|---:|")
        for s in full:
            c = s["cli"]
            L.append(f"| {s['rows']:,} | {c['--help']['cpu_s']:.3f} | {c['--help']['wall_s']:.3f} | "
                     f"{c['status']['cpu_s']:.3f} | {c['status']['wall_s']:.3f} |")
        L.append("")
    _tail(L, results)
    return "\n".join(L) + "\n"


def _query_sections(L: list[str], sizes: list[dict]) -> None:
    qf = sizes[0]["query"]["filter"]
    L.append(f"## 3. Query: the calls each page makes on a default render (filter {qf['date_from']} – "
             f"{qf['date_to']}, all groups; ms; not an issue 14 target: the renders below are)\n")
    head = "| page | calls | " + " | ".join(f"cold {s['rows']:,} | warm {s['rows']:,}" for s in sizes) + " |"
    L.append(head)
    L.append("|---|---:|" + "---|---|" * len(sizes))
    for page in sizes[0]["query"]["pages"]:
        cells = []
        for s in sizes:
            q = s["query"]["pages"].get(page)
            cells.append(f"{fmt(q['cold_s'], 1000, 0)} | {fmt(q['warm_s'], 1000, 0)}" if q else " | ")
        L.append(f"| {page} | {len(sizes[0]['query']['pages'][page]['calls'])} | " + " | ".join(cells) + " |")
    big = sizes[-1]
    L.append("\nThe calls are recorded from a real render of each page (`page_calls.record`: AppTest, the "
             "lead's view, default filters), not listed by hand. Cold = a fresh Python process, a new reader "
             "(`connect_reader`, ATTACH read-only) plus the page's calls; warm = the same calls again on that "
             "reader. A repeat view in the dashboard is an `st.cache_data` hit: its cost is the warm render "
             "(section 4).\n")
    L.append(f"Slowest calls at {big['rows']:,} rows (median ms, cold / warm):\n")
    per = []
    for page, q in big["query"]["pages"].items():
        for n in q["calls"]:
            per.append((q["per_call_cold_s"][n]["median"], q["per_call_warm_s"][n]["median"], page, n))
    per.sort(reverse=True)
    L.append("| page | call | cold ms | warm ms |")
    L.append("|---|---|---:|---:|")
    for c, w, page, n in per[:8]:
        L.append(f"| {page} | {n} | {c * 1000:.0f} | {w * 1000:.0f} |")


def _cpu(r: dict, key: str) -> dict | None:
    """A render figure in CPU seconds, or wall where an older run has no CPU figure."""
    return r.get(f"{key}_cpu_s") or r.get(f"{key}_s")


def _render_section(L: list[str], sizes: list[dict]) -> None:
    L.append("\n## 4. Render: each page through Streamlit AppTest (CPU s of the process, every thread; wall s "
             "after the slash)\n")
    L.append("| page | rows | cold | warm | filter change |")
    L.append("|---|---:|---|---|---|")
    for page in sizes[0]["render"]:
        for s in sizes:
            r = s["render"].get(page)
            if r is None:
                continue
            cells = []
            for k in ("cold", "warm", "filter"):
                c, w = _cpu(r, k), r.get(f"{k}_s")
                cells.append(f"{fmt(c)} / {w['median']:.2f}" if c and w else "n/a")
            err = f" (error: {r['error'][:60]})" if r.get("error") else ""
            L.append(f"| {page}{err} | {s['rows']:,} | " + " | ".join(cells) + " |")
    fc = next((r.get("filter_change") for r in sizes[0]["render"].values() if r.get("filter_change")), None)
    L.append("\nCold = a new AppTest session whose first run is the page, after `st.cache_data` and "
             "`st.cache_resource` (the reader) were cleared; warm = a rerun (every query a cache hit); filter "
             f"change = then one filter changed ({fc or 'the period'}: a combination no cache holds) and the "
             "rerun timed.\n")


def _browser_section(L: list[str], sizes: list[dict]) -> None:
    L.append("\n## 5. Browser: a sidebar click to the page's first chart or table drawn (headless Chromium, "
             "`streamlit run`; wall s)\n")
    L.append("| page | " + " | ".join(f"first {s['rows']:,} | server CPU | browser CPU | repeat" for s in sizes) + " |")
    L.append("|---|" + "---:|---:|---:|---:|" * len(sizes))
    pages = next((s["browser"]["pages"] for s in sizes if s["browser"].get("pages")), {})
    for page in pages:
        cells = []
        for s in sizes:
            b = (s["browser"].get("pages") or {}).get(page)
            if not b:
                cells.append(f"{s['browser'].get('skipped', 'n/a')[:40]} | | | ")
                continue
            rep = f"{b['repeat_s']:.2f}" if b.get("repeat_s") is not None else "–"
            bcpu = f"{b['first_browser_cpu_s']:.2f}" if b.get("first_browser_cpu_s") is not None else "–"
            cells.append(f"{b['first_s']:.2f}{'' if b['drawn'] else '*'} | {b['first_cpu_s']:.2f} | {bcpu} | {rep}")
        L.append(f"| {page} | " + " | ".join(cells) + " |")
    L.append("\n`bench_browser.py`: the dashboard served on the size's warehouse, Chromium opened on the Data page, "
             "then each sidebar link clicked in turn; time from the click until the script has run and stopped "
             "and the page's first chart (plotly's SVG) or table is visible. *First* = the page's first view in "
             "the new server (caches empty); *repeat* = later rounds (cache hits); *server CPU* / *browser CPU* = the "
             "CPU seconds of the server process / of Chromium's processes during the first click. * = no chart or table visible within 20 s of the script stopping: the time until it stopped (what the page showed is in latest.json).\n")


def _targets_section(L: list[str], results: dict) -> None:
    sizes = results["sizes"]
    L.append("## Targets (issue 14)\n")
    L.append("Every row is one of issue 14's targets, as measured in the run (CPU seconds unless said; "
             f"page and increment targets are judged at the size nearest {ISSUE_ROWS:,} rows, the issue's, "
             "the others at every size they apply to). DuckDB's `read_csv` is the floor; the pandas load "
             "is the baseline beside it (not a target).\n")
    L.append("| target | " + " | ".join(f"{s['rows']:,}" for s in sizes) + " | met |")
    L.append("|---|" + "---|" * len(sizes) + "---|")
    for t in results["targets"]:
        cells = t.get("cells")
        if cells is None:  # an older run's targets: one result text
            L.append(f"| {t['target']} | " + " | ".join([t.get("result", "")] + [""] * (len(sizes) - 1))
                     + f" | {t['met']} |")
            continue
        L.append(f"| {t['target']} | " + " | ".join(cells.get(str(s["rows"]), "–") for s in sizes)
                 + f" | {t['met']} |")
    if results.get("page_targets"):
        ref = results["page_targets"]["rows"]
        L.append(f"\nPer page at {ref:,} rows (CPU s for AppTest, wall s for the browser; ✓ = target met):\n")
        L.append(f"| page | cold render < {TARGETS['render_cold_s']:g} s | warm < {TARGETS['render_warm_s']:g} s | "
                 f"filter change < {TARGETS['filter_change_s']:g} s | browser click < {TARGETS['browser_click_s']:g} s |")
        L.append("|---|---:|---:|---:|---:|")
        for page, row in results["page_targets"]["pages"].items():
            L.append(f"| {page} | " + " | ".join(row.get(k, "–") for k in ("cold", "warm", "filter", "browser")) + " |")
    L.append("")


def _tail(L: list[str], results: dict) -> None:
    if results.get("growth"):
        g = results["growth"]
        L.append(f"## Growth {g['from']:,} → {g['to']:,} rows ({g['rows_ratio']:.1f}x rows)\n")
        L.append("| figure | small | large | ratio | per-row cost ratio |")
        L.append("|---|---:|---:|---:|---:|")
        for name, a, b in g["rows"]:
            L.append(f"| {name} | {a:.3f} | {b:.3f} | {b / a:.1f}x | {(b / a) / g['rows_ratio']:.2f} |")
        L.append("\nPer-row cost ratio ≈ 1: linear; < 1: fixed costs amortised; > 1: super-linear.\n")
    if results.get("notes"):
        L.append("\n" + "\n".join(f"- {n}" for n in results["notes"]))


def growth(sizes: list[dict]) -> dict | None:
    """The smallest and the largest fully measured sizes, figure by figure."""
    full = [s for s in sizes if s.get("mode", "full") == "full"]
    if len(full) < 2:
        return None
    a, b = full[0], full[-1]
    rows = []
    for kind in ("floor", "ours", "pandas"):
        if kind in a["load"] and kind in b["load"]:
            rows.append((f"load {kind} CPU s", a["load"][kind]["cpu_s"]["median"], b["load"][kind]["cpu_s"]["median"]))
    rows.append(("load peak RSS MB", a["load"]["ours"]["peak_mb"]["median"], b["load"]["ours"]["peak_mb"]["median"]))
    if a.get("transform") and b.get("transform"):
        rows.append(("transform CPU s", a["transform"]["cpu_s"]["median"], b["transform"]["cpu_s"]["median"]))
    for page in (a.get("query") or {}).get("pages", {}) if b.get("query") else ():
        if page in b["query"]["pages"]:
            rows.append((f"query {page} cold s", a["query"]["pages"][page]["cold_s"]["median"],
                         b["query"]["pages"][page]["cold_s"]["median"]))
    if a.get("render") and b.get("render"):
        for page in a["render"]:
            ra, rb = a["render"][page], b["render"].get(page)
            if rb and not ra.get("error") and not rb.get("error"):
                rows.append((f"render {page} cold CPU s", _cpu(ra, "cold")["median"], _cpu(rb, "cold")["median"]))
    return {"from": a["rows"], "to": b["rows"], "rows_ratio": b["rows"] / a["rows"], "rows": rows}


def _mark(value: float, limit: float, text: str) -> str:
    return f"{text} {'✓' if value <= limit else '✗'}"


def _met(values: list[bool]) -> str:
    if not values:
        return "not measured"
    return "yes" if all(values) else ("no" if not any(values) else f"no ({sum(values)} of {len(values)})")


def issue_size(sizes: list[dict]) -> dict | None:
    """The fully measured size nearest 1M rows (by ratio), where the issue states its page targets."""
    import math

    full = [s for s in sizes if s.get("mode", "full") == "full"]
    return min(full, key=lambda s: abs(math.log(s["rows"] / ISSUE_ROWS))) if full else None


def targets(sizes: list[dict]) -> tuple[list[dict], dict | None, list[str]]:
    """Issue 14's targets: (rows of the Targets table, the per-page table at the issue's size, notes)."""
    out: list[dict] = []
    notes: list[str] = []
    T = TARGETS

    def row(target: str, cells: dict, met: str) -> None:
        out.append({"target": target, "cells": cells, "met": met})

    # whole load, and read + validate + upsert, against the floor: every size
    cells, ok = {}, []
    for s in sizes:
        lo = s["load"]
        r = lo["ours"]["cpu_s"]["median"] / lo["floor"]["cpu_s"]["median"]
        p = f", pandas {lo['pandas']['cpu_s']['median']:.1f}" if "pandas" in lo else ""
        cells[str(s["rows"])] = _mark(r, T["load_vs_floor"], f"{r:.2f}x ({lo['ours']['cpu_s']['median']:.1f} vs "
                                      f"{lo['floor']['cpu_s']['median']:.1f} s{p})")
        ok.append(r <= T["load_vs_floor"])
    row(f"whole load <= {T['load_vs_floor']:g}x DuckDB read_csv (aim 2x): ours vs floor CPU s (pandas baseline)",
        cells, _met(ok))
    cells, ok, wall_used = {}, [], False
    for s in sizes:
        lo = s["load"]
        files, unit = _phase(lo["ours"], "files")
        floor = lo["floor"]["cpu_s"]["median"] if unit == "CPU" else lo["floor"]["wall_s"]["median"]
        wall_used |= unit == "wall"
        r = files / floor
        cells[str(s["rows"])] = _mark(r, T["files_vs_floor"], f"{r:.2f}x {unit} ({files:.1f} vs {floor:.1f} s)")
        ok.append(r <= T["files_vs_floor"])
    row(f"read + validate + upsert <= {T['files_vs_floor']:g}x read_csv", cells, _met(ok))
    if wall_used:
        notes.append("read + validate + upsert: `LoadReport.timings` of this code has no `files_cpu_s`, so that ratio "
                     "is wall seconds of the phase against the floor's wall seconds (noisy on a shared machine).")
    # growth between each pair of neighbouring sizes
    cells, ok = {}, []
    for a, b in zip(sizes, sizes[1:]):
        rows_x = b["rows"] / a["rows"]
        cost_x = b["load"]["ours"]["cpu_s"]["median"] / a["load"]["ours"]["cpu_s"]["median"]
        allowed = rows_x * T["growth_10x"] / 10
        cells[str(b["rows"])] = _mark(cost_x, allowed, f"{rows_x:.1f}x rows: {cost_x:.1f}x CPU (<= {allowed:.1f}x)")
        ok.append(cost_x <= allowed)
    row(f"growth linear: 10x rows costs <= {T['growth_10x']:g}x (load CPU, from the size before)", cells, _met(ok))
    # the month's increment, judged at the issue's size
    ref = issue_size(sizes)
    cells, ok = {}, []
    for s in sizes:
        if s.get("increment"):
            r = s["increment"]["cpu_s"]["median"] / s["load"]["ours"]["cpu_s"]["median"]
            cells[str(s["rows"])] = _mark(r, T["increment_vs_full"], f"{r:.2f}x ({s['increment']['cpu_s']['median']:.1f}"
                                          f" vs {s['load']['ours']['cpu_s']['median']:.1f} s; "
                                          f"{s['increment']['increment_rows']:,} rows)")
            if s is ref:
                ok.append(r <= T["increment_vs_full"])
    row(f"one more month into a 1M-row warehouse <= {T['increment_vs_full']:g}x a full load (CPU)", cells, _met(ok))
    # peak memory: at 10M
    cells, ok = {}, []
    for s in sizes:
        pk = s["load"]["ours"]["peak_mb"]["median"]
        cells[str(s["rows"])] = f"{pk:,.0f} MB" + ((" ✓" if pk < T["peak_mb_10m"] else " ✗")
                                                  if s["rows"] >= MEMORY_ONLY_ROWS else "")
        if s["rows"] >= MEMORY_ONLY_ROWS:
            ok.append(pk < T["peak_mb_10m"])
    row(f"peak RSS of a load < {T['peak_mb_10m']:,} MB at 10M rows", cells,
        _met(ok) if ok else "not measured (no 10M: --include-10m)")
    # pages: AppTest cold / warm / filter change, browser click; every page, judged at the issue's size
    page_rows: dict = {}
    specs = (("cold", "render_cold_s", "every page: cold render < {:g} s (AppTest, default filters)"),
             ("warm", "render_warm_s", "every page: warm render < {:g} s (AppTest rerun)"),
             ("filter", "filter_change_s", "every page: a filter change < {:g} s (AppTest)"))
    for key, tk, label in specs:
        cells, ok = {}, []
        for s in sizes:
            if not s.get("render"):
                continue
            vals = {p: _cpu(r, key)["median"] for p, r in s["render"].items() if _cpu(r, key)}
            if not vals:
                continue
            worst = max(vals, key=vals.get)
            n_ok = sum(v < T[tk] for v in vals.values())
            cells[str(s["rows"])] = f"{n_ok}/{len(vals)} pages; worst {worst} {vals[worst]:.2f} s"
            if s is ref:
                ok = [v < T[tk] for v in vals.values()]
                for p, v in vals.items():
                    page_rows.setdefault(p, {})[key] = f"{v:.2f} {'✓' if v < T[tk] else '✗'}"
        row(label.format(T[tk]), cells, _met(ok) if cells else "not measured (--skip-render)")
    cells, ok = {}, []
    for s in sizes:
        b = s.get("browser") or {}
        if not b.get("pages"):
            if b.get("skipped"):
                cells[str(s["rows"])] = f"not run: {b['skipped'][:60]}"
            continue
        vals = {p: v["first_s"] for p, v in b["pages"].items()}
        worst = max(vals, key=vals.get)
        n_ok = sum(v < T["browser_click_s"] for v in vals.values())
        cells[str(s["rows"])] = f"{n_ok}/{len(vals)} pages; worst {worst} {vals[worst]:.2f} s (first view, wall)"
        if s is ref:
            ok = [v < T["browser_click_s"] for v in vals.values()]
            for p, v in b["pages"].items():
                rep = f", repeat {v['repeat_s']:.2f}" if v.get("repeat_s") is not None else ""
                page_rows.setdefault(p, {})["browser"] = f"{v['first_s']:.2f}{rep} {'✓' if v['first_s'] < T['browser_click_s'] else '✗'}"
    row(f"every page: a sidebar click to the chart drawn < {T['browser_click_s']:g} s (Chromium, wall)", cells,
        _met(ok) if ok else "not measured")
    for name in ("--help", "status"):
        cells, ok = {}, []
        for s in sizes:
            c = (s.get("cli") or {}).get(name)
            if c:
                cells[str(s["rows"])] = _mark(c["cpu_s"], T["cli_start_s"], f"{c['cpu_s']:.3f} s CPU, {c['wall_s']:.3f} wall")
                ok.append(c["cpu_s"] < T["cli_start_s"])
        row(f"`python -m pipelines {name}` starts < {T['cli_start_s']:g} s (CPU)", cells, _met(ok))
    page_targets = {"rows": ref["rows"], "pages": page_rows} if ref and page_rows else None
    return out, page_targets, notes


def plot_growth(sizes: list[dict], path: Path) -> str | None:
    """growth.png: CPU seconds vs rows on log-log axes; returns a note when it cannot be written."""
    if len(sizes) < 2:
        return "growth.png not written: one size only"
    try:
        import plotly.graph_objects as go

        full = [s for s in sizes if s.get("mode", "full") == "full"]
        fig = go.Figure()
        x = [s["rows"] for s in sizes]
        series = {
            "load (ours), CPU": (x, [s["load"]["ours"]["cpu_s"]["median"] for s in sizes]),
            "load floor (DuckDB read_csv), CPU": (x, [s["load"]["floor"]["cpu_s"]["median"] for s in sizes]),
        }
        xf = [s["rows"] for s in full]
        if full and all(s.get("transform") for s in full):
            series["transform.build, CPU"] = (xf, [s["transform"]["cpu_s"]["median"] for s in full])
        with_pd = [s for s in sizes if "pandas" in s["load"]]
        if with_pd:
            series["load (pandas), CPU"] = ([s["rows"] for s in with_pd],
                                            [s["load"]["pandas"]["cpu_s"]["median"] for s in with_pd])
        if full and all(s.get("render") for s in full):
            series["slowest page, cold render CPU"] = (xf, [max(_cpu(r, "cold")["median"] for r in s["render"].values()
                                                                if not r.get("error")) for s in full])
        for name, (xs, y) in series.items():
            fig.add_trace(go.Scatter(x=xs, y=y, mode="lines+markers", name=name))
        ref = series["load (ours), CPU"][1][0]
        fig.add_trace(go.Scatter(x=x, y=[ref * r / x[0] for r in x], mode="lines", name="linear (from load)",
                                 line={"dash": "dot", "color": "grey"}))
        fig.update_layout(title="Cost growth with export rows (median CPU seconds)", xaxis_type="log",
                          yaxis_type="log", xaxis_title="export rows", yaxis_title="CPU seconds",
                          width=900, height=520, template="plotly_white")
        fig.write_image(str(path))
        return None
    except Exception as exc:  # kaleido needs a browser; offline boxes may lack one
        return f"growth.png not written ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"


# ----------------------------------------------------------------------------- estimate, README

# wall seconds per section at 1M export rows on an idle 2-core machine (generation measured here:
# 12.9 s wall, 6.3 s CPU for 1,015,710 rows; the rest from the 2026-11-22 idle run and the
# 2026-12-01 page renders); load-like work scales with rows, page work about with rows ** 0.8
PER_1M_S = {"generate": 13, "floor": 3, "ours": 25, "pandas": 13, "increment_base": 25, "increment": 15,
            "transform": 14, "pandas_metrics": 4}
PAGES_1M_S = {"query_record": 30, "query_run": 25, "render_run": 60, "browser": 60, "cli": 4}
FIXED_S = {"size": 40, "memory_size": 5}  # per size: process starts, imports, AppTest and server start-up


def estimate(sizes: list[int], runs: int, runs_large: int, skip_query: bool, skip_render: bool,
             skip_browser: bool, memory_from: int = MEMORY_ONLY_ROWS) -> tuple[float, list[str]]:
    """(seconds, one line per size) the run should take on an idle 2-core machine."""
    total, lines = 0.0, []
    for size in sizes:
        x = size / 1e6
        memory = size >= memory_from
        n = runs if size <= LARGE_ROWS else runs_large
        t = (PER_1M_S["generate"] + n * (PER_1M_S["floor"] + PER_1M_S["ours"])) * x
        t += FIXED_S["memory_size" if memory else "size"]
        if not memory:
            if size <= PANDAS_MAX_ROWS:
                t += n * PER_1M_S["pandas"] * x + n * PER_1M_S["pandas_metrics"] * x
            t += (PER_1M_S["increment_base"] + n * PER_1M_S["increment"] + n * PER_1M_S["transform"]) * x
            xp = max(x, 0.05) ** 0.8
            if not skip_query:
                t += (PAGES_1M_S["query_record"] + n * PAGES_1M_S["query_run"]) * xp + 10
                if not skip_render:
                    t += n * PAGES_1M_S["render_run"] * xp + 5
            if not skip_browser:
                t += PAGES_1M_S["browser"] * xp + 15
            t += PAGES_1M_S["cli"]
        total += t
        lines.append(f"  {size:>11,} rows: {'memory only, ' if memory else ''}{n} run(s), ~{t / 60:.1f} min")
    return total, lines


def readme_table(results: dict) -> str:
    """The README's benchmark table: the Targets table of ``results`` (latest.json), with its date."""
    L: list[str] = []
    m = results["machine"]
    L.append(f"From `benchmarks/results/latest.md` ({results['date']}; {m['cpus']} CPUs, DuckDB {m['duckdb']}; "
             f"{_runs_text(results)}), written by `python benchmarks/run.py --readme`:\n")
    if not results.get("targets") or results["targets"][0].get("cells") is None:
        # a run from before this Targets table: its figures, judged against issue 14's targets
        t, pages, notes = targets(results["sizes"])
        results = {**results, "targets": t, "page_targets": pages}
        L.append("That run predates this table: its figures are judged here against issue 14's targets "
                 "(what it did not measure says so). " + " ".join(notes) + "\n")
    sub: list[str] = []
    _targets_section(sub, results)
    L += sub[1:]  # without its heading
    return "\n".join(L).rstrip() + "\n"


def write_readme(results: dict, readme: Path = README) -> None:
    """Replace the text between ``README_MARKERS`` in ``readme`` with ``readme_table(results)``."""
    text = readme.read_text(encoding="utf-8")
    start, end = README_MARKERS
    if start not in text or end not in text:
        raise SystemExit(f"{readme}: no benchmark table markers ({start} ... {end})")
    head, rest = text.split(start, 1)
    _old, tail = rest.split(end, 1)
    readme.write_text(head + start + "\n" + readme_table(results) + end + tail, encoding="utf-8")


# ----------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="approximate export rows, comma-separated")
    ap.add_argument("--runs", type=int, default=3, help=f"runs of each figure at sizes up to {LARGE_ROWS:,} rows")
    ap.add_argument("--runs-large", type=int, default=1, help=f"runs of each figure above {LARGE_ROWS:,} rows")
    ap.add_argument("--include-10m", action="store_true",
                    help="also 10,000,000 rows, memory only: one load of ours and the floor (~1 GB CSV)")
    ap.add_argument("--memory-from", type=int, default=MEMORY_ONLY_ROWS, help=argparse.SUPPRESS)  # to try the mode small
    ap.add_argument("--skip-render", action="store_true", help="skip the AppTest page renders")
    ap.add_argument("--skip-query", action="store_true", help="skip the page queries (and the renders): load and "
                                                               "transform only")
    ap.add_argument("--skip-browser", action="store_true", help="skip the browser clicks (Chromium)")
    ap.add_argument("--browser-rounds", type=int, default=2, help="rounds of sidebar clicks (the first: first views)")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where latest.md/json and growth.png go")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    ap.add_argument("--readme", action="store_true", help="after the run, rewrite README.md's benchmark table "
                                                          "from the latest.json it wrote")
    ap.add_argument("--readme-only", action="store_true", help="measure nothing: rewrite README.md's benchmark "
                                                               "table from --out's latest.json")
    ap.add_argument("--estimate", action="store_true", help="print the time estimate and stop")
    ap.add_argument("--one", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        kind, where = args.one[0], Path(args.one[1])
        if kind.startswith("generate:"):
            res = one_generate(int(kind.split(":", 1)[1]), where)
        elif kind in ("base", "increment"):
            res = one_increment(kind, where)
        else:
            res = one_load(kind, where)
        if "peak_mb" in res:
            res["vmhwm_mb"] = res["peak_mb"]
        print(json.dumps(res, default=str))
        return 0
    if args.readme_only:
        write_readme(json.loads((args.out / "latest.json").read_text(encoding="utf-8")))
        print(f"README.md's benchmark table rewritten from {args.out / 'latest.json'}")
        return 0

    sizes = sorted({int(float(s)) for s in args.sizes.split(",") if s.strip()})
    if args.include_10m and 10_000_000 not in sizes:
        sizes.append(10_000_000)
    skip_browser = args.skip_browser or args.skip_query
    total, lines = estimate(sizes, args.runs, args.runs_large, args.skip_query, args.skip_render, skip_browser,
                            args.memory_from)
    log(f"estimate on an idle 2-core machine: ~{total / 60:.0f} min (longer on a busy one)\n" + "\n".join(lines))
    if args.estimate:
        return 0

    import duckdb
    import pandas

    t_run = time.perf_counter()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-run-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "runs": args.runs,
                     "runs_rule": {"runs": args.runs, "runs_large": args.runs_large, "memory_from": args.memory_from},
                     "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "duckdb": duckdb.__version__, "pandas": pandas.__version__,
                                 "platform": platform.platform()},
                     "estimate_s": total, "sizes": [], "notes": []}
    try:
        for size in sizes:
            sw = work / f"s{size}"
            sw.mkdir(exist_ok=True)
            runs = args.runs if size <= LARGE_ROWS else args.runs_large
            memory = size >= args.memory_from
            csv, rows, children, gen = generate_fresh(size, sw)
            log(f"{size:,}: generated {rows:,} rows, {children:,} children, "
                f"{csv.stat().st_size / 1e6:.0f} MB in {gen['wall_s']:.1f} s ({gen['cpu_s']:.1f} s CPU); "
                f"{runs} run(s){', memory only' if memory else ''}")
            entry: dict = {"target_rows": size, "rows": rows, "children": children, "runs": runs,
                           "mode": "memory" if memory else "full", "csv_mb": csv.stat().st_size / 1e6,
                           "generate": gen}
            db = sw / "practice.duckdb"
            entry["load"] = bench_load(csv, rows, runs, pandas=not memory and rows <= PANDAS_MAX_ROWS,
                                       keep_db=None if memory else db)
            if not memory:
                log(f"  increment ({runs} runs)")
                entry["increment"] = bench_increment(csv, sw, runs)
                entry["warehouse_mb"] = db.stat().st_size / 1e6
                log(f"  transform ({runs} runs)")
                entry["transform"] = bench_transform(db, sw, runs)
                if rows <= PANDAS_MAX_ROWS:
                    entry["pandas_metrics"] = bench_pandas_metrics(db, runs)
                if not args.skip_query:
                    entry["query"] = bench_query(db, runs)
                if not args.skip_render and not args.skip_query:
                    entry["render"] = bench_render(db, runs)
                if not skip_browser:
                    entry["browser"] = bench_browser(db, args.browser_rounds)
                entry["cli"] = bench_cli(db)
            results["sizes"].append(entry)
            csv.unlink(missing_ok=True)
            shutil.rmtree(sw, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    results["elapsed_s"] = time.perf_counter() - t_run
    results["growth"] = growth(results["sizes"])
    results["targets"], results["page_targets"], notes = targets(results["sizes"])
    results["notes"] += notes
    args.out.mkdir(parents=True, exist_ok=True)
    note = plot_growth(results["sizes"], args.out / "growth.png")
    results["notes"].append(note or "growth chart: growth.png")
    if any(s["rows"] > PANDAS_MAX_ROWS and s.get("mode") == "full" for s in results["sizes"]):
        results["notes"].append(f"pandas baselines skipped above {PANDAS_MAX_ROWS:,} rows (memory).")
    results["notes"].append(f"the run took {results['elapsed_s'] / 60:.1f} min (estimated {total / 60:.0f} min on an "
                            "idle 2-core machine)")
    md = markdown(results)
    (args.out / "latest.md").write_text(md, encoding="utf-8")
    (args.out / "latest.json").write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    if args.readme:
        write_readme(results)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
