"""The upsert and the joins on tiny literal inputs: rows written out by hand go straight into
``staged`` (the staging output), ``raw_rows`` (the reader's output) or ``session_rows`` (the
warehouse's raw table); the upsert (``pipelines.upsert.upsert_staged``) and the models
(``pipelines.transform.build``) run on them, and what comes out is compared with the expected
rows, also written out literally."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines import profiles, queries, transform, warehouse
from pipelines.upsert import upsert_staged

D = dt.date
JAN, FEB, MAR = dt.datetime(2026, 1, 31), dt.datetime(2026, 2, 28), dt.datetime(2026, 3, 31)

# the staging output's columns (queries/staging/stg_session_rows.sql), as the upsert reads them
STAGED = {"line": "integer", "session_id": "varchar", "goal_key": "varchar", "goal_id": "varchar",
          "child_id": "varchar", "therapist_id": "varchar", "team": "varchar", "session_date": "date",
          "modality": "varchar", "approach": "varchar", "attendance": "varchar", "duration_min": "integer",
          "setting": "varchar", "engagement": "tinyint", "goal_domain": "varchar", "gas_level": "tinyint",
          "goal_weight": "double", "measure": "varchar", "measure_score": "double", "date_of_birth": "date",
          "age_years": "integer", "row_fingerprint": "ubigint", "errors": "struct(\"column\" varchar, "
          "\"value\" varchar, reason varchar)[]"}
DEFAULTS = {"goal_id": None, "child_id": "C1", "therapist_id": "T1", "team": "North", "session_date": D(2026, 1, 5),
            "modality": "OT", "approach": "directed", "attendance": "attended", "duration_min": 45,
            "setting": "clinic", "engagement": 3, "goal_domain": None, "gas_level": None, "goal_weight": None,
            "measure": None, "measure_score": None, "date_of_birth": None, "age_years": 7}


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute(warehouse.SCHEMA)
    yield c
    c.close()


def stage(con, *rows: dict) -> None:
    """``staged`` holding ``rows`` (each: session_id, line and what differs from DEFAULTS)."""
    con.execute("drop table if exists staged")
    con.execute("create temp table staged (" + ", ".join(f'"{c}" {t}' for c, t in STAGED.items()) + ")")
    for r in rows:
        full = {**DEFAULTS, **r}
        full["goal_key"] = full["goal_id"] or ""
        full.setdefault("errors", [])
        full["row_fingerprint"] = 0
        con.execute("insert into staged by name select " + ", ".join(f"${c} as \"{c}\"" for c in full),
                    full)


def upsert(con, file_id: int, order: dt.datetime, *rows: dict) -> int:
    """Stage ``rows`` and upsert them as file ``file_id`` (load ``file_id``) of export ``order``."""
    stage(con, *rows)
    return upsert_staged(con, file_id, file_id, order)


def kept(con) -> list[tuple]:
    return con.execute("select session_id, goal_key, file_id, modality, engagement from session_rows "
                       "order by session_id, goal_key").fetchall()


def test_the_newest_export_wins_per_key(con):
    assert upsert(con, 1, JAN, {"line": 2, "session_id": "S1", "modality": "OT", "engagement": 2},
                  {"line": 3, "session_id": "S2"}) == 2
    assert upsert(con, 2, FEB, {"line": 2, "session_id": "S1", "modality": "speech", "engagement": 4}) == 1
    assert kept(con) == [("S1", "", 2, "speech", 4), ("S2", "", 1, "OT", 3)]


def test_an_older_export_never_overwrites_a_newer_one(con):
    upsert(con, 1, FEB, {"line": 2, "session_id": "S1", "modality": "speech", "engagement": 4})
    # the older export loaded later: its row for S1 is counted as loaded but not inserted; S3 is new
    assert upsert(con, 2, JAN, {"line": 2, "session_id": "S1", "modality": "OT", "engagement": 2},
                  {"line": 3, "session_id": "S3", "modality": "CBT"}) == 1
    assert kept(con) == [("S1", "", 1, "speech", 4), ("S3", "", 2, "CBT", 3)]


def test_an_equal_export_order_lets_the_later_load_win(con):
    upsert(con, 1, FEB, {"line": 2, "session_id": "S1", "modality": "OT"})
    upsert(con, 2, FEB, {"line": 2, "session_id": "S1", "modality": "play"})
    assert kept(con) == [("S1", "", 2, "play", 3)]


def test_the_key_is_session_and_goal_so_each_goal_row_is_upserted_on_its_own(con):
    upsert(con, 1, JAN, {"line": 2, "session_id": "S1", "goal_id": "G1", "gas_level": -1},
           {"line": 3, "session_id": "S1", "goal_id": "G2", "gas_level": 0})
    upsert(con, 2, FEB, {"line": 2, "session_id": "S1", "goal_id": "G2", "gas_level": 1, "modality": "speech"})
    assert con.execute("select session_id, goal_key, file_id, gas_level, modality from session_rows "
                       "order by goal_key").fetchall() == [("S1", "G1", 1, -1, "OT"), ("S1", "G2", 2, 1, "speech")]


def test_a_row_with_errors_is_never_upserted_and_leaves_the_kept_row(con):
    upsert(con, 1, JAN, {"line": 2, "session_id": "S1", "modality": "OT"})
    bad = [{"column": "modality", "value": "Physio", "reason": "unknown modality"}]
    assert upsert(con, 2, FEB, {"line": 2, "session_id": "S1", "modality": None, "errors": bad}) == 0
    assert kept(con) == [("S1", "", 1, "OT", 3)]


# --- raw_rows -> staging -> upsert: same-key duplicates inside one file ---------------------------

RAW = ["session_id", "child_id", "therapist_id", "team", "session_date", "modality", "approach", "date_of_birth",
       "age_years", "attendance", "duration_min", "setting", "engagement", "goal_id", "goal_domain", "gas_level",
       "goal_weight", "measure", "measure_score"]


def load_raw(con, file_id: int, order: dt.datetime, *lines: str) -> list[tuple]:
    """Stage CSV-like ``lines`` (values in RAW order, as text) through stg_session_rows and upsert
    them; the staged (line, session_id, goal_key, reasons) come back."""
    con.execute("drop table if exists raw_rows")
    con.execute("create temp table raw_rows (_line integer, " + ", ".join(f"{c} varchar" for c in RAW) + ")")
    for i, text in enumerate(lines, start=2):
        values = [v if v != "" else None for v in text.split(",")]
        assert len(values) == len(RAW), text
        con.execute(f"insert into raw_rows values ({', '.join('?' * (len(RAW) + 1))})", [i, *values])
    con.execute("drop table if exists value_synonyms")
    con.execute("create temp table value_synonyms (field varchar, raw varchar, value varchar)")
    con.executemany("insert into value_synonyms values (?, ?, ?)", profiles.load("canonical").synonym_rows())
    con.execute("drop table if exists staged")
    con.execute(f"create temp table staged as {queries.sql('stg_session_rows')}",
                queries.bind("stg_session_rows", {"date_format": "ISO", "date_label": "yyyy-mm-dd",
                                                  "today": D(2026, 12, 31)}))
    upsert_staged(con, file_id, file_id, order)
    return con.execute("select line, session_id, goal_key, [e.reason for e in errors] from staged "
                       "order by line").fetchall()


def test_same_key_duplicates_in_one_file_keep_the_first_line(con):
    staged = load_raw(
        con, 1, JAN,
        "S1,C1,T1,North,2026-01-05,OT,directed,,7,attended,45,clinic,3,G1,motor,-1,1,,",
        "S1,C1,T1,North,2026-01-05,OT,directed,,7,attended,45,clinic,3,G1,motor,-1,1,,",   # exact copy
        "S1,C1,T1,North,2026-01-05,OT,directed,,7,attended,45,clinic,3,G1,motor,1,1,,",    # same key, other level
        "S1,C1,T1,North,2026-01-05,OT,directed,,7,attended,45,clinic,3,G2,motor,0,1,,")
    assert staged == [
        (2, "S1", "G1", []),
        (3, "S1", "G1", ["exact duplicate of line 2"]),
        (4, "S1", "G1", ["same session_id and goal_id as line 2 with different values (line 2 kept)"]),
        (5, "S1", "G2", []),
    ]
    assert con.execute("select line, goal_key, gas_level from session_rows order by line").fetchall() == [
        (2, "G1", -1), (5, "G2", 0)]


# --- session_rows -> int_ and mart models -------------------------------------------------------

SESSION_ROWS = ["file_id", "load_seq", "line", "session_id", "goal_key", "goal_id", "child_id", "therapist_id",
                "team", "session_date", "modality", "approach", "attendance", "duration_min", "setting",
                "engagement", "goal_domain", "gas_level", "goal_weight", "measure", "measure_score",
                "date_of_birth", "age_years", "export_order"]


def put(con, *rows: dict) -> None:
    """Insert ``rows`` straight into session_rows (what differs from DEFAULTS, plus file and line)."""
    for r in rows:
        full = {"load_seq": r["file_id"], "export_order": {1: JAN, 2: FEB, 3: MAR}[r["file_id"]],
                **DEFAULTS, **r}
        full["goal_key"] = full["goal_id"] or ""
        con.execute(f"insert into session_rows ({', '.join(SESSION_ROWS)}) values "
                    f"({', '.join('$' + c for c in SESSION_ROWS)})", {c: full[c] for c in SESSION_ROWS})
    transform.build(con)


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_a_sessions_attributes_come_from_its_newest_exports_row(con):
    put(con,
        {"file_id": 1, "line": 2, "session_id": "S1", "modality": "OT", "attendance": "attended", "engagement": 4},
        {"file_id": 2, "line": 7, "session_id": "S1", "modality": "speech", "attendance": "no-show",
         "engagement": None},
        {"file_id": 1, "line": 3, "session_id": "S2", "modality": "CBT", "attendance": "cancelled",
         "engagement": None})
    assert rows(con, "select session_id, modality, attendance, attended, cancelled, no_show, engagement "
                     "from sessions order by session_id") == [
        ("S1", "speech", "no-show", False, False, True, None),
        ("S2", "CBT", "cancelled", False, True, False, None),
    ]


def test_a_goal_rating_whose_session_row_comes_from_another_file_takes_that_sessions_context(con):
    put(con,
        # the session row in the January export (no goal), its rating in the February one,
        # which also corrects the session's modality and therapist
        {"file_id": 1, "line": 2, "session_id": "S1", "child_id": "C1", "therapist_id": "T1", "modality": "OT"},
        {"file_id": 2, "line": 4, "session_id": "S1", "child_id": "C1", "therapist_id": "T2", "modality": "speech",
         "goal_id": "G1", "goal_domain": "communication", "gas_level": 1, "goal_weight": 2.0},
        # the other way round: the rating in the older file, the session's own row in the newer one
        {"file_id": 1, "line": 3, "session_id": "S2", "child_id": "C2", "session_date": D(2026, 1, 6),
         "team": "South", "goal_id": "G9", "goal_domain": "motor", "gas_level": -2, "goal_weight": 1.0},
        {"file_id": 2, "line": 5, "session_id": "S2", "child_id": "C2", "session_date": D(2026, 1, 7),
         "team": "East"})
    assert rows(con, "select session_id, child_id, goal_uid, goal_id, goal_domain, gas_level, goal_weight, "
                     "at_or_above_expected, session_date, therapist_id, team, modality "
                     "from goal_ratings order by session_id") == [
        ("S1", "C1", "C1/G1", "G1", "communication", 1, 2.0, True, D(2026, 1, 5), "T2", "North", "speech"),
        ("S2", "C2", "C2/G9", "G9", "motor", -2, 1.0, False, D(2026, 1, 7), "T1", "East", "OT"),
    ]
    assert rows(con, "select session_id, goals_rated, session_date, team from sessions order by session_id") == [
        ("S1", 1, D(2026, 1, 5), "North"), ("S2", 1, D(2026, 1, 7), "East")]


def test_age_group_is_taken_at_the_session_date(con):
    # born 2020-06-15: 5 the day before the sixth birthday, 6 on it; the bands are settings.toml's
    born = D(2020, 6, 15)
    put(con,
        {"file_id": 1, "line": 2, "session_id": "S1", "session_date": D(2026, 6, 14), "date_of_birth": born,
         "age_years": 9},
        {"file_id": 1, "line": 3, "session_id": "S2", "session_date": D(2026, 6, 15), "date_of_birth": born},
        # the date of birth given on another row of the session (another file) still counts
        {"file_id": 1, "line": 4, "session_id": "S3", "session_date": D(2022, 6, 15), "date_of_birth": None,
         "age_years": None},
        {"file_id": 2, "line": 2, "session_id": "S3", "goal_id": "G1", "gas_level": 0, "goal_weight": 1.0,
         "session_date": D(2022, 6, 15), "date_of_birth": born, "age_years": None},
        # no date of birth: the exported age; no age at all, or one outside every band: unknown
        {"file_id": 1, "line": 5, "session_id": "S4", "age_years": 13},
        {"file_id": 1, "line": 6, "session_id": "S5", "age_years": None},
        {"file_id": 1, "line": 7, "session_id": "S6", "age_years": 21})
    assert rows(con, "select session_id, age_years, age_group from sessions order by session_id") == [
        ("S1", 5, "3-5"), ("S2", 6, "6-12"), ("S3", 2, "0-2"), ("S4", 13, "13-18"), ("S5", None, "unknown"),
        ("S6", 21, "unknown")]
    assert rows(con, "select session_id, age_group from goal_ratings") == [("S3", "0-2")]


def test_team_defaults_to_unassigned(con):
    put(con,
        {"file_id": 1, "line": 2, "session_id": "S1", "team": None, "measure": "SCAS-P", "measure_score": 40.0},
        {"file_id": 1, "line": 3, "session_id": "S2", "team": "North"},
        # a newer export that leaves the team out: the session is unassigned from then on
        {"file_id": 2, "line": 2, "session_id": "S2", "team": None, "goal_id": "G1", "gas_level": 0,
         "goal_weight": 1.0})
    assert rows(con, "select session_id, team from sessions order by session_id") == [
        ("S1", "unassigned"), ("S2", "unassigned")]
    assert rows(con, "select session_id, team from goal_ratings") == [("S2", "unassigned")]
    assert rows(con, "select session_id, team from measures") == [("S1", "unassigned")]


def test_engagement_is_kept_only_for_attended_sessions_and_measures_once_per_session(con):
    put(con,
        {"file_id": 1, "line": 2, "session_id": "S1", "attendance": "late-cancelled", "engagement": 4},
        {"file_id": 1, "line": 3, "session_id": "S2", "goal_id": "G1", "gas_level": 0, "goal_weight": 1.0,
         "measure": "SCAS-P", "measure_score": 38.0},
        {"file_id": 1, "line": 4, "session_id": "S2", "goal_id": "G2", "gas_level": 1, "goal_weight": 1.0,
         "measure": "SCAS-P", "measure_score": 41.0})
    assert rows(con, "select session_id, attended, cancelled, engagement, goals_rated from sessions "
                     "order by session_id") == [("S1", False, True, None, 0), ("S2", True, False, 3, 2)]
    assert rows(con, "select session_id, child_id, measure, measure_score, session_date, approach from measures") == [
        ("S2", "C1", "SCAS-P", 41.0, D(2026, 1, 5), "directed")]


def test_order_key_orders_sessions_by_date_then_a_hash_of_the_session_id(con):
    put(con,
        {"file_id": 1, "line": 2, "session_id": "S1", "session_date": D(2026, 1, 7)},
        {"file_id": 1, "line": 3, "session_id": "S2", "session_date": D(2026, 1, 5)},
        {"file_id": 1, "line": 4, "session_id": "S3", "session_date": D(2026, 1, 5), "goal_id": "G1",
         "gas_level": 0, "goal_weight": 1.0})
    keys = dict(rows(con, "select session_id, order_key from sessions"))
    day = (D(2026, 1, 5) - D(2000, 1, 1)).days
    assert keys["S1"] > max(keys["S2"], keys["S3"])
    assert keys["S2"] // 2**32 == keys["S3"] // 2**32 == day
    assert rows(con, "select order_key from goal_ratings") == [(keys["S3"],)]
