"""Render time of each dashboard page (Streamlit AppTest) on the sample data (or ``--db``).

    python benchmarks/bench_dashboard.py [--runs 3] [--db PATH] [--pages team_meeting,approach]
    python benchmarks/bench_dashboard.py --db NEW.duckdb --baseline /tmp/base --baseline-db OLD.duckdb

Builds a warehouse from ``data/sample/canonical`` in a temp dir (or uses ``--db``), then
renders each page ``--runs`` times and prints the median of each:

* cold: a new AppTest session whose first run is that page, after every ``st.cache_data``
  result and ``st.cache_resource`` (the warehouse reader) was cleared: the page's first view
  after a load, on a new reader (a new DuckDB instance), with nothing from an earlier page;
* warm: a rerun of that session (every query a cache hit: the page's own Python, charts and
  widgets).

With ``--baseline PATH`` (another checkout of the project, e.g. ``git worktree add --detach
/tmp/base main``) every run of every page is a **fresh process** (Streamlit and the dashboard
imported, then the Data page rendered once, then the page cold and warm), alternating the
baseline's code and this checkout's on the same warehouse, so machine drift hits both alike;
it prints both medians and their ratio (new / old). Without it the runs share one process.
Each version should read a warehouse its own code built (``--baseline-db`` for the
baseline's): the stored per-child tables are keyed by a hash of ``analytics/`` and ``stats/``
(``analytics.freshness``), so code that differs there finds the other's tables stale and
recomputes them on every page (the price of the first view after an upgrade, until a load).

Page views go to a temporary audit log. Not a test: it prints numbers for the record.
"""

from __future__ import annotations

import _root  # noqa: F401  (the project root on sys.path when run as a script)

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from page_calls import PAGES, clear_streamlit_caches, dashboard_env, open_page, quiet_streamlit

THIS = Path(__file__).resolve()


def render_page(page: str, timeout: float = 600, cpu: dict | None = None) -> tuple[float, float | None, str | None]:
    """(cold s, warm s, error) of one page, wall clock; ``dashboard_env`` must be active.
    ``cpu``, when given, gets the process's CPU seconds (every thread: Streamlit's script
    thread and DuckDB's) of each, as "cold" and "warm"."""
    clear_streamlit_caches()
    at = open_page(page, timeout=timeout)
    t0, c0 = time.perf_counter(), time.process_time()
    at.run()
    cold = time.perf_counter() - t0
    if cpu is not None:
        cpu["cold"] = time.process_time() - c0
    quiet_streamlit()  # loggers made during the run
    if at.exception:
        return cold, None, str(at.exception[0].value)
    t0, c0 = time.perf_counter(), time.process_time()
    at.run()
    if cpu is not None:
        cpu["warm"] = time.process_time() - c0
    return cold, time.perf_counter() - t0, None


FILTER_CHANGE = ("f_period", "6m")  # the period select: every page with the filter bar reads it


def render_with_filter_change(page: str, timeout: float = 600) -> dict:
    """``render_page`` and then one filter change: the period set to the last 6 months (a
    combination no cache holds yet) and the rerun timed. {"cold", "warm", "filter" (wall s),
    "cold_cpu", "warm_cpu", "filter_cpu" (the process's CPU s, every thread), "error"}."""
    clear_streamlit_caches()
    at = open_page(page, timeout=timeout)
    out: dict = {"cold": None, "warm": None, "filter": None, "cold_cpu": None, "warm_cpu": None,
                 "filter_cpu": None, "error": None}

    def timed(name: str, fn) -> bool:
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        out[name], out[f"{name}_cpu"] = time.perf_counter() - t0, time.process_time() - c0
        quiet_streamlit()  # loggers made during the run
        if at.exception:
            out["error"] = f"{name}: {at.exception[0].value}"
            return False
        return True

    if not timed("cold", at.run) or not timed("warm", at.run):
        return out
    key, value = FILTER_CHANGE
    box = [w for w in at.selectbox if w.key == key]
    if not box:
        out["error"] = f"filter: no {key} select on the page"
        return out
    timed("filter", lambda: box[0].set_value(value).run())
    return out


def warm_up() -> None:
    """One render of the Data page (no analytics): imports Streamlit and the dashboard, so the
    first page timed does not pay for them. Its caches are cleared by ``render_page``."""
    open_page("data_loads").run()


def render_fresh(page: str, db: Path, root: Path | None) -> dict:
    """``render_page`` in a new Python process importing the project at ``root`` (default:
    this checkout): {"cold": s, "warm": s, "cold_cpu": s, "warm_cpu": s, "error": str | None}."""
    env = dict(os.environ)
    if root is not None:
        env["BENCH_ROOT"] = str(root)
    else:
        env.pop("BENCH_ROOT", None)
    out = subprocess.run([sys.executable, str(THIS), "--one", page, "--db", str(db)], capture_output=True,
                         text=True, env=env, cwd=str(root or _root.ROOT))
    if out.returncode:
        return {"cold": float("nan"), "warm": None, "cold_cpu": float("nan"), "warm_cpu": None,
                "error": out.stderr.strip()[-800:] or "failed"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _one(page: str, db: Path) -> int:
    quiet_streamlit()
    with dashboard_env(db):
        warm_up()
        cpu: dict = {}
        cold, warm, error = render_page(page, cpu=cpu)
    print(json.dumps({"cold": cold, "warm": warm, "cold_cpu": cpu.get("cold"), "warm_cpu": cpu.get("warm"),
                      "error": error, "root": str(_root.ROOT)}))
    return 0


def _ratio(new: float, old: float) -> str:
    return f"{new / old:.2f}x" if old and old == old and new == new else "-"


def compare(db: Path, pages: list[str], runs: int, baseline: Path, baseline_db: Path | None = None) -> int:
    """Old (``baseline``, on ``baseline_db``, default ``db``) and new code (on ``db``), alternated,
    a fresh process per render; prints medians."""
    old_db = baseline_db or db
    print(f"warehouse {db} (baseline's: {old_db}); baseline {baseline}; this checkout {_root.ROOT}; runs={runs}, "
          "fresh process per render, old and new alternated; medians of wall s, and of CPU s (all threads)")
    head = "".join(f"{h:>11}" for h in ("old cold", "new cold", "new/old", "old warm", "new warm", "new/old"))
    print(f"{'page':<17}{'':<5}{head}")
    failed = 0
    for page in pages:
        res: dict[str, list[dict]] = {"old": [], "new": []}
        for _ in range(runs):
            res["old"].append(render_fresh(page, old_db, baseline))
            res["new"].append(render_fresh(page, db, None))
        errors = [f"{k}: {r['error']}" for k, rs in res.items() for r in rs if r["error"]]
        if errors:
            print(f"{page}: EXCEPTION {errors[0]}")
            failed += 1
            continue
        for kind, (cold, warm) in (("wall", ("cold", "warm")), ("cpu", ("cold_cpu", "warm_cpu"))):
            m = {k: (statistics.median(r[cold] for r in rs), statistics.median(r[warm] for r in rs))
                 for k, rs in res.items()}
            print(f"{page if kind == 'wall' else '':<17}{kind:<5}{m['old'][0]:>11.2f}{m['new'][0]:>11.2f}"
                  f"{_ratio(m['new'][0], m['old'][0]):>11}{m['old'][1]:>11.3f}{m['new'][1]:>11.3f}"
                  f"{_ratio(m['new'][1], m['old'][1]):>11}", flush=True)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--db", type=Path, help="an existing warehouse (default: build one from the sample)")
    ap.add_argument("--pages", help=f"comma-separated, default all: {','.join(PAGES)}")
    ap.add_argument("--baseline", type=Path, help="another checkout to time side by side (fresh processes)")
    ap.add_argument("--baseline-db", type=Path, help="the warehouse the baseline reads (default: --db); built by "
                                                      "the baseline's own code, so its stored tables are current")
    ap.add_argument("--one", metavar="PAGE", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.one:
        return _one(args.one, args.db)
    pages = [p.strip() for p in args.pages.split(",")] if args.pages else PAGES
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        ap.error(f"unknown page(s) {', '.join(unknown)}; pages: {', '.join(PAGES)}")

    quiet_streamlit()
    from analytics import stored
    from pipelines import small_practice

    with tempfile.TemporaryDirectory(prefix="bench-dash-") as tmp:
        if args.db:
            db = args.db
        else:
            t0 = time.perf_counter()
            db, files = small_practice.build_warehouse(Path(tmp) / "practice.duckdb", Path(tmp),
                                                       after_build=stored.STEPS)
            print(f"warehouse built from {', '.join(f.name for f in files)} in {time.perf_counter() - t0:.1f}s")
        if args.baseline:
            return compare(db, pages, args.runs, args.baseline.resolve(), args.baseline_db)
        with dashboard_env(db):
            warm_up()
            print(f"{'page':<18}{'cold median s':>15}{'warm median s':>15}   runs={args.runs}")
            for page in pages:
                cold, warm = [], []
                for _ in range(args.runs):
                    c, w, error = render_page(page)
                    if error:
                        print(f"{page}: EXCEPTION {error}")
                        return 1
                    cold.append(c)
                    warm.append(w)
                print(f"{page:<18}{statistics.median(cold):>15.2f}{statistics.median(warm):>15.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
