"""Many concurrent dashboard sessions read the warehouse while a load runs in another process.

A warehouse is built from the first canonical sample export; then 20 sessions (threads) read
it at once, either each with its own reader (``warehouse.connect_reader``) or all through one
shared reader with a cursor per thread (``warehouse.cursor``), as the dashboard's Streamlit
sessions do. While they read, ``python -m pipelines load`` of the second export runs in
another process. Every session gets the same answers, and the load completes and swaps the
file while the readers are still open (readers never block loads). No timing assertions.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

import analytics
from analytics import stored
from pipelines import warehouse
from pipelines.load import load

ROOT = Path(__file__).resolve().parent.parent

SAMPLE = ROOT / "data" / "sample" / "canonical"
SESSIONS = 20
MAX_ROUNDS = 50  # each session reads at least twice and until the load is done, at most this often


def _files() -> list[Path]:
    return sorted(SAMPLE.glob("*.csv"))


def _calls(con, f: analytics.Filters, child: str) -> dict[str, str]:
    """Several page queries, each result in a canonical text form for comparison."""
    out = {
        "kpis": analytics.kpis(con, f),
        "monthly_trends": analytics.monthly_trends(con, f),
        "group_grid": analytics.group_grid(con, f),
        "child_list": analytics.child_list(con, f),
        "child_timeline": analytics.child_timeline(con, child),
        "flags": analytics.flags(con, f),
        "approach_effects": analytics.approach_effects(con, f, by="modality"),
    }
    return {k: (v.to_csv(index=False) if isinstance(v, pd.DataFrame) else json.dumps(v, sort_keys=True, default=str))
            for k, v in out.items()}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    files = _files()
    if len(files) < 2:
        pytest.skip("data/sample/canonical needs two exports (python -m pipelines sample ...)")
    tmp = tmp_path_factory.mktemp("concurrency")
    db = tmp / "practice.duckdb"
    report = load([files[0]], db=db, after_build=stored.STEPS)
    assert not report.failed, [f.message for f in report.failed]
    con = warehouse.connect_reader(db)
    try:
        end = analytics.as_of(con)
        f = analytics.Filters(date_from=end - dt.timedelta(days=90), date_to=end)
        child = str(analytics.child_list(con, f)["child_id"].iloc[0])
        expected = _calls(con, f, child)
        rows_before = con.execute("select count(*) from src_sessions").fetchone()[0]
    finally:
        con.close()
    return {"tmp": tmp, "db": db, "f": f, "child": child, "expected": expected, "rows_before": rows_before,
            "second": files[1]}


@pytest.mark.parametrize("mode", ["reader_per_session", "shared_reader_cursor_per_session"])
def test_concurrent_sessions_and_load(built, mode, tmp_path):
    # each mode loads into its own copy, so both start from the same warehouse
    db = tmp_path / "practice.duckdb"
    db.write_bytes(built["db"].read_bytes())
    f, child, expected = built["f"], built["child"], built["expected"]

    shared = warehouse.connect_reader(db) if mode.startswith("shared") else None
    opened = threading.Barrier(SESSIONS + 1)
    load_done = threading.Event()
    results: list[list[dict[str, str]]] = [[] for _ in range(SESSIONS)]
    errors: list[BaseException] = []

    def session(i: int) -> None:
        con = None
        try:
            con = warehouse.cursor(shared) if shared is not None else warehouse.connect_reader(db)
            opened.wait(timeout=120)  # every session holds its reader before the load starts
            rounds = 0
            while rounds < 2 or (not load_done.is_set() and rounds < MAX_ROUNDS):
                results[i].append(_calls(con, f, child))
                rounds += 1
            load_done.wait(timeout=600)
            results[i].append(_calls(con, f, child))  # after the swap: the same snapshot, still readable
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            opened.abort()
        finally:
            if con is not None:
                con.close()

    threads = [threading.Thread(target=session, args=(i,), daemon=True) for i in range(SESSIONS)]
    for t in threads:
        t.start()
    try:
        opened.wait(timeout=120)
        proc = subprocess.run(
            [sys.executable, "-m", "pipelines", "load", str(built["second"]), "--db", str(db)],
            cwd=ROOT, capture_output=True, text=True, timeout=600)
    finally:
        load_done.set()
        for t in threads:
            t.join(timeout=600)
        if shared is not None:
            shared.close()

    assert not errors, f"{len(errors)} sessions failed; first: {errors[0]!r}"
    assert all(not t.is_alive() for t in threads)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for i, rounds in enumerate(results):
        assert len(rounds) >= 3, f"session {i} answered {len(rounds)} times"
        for r in rounds:
            assert r == expected, f"session {i} got different answers: " + ", ".join(
                k for k in expected if r[k] != expected[k])

    # the load swapped in the new warehouse while the readers were open; a new reader sees it
    con = warehouse.connect_reader(db)
    try:
        assert con.execute("select count(*) from files").fetchone()[0] == 2
        assert con.execute("select count(*) from src_sessions").fetchone()[0] > built["rows_before"]
    finally:
        con.close()
