"""What each dashboard page asks for, recorded from a real render, and what those calls cost.

``record(db)`` renders each page of the dashboard (Streamlit's AppTest, local single-user
mode: the lead's view; default filters unless ``query`` gives URL parameters) with the entry
points of ``dashboard.data`` wrapped, and returns per page the calls the render made, in
order, each once (a repeat within a render is a cache hit). A ``Call`` is one of

* ``call``: ``analytics.<name>(con, *args, **kwargs)`` through ``data.call`` (``ui.fetch``,
  ``ui.fetch_aggregate``, the filter bar's ``filter_options``, the Data page's ``rejects``);
* ``practice``: ``access.practice.practice_aggregate(con, name, *args, **kwargs)`` through
  ``data.practice`` (the de-identified practice figures);
* ``categories``: ``data.practice_categories`` (``analytics.filter_options``);
* ``status``: ``pipelines.load.status`` through ``data.status``;
* ``pack``: ``reports.meeting_pack.build_pack(con, **kwargs)`` (the Team meeting page builds
  its pack itself, on the viewer's scoped cursor);
* ``summary``: ``analytics.approach._summarise_pairs(pairs, by, ...)`` made by a page itself on
  pairs it fetched (the Child-led vs directed page summarises its one pairing per breakdown);
  replayed on the result of the page's last ``approach_pairs`` / ``approach_gas_pairs`` call.
  Summaries made inside another recorded call (``approach_breakdowns``) are part of that call.

``run_calls(db, calls)`` replays them as ``dashboard.data`` does on a cache miss (a cursor of
one reader, limited to the recorded scope) on a **new** reader, twice: cold (the first time
in this process) and warm (again on that reader). ``time_page(db, calls)`` does that in a
fresh Python process (``python benchmarks/page_calls.py --time DB CALLS``), so cold means a
new interpreter, a new DuckDB instance and no Streamlit cache: nothing from an earlier run.

    python benchmarks/page_calls.py [--db PATH] [--runs 3]    # record on the sample, print timings

Not a test: it prints what it measured.
"""

from __future__ import annotations

import datetime as dt

import _root  # noqa: F401  (the project root on sys.path when run as a script)

import argparse
import contextlib
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = _root.ROOT
APP = ROOT / "dashboard" / "streamlit_app.py"
PAGES = ["overview", "groups", "approach", "child_progress", "needs_attention", "team_meeting", "data_loads"]


@dataclass(frozen=True)
class Call:
    kind: str                     # call | practice | categories | status | pack | summary
    name: str                     # the analytics (or practice) function, or the entry point
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    scope: Any = None             # access.scope.Scope the call ran under (call, pack)

    def key(self) -> str:
        return repr((self.kind, self.name, self.args, sorted(self.kwargs.items()), self.scope))

    def label(self) -> str:
        """``approach_breakdowns(f, outcome=engagement, by=(None, modality, ...))``: filters as ``f``."""
        from analytics import Filters

        def show(v: Any) -> str:
            if isinstance(v, Filters):
                return "f"
            if isinstance(v, (tuple, list)):
                return "(" + ", ".join(show(x) for x in v) + ")"
            if v is None or isinstance(v, (str, int, float, bool, dt.date)):
                return str(v)
            return type(v).__name__   # e.g. the meeting pack's PackStart: its repr is whole frames

        parts = [show(a) for a in self.args] + [f"{k}={show(v)}" for k, v in sorted(self.kwargs.items())]
        prefix = {"call": "", "practice": "practice ", "categories": "practice ", "status": "",
                  "pack": "meeting pack ", "summary": "page "}[self.kind]
        return f"{prefix}{self.name}({', '.join(parts)})"


def quiet_streamlit() -> None:
    """Streamlit's bare-mode warnings ("no runtime", "missing ScriptRunContext") are noise here."""
    import logging

    import streamlit.logger
    from streamlit import config as st_config

    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    st_config.set_option("logger.level", "error")
    streamlit.logger.set_log_level("error")
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)


def clear_streamlit_caches() -> None:
    """Every ``st.cache_data`` result and every ``st.cache_resource`` (the warehouse reader)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@contextlib.contextmanager
def dashboard_env(db: Path):
    """The dashboard pointed at ``db`` in local single-user mode (bound to 127.0.0.1), with
    page views audited into a temporary log rather than the warehouse's own."""
    from streamlit import config as st_config

    old_env = {k: os.environ.get(k) for k in ("PIPELINES_DB", "PIPELINES_AUDIT")}
    old_address = st_config.get_option("server.address")
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        os.environ["PIPELINES_DB"] = str(db)
        os.environ["PIPELINES_AUDIT"] = str(Path(tmp) / "audit.sqlite")
        st_config.set_option("server.address", "127.0.0.1")
        try:
            yield
        finally:
            st_config.set_option("server.address", old_address)
            for k, v in old_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def open_page(page: str, query: dict | None = None, timeout: float = 600):
    """A new AppTest session whose first run is ``page`` (no other page ran before it)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=timeout)
    if query:
        at.query_params.update(query)
    return at.switch_page(f"app_pages/{page}.py")


@contextlib.contextmanager
def recording(calls: list[Call]):
    """``dashboard.data``'s entry points (and the pack build) wrapped to append to ``calls``."""
    from analytics import approach
    from dashboard import data
    from reports import meeting_pack

    originals = {"call": data.call, "practice": data.practice, "practice_categories": data.practice_categories,
                 "status": data.status, "build_pack": meeting_pack.build_pack,
                 "summarise": approach._summarise_pairs}
    inside = [0]  # > 0 while a recorded call runs: its own summaries are part of it

    def call(name, *args, **kwargs):
        calls.append(Call("call", name, args, kwargs, data._viewer_scope()))
        inside[0] += 1
        try:
            return originals["call"](name, *args, **kwargs)
        finally:
            inside[0] -= 1

    def summarise(pairs, by, diff_col, with_nap):
        if not inside[0]:
            calls.append(Call("summary", "_summarise_pairs", (by, diff_col, with_nap)))
        return originals["summarise"](pairs, by, diff_col, with_nap)

    def practice(name, f, **kwargs):
        calls.append(Call("practice", name, (f,), kwargs))
        inside[0] += 1
        try:
            return originals["practice"](name, f, **kwargs)
        finally:
            inside[0] -= 1

    def practice_categories():
        calls.append(Call("categories", "filter_options"))
        return originals["practice_categories"]()

    def status():
        calls.append(Call("status", "status"))
        return originals["status"]()

    def build_pack(con, **kwargs):
        calls.append(Call("pack", "build_pack", (), kwargs, data._viewer_scope()))
        inside[0] += 1
        try:
            return originals["build_pack"](con, **kwargs)
        finally:
            inside[0] -= 1

    data.call, data.practice, data.practice_categories, data.status = call, practice, practice_categories, status
    meeting_pack.build_pack = build_pack
    approach._summarise_pairs = summarise
    try:
        yield calls
    finally:
        data.call, data.practice = originals["call"], originals["practice"]
        data.practice_categories, data.status = originals["practice_categories"], originals["status"]
        meeting_pack.build_pack = originals["build_pack"]
        approach._summarise_pairs = originals["summarise"]


def unique(calls: list[Call]) -> list[Call]:
    seen, out = set(), []
    for c in calls:
        if c.key() not in seen:
            seen.add(c.key())
            out.append(c)
    return out


def record(db: Path, pages: list[str] = PAGES, query: dict | None = None) -> dict[str, list[Call]]:
    """Per page, the calls one render of it makes (Streamlit caches cleared before each page,
    so every call is made, none answered from an earlier page). Raises ``RuntimeError`` when a
    page shows an exception."""
    quiet_streamlit()
    out: dict[str, list[Call]] = {}
    with dashboard_env(db):
        for page in pages:
            clear_streamlit_caches()
            at = open_page(page, query)
            calls: list[Call] = []
            with recording(calls):
                at.run()
            quiet_streamlit()  # loggers made during the run
            if at.exception:
                raise RuntimeError(f"{page}: {at.exception[0].value}")
            out[page] = unique(calls)
    return out


# ---------------------------------------------------------------------------------------------- replay


PAIRS_CALLS = ("approach_pairs", "approach_gas_pairs", "approach_pairs_and_gap")


def run_call(con, call: Call, db: Path, pairs: Any = None) -> Any:
    """One recorded call, as ``dashboard.data`` makes it on a cache miss, on the reader ``con``
    (a ``summary`` on ``pairs``, the result of the page's last pairing call)."""
    import analytics
    from access import practice, scope
    from analytics import approach
    from pipelines import load, warehouse
    from reports import meeting_pack

    if call.kind == "status":
        return load.status(Path(db))
    if call.kind == "summary":
        return approach._summarise_pairs(pairs, *call.args)
    cur = warehouse.cursor(con)
    try:
        if call.kind == "practice":
            return practice.practice_aggregate(cur, call.name, *call.args, **call.kwargs)
        if call.kind == "categories":
            return analytics.filter_options(cur)
        scoped = scope.scoped(cur, call.scope or scope.Scope.everything())
        try:
            if call.kind == "pack":
                return meeting_pack.build_pack(scoped, **call.kwargs)
            return getattr(analytics, call.name)(scoped, *call.args, **call.kwargs)
        finally:
            if scoped is not cur:
                scoped.close()
    finally:
        cur.close()


def run_calls(db: Path, calls: list[Call]) -> dict:
    """Open a new reader and make the calls twice: {"open_s", "cold": [s per call], "warm": [...]}.
    The modules are imported first (a dashboard process has them loaded: importing is not a
    query's cost)."""
    import analytics  # noqa: F401
    import reports.meeting_pack  # noqa: F401
    from access import practice, scope  # noqa: F401
    from pipelines import load, warehouse  # noqa: F401

    t0 = time.perf_counter()
    con = warehouse.connect_reader(Path(db))
    res: dict = {"open_s": time.perf_counter() - t0, "cold": [], "warm": []}
    try:
        for phase in ("cold", "warm"):
            pairs = None
            for c in calls:
                t1 = time.perf_counter()
                out = run_call(con, c, db, pairs)
                res[phase].append(time.perf_counter() - t1)
                if c.kind == "call" and c.name in PAIRS_CALLS:
                    pairs = out["pairs"] if isinstance(out, dict) else out
    finally:
        con.close()
    return res


def time_page(db: Path, calls: list[Call]) -> dict:
    """``run_calls`` in a fresh Python process (cold is cold); its result."""
    with tempfile.TemporaryDirectory(prefix="bench-calls-") as tmp:
        spec = Path(tmp) / "calls.pickle"
        spec.write_bytes(pickle.dumps(calls))
        out = subprocess.run([sys.executable, __file__, "--time", str(db), str(spec)], capture_output=True,
                             text=True, cwd=ROOT)
    if out.returncode:
        raise RuntimeError(f"timing the calls failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def labels(calls: list[Call]) -> list[str]:
    """Each call's label, numbered where two calls of a page read the same (other filters)."""
    out: list[str] = []
    for c in calls:
        base = c.label()
        n = sum(1 for x in out if x == base or x.startswith(base + " #"))
        out.append(base if n == 0 else f"{base} #{n + 1}")
    return out


def med(values: list[float]) -> dict:
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": values}


def bench_pages(db: Path, recorded: dict[str, list[Call]], runs: int, budget_s: float = 60.0,
                log=lambda msg: None) -> dict:
    """Per page: the recorded calls timed ``runs`` times, each run in a fresh process; a page
    whose cold calls take longer than ``budget_s`` is timed once. Medians (min-max) of the
    page's total (opening the reader and every call) and of each call, cold and warm."""
    pages: dict = {}
    for page, calls in recorded.items():
        names = labels(calls)
        rs = []
        for _ in range(runs):
            rs.append(time_page(db, calls))
            if sum(rs[-1]["cold"]) > budget_s:
                break
        pages[page] = {
            "calls": names,
            "open_s": med([r["open_s"] for r in rs]),
            "cold_s": med([r["open_s"] + sum(r["cold"]) for r in rs]),
            "warm_s": med([sum(r["warm"]) for r in rs]),
            "per_call_cold_s": {n: med([r["cold"][i] for r in rs]) for i, n in enumerate(names)},
            "per_call_warm_s": {n: med([r["warm"][i] for r in rs]) for i, n in enumerate(names)},
        }
        log(f"  query {page}: {len(calls)} calls, cold {pages[page]['cold_s']['median'] * 1000:.0f} ms, "
            f"warm {pages[page]['warm_s']['median'] * 1000:.0f} ms")
    return pages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, help="an existing warehouse (default: build one from the sample)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--time", nargs=2, metavar=("DB", "CALLS"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.time:
        calls = pickle.loads(Path(args.time[1]).read_bytes())
        print(json.dumps(run_calls(Path(args.time[0]), calls)))
        return 0

    from analytics import stored
    from pipelines import small_practice

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        db = args.db or small_practice.build_warehouse(Path(tmp) / "practice.duckdb", Path(tmp),
                                                       after_build=stored.STEPS)[0]
        recorded = record(db)
        pages = bench_pages(db, recorded, args.runs)
    print(f"{'page / call (median of ' + str(args.runs) + ' fresh processes)':70s} {'cold ms':>9s} {'warm ms':>9s}")
    for page, p in pages.items():
        print(f"{page:70s} {p['cold_s']['median'] * 1000:9.0f} {p['warm_s']['median'] * 1000:9.0f}")
        print(f"{'  (open a new reader)':70s} {p['open_s']['median'] * 1000:9.0f}")
        for n in p["calls"]:
            print(f"  {n[:68]:68s} {p['per_call_cold_s'][n]['median'] * 1000:9.0f} "
                  f"{p['per_call_warm_s'][n]['median'] * 1000:9.0f}")
    return 0


if __name__ == "__main__":
    # through the module, not ``__main__``: AppTest runs the app as ``__main__``, and the
    # recorded calls are pickled for the timing process by their class's module name
    import page_calls

    raise SystemExit(page_calls.main())
