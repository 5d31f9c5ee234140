"""The upsert and the joins on tiny literal inputs: rows written out by hand go straight into
``staged`` (the staging output), ``raw_rows`` (the reader's output) or the raw tables
(``src_sessions``, ``src_observations``, ``src_goals``, ``src_children``); the upsert
(``pipelines.upsert.upsert_staged``) and the models (``pipelines.transform.build``) run on them,
and what comes out is compared with the expected rows, also written out literally."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipelines import profiles, queries, transform, upsert, warehouse
from pipelines.ingest.common import CELL_TYPE, RAW_COLUMNS
from pipelines.upsert import upsert_staged

D = dt.date
JAN, FEB, MAR = dt.datetime(2026, 1, 31), dt.datetime(2026, 2, 28), dt.datetime(2026, 3, 31)
ORDERS = {1: JAN, 2: FEB, 3: MAR}

OBSERVATION = ("struct(measure varchar, goal_key varchar, goal_id varchar, value double, trials_correct integer, "
               "trials_total integer)[]")
# the staging output's columns (queries/staging/stg_sessions.sql), as the upsert reads them
STAGED = {"line": "integer", "session_id": "varchar", "goal_id": "varchar", "child_id": "varchar",
          "therapist_id": "varchar", "team": "varchar", "session_date": "date", "start_time": "time",
          "modality": "varchar", "approach": "varchar", "attendance": "varchar", "duration_min": "integer",
          "setting": "varchar", "goal_domain": "varchar", "goal_weight": "double", "date_of_birth": "date",
          "age_years": "integer", "observations": OBSERVATION, "row_fingerprint": "ubigint",
          "errors": "struct(\"column\" varchar, \"value\" varchar, reason varchar)[]"}
DEFAULTS = {"goal_id": None, "child_id": "C1", "therapist_id": "T1", "team": "North", "session_date": D(2026, 1, 5),
            "start_time": None, "modality": "OT", "approach": "directed", "attendance": "attended",
            "duration_min": 45, "setting": "clinic", "goal_domain": None, "goal_weight": None,
            "date_of_birth": None, "age_years": 7}
UNSET = object()


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute(warehouse.SCHEMA)
    upsert.prepare(c)
    yield c
    c.close()


def observations(r: dict) -> list[dict]:
    """The observations a literal row carries: ``engagement`` (3 unless given; None: an emptied
    cell), ``gas_level`` of its goal, ``measures`` {measure: value} of the session."""
    out = []
    eng = r.get("engagement", 3)
    if eng is not UNSET:
        out.append({"measure": "engagement", "goal_key": "", "goal_id": None, "value": eng})
    if r.get("goal_id") and "gas_level" in r:
        out.append({"measure": "gas", "goal_key": r["goal_id"], "goal_id": r["goal_id"], "value": r["gas_level"]})
    for m, v in r.get("measures", {}).items():
        out.append({"measure": m, "goal_key": "", "goal_id": None, "value": v})
    return [{**o, "trials_correct": None, "trials_total": None} for o in out]


def stage(con, *rows: dict) -> None:
    """``staged`` holding ``rows`` (each: session_id, line and what differs from DEFAULTS)."""
    con.execute("drop table if exists staged")
    con.execute("create temp table staged (" + ", ".join(f'"{c}" {t}' for c, t in STAGED.items()) + ")")
    for r in rows:
        full = {**DEFAULTS, **{k: v for k, v in r.items() if k in STAGED}}
        full["observations"] = observations(r)
        full.setdefault("errors", [])
        full["row_fingerprint"] = 0
        plain = [c for c in full if c != "observations"]
        con.execute("insert into staged by name select " + ", ".join(f"${c} as \"{c}\"" for c in plain)
                    + f", cast($observations as {OBSERVATION}) as observations", full)


def upsert_file(con, file_id: int, order: dt.datetime, *rows: dict) -> int:
    """Stage ``rows`` and upsert them as file ``file_id`` (load ``file_id``) of export ``order``."""
    stage(con, *rows)
    return upsert_staged(con, file_id, file_id, order)


def kept(con) -> list[tuple]:
    """(session, file it comes from, modality, engagement value or None) of every session kept."""
    return con.execute("select s.session_id, s.file_id, s.modality, o.value from src_sessions as s "
                       "left join src_observations as o on o.session_ref = s.session_id and o.measure = 'engagement' "
                       "order by s.session_id").fetchall()


def test_the_newest_export_wins_per_key(con):
    assert upsert_file(con, 1, JAN, {"line": 2, "session_id": "S1", "modality": "OT", "engagement": 2},
                       {"line": 3, "session_id": "S2"}) == 2
    assert upsert_file(con, 2, FEB, {"line": 2, "session_id": "S1", "modality": "speech", "engagement": 4}) == 1
    assert kept(con) == [("S1", 2, "speech", 4), ("S2", 1, "OT", 3)]


def test_an_older_export_never_overwrites_a_newer_one(con):
    upsert_file(con, 1, FEB, {"line": 2, "session_id": "S1", "modality": "speech", "engagement": 4})
    # the older export loaded later: its row for S1 keeps nothing; S3 is new
    assert upsert_file(con, 2, JAN, {"line": 2, "session_id": "S1", "modality": "OT", "engagement": 2},
                       {"line": 3, "session_id": "S3", "modality": "CBT"}) == 1
    assert kept(con) == [("S1", 1, "speech", 4), ("S3", 2, "CBT", 3)]


def test_an_equal_export_order_lets_the_later_load_win(con):
    upsert_file(con, 1, FEB, {"line": 2, "session_id": "S1", "modality": "OT"})
    upsert_file(con, 2, FEB, {"line": 2, "session_id": "S1", "modality": "play"})
    assert kept(con) == [("S1", 2, "play", 3)]


def test_an_observation_is_keyed_by_session_measure_and_goal_so_each_goal_is_upserted_on_its_own(con):
    upsert_file(con, 1, JAN, {"line": 2, "session_id": "S1", "goal_id": "G1", "gas_level": -1},
                {"line": 3, "session_id": "S1", "goal_id": "G2", "gas_level": 0})
    upsert_file(con, 2, FEB, {"line": 2, "session_id": "S1", "goal_id": "G2", "gas_level": 1, "modality": "speech"})
    assert con.execute("select session_ref, goal_key, file_id, value from src_observations where measure = 'gas' "
                       "order by goal_key").fetchall() == [("S1", "G1", 1, -1.0), ("S1", "G2", 2, 1.0)]
    assert kept(con) == [("S1", 2, "speech", 3)]


def test_an_emptied_cell_clears_the_older_exports_value_but_an_older_one_clears_nothing(con):
    upsert_file(con, 1, JAN, {"line": 2, "session_id": "S1", "engagement": 4},
                {"line": 3, "session_id": "S2", "engagement": 5})
    upsert_file(con, 2, FEB, {"line": 2, "session_id": "S1", "engagement": None})     # S1's rating removed
    upsert_file(con, 3, dt.datetime(2025, 12, 31), {"line": 2, "session_id": "S2", "engagement": None})  # older
    assert kept(con) == [("S1", 2, "OT", None), ("S2", 1, "OT", 5)]
    # an export without the column at all says nothing of the rating: it stays
    upsert_file(con, 4, MAR, {"line": 2, "session_id": "S2", "engagement": UNSET, "modality": "play"})
    assert kept(con) == [("S1", 2, "OT", None), ("S2", 4, "play", 5)]


def test_a_row_with_errors_is_never_upserted_and_leaves_the_kept_row(con):
    upsert_file(con, 1, JAN, {"line": 2, "session_id": "S1", "modality": "OT"})
    bad = [{"column": "modality", "value": "Physio", "reason": "unknown modality"}]
    assert upsert_file(con, 2, FEB, {"line": 2, "session_id": "S1", "modality": None, "engagement": 5,
                                     "errors": bad}) == 0
    assert kept(con) == [("S1", 1, "OT", 3)]


def test_inside_one_file_a_session_is_its_last_line_and_a_value_its_last_line_that_gives_one(con):
    upsert_file(con, 1, JAN,
                {"line": 2, "session_id": "S1", "goal_id": "G1", "gas_level": 0, "engagement": 4, "team": "East"},
                {"line": 3, "session_id": "S1", "goal_id": "G2", "gas_level": 1, "engagement": None,
                 "team": "West", "date_of_birth": D(2019, 4, 3)})
    assert con.execute("select session_id, line, team, date_of_birth from src_sessions").fetchall() == [
        ("S1", 3, "West", D(2019, 4, 3))]
    assert kept(con) == [("S1", 1, "OT", 4)]
    assert con.execute("select goal_uid, goal_weight, line from src_goals order by goal_uid").fetchall() == [
        ("C1/G1", None, 2), ("C1/G2", None, 3)]
    assert con.execute("select child_id, episode_id, date_of_birth from src_children").fetchall() == [
        ("C1", "", D(2019, 4, 3))]


# --- raw_rows -> staging -> upsert: same-key duplicates inside one file ---------------------------

RAW = ["session_id", "child_id", "therapist_id", "team", "session_date", "modality", "approach", "date_of_birth",
       "age_years", "attendance", "duration_min", "setting", "engagement", "goal_id", "goal_domain", "gas_level",
       "goal_weight", "measure", "measure_score"]


def load_raw(con, file_id: int, order: dt.datetime, *lines: str, header: list[str] = RAW,
             long_form: bool = False) -> list[tuple]:
    """Stage CSV-like ``lines`` (values in ``header`` order, as text; engagement and gas_level
    become measure cells) through stg_sessions and upsert them; the staged (line, session_id,
    goal_id, reasons) come back."""
    con.execute("drop table if exists flat")
    con.execute("create temp table flat (_line integer, " + ", ".join(f"{c} varchar" for c in header) + ")")
    for i, text in enumerate(lines, start=2):
        values = [v if v != "" else None for v in text.split(",")]
        assert len(values) == len(header), text
        con.execute(f"insert into flat values ({', '.join('?' * (len(header) + 1))})", [i, *values])
    cols = [c if c in header else f"null::varchar as {c}" for c in RAW_COLUMNS]
    cells = [f"{{'measure': '{m}', 'column': '{c}', 'raw': {c}}}" for c, m in (("engagement", "engagement"),
                                                                             ("gas_level", "gas")) if c in header]
    con.execute("drop table if exists raw_rows")
    con.execute(f"create temp table raw_rows as select {', '.join(cols)}, [{', '.join(cells)}]::{CELL_TYPE} "
                "as measure_cells, _line from flat")
    con.execute("drop table if exists value_synonyms")
    con.execute("create temp table value_synonyms (field varchar, raw varchar, value varchar)")
    con.executemany("insert into value_synonyms values (?, ?, ?)", upsert.synonyms(profiles.load("canonical")))
    con.execute("drop table if exists staged")
    con.execute(f"create temp table staged as {queries.sql('stg_sessions')}",
                queries.bind("stg_sessions", {"date_format": "ISO", "date_label": "yyyy-mm-dd",
                                              "today": D(2026, 12, 31), "long_form": long_form,
                                              "catalogue_name": "measures.toml"}))
    upsert_staged(con, file_id, file_id, order)
    return con.execute("select line, session_id, goal_id, [e.reason for e in errors] from staged "
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
    assert con.execute("select line, goal_key, value from src_observations where measure = 'gas' "
                       "order by line").fetchall() == [(2, "G1", -1.0), (5, "G2", 0.0)]


def test_the_wide_and_the_long_form_of_the_same_rows_stage_the_same_observations(con):
    load_raw(con, 1, JAN,
             "S1,C1,T1,North,2026-01-05,OT,directed,,7,attended,45,clinic,4,G1,motor,-1,2,COPM-P,4.5",
             "S2,C1,T1,North,2026-01-12,OT,child-led,,7,attended,45,clinic,5,,,,,,")
    wide = con.execute("select * exclude (file_id, load_seq, line, export_order) from src_observations "
                       "order by all").fetchall()
    other = duckdb.connect()
    other.execute(warehouse.SCHEMA)
    upsert.prepare(other)
    long = ["session_id", "child_id", "therapist_id", "team", "session_date", "modality", "approach", "age_years",
            "attendance", "duration_min", "setting", "goal_id", "goal_domain", "goal_weight", "measure", "value"]
    load_raw(other, 1, JAN,
             "S1,C1,T1,North,2026-01-05,OT,directed,7,attended,45,clinic,,,,engagement,4",
             "S1,C1,T1,North,2026-01-05,OT,directed,7,attended,45,clinic,G1,motor,2,gas,-1",
             "S1,C1,T1,North,2026-01-05,OT,directed,7,attended,45,clinic,,,,COPM-P,4.5",
             "S2,C1,T1,North,2026-01-12,OT,child-led,7,attended,45,clinic,,,,engagement,5",
             header=long, long_form=True)
    assert other.execute("select * exclude (file_id, load_seq, line, export_order) from src_observations "
                         "order by all").fetchall() == wide == [
        ("S1", "COPM-P", "", None, "C1", 4.5, None, None, "sessions"),
        ("S1", "engagement", "", None, "C1", 4.0, None, None, "sessions"),
        ("S1", "gas", "G1", "G1", "C1", -1.0, None, None, "sessions"),
        ("S2", "engagement", "", None, "C1", 5.0, None, None, "sessions")]
    other.close()


# --- the raw tables -> int_ and mart models ------------------------------------------------------

def put_session(con, file_id: int, line: int, session_id: str, **kw) -> None:
    """A src_sessions row (what differs from DEFAULTS) of file ``file_id``."""
    r = {**{k: v for k, v in DEFAULTS.items() if k not in ("goal_id", "goal_domain", "goal_weight")}, **kw,
         "session_id": session_id, "file_id": file_id, "load_seq": file_id, "line": line,
         "export_order": ORDERS[file_id], "source": "sessions"}
    con.execute(f"insert into src_sessions by name select {', '.join(f'${c} as {c}' for c in r)}", r)


def put_observation(con, file_id: int, session_id: str, measure: str, value, goal_id: str | None = None,
                    **kw) -> None:
    r = {"session_ref": session_id, "measure": measure, "goal_key": goal_id or "", "goal_id": goal_id,
         "value": value, "source": "sessions", "file_id": file_id, "load_seq": file_id, "line": 2,
         "export_order": ORDERS[file_id], **kw}
    con.execute(f"insert into src_observations by name select {', '.join(f'${c} as {c}' for c in r)}", r)


def put_goal(con, file_id: int, child_id: str, goal_id: str, **kw) -> None:
    r = {"goal_uid": f"{child_id}/{goal_id}", "child_id": child_id, "goal_id": goal_id, "source": "sessions",
         "file_id": file_id, "load_seq": file_id, "line": 2, "export_order": ORDERS[file_id], **kw}
    con.execute(f"insert into src_goals by name select {', '.join(f'${c} as {c}' for c in r)}", r)


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def test_a_goal_rating_takes_its_sessions_context_and_its_goals_domain_and_weight(con):
    # the session's row in one export, its rating in another: the rating takes the session's context
    put_session(con, 2, 4, "S1", child_id="C1", therapist_id="T2", modality="speech")
    put_observation(con, 1, "S1", "gas", 1.0, "G1")
    put_goal(con, 2, "C1", "G1", goal_domain="communication", goal_weight=2.0)
    put_session(con, 2, 5, "S2", child_id="C2", session_date=D(2026, 1, 7), team="East")
    put_observation(con, 1, "S2", "gas", -2.0, "G9")
    put_goal(con, 1, "C2", "G9", goal_domain="motor")   # no weight given: 1
    transform.build(con)
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
    put_session(con, 1, 2, "S1", session_date=D(2026, 6, 14), date_of_birth=born, age_years=9)
    put_session(con, 1, 3, "S2", session_date=D(2026, 6, 15), date_of_birth=born)
    # no date of birth on the session: the child's (what another row said of the child) counts
    put_session(con, 1, 4, "S3", child_id="C3", session_date=D(2022, 6, 15), date_of_birth=None, age_years=None)
    con.execute("insert into src_children (child_id, episode_id, date_of_birth, source, file_id, load_seq, line, "
                "export_order) values ('C3', '', $d, 'sessions', 2, 2, 2, $o)", {"d": born, "o": FEB})
    # no date of birth at all: the exported age; no age at all, or one outside every band: unknown
    put_session(con, 1, 5, "S4", child_id="C4", age_years=13)
    put_session(con, 1, 6, "S5", child_id="C5", age_years=None)
    put_session(con, 1, 7, "S6", child_id="C6", age_years=21)
    put_observation(con, 2, "S3", "gas", 0.0, "G1")
    transform.build(con)
    assert rows(con, "select session_id, age_years, age_group from sessions order by session_id") == [
        ("S1", 5, "3-5"), ("S2", 6, "6-12"), ("S3", 2, "0-2"), ("S4", 13, "13-18"), ("S5", None, "unknown"),
        ("S6", 21, "unknown")]
    assert rows(con, "select session_id, age_group from goal_ratings") == [("S3", "0-2")]


def test_team_defaults_to_unassigned(con):
    put_session(con, 1, 2, "S1", team=None)
    put_observation(con, 1, "S1", "SCAS-P", 40.0)
    put_session(con, 2, 2, "S2", team=None)
    put_observation(con, 2, "S2", "gas", 0.0, "G1")
    transform.build(con)
    assert rows(con, "select session_id, team from sessions order by session_id") == [
        ("S1", "unassigned"), ("S2", "unassigned")]
    assert rows(con, "select session_id, team from goal_ratings") == [("S2", "unassigned")]
    assert rows(con, "select session_id, team from measures") == [("S1", "unassigned")]


def test_a_rating_of_the_session_needs_it_attended_and_a_questionnaire_does_not(con):
    put_session(con, 1, 2, "S1", attendance="late-cancelled")
    put_observation(con, 1, "S1", "engagement", 4.0)      # rated in the session (attended_only)
    put_observation(con, 1, "S1", "SCAS-P", 38.0)         # a parent's questionnaire (attended_only = false)
    put_session(con, 1, 3, "S2")
    put_observation(con, 1, "S2", "engagement", 3.0)
    put_session(con, 1, 4, "S3")
    put_observation(con, 1, "S3", "engagement", None)      # an emptied cell: never shown
    transform.build(con)
    assert rows(con, "select session_id, attended, cancelled, late_cancelled, clinician_cancelled from sessions "
                     "order by session_id") == [("S1", False, True, True, False), ("S2", True, False, False, False),
                                                 ("S3", True, False, False, False)]
    assert rows(con, "select session_id, measure, value from observations order by all") == [
        ("S1", "SCAS-P", 38.0), ("S2", "engagement", 3.0)]
    assert rows(con, "select session_id, child_id, measure, measure_score, session_date, approach from measures") == [
        ("S1", "C1", "SCAS-P", 38.0, D(2026, 1, 5), "directed")]


def test_order_key_orders_sessions_by_date_then_a_hash_of_the_session_id(con):
    put_session(con, 1, 2, "S1", session_date=D(2026, 1, 7))
    put_session(con, 1, 3, "S2", session_date=D(2026, 1, 5))
    put_session(con, 1, 4, "S3", session_date=D(2026, 1, 5))
    put_observation(con, 1, "S3", "gas", 0.0, "G1")
    transform.build(con)
    keys = dict(rows(con, "select session_id, order_key from sessions"))
    day = (D(2026, 1, 5) - D(2000, 1, 1)).days
    assert keys["S1"] > max(keys["S2"], keys["S3"])
    assert keys["S2"] // 2**32 == keys["S3"] // 2**32 == day
    assert rows(con, "select order_key from goal_ratings") == [(keys["S3"],)]


def test_goals_and_children_marts(con):
    put_session(con, 1, 2, "S1", date_of_birth=D(2019, 4, 3))
    put_session(con, 1, 3, "S2", child_id="C2", attendance="no-show")
    put_observation(con, 1, "S1", "gas", 1.0, "G1")
    put_observation(con, 1, "S1", "gas", 0.0, "G2")
    put_goal(con, 1, "C1", "G1", goal_domain="motor", goal_weight=3.0)   # G2: seen only in a rating
    con.execute("insert into src_children (child_id, episode_id, date_of_birth, source, file_id, load_seq, line, "
                "export_order) values ('C1', '', '2019-04-03', 'sessions', 1, 1, 2, $o)", {"o": JAN})
    transform.build(con, check=True)
    assert rows(con, "select goal_uid, goal_domain, measure, goal_weight from goals order by goal_uid") == [
        ("C1/G1", "motor", "gas", 3.0), ("C1/G2", None, "gas", 1.0)]
    assert rows(con, "select child_id, date_of_birth, first_session, last_attended, modality from children "
                     "order by child_id") == [("C1", D(2019, 4, 3), D(2026, 1, 5), D(2026, 1, 5), "OT"),
                                              ("C2", None, D(2026, 1, 5), None, "OT")]
    assert rows(con, "select measure, kind, direction, sign, level from measure_catalogue "
                     "where measure in ('engagement', 'protests') order by measure") == [
        ("engagement", "rating", "higher", 1, "session"), ("protests", "count", "lower", -1, "session")]
