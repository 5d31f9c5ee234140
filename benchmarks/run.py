"""Benchmarks and scale: load, transform, query and render at ~100k and ~1M export rows, in one run.

    python benchmarks/run.py [--sizes 100000,1000000] [--runs 3] [--include-10m] [--skip-render]

For each size a synthetic practice is generated with ``pipelines.sample`` (one clean canonical
CSV, ~42 rows per child-year, 12 months) and measured ``--runs`` times; every figure is the
median (min-max) of the runs:

1. load      export file -> ready warehouse, each run in a fresh process (``bench_load.py --one``):
             wall, rows/s, peak RSS, and the phase split from ``LoadReport.timings``; side by side
             with DuckDB's own ``read_csv`` (the floor) and a plain pandas load (``bench_load.run_pandas``).
2. transform ``transform.build(con)`` on the loaded warehouse (SQL models vs Python statistics),
             side by side with a plain pandas implementation of the main metrics (``pandas_metrics``).
3. query     the calls each dashboard page makes, recorded from a real render of it with the
             default filters (``page_calls.record``: AppTest with ``dashboard.data``'s entry
             points wrapped), then timed: cold = a fresh Python process, a new reader
             (``warehouse.connect_reader``) and the first calls; warm = the same calls again on
             that reader. In the dashboard a repeat view is an ``st.cache_data`` hit, so "warm"
             here is the cost of a new filter combination on an open reader.
4. render    each page through Streamlit's AppTest with ``PIPELINES_DB`` pointing at the warehouse
             (``bench_dashboard.render_page``): cold = a new session whose first run is that page,
             every Streamlit cache and the reader cleared; warm = a rerun (cache hits).

Writes ``benchmarks/results/latest.md``, ``latest.json`` and ``growth.png`` (plotly + kaleido;
skipped with a note when the image cannot be written) and prints the markdown.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _root import ROOT  # the project root on sys.path when run as a script

RESULTS = ROOT / "benchmarks" / "results"
BENCH_LOAD = ROOT / "benchmarks" / "bench_load.py"
PANDAS_MAX_ROWS = 3_000_000  # the pandas baselines hold every row as Python strings: skipped above this
TARGETS = {
    "load_vs_floor": 3.0,        # ours / floor CPU <= 3x (aim 2x), at every size (issue 14)
    "files_vs_floor": 1.5,       # read + validate + upsert / floor <= 1.5x
    "growth_10x": 11.0,          # 10x rows costs at most 11x (load CPU)
    "increment_vs_full": 0.3,    # a month's increment into the warehouse <= 0.3x a full load (CPU)
    "pandas_vs_load": 2.0,       # pandas / ours wall >= 2x
    "peak_mb_10m": 1024,         # peak RSS of a load at 10M < 1 GB
    "transform_1m_s": 2.0,       # transform.build at 1M < 2 s
    "warm_query_ms": 100,        # per page, warm, at 1M
    "cold_query_ms": 500,        # per page, cold, at 1M
    "render_s": 1.0,             # per page render at 1M
}


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


# ----------------------------------------------------------------------------- 1. load

def one_load(kind: str, path: Path) -> dict:
    """``bench_load.one`` in this (fresh) process, with peak memory from ``VmHWM``.

    ``ru_maxrss`` of a child started by fork + exec carries the parent's RSS at the fork
    (Linux keeps the larger of the two across exec), so a big parent inflates it; ``VmHWM``
    is the high-water mark of this process's own address space.
    """
    from bench_load import one

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


def bench_load(path: Path, rows: int, runs: int) -> dict:
    kinds = ["floor", "ours"] + (["pandas"] if rows <= PANDAS_MAX_ROWS else [])
    raw: dict[str, list[dict]] = {k: [] for k in kinds}
    for i in range(runs):
        for kind in kinds:  # interleaved so machine drift hits all alike
            raw[kind].append(_fresh_process([kind, str(path)]))
            log(f"  load {kind} run {i + 1}: {raw[kind][-1]['wall_s']:.2f} s wall, {raw[kind][-1]['cpu_s']:.2f} s CPU")
    res: dict = {}
    for kind, rs in raw.items():
        res[kind] = {"wall_s": med([r["wall_s"] for r in rs]), "peak_mb": med([r["peak_mb"] for r in rs]),
                     "cpu_s": med([r["cpu_s"] for r in rs])}
        res[kind]["rows_per_s"] = rows / res[kind]["wall_s"]["median"]
    for phase in ("files_s", "models_s", "statistics_s"):
        res["ours"][phase] = med([r.get(phase, 0.0) for r in raw["ours"]])
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
    for phase in ("files_s", "models_s", "statistics_s"):
        res[phase] = med([r.get(phase, 0.0) for r in raw])
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
    from bench_dashboard import render_page, warm_up
    from page_calls import PAGES, dashboard_env, quiet_streamlit

    quiet_streamlit()
    res: dict = {}
    with dashboard_env(db):
        warm_up()
        for page in PAGES:
            cold, warm, error = [], [], None
            for _ in range(runs):
                c, w, error = render_page(page)
                cold.append(c)
                if error:
                    break
                warm.append(w)
                if c > RENDER_BUDGET_S:
                    break
            res[page] = {"cold_s": med(cold), "warm_s": med(warm) if warm else None, "error": error}
            log(f"  render {page}: cold {res[page]['cold_s']['median']:.2f} s" + (f" ERROR {error}" if error else ""))
    return res


# ----------------------------------------------------------------------------- report

def _max_share() -> float:
    from pipelines import incremental

    return incremental.MAX_SHARE


def markdown(results: dict) -> str:
    sizes = results["sizes"]
    L: list[str] = []
    m = results["machine"]
    L.append(f"# Benchmark results ({results['date']})\n")
    L.append(f"Machine: {m['cpus']} CPUs, {m['python']}, DuckDB {m['duckdb']}, pandas {m['pandas']}; "
             f"`--runs {results['runs']}`; figures are median (min–max) of the runs.\n")

    L.append("## 1. Load: export file to ready warehouse (fresh process per run)\n")
    L.append("| rows | method | CPU s | wall s | rows/s (wall) | peak RSS MB |")
    L.append("|---:|---|---|---|---:|---:|")
    for s in sizes:
        for kind in ("floor", "ours", "pandas"):
            r = s["load"].get(kind)
            if r is None:
                L.append(f"| {s['rows']:,} | {kind} | skipped (> {PANDAS_MAX_ROWS:,} rows) | | | |")
                continue
            label = {"floor": "floor: DuckDB read_csv", "ours": "ours: pipelines load",
                     "pandas": "pandas: same load"}[kind]
            cpu = fmt(r["cpu_s"]) if "cpu_s" in r else ""
            L.append(f"| {s['rows']:,} | {label} | {cpu} | {fmt(r['wall_s'])} | {r['rows_per_s']:,.0f} | "
                     f"{r['peak_mb']['median']:.0f} |")
    L.append("\nCPU s = user + system seconds of the whole process (all DuckDB threads, imports included; "
             "`wait4`): the figure to read on a shared machine, where wall time is mostly waiting for a core.\n")
    L.append("\nOur load by phase (`LoadReport.timings`):\n")
    L.append("| rows | read + validate + upsert s | SQL models s | statistics + flags s | ours / floor | "
             "read+validate / floor | pandas / ours |")
    L.append("|---:|---|---|---|---:|---:|---:|")
    for s in sizes:
        o, fl, pd_ = s["load"]["ours"], s["load"]["floor"], s["load"].get("pandas")
        ratio_p = f"{pd_['wall_s']['median'] / o['wall_s']['median']:.2f}x" if pd_ else "n/a"
        L.append(f"| {s['rows']:,} | {fmt(o['files_s'])} | {fmt(o['models_s'])} | {fmt(o['statistics_s'])} | "
                 f"{o['wall_s']['median'] / fl['wall_s']['median']:.2f}x | "
                 f"{o['files_s']['median'] / fl['wall_s']['median']:.2f}x | {ratio_p} |")

    if all(s.get("increment") for s in sizes):
        L.append("\n## 1b. Incremental: one more month into the warehouse of the rest (fresh process per run)\n")
        L.append("| rows | base rows | increment rows | CPU s | wall s | read+validate+upsert s | SQL models s | "
                 "statistics s | children touched | marts / statistics incremental | increment / full load CPU |")
        L.append("|---:|---:|---:|---|---|---|---|---|---:|---|---:|")
        for s in sizes:
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

    L.append("\n## 2. Transform: `transform.build(con)` on the loaded warehouse\n")
    L.append("| rows | build wall s | SQL models s | Python statistics s | CPU s | pandas metrics s |")
    L.append("|---:|---|---|---|---|---|")
    for s in sizes:
        t, p = s["transform"], s.get("pandas_metrics")
        L.append(f"| {s['rows']:,} | {fmt(t['wall_s'])} | {fmt(t['models_s'])} | {fmt(t['statistics_s'])} | "
                 f"{fmt(t['cpu_s'])} | {fmt(p['wall_s']) if p else 'skipped'} |")
    L.append("\n`pandas metrics` = `pandas_metrics()` in run.py from rows already in memory: weekly engagement "
             "per child, GAS T per child per month (Kiresuk–Sherman), child-led − directed per child. "
             "`transform.build` computes far more (every mart, flags, per-child trends with Theil–Sen and "
             "Mann–Kendall, effect sizes, reliable change).\n")

    if all(s.get("query") for s in sizes):
        _query_sections(L, sizes)
    if all(s.get("render") for s in sizes):
        _render_section(L, sizes)
    _tail(L, results)
    return "\n".join(L) + "\n"


def _query_sections(L: list[str], sizes: list[dict]) -> None:
    qf = sizes[0]["query"]["filter"]
    L.append(f"## 3. Query: the calls each page makes on a default render (filter {qf['date_from']} – "
             f"{qf['date_to']}, all groups; ms)\n")
    head = "| page | calls | " + " | ".join(f"cold {s['rows']:,} | warm {s['rows']:,}" for s in sizes) + " |"
    L.append(head)
    L.append("|---|---:|" + "---|---|" * len(sizes))
    for page in sizes[0]["query"]["pages"]:
        cells = []
        for s in sizes:
            q = s["query"]["pages"][page]
            cells.append(f"{fmt(q['cold_s'], 1000, 0)} | {fmt(q['warm_s'], 1000, 0)}")
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



def _render_section(L: list[str], sizes: list[dict]) -> None:
    L.append("\n## 4. Render: each page through Streamlit AppTest (s)\n")
    L.append("| page | " + " | ".join(f"cold {s['rows']:,} | warm {s['rows']:,}" for s in sizes) + " |")
    L.append("|---|" + "---|---|" * len(sizes))
    for page in sizes[0]["render"]:
        cells = []
        for s in sizes:
            r = s["render"][page]
            if r.get("error"):
                cells.append(f"error: {r['error'][:60]} | ")
            else:
                cells.append(f"{fmt(r['cold_s'])} | {fmt(r['warm_s'])}")
        L.append(f"| {page} | " + " | ".join(cells) + " |")
    L.append("\nCold = a new AppTest session whose first run is the page, after `st.cache_data` and "
             "`st.cache_resource` (the reader) were cleared; warm = a rerun (every query a cache hit).\n")



def _tail(L: list[str], results: dict) -> None:
    if results.get("growth"):
        g = results["growth"]
        L.append(f"## Growth {g['from']:,} → {g['to']:,} rows ({g['rows_ratio']:.1f}x rows)\n")
        L.append("| figure | small | large | ratio | per-row cost ratio |")
        L.append("|---|---:|---:|---:|---:|")
        for name, a, b in g["rows"]:
            L.append(f"| {name} | {a:.3f} | {b:.3f} | {b / a:.1f}x | {(b / a) / g['rows_ratio']:.2f} |")
        L.append("\nPer-row cost ratio ≈ 1: linear; < 1: fixed costs amortised; > 1: super-linear.\n")

    L.append("## Targets\n")
    L.append("| target | result | met |")
    L.append("|---|---|---|")
    for t in results["targets"]:
        L.append(f"| {t['target']} | {t['result']} | {t['met']} |")
    if results.get("notes"):
        L.append("\n" + "\n".join(f"- {n}" for n in results["notes"]))


def growth(sizes: list[dict]) -> dict | None:
    if len(sizes) < 2:
        return None
    a, b = sizes[0], sizes[-1]
    rows = []
    for kind in ("floor", "ours", "pandas"):
        if kind in a["load"] and kind in b["load"]:
            rows.append((f"load {kind} s", a["load"][kind]["wall_s"]["median"], b["load"][kind]["wall_s"]["median"]))
    rows.append(("load peak RSS MB", a["load"]["ours"]["peak_mb"]["median"], b["load"]["ours"]["peak_mb"]["median"]))
    rows.append(("transform s", a["transform"]["wall_s"]["median"], b["transform"]["wall_s"]["median"]))
    if a.get("pandas_metrics") and b.get("pandas_metrics"):
        rows.append(("pandas metrics s", a["pandas_metrics"]["wall_s"]["median"],
                     b["pandas_metrics"]["wall_s"]["median"]))
    for page in (a.get("query") or {}).get("pages", {}) if b.get("query") else ():
        rows.append((f"query {page} cold s", a["query"]["pages"][page]["cold_s"]["median"],
                     b["query"]["pages"][page]["cold_s"]["median"]))
    if a.get("render") and b.get("render"):
        for page in a["render"]:
            if not a["render"][page].get("error") and not b["render"][page].get("error"):
                rows.append((f"render {page} cold s", a["render"][page]["cold_s"]["median"],
                             b["render"][page]["cold_s"]["median"]))
    return {"from": a["rows"], "to": b["rows"], "rows_ratio": b["rows"] / a["rows"], "rows": rows}


def targets(sizes: list[dict], skip_render: bool) -> tuple[list[dict], list[str]]:
    out, notes = [], []
    ref = next((s for s in sizes if s["rows"] >= 900_000), sizes[-1])
    n = f"{ref['rows']:,} rows"
    lo = ref["load"]
    for s in sizes:
        lo_s = s["load"]
        cpu = lo_s["ours"]["cpu_s"]["median"] / lo_s["floor"]["cpu_s"]["median"]
        wall = lo_s["ours"]["wall_s"]["median"] / lo_s["floor"]["wall_s"]["median"]
        out.append({"target": f"whole load <= {TARGETS['load_vs_floor']:.0f}x DuckDB read_csv (aim 2x), {s['rows']:,} rows",
                    "result": f"{cpu:.2f}x CPU ({lo_s['ours']['cpu_s']['median']:.2f} vs "
                              f"{lo_s['floor']['cpu_s']['median']:.2f} s), {wall:.2f}x wall",
                    "met": "yes" if cpu <= TARGETS["load_vs_floor"] else "no"})
        rv = lo_s["ours"]["files_s"]["median"] / lo_s["floor"]["wall_s"]["median"]
        out.append({"target": f"read + validate + upsert <= {TARGETS['files_vs_floor']}x read_csv, {s['rows']:,} rows",
                    "result": f"{rv:.2f}x (wall: the phase split has no CPU figure; {lo_s['ours']['files_s']['median']:.2f}"
                              f" vs {lo_s['floor']['wall_s']['median']:.2f} s)",
                    "met": "yes" if rv <= TARGETS["files_vs_floor"] else "no"})
    if len(sizes) >= 2:
        a, b = sizes[0], sizes[-1]
        rows_x = b["rows"] / a["rows"]
        cost_x = b["load"]["ours"]["cpu_s"]["median"] / a["load"]["ours"]["cpu_s"]["median"]
        allowed = rows_x * TARGETS["growth_10x"] / 10
        out.append({"target": "load growth linear (10x rows at most 11x cost)",
                    "result": f"{a['rows']:,} -> {b['rows']:,} rows ({rows_x:.1f}x): {cost_x:.1f}x CPU "
                              f"(allowed {allowed:.1f}x)", "met": "yes" if cost_x <= allowed else "no"})
    for s in sizes:
        if s.get("increment"):
            inc = s["increment"]["cpu_s"]["median"] / s["load"]["ours"]["cpu_s"]["median"]
            out.append({"target": f"a month's increment <= {TARGETS['increment_vs_full']}x a full load, {s['rows']:,} rows",
                        "result": f"{inc:.2f}x CPU ({s['increment']['cpu_s']['median']:.2f} vs "
                                  f"{s['load']['ours']['cpu_s']['median']:.2f} s; {s['increment']['increment_rows']:,} "
                                  f"rows, {s['increment']['touched_children'] or 'most'} children touched)",
                        "met": "yes" if inc <= TARGETS["increment_vs_full"] else "no"})
    if "pandas" in lo:
        pr = lo["pandas"]["wall_s"]["median"] / lo["ours"]["wall_s"]["median"]
        out.append({"target": "load >= 2x faster than pandas", "result": f"pandas takes {pr:.2f}x ours ({n})",
                    "met": "yes" if pr >= 2 else "no"})
    big = max(sizes, key=lambda s: s["rows"])
    peak = big["load"]["ours"]["peak_mb"]["median"]
    is10 = big["rows"] >= 9_000_000
    out.append({"target": "peak memory < 1 GB at 10M", "result": f"{peak:.0f} MB at {big['rows']:,} rows"
                + ("" if is10 else " (10M not run: --include-10m)"), "met": ("yes" if peak < 1024 else "no")
                if is10 else "not measured (10M not run)"})
    tr = ref["transform"]["wall_s"]["median"]
    out.append({"target": "transform at 1M < 2 s", "result": f"{tr:.2f} s (models {ref['transform']['models_s']['median']:.2f}"
                f" + statistics {ref['transform']['statistics_s']['median']:.2f}) ({n})", "met": "yes" if tr < 2 else "no"})
    if not ref.get("query"):
        notes.append("page queries and renders not run (--skip-query): their targets are not measured here")
        return _growth_target(out, sizes), notes
    pages = ref["query"]["pages"]
    calls_w = max((p["per_call_warm_s"][c]["median"], f"{k}: {c}") for k, p in pages.items() for c in p["calls"])
    calls_c = max((p["per_call_cold_s"][c]["median"], f"{k}: {c}") for k, p in pages.items() for c in p["calls"])
    warm = max((p["warm_s"]["median"], k) for k, p in pages.items())
    cold = max((p["cold_s"]["median"], k) for k, p in pages.items())
    out.append({"target": "warm query < 100 ms at 1M", "result": f"slowest call {calls_w[1]} {calls_w[0] * 1000:.0f} ms "
                f"(slowest page total {warm[1]} {warm[0] * 1000:.0f} ms); a dashboard repeat view is a cache hit "
                f"(µs)", "met": "yes" if calls_w[0] < 0.1 else ("cache hit only" if calls_w[0] >= 0.1 else "no")})
    out.append({"target": "cold query < 500 ms at 1M", "result": f"slowest call {calls_c[1]} {calls_c[0] * 1000:.0f} ms "
                f"(slowest page total incl. opening the reader {cold[1]} {cold[0] * 1000:.0f} ms)",
                "met": "yes" if calls_c[0] < 0.5 and cold[0] < 0.5 else ("per call" if calls_c[0] < 0.5 else "no")})
    if not skip_render and ref.get("render"):
        ok = {k: v for k, v in ref["render"].items() if not v.get("error")}
        worst = max((v["cold_s"]["median"], k) for k, v in ok.items())
        wworst = max((v["warm_s"]["median"], k) for k, v in ok.items())
        out.append({"target": "page render < 1 s at 1M", "result": f"slowest cold {worst[1]} {worst[0]:.2f} s, "
                    f"slowest warm {wworst[1]} {wworst[0]:.2f} s", "met": "yes" if worst[0] < 1 else
                    ("warm only" if wworst[0] < 1 else "no")})
    return _growth_target(out, sizes), notes


def _growth_target(out: list[dict], sizes: list[dict]) -> list[dict]:
    g = growth(sizes)
    if g:
        per_row = {name: (b / a) / g["rows_ratio"] for name, a, b in g["rows"] if a > 0}
        worst = max(per_row.items(), key=lambda kv: kv[1])
        main = {k: v for k, v in per_row.items() if k in ("load ours s", "transform s")}
        out.append({"target": "near-linear growth", "result": "per-row cost ratio " + ", ".join(
            f"{k} {v:.2f}" for k, v in main.items()) + f"; worst {worst[0]} {worst[1]:.2f}",
            "met": "yes" if max(main.values()) <= 1.3 else "no"})
    return out


def plot_growth(sizes: list[dict], path: Path) -> str | None:
    """growth.png: seconds vs rows on log-log axes; returns a note when it cannot be written."""
    if len(sizes) < 2:
        return "growth.png not written: one size only"
    try:
        import plotly.graph_objects as go

        x = [s["rows"] for s in sizes]
        fig = go.Figure()
        series = {
            "load (ours)": [s["load"]["ours"]["wall_s"]["median"] for s in sizes],
            "load floor (DuckDB read_csv)": [s["load"]["floor"]["wall_s"]["median"] for s in sizes],
            "transform.build": [s["transform"]["wall_s"]["median"] for s in sizes],
        }
        if all(s.get("query") for s in sizes):
            series["slowest page, cold query"] = [max(p["cold_s"]["median"] for p in s["query"]["pages"].values())
                                                  for s in sizes]
        if all("pandas" in s["load"] for s in sizes):
            series["load (pandas)"] = [s["load"]["pandas"]["wall_s"]["median"] for s in sizes]
        if all(s.get("render") for s in sizes):
            series["slowest page, cold render"] = [max(r["cold_s"]["median"] for r in s["render"].values()
                                                       if not r.get("error")) for s in sizes]
        for name, y in series.items():
            fig.add_trace(go.Scatter(x=x, y=y, mode="lines+markers", name=name))
        ref = series["load (ours)"][0]
        fig.add_trace(go.Scatter(x=x, y=[ref * r / x[0] for r in x], mode="lines", name="linear (from load)",
                                 line={"dash": "dot", "color": "grey"}))
        fig.update_layout(title="Cost growth with export rows (median seconds)", xaxis_type="log",
                          yaxis_type="log", xaxis_title="export rows", yaxis_title="seconds",
                          width=900, height=520, template="plotly_white")
        fig.write_image(str(path))
        return None
    except Exception as exc:  # kaleido needs a browser; offline boxes may lack one
        return f"growth.png not written ({type(exc).__name__}: {str(exc).splitlines()[0][:120]})"


# ----------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,1000000", help="approximate export rows, comma-separated")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--include-10m", action="store_true", help="also 10,000,000 rows (minutes, ~2 GB of disk)")
    ap.add_argument("--skip-render", action="store_true", help="skip the AppTest page renders")
    ap.add_argument("--skip-query", action="store_true", help="skip the page queries (and the renders): load and "
                                                               "transform only")
    ap.add_argument("--out", type=Path, default=RESULTS, help="where latest.md/json and growth.png go")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it (default: a temp folder)")
    ap.add_argument("--one", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        kind, where = args.one[0], Path(args.one[1])
        res = one_increment(kind, where) if kind in ("base", "increment") else one_load(kind, where)
        if "peak_mb" in res:
            res["vmhwm_mb"] = res["peak_mb"]
        print(json.dumps(res, default=str))
        return 0

    import duckdb
    import pandas

    sizes = sorted({int(float(s)) for s in args.sizes.split(",") if s.strip()})
    if args.include_10m and 10_000_000 not in sizes:
        sizes.append(10_000_000)
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-run-"))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {"date": dt.datetime.now().isoformat(timespec="seconds"), "runs": args.runs,
                     "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "duckdb": duckdb.__version__, "pandas": pandas.__version__,
                                 "platform": platform.platform()},
                     "sizes": [], "notes": []}
    try:
        per_child = rows_per_child()
        for size in sizes:
            sw = work / f"s{size}"
            sw.mkdir(exist_ok=True)
            t0 = time.perf_counter()
            csv, rows, children = generate(size, per_child, sw)
            log(f"{size:,}: generated {rows:,} rows, {children:,} children, "
                f"{csv.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.1f} s")
            entry: dict = {"target_rows": size, "rows": rows, "children": children,
                           "csv_mb": csv.stat().st_size / 1e6}
            entry["load"] = bench_load(csv, rows, args.runs)
            log(f"  increment ({args.runs} runs)")
            entry["increment"] = bench_increment(csv, sw, args.runs)
            db = sw / "practice.duckdb"
            out = subprocess.run([sys.executable, "-m", "pipelines", "load", str(csv), "--db", str(db)],
                                 capture_output=True, text=True, cwd=ROOT)
            if out.returncode:
                raise RuntimeError(f"load for the query warehouse failed:\n{out.stderr[-3000:]}")
            entry["warehouse_mb"] = db.stat().st_size / 1e6
            log(f"  transform ({args.runs} runs)")
            entry["transform"] = bench_transform(db, sw, args.runs)
            if rows <= PANDAS_MAX_ROWS:
                entry["pandas_metrics"] = bench_pandas_metrics(db, args.runs)
            if not args.skip_query:
                entry["query"] = bench_query(db, args.runs)
            if not args.skip_render and not args.skip_query:
                entry["render"] = bench_render(db, args.runs)
            results["sizes"].append(entry)
            csv.unlink(missing_ok=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    results["growth"] = growth(results["sizes"])
    results["targets"], notes = targets(results["sizes"], args.skip_render)
    results["notes"] += notes
    args.out.mkdir(parents=True, exist_ok=True)
    note = plot_growth(results["sizes"], args.out / "growth.png")
    if note:
        results["notes"].append(note)
    else:
        results["notes"].append("growth chart: growth.png")
    if any(s["rows"] > PANDAS_MAX_ROWS for s in results["sizes"]):
        results["notes"].append(f"pandas baselines skipped above {PANDAS_MAX_ROWS:,} rows (memory).")
    md = markdown(results)
    (args.out / "latest.md").write_text(md, encoding="utf-8")
    (args.out / "latest.json").write_text(json.dumps(results, indent=1, default=str) + "\n", encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
