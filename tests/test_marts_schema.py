"""The marts' data tests (``queries/marts/schema.toml``, run by ``pipelines.schema_tests``):
every declared test passes after a build of the sample and after a build of a small messy
warehouse (overlapping exports, corrections, an older export loaded late, duplicates, bad rows),
and each kind of test fails on a mart broken on purpose."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines import queries, schema_tests, transform
from pipelines.load import load
from pipelines.schema_tests import SchemaFileError, SchemaTest, SchemaTestsFailed, declared_tests, run_schema_tests
from pipelines.small_practice import HEADER, sample_files

TESTS = declared_tests()


def _write(path: Path, rows: list[str]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for r in rows:
            values = r.split(",")
            assert len(values) == len(HEADER), r
            w.writerow(values)
    return path


# session_id,child_id,therapist_id,team,session_date,modality,approach,date_of_birth,attendance,duration_min,
# setting,engagement,goal_id,goal_domain,gas_level,goal_weight,measure,measure_score
JANUARY = [
    "S1,C1,T1,North,2026-01-05,OT,child-led,2019-04-03,attended,45,clinic,4,G1,motor,-1,1,,",
    "S1,C1,T1,North,2026-01-05,OT,child-led,2019-04-03,attended,45,clinic,4,G2,self-care,0,2,COPM-P,4.5",
    "S2,C1,T1,North,2026-01-12,OT,directed,2019-04-03,attended,45,clinic,3,,,,,,",
    "S3,C2,T2,,2026-01-06,speech,mixed,2015-09-30,no-show,,,,,,,,,",            # no team: unassigned
    "S4,C3,T3,South,2026-01-07,CBT,directed,,cancelled,,telehealth,,,,,,SCAS-P,40",
    "S5,C4,T3,South,2026-01-08,play,child-led,2022-02-01,attended,30,home,5,G7,play,1,1,,",
    "S5,C4,T3,South,2026-01-08,play,child-led,2022-02-01,attended,30,home,5,G7,play,1,1,,",   # exact duplicate
]
FEBRUARY = [
    # corrections of January's sessions: S2 was a no-show, S5's rating was -1, S4 moved team
    "S2,C1,T1,North,2026-01-12,OT,directed,2019-04-03,no-show,,clinic,,,,,,,",
    "S4,C3,T3,North,2026-01-07,CBT,directed,,cancelled,,telehealth,,,,,,SCAS-P,40",
    "S5,C4,T3,South,2026-01-08,play,child-led,2022-02-01,attended,30,home,5,G7,play,-1,1,,",
    # a goal rated for January's S3 only in this export (its session row is in the other file)
    "S3,C2,T2,,2026-01-06,speech,mixed,2015-09-30,attended,30,school,2,G4,communication,-2,1,,",
    "S6,C2,T2,West,2026-02-03,speech,mixed,2015-09-30,attended,30,school,3,G4,communication,0,1,,",
    "S6,C2,T2,West,2026-02-03,speech,mixed,2015-09-30,attended,30,school,3,G4,communication,1,1,,",  # same key
    "S7,C5,T4,South,2026-02-04,Physio,directed,2018-01-01,attended,30,clinic,3,,,,,,",              # rejected
    "S8,C3,T3,North,2026-02-10,CBT,directed,,attended,50,telehealth,4,,,,,SCAS-P,31",
]
DECEMBER = [
    # an older export loaded last: it must not bring S1's or S2's old values back
    "S1,C1,T1,North,2026-01-05,speech,directed,2019-04-03,cancelled,,clinic,,G1,motor,-3,1,,",
    "S2,C1,T1,North,2026-01-12,OT,directed,2019-04-03,attended,45,clinic,1,,,,,,",
    "S0,C1,T1,North,2025-12-15,OT,directed,2019-04-03,attended,45,clinic,2,G1,motor,-2,1,COPM-P,3.0",
]


def messy_warehouse(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "messy.duckdb"
    for name, rows in (("export_2026-01-31.csv", JANUARY), ("export_2026-02-28.csv", FEBRUARY),
                       ("export_2025-12-31.csv", DECEMBER)):
        report = load([_write(folder / name, rows)], db=db)
        assert [f.status for f in report.files] == ["loaded"], [f.message for f in report.files]
    return db


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    files = sample_files()
    assert files, "the shipped sample is missing"
    sample = tmp_path_factory.mktemp("schema") / "sample.duckdb"
    report = load(files, db=sample)
    assert all(f.status == "loaded" for f in report.files), [f.message for f in report.files]
    return {"sample": sample, "messy": messy_warehouse(tmp_path_factory.mktemp("messy"))}


def test_the_messy_warehouse_is_as_messy_as_intended(built):
    con = duckdb.connect(str(built["messy"]), read_only=True)
    try:
        sessions = dict(con.execute("select session_id, attendance from sessions").fetchall())
        assert sessions == {"S0": "attended", "S1": "attended", "S2": "no-show", "S3": "attended",
                            "S4": "cancelled", "S5": "attended", "S6": "attended", "S8": "attended"}
        assert con.execute("select team from sessions where session_id = 'S3'").fetchall() == [("unassigned",)]
        assert con.execute("select session_id, goal_id, gas_level from goal_ratings order by all").fetchall() == [
            ("S0", "G1", -2), ("S1", "G1", -1), ("S1", "G2", 0), ("S3", "G4", -2), ("S5", "G7", -1),
            ("S6", "G4", 0)]
        assert con.execute("select count(*) from rejects").fetchall()[0][0] == 3
    finally:
        con.close()


@pytest.mark.parametrize("test", TESTS, ids=[t.name for t in TESTS])
@pytest.mark.parametrize("which", ["sample", "messy"])
def test_every_declared_data_test_passes_after_a_build(built, which, test):
    con = duckdb.connect(str(built[which]), read_only=True)
    try:
        assert schema_tests.run_test(con, test) is None
    finally:
        con.close()


def test_every_mart_has_data_tests_and_every_test_names_a_mart():
    marts = set(queries.names("marts"))
    assert {t.mart for t in TESTS} == marts
    assert {t.to for t in TESTS if t.to} <= marts
    for mart in marts:
        kinds = {t.kind for t in TESTS if t.mart == mart}
        assert {"unique", "not_null"} <= kinds, mart
    rel = {(t.mart, t.columns, t.to) for t in TESTS if t.kind == "relationships"}
    assert {("goal_ratings", ("session_id",), "sessions"), ("measures", ("session_id",), "sessions")} <= rel


# --- the check can fail: marts broken on purpose ------------------------------------------------

BREAKS = {
    "a session twice": ("insert into sessions select * from sessions where session_id = 'S1'",
                        "sessions.session_id (unique)", ("S1",)),
    "a rating twice": ("insert into goal_ratings select * from goal_ratings where session_id = 'S1' and goal_id = 'G2'",
                       "goal_ratings.(session_id, goal_id) (unique)", ("S1", "G2")),
    "a null team": ("update sessions set team = null where session_id = 'S4'",
                    "sessions.team (not_null)", None),
    "a rating of no session": ("delete from sessions where session_id = 'S3'",
                               "goal_ratings.session_id -> sessions.session_id (relationships)", ("S3",)),
    "a measure of no session": ("delete from sessions where session_id = 'S8'",
                                "measures.session_id -> sessions.session_id (relationships)", ("S8",)),
    "a rating with another child": ("update goal_ratings set child_id = 'C9' where session_id = 'S5'",
                                    "goal_ratings.(session_id, child_id, session_date, order_key, therapist_id, team, "
                                    "modality, approach, age_group) -> sessions.(session_id, child_id, session_date, "
                                    "order_key, therapist_id, team, modality, approach, age_group) (relationships)",
                                    None),
    "an unknown modality": ("update sessions set modality = 'Physio' where session_id = 'S2'",
                            "sessions.modality (accepted_values)", ("Physio",)),
    "a GAS level out of range": ("update goal_ratings set gas_level = 3 where session_id = 'S6'",
                                 "goal_ratings.gas_level (accepted_values)", (3,)),
    "a mart without a declared column": ("alter table measures drop column order_key",
                                         "measures.order_key (not_null)", None),
}


@pytest.mark.parametrize("what", sorted(BREAKS))
def test_a_mart_broken_on_purpose_fails_its_data_test(built, tmp_path, what):
    db = tmp_path / "broken.duckdb"
    shutil.copy(built["messy"], db)
    statement, failing, example = BREAKS[what]
    con = duckdb.connect(str(db))
    try:
        assert run_schema_tests(con) == []
        con.execute(statement)
        failures = run_schema_tests(con)
        names = [f.test.name for f in failures]
        assert failing in names, names
        f = failures[names.index(failing)]
        if example is not None:
            assert f.n_failing == 1 and f.examples == (example,), f
        assert f.test.name in str(f)
    finally:
        con.close()


def test_a_build_with_check_raises_on_bad_rows_and_passes_on_good_ones(built, tmp_path):
    db = tmp_path / "check.duckdb"
    shutil.copy(built["messy"], db)
    con = duckdb.connect(str(db))
    try:
        transform.build(con, check=True)
        # a row that staging would reject, put straight into the raw table: the marts take it,
        # the data tests catch it
        con.execute("insert into src_sessions select * replace ('S99' as session_id, 'rescheduled' as attendance) "
                    "from src_sessions where session_id = 'S2'")
        with pytest.raises(SchemaTestsFailed, match=r"sessions\.attendance \(accepted_values\): 1 failing, "
                                                     r"e\.g\. 'rescheduled'"):
            transform.build(con, check=True)
        transform.build(con)  # without the check the build itself goes through
    finally:
        con.close()


# --- the schema file itself ---------------------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("[sessions\nunique = 1", "not valid TOML"),
    ("[sessions]\nuniq = [['session_id']]", r"\[sessions\]: unknown test kind\(s\) \['uniq'\]"),
    ("[sessions]\nnot_null = 'session_id'", r"\[sessions\] not_null: expected a non-empty list"),
    ("[goal_ratings]\nrelationships = [{ columns = ['session_id'] }]", r"\[goal_ratings\] relationships\[0\]"),
    ("[goal_ratings]\nrelationships = [{ columns = ['a', 'b'], to = 'sessions', to_columns = ['a'] }]",
     "differ in length"),
    ("[sessions.accepted_values]\nmodality = []", r"\[sessions.accepted_values\] modality"),
])
def test_a_malformed_schema_file_is_refused_naming_the_file_and_the_key(tmp_path, text, message):
    p = tmp_path / "schema.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(SchemaFileError, match=message):
        declared_tests(p)


def test_a_declared_test_on_a_missing_table_fails(built):
    con = duckdb.connect(str(built["messy"]), read_only=True)
    try:
        (f,) = run_schema_tests(con, [SchemaTest("child_weeks", "not_null", ("child_id",))])
        assert "no table child_weeks" in str(f)
    finally:
        con.close()


def test_a_retired_model_left_by_an_earlier_version_is_dropped_by_the_next_build():
    from pipelines import warehouse

    con = duckdb.connect()
    try:
        con.execute(warehouse.SCHEMA)
        con.execute("create table child_weeks as select 'C1' as child_id")  # as an earlier version built it
        built = transform.build(con)
        assert "child_weeks" not in built and set(transform.RETIRED_MODELS).isdisjoint(queries.names("marts"))
        assert con.execute("select count(*) from duckdb_tables() where table_name = 'child_weeks'").fetchall() == [(0,)]
        assert {"sessions", "goal_ratings", "measures"} <= set(built)
    finally:
        con.close()
