"""Migration (issue 13, item 10): a warehouse made before this change (layout version 1: one
``session_rows`` table, engagement a column of ``sessions``, no ``warehouse_meta``) is rebuilt
from its landing archive by the next load, with nothing lost; until then the dashboard says to
run ``python -m pipelines rebuild``. And the canonical sample loads with today's code into the
same sessions, engagement ratings, GAS ratings, measures and stored statistics as the old code
gave. The old warehouse is a fixture made by the old code (``tests/fixtures/legacy_v1/``)."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import stored
from pipelines import warehouse
from pipelines.load import load, rebuild, status

REPO = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "legacy_v1"
SAMPLE = REPO / "data" / "sample" / "canonical"
APP = str(REPO / "dashboard" / "streamlit_app.py")
# the stored statistics (analytics.stored), compared on the columns both versions have
PER_MEASURE = ("child_trends", "child_approach_effects")
STORED = ("child_flags", "child_trends", "child_approach_effects", "gas_reviews", "goal_progress", "measure_change")


def legacy_copy(folder: Path) -> Path:
    """The old warehouse and its landing archive, copied into ``folder``; the warehouse's path."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "practice.duckdb"
    with gzip.open(FIXTURE / "practice.duckdb.gz", "rb") as src, open(db, "wb") as dst:
        shutil.copyfileobj(src, dst)
    shutil.copytree(FIXTURE / "practice_landing", warehouse.archive_dir(db))
    return db


def query(db: Path, sql: str) -> list[tuple]:
    con = warehouse.connect_reader(db)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def columns(db: Path, table: str) -> list[str]:
    return [c for (c,) in query(db, f"select column_name from duckdb_columns() where table_name = '{table}' "
                                    "and database_name = current_database() order by column_index")]


def what_it_says(db: Path, old: dict[str, list[str]], legacy: bool = False,
                 tables: tuple[str, ...] = ("sessions", "goal_ratings", "measures")) -> dict:
    """Sessions, each session's engagement rating, GAS ratings, measures, rejects and the stored
    statistics, in ``old``'s columns (those of the old warehouse; sessions without engagement)."""
    out = {t: query(db, f"select {', '.join(c for c in old[t] if c != 'engagement')} from {t} order by all")
           for t in tables}
    out["engagement"] = query(db, "select session_id, engagement from sessions where engagement is not null "
                                  "order by all" if legacy else
                              "select session_id, value from observations where measure = 'engagement' order by all")
    out["rejects"] = query(db, "select file_name, line, column_name, value from rejects order by all")
    for t in STORED:
        # per-measure tables (one row per child per measure): the old code had engagement only
        where = " where measure = 'engagement'" if not legacy and t in PER_MEASURE else ""
        out[t] = query(db, f"select {', '.join(old[t])} from {t}{where} order by all")
    return out


@pytest.fixture(scope="module")
def legacy(tmp_path_factory) -> dict:
    """The old warehouse, read as the old code left it: its path, its tables' columns, what it says."""
    db = legacy_copy(tmp_path_factory.mktemp("legacy"))
    old = {t: columns(db, t) for t in ("sessions", "goal_ratings", "measures", *STORED)}
    return {"db": db, "columns": old, "says": what_it_says(db, old, legacy=True)}


def test_the_fixture_is_a_warehouse_of_the_old_layout(legacy):
    db = legacy["db"]
    tables = {t for (t,) in query(db, "select table_name from duckdb_tables()")}
    assert "session_rows" in tables and "warehouse_meta" not in tables and "src_sessions" not in tables
    assert "engagement" in columns(db, "sessions")
    assert warehouse.outdated(db) and status(db)["outdated"] is True
    says = legacy["says"]
    assert len(says["sessions"]) == 5443 and len(says["engagement"]) > 3000 and len(says["goal_ratings"]) > 2000


def test_the_next_load_rebuilds_an_old_warehouse_from_its_archive_with_nothing_lost(legacy, tmp_path):
    db = legacy_copy(tmp_path / "wh")
    extra = tmp_path / "export_2026-11-15.csv"
    with open(extra, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["session_id", "child_id", "therapist_id", "session_date", "modality", "approach", "engagement"])
        w.writerow(["S999999", "C9999", "T01", "2026-06-15", "OT", "child-led", "4"])
    messages: list[str] = []
    report = load([extra], db=db, echo=messages.append, after_build=stored.STEPS, today=dt.date(2026, 12, 1))
    assert [f.status for f in report.files] == ["loaded"], [f.message for f in report.files]
    assert any("earlier version" in m for m in messages), messages
    assert not warehouse.outdated(db) and status(db)["outdated"] is False
    assert query(db, "select count(*) from files") == [(3,)]
    assert "session_rows" not in {t for (t,) in query(db, "select table_name from duckdb_tables()")}
    old = legacy["columns"]
    now = what_it_says(db, old, tables=("goal_ratings", "measures"))
    said = legacy["says"]
    for key in ("goal_ratings", "measures", "rejects", "goal_progress", "measure_change"):
        assert now[key] == said[key], key
    listed = ", ".join(c for c in old["sessions"] if c != "engagement")
    sessions = [r for r in query(db, f"select {listed} from sessions order by all") if r[0] != "S999999"]
    assert sessions == said["sessions"]
    assert [r for r in now["engagement"] if r[0] != "S999999"] == said["engagement"]
    assert ("S999999", 4.0) in now["engagement"]
    # the archive still holds every file, and a rebuild gives the same warehouse again
    rebuild(db, after_build=stored.STEPS)
    assert what_it_says(db, old, tables=("goal_ratings", "measures")) == now


def test_a_rebuild_of_an_old_warehouse_gives_what_the_old_code_said(legacy, tmp_path):
    db = legacy_copy(tmp_path / "wh")
    rebuild(db, after_build=stored.STEPS)
    assert not warehouse.outdated(db)
    assert what_it_says(db, legacy["columns"]) == legacy["says"]


def test_the_canonical_sample_loads_as_the_old_code_loaded_it(legacy, tmp_path):
    db = tmp_path / "new.duckdb"
    report = load([SAMPLE], db=db, after_build=stored.STEPS, today=dt.date(2026, 12, 1))
    assert [f.status for f in report.files] == ["loaded", "loaded"]
    assert what_it_says(db, legacy["columns"]) == legacy["says"]


def test_the_dashboard_meeting_an_old_warehouse_says_to_rebuild_it(tmp_path, monkeypatch):
    db = legacy_copy(tmp_path / "wh")
    monkeypatch.setenv("PIPELINES_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    (err,) = [e.value for e in at.error]
    assert "earlier version" in err and f"python -m pipelines rebuild --db {db}" in err
    assert not at.metric and not at.dataframe
    assert warehouse.outdated(db)  # looking changed nothing
