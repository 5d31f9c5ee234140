"""Loading exports: messy input, idempotency, overlaps and corrections, atomicity, readers."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from pipelines import warehouse
from pipelines.load import load, rebuild, status
from pipelines.small_practice import HEADER  # the canonical export's columns, in file order

REPO = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 1)


def row(**kw) -> dict:
    base = dict(session_id="S1", child_id="C1", therapist_id="T1", team="North", session_date="2026-01-12",
                modality="OT", approach="child-led", date_of_birth="2019-04-03", attendance="attended",
                duration_min="45", setting="clinic", engagement="4", goal_id="", goal_domain="",
                gas_level="", goal_weight="", measure="", measure_score="")
    base.update(kw)
    return base


def write_csv(path: Path, rows: list[dict], header=HEADER, delimiter=",", encoding="utf-8") -> Path:
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.DictWriter(fh, fieldnames=header, delimiter=delimiter, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return path


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = warehouse.connect_reader(db)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


ENGAGEMENT = "select value from observations where measure = 'engagement' and session_id = $s"


def raw_tables(db: Path) -> dict[str, list[tuple]]:
    """Every row of the raw tables (src_sessions, src_observations, src_goals, src_children)."""
    return {t: query(db, f"select * from {t} order by all")
            for t in ("src_sessions", "src_observations", "src_goals", "src_children")}


def good_rows() -> list[dict]:
    return [
        row(session_id="S1", goal_id="G1", goal_domain="motor", gas_level="-1"),
        row(session_id="S1", goal_id="G2", goal_domain="self-care", gas_level="0", goal_weight="2"),
        row(session_id="S2", session_date="2026-01-19", approach="directed", engagement="3"),
        row(session_id="S3", child_id="C2", session_date="2026-01-14", modality="CBT", approach="mixed",
            date_of_birth="2012-09-30", engagement="", attendance="no-show"),
    ]


# Each case: rows appended to a good file -> (column, reason fragment) expected in rejects for line 6.
REJECT_CASES = [
    ("missing child", dict(child_id=""), "child_id", "required value missing"),
    ("missing session id", dict(session_id=""), "session_id", "required value missing"),
    ("missing date", dict(session_date=""), "session_date", "required value missing"),
    ("unknown modality", dict(modality="Music Therapy"), "modality", "unknown modality 'Music Therapy'"),
    ("unknown approach", dict(approach="random"), "approach", "unknown approach 'random'"),
    ("unknown attendance", dict(attendance="Rescheduled"), "attendance", "unknown attendance 'Rescheduled'"),
    ("engagement above 5", dict(engagement="7"), "engagement", "whole number from 1 to 5"),
    ("engagement zero", dict(engagement="0"), "engagement", "whole number from 1 to 5"),
    ("engagement text", dict(engagement="good"), "engagement", "whole number from 1 to 5"),
    ("engagement fraction", dict(engagement="3.5"), "engagement", "whole number from 1 to 5"),
    ("engagement when absent", dict(attendance="no-show", engagement="3"), "engagement", "not attended"),
    ("gas above 2", dict(goal_id="G9", gas_level="4"), "gas_level", "from -3 to +2"),
    ("gas below -3", dict(goal_id="G9", gas_level="-4"), "gas_level", "from -3 to +2"),
    ("gas without goal", dict(gas_level="1"), "goal_id", "without a goal_id"),
    ("unparseable date", dict(session_date="tbc"), "session_date", "not a date"),
    ("impossible date", dict(session_date="2026-02-31"), "session_date", "not a date"),
    ("before birth", dict(session_date="2018-01-01"), "session_date", "before the date of birth"),
    ("future session", dict(session_date="2026-12-25"), "session_date", "in the future"),
    ("negative weight", dict(goal_id="G9", gas_level="0", goal_weight="-1"), "goal_weight", "positive"),
    ("bad duration", dict(duration_min="forty"), "duration_min", "minutes"),
    ("score without measure", dict(measure_score="12"), "measure", "without the measure name"),
    ("infinite weight", dict(goal_id="G9", gas_level="0", goal_weight="inf"), "goal_weight", "positive"),
    ("NaN weight", dict(goal_id="G9", gas_level="0", goal_weight="NaN"), "goal_weight", "positive"),
    ("overflowing weight", dict(goal_id="G9", gas_level="0", goal_weight="1e999"), "goal_weight", "positive"),
    ("infinite score", dict(measure="SCAS-P", measure_score="inf"), "measure_score", "finite number"),
    ("minus infinite score", dict(measure="SCAS-P", measure_score="-Infinity"), "measure_score", "finite number"),
    ("NaN score", dict(measure="SCAS-P", measure_score="nan"), "measure_score", "finite number"),
    ("unknown goal domain", dict(goal_id="G9", goal_domain="astrology", gas_level="0"), "goal_domain",
     "unknown goal domain 'astrology'"),
    ("duration under a minute", dict(duration_min="0.4"), "duration_min", "whole minutes from 1 to 600"),
    ("fractional duration", dict(duration_min="45.5"), "duration_min", "whole minutes from 1 to 600"),
    ("duration over 600", dict(duration_min="601"), "duration_min", "whole minutes from 1 to 600"),
    ("birth in year 1", dict(date_of_birth="0001-01-01"), "date_of_birth", "before 1900"),
    ("birth in 1200", dict(date_of_birth="1200-01-01"), "date_of_birth", "before 1900"),
    ("born 30 years before", dict(date_of_birth="1996-01-11"), "date_of_birth", "30 years old at the session"),
    ("session with two children", dict(session_id="S1", child_id="C9", goal_id="G7"), "child_id",
     "carries two different children"),
    ("exact duplicate", dict(session_id="S2", session_date="2026-01-19", approach="directed", engagement="3"),
     None, "exact duplicate of line 4"),
    ("same key, other values", dict(session_id="S2", session_date="2026-01-19", approach="directed",
                                    engagement="5"), "goal_id", "same session_id and goal_id as line 4"),
]


@pytest.mark.parametrize("case,change,column,reason", REJECT_CASES, ids=[c[0] for c in REJECT_CASES])
def test_bad_row_is_rejected_with_reason_and_good_rows_load(tmp_path, case, change, column, reason):
    bad = row(session_id="S9", **{k: v for k, v in change.items() if k != "session_id"})
    if "session_id" in change:
        bad["session_id"] = change["session_id"]
    f = write_csv(tmp_path / "export.csv", good_rows() + [bad])
    db = tmp_path / "p.duckdb"
    report = load([f], db=db, today=TODAY)
    assert report.files[0].status == "loaded"
    rejects = query(db, "select file_name, line, column_name, value, reason from rejects")
    assert rejects, f"{case}: nothing rejected"
    lines = {r[1] for r in rejects}
    if case == "session with two children":
        # both rows of session S1 are suspect: the two good S1 rows and the new one
        assert lines == {2, 3, 6}
    else:
        assert lines == {6}
    hit = [r for r in rejects if r[1] == 6 and reason in r[4]]
    assert hit, f"{case}: reasons were {[r[4] for r in rejects]}"
    assert hit[0][0] == "export.csv" and hit[0][2] == column
    raw = query(db, "select raw_row from rejects where line = 6")[0][0]
    assert json.loads(raw)["session_id"] == (bad["session_id"] or None)
    # good rows loaded regardless
    expected_sessions = 2 if case == "session with two children" else 3
    assert query(db, "select count(*) from sessions")[0][0] == expected_sessions


SYNONYM_CASES = [
    ("modality", "Occupational Therapy", "OT"), ("modality", "SLP", "speech"),
    ("modality", "Speech-Language", "speech"), ("modality", "Play Therapy", "play"),
    ("modality", "Cognitive Behavioural Therapy", "CBT"), ("modality", " cbt ", "CBT"),
    ("approach", "child led", "child-led"), ("approach", "Child-Led", "child-led"),
    ("approach", "therapist-directed", "directed"), ("approach", "adult-led", "directed"),
    ("attendance", "No Show", "no-show"), ("attendance", "Late Cancel", "late-cancelled"),
    ("attendance", "", "attended"), ("setting", "Home Visit", "home"), ("setting", "VIDEO", "telehealth"),
]


@pytest.mark.parametrize("column,spelling,canonical", SYNONYM_CASES)
def test_value_synonyms_are_accepted_case_insensitively(tmp_path, column, spelling, canonical):
    r = row(**{column: spelling})
    if column == "attendance" and canonical != "attended":
        r["engagement"] = ""
    f = write_csv(tmp_path / "e.csv", [r])
    db = tmp_path / "p.duckdb"
    load([f], db=db, today=TODAY)
    assert query(db, "select count(*) from rejects")[0][0] == 0
    assert query(db, f"select {column} from sessions")[0][0] == canonical


@pytest.mark.parametrize("text", ["=cmd|' /C calc'!A0", "+SUM(A1:A2)", "-2+3", "@SUM(1)"])
def test_formula_looking_cells_stay_plain_text(tmp_path, text):
    f = write_csv(tmp_path / "f.csv", [row(team=text)])
    db = tmp_path / "p.duckdb"
    load([f], db=db, today=TODAY)
    assert query(db, "select team from sessions")[0][0] == text
    from reports.cells import safe_cell
    assert safe_cell(text) == "'" + text


def unusable_cases(tmp: Path):
    (tmp / "empty.csv").write_bytes(b"")
    (tmp / "binary.csv").write_bytes(bytes(range(256)) * 40)
    write_csv(tmp / "nocols.csv", [{"Name": "x", "Visit": "y"}], header=["Name", "Visit"])
    write_csv(tmp / "ambiguous.csv", [row(session_date="03/04/2026", date_of_birth="01/02/2019")])
    write_csv(tmp / "mixed.csv", [row(session_date="13/04/2026"), row(session_id="S2", session_date="04/13/2026")])
    (tmp / "legacy.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600)
    # an appointments export without its appointment id: only the child id is a column any profile
    # has, and an id alone does not make a children file (it was loaded as one: 2 "children", no sessions)
    appts = ["Client ID", "Date of Service", "Service Type", "Clinician", "Appointment Status"]
    write_csv(tmp / "appointments_no_id.csv", [dict(zip(appts, ["C1", "2026-08-07", "Occupational Therapy", "T1",
                                                                "Show"]))], header=appts)
    write_csv(tmp / "ids_only.csv", [{"Client ID": "C1", "Goal ID": "G1"}], header=["Client ID", "Goal ID"])
    return [
        ("appointments_no_id.csv", "no profile fits these headers"),
        ("ids_only.csv", "no profile fits these headers"),
        ("empty.csv", "the file is empty"),
        ("binary.csv", "binary content"),
        ("nocols.csv", "missing required column"),
        ("ambiguous.csv", "could be day-first or month-first"),
        ("mixed.csv", "both day-first and month-first"),
        ("legacy.xls", "old binary Excel"),
    ]


def test_unusable_files_fail_with_a_message_naming_the_file_and_change_nothing(tmp_path):
    db = tmp_path / "p.duckdb"
    load([write_csv(tmp_path / "good.csv", good_rows())], db=db, today=TODAY)
    before = status(db)
    for name, fragment in unusable_cases(tmp_path):
        report = load([tmp_path / name], db=db, today=TODAY)
        (f,) = report.files
        assert f.status == "failed" and fragment in f.message and name in f.message, f.message
    after = status(db)
    assert {k: before[k] for k in ("files", "sessions", "goal_ratings", "rejected_rows")} == \
           {k: after[k] for k in ("files", "sessions", "goal_ratings", "rejected_rows")}


def test_missing_columns_error_lists_closest_headers(tmp_path):
    header = ["Sesion ID", "Child", "Therapist ID", "Session Date", "Modality", "Approach"]
    f = write_csv(tmp_path / "typo.csv", [dict(zip(header, ["S1", "C1", "T1", "2026-01-01", "OT", "mixed"]))],
                  header=header)
    (rep,) = load([f], db=tmp_path / "p.duckdb", today=TODAY).files
    assert rep.status == "failed"
    assert "session_id (closest headers: 'Sesion ID')" in rep.message
    assert "child_id (closest headers: 'Child')" in rep.message


def test_header_only_file_loads_nothing_without_error(tmp_path):
    f = write_csv(tmp_path / "h.csv", [])
    (rep,) = load([f], db=tmp_path / "p.duckdb", today=TODAY).files
    assert rep.status == "loaded" and rep.rows_loaded == 0 and "no data rows" in rep.message


def test_ragged_csv_row_is_rejected_with_its_line(tmp_path):
    f = write_csv(tmp_path / "r.csv", good_rows())
    with open(f, "a") as fh:
        fh.write("S7,C1,T1,North,2026-01-20,OT,mixed,2019-04-03,attended,45,clinic,4,,,,,,,EXTRA\n")
        fh.write("S8,C1,T1,North,2026-01-21,OT,mixed,2019-04-03,attended,45,clinic,4,,,,,,\n")
    db = tmp_path / "p.duckdb"
    load([f], db=db, today=TODAY)
    rej = query(db, "select line, reason from rejects")
    assert [r[0] for r in rej] == [6] and "too many columns" in rej[0][1]
    lines = query(db, "select line from src_sessions where session_id = 'S8'")
    assert lines == [(7,)], "line numbers after a rejected record stay true"


@pytest.mark.parametrize("delimiter,encoding", [(",", "utf-8"), (";", "utf-8"), ("\t", "utf-8"),
                                                (",", "utf-8-sig"), (";", "latin-1")])
def test_csv_dialects_and_encodings(tmp_path, delimiter, encoding):
    rows = good_rows()
    rows[2]["team"] = "Équipe Nord"  # session S2 (one line: the session's team is its last line's)
    f = write_csv(tmp_path / "d.csv", rows, delimiter=delimiter, encoding=encoding)
    db = tmp_path / "p.duckdb"
    (rep,) = load([f], db=db, today=TODAY).files
    assert rep.status == "loaded" and rep.rows_rejected == 0, rep.message
    assert query(db, "select count(*) from sessions")[0][0] == 3
    assert "Équipe Nord" in {r[0] for r in query(db, "select team from src_sessions")}


def test_day_first_dates_are_read_when_the_file_settles_it(tmp_path):
    rows = [row(session_date="13/01/2026", date_of_birth="03/04/2019"),
            row(session_id="S2", session_date="02/03/2026", date_of_birth="03/04/2019")]
    f = write_csv(tmp_path / "dmy.csv", rows)
    db = tmp_path / "p.duckdb"
    load([f], db=db, today=TODAY)
    dates = [r[0] for r in query(db, "select session_date from sessions order by session_id")]
    assert dates == [dt.date(2026, 1, 13), dt.date(2026, 3, 2)]
    assert query(db, "select distinct date_of_birth from src_sessions")[0][0] == dt.date(2019, 4, 3)


def test_profile_with_stated_format_reads_ambiguous_dates(tmp_path):
    vendor = ["Appointment ID", "Client ID", "Clinician", "Date of Service", "Service Type", "Session Approach",
              "Client DOB", "Appointment Status", "Client Name"]
    rows = [dict(zip(vendor, ["A1", "C1", "T1", "03/04/2026", "Speech-Language Pathology", "Child Led",
                              "01/02/2019", "Attended", "Child 0001"]))]
    f = write_csv(tmp_path / "v.csv", rows, header=vendor, delimiter=";")
    db = tmp_path / "p.duckdb"
    (rep,) = load([f], db=db, profile="vendor_pms", today=TODAY).files
    assert rep.status == "loaded", rep.message
    assert rep.dropped_columns == ["Client Name"] and "never stored" in rep.message
    assert query(db, "select session_date, modality, approach from sessions")[0] == \
        (dt.date(2026, 4, 3), "speech", "child-led")
    # the vendor profile is also chosen automatically from the headers
    (rep2,) = load([f], db=tmp_path / "q.duckdb", today=TODAY).files
    assert rep2.profile == "vendor_pms"


def test_excel_and_parquet_load_like_csv(tmp_path):
    import pandas as pd

    frame = pd.DataFrame(good_rows())
    xlsx = tmp_path / "e.xlsx"
    with pd.ExcelWriter(xlsx, engine="xlsxwriter") as xw:
        pd.DataFrame({"note": ["cover sheet"]}).to_excel(xw, sheet_name="Cover", index=False)
        frame.assign(session_date=pd.to_datetime(frame.session_date),
                     engagement=pd.to_numeric(frame.engagement)).to_excel(xw, sheet_name="Sessions", index=False)
    pq = tmp_path / "e.parquet"
    frame.to_parquet(pq)
    for path, extra in ((xlsx, {"sheet": "Sessions"}), (pq, {})):
        db = tmp_path / f"{path.suffix[1:]}.duckdb"
        (rep,) = load([path], db=db, today=TODAY, **extra).files
        assert rep.status == "loaded" and rep.rows_rejected == 0, rep.message
        assert query(db, "select count(*), (select sum(value) from observations where measure = 'engagement') "
                         "from sessions")[0] == (3, 7)
    (rep,) = load([xlsx], db=tmp_path / "x.duckdb", today=TODAY, sheet="Nope").files
    assert rep.status == "failed" and "no sheet named 'Nope'" in rep.message and "Sessions" in rep.message


def test_loading_the_same_file_twice_changes_nothing(tmp_path):
    f = write_csv(tmp_path / "a.csv", good_rows())
    db = tmp_path / "p.duckdb"
    load([f], db=db, today=TODAY)
    first = status(db)
    copy = tmp_path / "renamed copy.csv"
    copy.write_bytes(f.read_bytes())
    report = load([f, copy], db=db, today=TODAY)
    assert [r.status for r in report.files] == ["skipped", "skipped"]
    again = status(db)
    for k in ("files", "sessions", "children", "goal_ratings", "rejected_rows", "rows_stored"):
        assert first[k] == again[k], k


def test_overlapping_export_does_not_double_count_and_corrections_win(tmp_path):
    db = tmp_path / "p.duckdb"
    jan = write_csv(tmp_path / "jan.csv", good_rows())
    feb_rows = [
        row(session_id="S2", session_date="2026-01-19", approach="directed", engagement="5"),  # correction
        row(session_id="S1", goal_id="G1", goal_domain="motor", gas_level="0"),               # correction
        row(session_id="S4", session_date="2026-02-02", engagement="2"),                        # new
    ]
    feb = write_csv(tmp_path / "feb.csv", feb_rows)
    load([jan], db=db, today=TODAY)
    load([feb], db=db, today=TODAY)
    assert query(db, "select count(*) from sessions")[0][0] == 4
    assert query(db, ENGAGEMENT, {"s": "S2"})[0][0] == 5
    assert query(db, "select gas_level from goal_ratings where goal_id = 'G1'")[0][0] == 0
    assert query(db, "select count(*) from goal_ratings")[0][0] == 2
    # rebuild from the archive alone gives the same warehouse
    before = query(db, "select * from sessions order by session_id")
    rebuild(db)
    assert query(db, "select * from sessions order by session_id") == before
    assert status(db)["files"] == 2


def run_cli(*args, env=None, cwd=REPO) -> subprocess.CompletedProcess:
    e = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "pipelines", *map(str, args)], cwd=cwd, env=e,
                          capture_output=True, text=True, timeout=300)


def test_crash_mid_load_leaves_the_warehouse_as_it_was(tmp_path):
    db = tmp_path / "p.duckdb"
    a = write_csv(tmp_path / "a.csv", good_rows())
    b = write_csv(tmp_path / "b.csv", [row(session_id="S5", session_date="2026-03-01")])
    c = write_csv(tmp_path / "c.csv", [row(session_id="S6", session_date="2026-03-08")])
    assert run_cli("load", a, "--db", db).returncode == 0
    before = raw_tables(db)
    crashed = run_cli("load", b, c, "--db", db, env={"PIPELINES_FAULT": "after_file:1"})
    assert crashed.returncode == 75
    assert raw_tables(db) == before
    ok = run_cli("load", b, c, "--db", db)
    assert ok.returncode == 0, ok.stderr
    assert query(db, "select count(*) from sessions")[0][0] == 5
    assert not list(tmp_path.glob("*.building-*"))


def test_reader_is_not_blocked_and_never_sees_a_half_load(tmp_path):
    db = tmp_path / "p.duckdb"
    load([write_csv(tmp_path / "a.csv", good_rows())], db=db, today=TODAY)
    reader = warehouse.connect_reader(db)
    assert reader.execute("select count(*) from sessions").fetchall()[0][0] == 3
    b = write_csv(tmp_path / "b.csv", [row(session_id="S5", session_date="2026-03-01")])
    done = run_cli("load", b, "--db", db)  # another process writes while we hold a reader
    assert done.returncode == 0, done.stderr
    assert reader.execute("select count(*) from sessions").fetchall()[0][0] == 3  # old snapshot
    fresh = warehouse.connect_reader(db)
    assert fresh.execute("select count(*) from sessions").fetchall()[0][0] == 4
    reader.close()
    fresh.close()


def test_cli_unusable_file_is_one_line_without_traceback(tmp_path):
    (tmp_path / "bad.csv").write_bytes(b"\x00\x01\x02" * 100)
    r = run_cli("load", tmp_path / "bad.csv", "--db", tmp_path / "p.duckdb")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "bad.csv" in r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("error: bad.csv: binary content")


def test_cli_status_json_and_rejects(tmp_path):
    db = tmp_path / "p.duckdb"
    f = write_csv(tmp_path / "a.csv", good_rows() + [row(session_id="S9", engagement="9")])
    r = run_cli("load", f, "--db", db)
    assert r.returncode == 0 and "1 rejected" in r.stdout
    s = json.loads(run_cli("status", "--db", db, "--json").stdout)
    assert (s["files"], s["sessions"], s["children"], s["goal_ratings"], s["rejected_rows"]) == (1, 3, 2, 2, 1)
    out = run_cli("rejects", "--db", db).stdout.splitlines()
    assert out[0] == "file,line,column,value,reason" and out[1].startswith("a.csv,6,engagement,9,")


# Values the contract accepts at its edges: (column, text, the value stored in the raw tables)
EDGE_VALUES = [
    ("goal_domain", "Fine Motor", "motor"),          # a profile synonym
    ("goal_domain", "Emotional Regulation", "emotional regulation"),
    ("goal_domain", "anxiety", "anxiety"),            # a domain of the canonical profile (docs/contract.md)
    ("duration_min", "45.0", 45),
    ("duration_min", "1", 1),
    ("goal_weight", "0.5", 0.5),
    ("measure_score", "113.75", 113.75),            # unrounded, at the top of SCAS-P's range (measures.toml)
    ("measure_score", "0", 0.0),                    # a zero is a zero
    ("date_of_birth", "2001-01-12", dt.date(2001, 1, 12)),  # 25 on the session date 2026-01-12
]


# where the raw tables keep each column (the session's, its goal's, its measure's)
STORED = {"goal_domain": "select goal_domain from src_goals", "duration_min": "select duration_min from src_sessions",
          "goal_weight": "select goal_weight from src_goals", "date_of_birth": "select date_of_birth from src_sessions",
          "measure_score": "select value from src_observations where measure = 'SCAS-P'"}


@pytest.mark.parametrize("column,text,stored", EDGE_VALUES, ids=[f"{c}={t}" for c, t, _ in EDGE_VALUES])
def test_values_at_the_edges_of_the_contract_load(tmp_path, column, text, stored):
    r = row(**{**dict(goal_id="G1", gas_level="0", measure="SCAS-P", measure_score="10"), column: text})
    db = tmp_path / "p.duckdb"
    load([write_csv(tmp_path / "e.csv", [r])], db=db, today=TODAY)
    assert query(db, "select reason from rejects") == []
    assert query(db, STORED[column])[0][0] == stored


# ---------------------------------------------------------------------------------------------
# Hostile files: whatever arrives, no traceback, no hang, and every data row is either loaded
# or rejected with file, line and reason. Each case counts its data rows by construction.

@dataclass
class Hostile:
    path: Path
    data_rows: int                      # data records written, counted by construction
    rejected: set[int] | None = None    # lines expected in rejects (None: not checked)
    reason: str = ""                    # fragment expected in the reason of each rejected line
    via: str = "load"                   # load | cli | upload
    refused: tuple[str, ...] = ()       # the upload is refused as a whole with these message fragments
    check: Callable[[Path], None] | None = None  # more assertions on the warehouse
    extra: list[Path] = field(default_factory=list)  # good files loaded in the same run


def numbered(n: int, **kw) -> list[dict]:
    """``n`` good rows with distinct sessions (40 children, dates in 2026)."""
    return [row(session_id=f"S{i:06d}", child_id=f"C{i % 40:03d}",
                session_date=(dt.date(2026, 1, 5) + dt.timedelta(days=i % 280)).isoformat(), **kw)
            for i in range(n)]


def csv_lines(rows: list[dict], header=HEADER) -> list[str]:
    """The CSV text of ``rows`` as lines (line 1 is the header)."""
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue().splitlines(keepends=True)


def write_lines(path: Path, lines: list[str], encoding="utf-8") -> Path:
    path.write_bytes("".join(lines).encode(encoding))
    return path


def write_xlsx(path: Path, header: list[str], rows: Iterable[list[str]], sheet: str = "Sessions") -> Path:
    """A minimal .xlsx (inline strings, streamed) -- it can hold what Excel itself would refuse."""
    parts = {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        f'<sheet name="{sheet}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, '<?xml version="1.0" encoding="UTF-8"?>' + text)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
            f.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet '
                    b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            for r, values in enumerate([header, *rows], start=1):
                f.write(f'<row r="{r}">'.encode() + b"".join(
                    f'<c t="inlineStr"><is><t>{escape(str(v))}</t></is></c>'.encode() for v in values) + b"</row>")
            f.write(b"</sheetData></worksheet>")
    return path


def loaded_values(db: Path, sql: str) -> set:
    return {r[0] for r in query(db, sql)}


def h_unterminated_quote_mid_large(tmp: Path) -> Hostile:
    lines = csv_lines(numbered(50_000))
    lines[5000] = lines[5000].replace(",North,", ',"x North,', 1)   # line 5,001: ,"x never closes
    return Hostile(write_lines(tmp / "quote.csv", lines), 50_000, {5001}, "unterminated quote", via="cli")


def h_stray_quote_pairs_with_a_later_quote(tmp: Path) -> Hostile:
    rows = numbered(2_000)
    for i in (1_499, 1_799):
        rows[i]["team"] = "North, East"                          # legitimately quoted by the writer
    lines = csv_lines(rows)
    lines[1000] = lines[1000].replace(",North,", ',"North,', 1)  # line 1,001: a stray quote

    def check(db):
        assert query(db, "select count(*) from src_sessions where team = 'North, East'")[0][0] == 2
    return Hostile(write_lines(tmp / "pairs.csv", lines), 2_000, {1001}, "unterminated quote", check=check)


def h_stray_quote_closed_by_a_quote_nearby(tmp: Path) -> Hostile:
    rows = numbered(100)
    rows[18]["team"] = "North, East"                             # line 20, quoted by the writer
    lines = csv_lines(rows)
    lines[9] = lines[9].replace(",North,", ',"North,', 1)       # line 10: its quote pairs with line 20's

    def check(db):
        assert query(db, "select line from src_sessions where team = 'North, East'") == [(20,)]
        assert "would take in the next 10 lines" in query(db, "select reason from rejects")[0][0]
    return Hostile(write_lines(tmp / "near.csv", lines), 100, {10}, "unterminated quote", check=check)


def h_unterminated_quote_in_last_column(tmp: Path) -> Hostile:
    lines = csv_lines(numbered(2_000))
    lines[9] = lines[9].rstrip("\n") + '"12\n'                  # line 10: measure_score opens a quote
    return Hostile(write_lines(tmp / "last.csv", lines), 2_000, {10}, "unterminated quote")


def h_unterminated_quote_on_the_last_line(tmp: Path) -> Hostile:
    lines = csv_lines(numbered(300))
    lines[-1] = lines[-1].replace(",North,", ',"North,', 1)
    return Hostile(write_lines(tmp / "end.csv", lines), 300, {301}, "unterminated quote")


def h_quoted_note_over_two_lines(tmp: Path) -> Hostile:
    header = HEADER + ["notes"]
    rows = numbered(20)
    rows[0]["notes"] = "seemed tired,\nleft early"              # a legitimate quoted line break
    rows[5]["engagement"] = "9"                                 # line 8 (the note spans lines 2-3)

    def check(db):
        assert query(db, "select line from src_sessions where session_id = 'S000006'") == [(9,)]
    return Hostile(write_lines(tmp / "note.csv", csv_lines(rows, header)), 20, {8}, "engagement", check=check)


def h_blank_lines(tmp: Path) -> Hostile:
    lines = csv_lines(numbered(20))
    lines[6] = lines[6].replace(",4,", ",9,", 1)               # line 8 after the blank line is bad
    lines.insert(3, "\n")                                     # a blank line 4
    lines += ["\n", "\n"]

    def check(db):
        assert query(db, "select line from src_sessions where session_id = 'S000019'") == [(22,)]
    return Hostile(write_lines(tmp / "blank.csv", lines), 20, {8}, "engagement", check=check)


def h_line_of_50_mb(tmp: Path) -> Hostile:
    header = HEADER + ["notes"]
    rows = numbered(10)
    rows[2]["notes"] = "x" * 50_000_000
    return Hostile(write_lines(tmp / "long.csv", csv_lines(rows, header)), 10, {4}, "longer than 2 MB", via="cli")


def h_line_of_3_mb(tmp: Path) -> Hostile:
    header = HEADER + ["notes"]
    rows = numbered(10)
    rows[2]["notes"] = "x" * 3_000_000
    return Hostile(write_lines(tmp / "long3.csv", csv_lines(rows, header)), 10, {4}, "longer than 2 MB")


def utf8_names_file(tmp: Path, name: str, line: int, column: str) -> Path:
    """A UTF-8 export (Zoë-01, Nörth) with one invalid byte \\xff in ``column`` of ``line``."""
    header = HEADER + ["notes"]
    rows = numbered(30, team="Nörth")
    for r in rows[:10]:
        r["child_id"] = "Zoë-01"
    rows[line - 2][column] = "ok MARK"
    path = tmp / name
    path.write_bytes("".join(csv_lines(rows, header)).encode("utf-8").replace(b"MARK", b"\xff"))
    return path


def names_intact(db: Path) -> None:
    children = loaded_values(db, "select child_id from src_sessions")
    assert "Zoë-01" in children and not any("Ã" in c for c in children)
    assert loaded_values(db, "select team from src_sessions") == {"Nörth"}


def h_stray_ff_in_an_ignored_column(tmp: Path) -> Hostile:
    # the file stays UTF-8; the byte is in a column never read, so its row loads as it is
    return Hostile(utf8_names_file(tmp, "ff.csv", 5, "notes"), 30, set(), check=names_intact)


def h_stray_ff_in_a_used_column(tmp: Path) -> Hostile:
    def check(db):
        names_intact(db)
        assert query(db, "select column_name from rejects") == [("team",)]
        assert "column 'team' (column 4)" in query(db, "select reason from rejects")[0][0]
    return Hostile(utf8_names_file(tmp, "ff_team.csv", 7, "team"), 30, {7}, "not valid UTF-8", check=check)


def h_consistent_latin_1(tmp: Path) -> Hostile:
    rows = numbered(30, team="Nörth")
    for r in rows[:10]:
        r["child_id"] = "Zoë-01"

    def check(db):
        assert "Zoë-01" in loaded_values(db, "select child_id from src_sessions")
        assert loaded_values(db, "select team from src_sessions") == {"Nörth"}
    return Hostile(write_lines(tmp / "latin.csv", csv_lines(rows), "latin-1"), 30, set(), check=check)


def h_header_field_over_131072(tmp: Path) -> Hostile:
    header = HEADER + ["x" * 140_000]
    rows = numbered(5)
    return Hostile(write_lines(tmp / "wide.csv", csv_lines(rows, header)), 5, set(), via="cli")


def h_non_finite_and_off_contract_values(tmp: Path) -> Hostile:
    rows = numbered(12, goal_id="G1", goal_domain="motor", gas_level="0")
    bad = {3: dict(goal_weight="inf"), 4: dict(goal_weight="NaN"), 5: dict(measure="SCAS-P", measure_score="inf"),
           6: dict(measure="SCAS-P", measure_score="-inf"), 7: dict(measure="SCAS-P", measure_score="NaN"),
           8: dict(goal_domain="astrology"), 9: dict(date_of_birth="0001-01-01"), 10: dict(duration_min="0.4")}
    for i, change in bad.items():
        rows[i].update(change)
    good = write_csv(tmp / "good.csv", [row(session_id="G-1", session_date="2026-02-02")])
    return Hostile(write_csv(tmp / "values.csv", rows), 12, {i + 2 for i in bad}, via="cli", extra=[good])


def h_xlsx_with_a_huge_cell(tmp: Path) -> Hostile:
    header = HEADER + ["notes"]
    rows = [[r[h] for h in HEADER] + [""] for r in numbered(20)]
    rows[3][-1] = "y" * 1_000_000                              # Excel itself stops at 32,767 characters
    return Hostile(write_xlsx(tmp / "cell.xlsx", header, rows), 20, {5}, "more than 32,767 characters",
                   via="upload")


def h_xlsx_with_too_many_rows(tmp: Path) -> Hostile:
    rows = ([r[h] for h in HEADER] for r in numbered(100_001))
    return Hostile(write_xlsx(tmp / "rows.xlsx", HEADER, rows), 100_001, via="upload",
                   refused=("rows.xlsx: 100,001 data rows in sheet 'Sessions'", "more than the 100,000",
                            "[uploads] max_rows"))


def h_xlsx_bomb(tmp: Path) -> Hostile:
    header = HEADER + ["notes"]
    rows = [[r[h] for h in HEADER] + [""] for r in numbered(3)]
    rows[1][-1] = "z" * 130 * 1024 * 1024                      # 130 MB of cell text in a small zip
    return Hostile(write_xlsx(tmp / "bomb.xlsx", header, rows), 3, via="upload",
                   refused=("bomb.xlsx: unpacks to 130 MB", "more than the 120 MB", "[uploads] max_uncompressed_mb"))


HOSTILE = [h_unterminated_quote_mid_large, h_stray_quote_pairs_with_a_later_quote, h_stray_quote_closed_by_a_quote_nearby,
           h_unterminated_quote_in_last_column, h_unterminated_quote_on_the_last_line, h_quoted_note_over_two_lines,
           h_blank_lines, h_line_of_50_mb, h_line_of_3_mb, h_stray_ff_in_an_ignored_column, h_stray_ff_in_a_used_column,
           h_consistent_latin_1,
           h_header_field_over_131072, h_non_finite_and_off_contract_values, h_xlsx_with_a_huge_cell,
           h_xlsx_with_too_many_rows, h_xlsx_bomb]


@pytest.mark.parametrize("build", HOSTILE, ids=[b.__name__[2:] for b in HOSTILE])
def test_hostile_file_loses_no_row(tmp_path, build):
    from access import uploads

    h = build(tmp_path)
    db = tmp_path / "p.duckdb"
    started = time.perf_counter()
    if h.via == "cli":
        r = run_cli("load", h.path, *h.extra, "--db", db)
        assert "Traceback" not in r.stdout + r.stderr, r.stderr
        assert r.returncode == 0, r.stderr
    elif h.via == "upload":
        try:
            report = uploads.load_uploaded([(h.path.name, h.path.read_bytes())], db)
        except uploads.UploadRefused as exc:
            assert h.refused and all(part in str(exc) for part in h.refused), str(exc)
            assert not db.exists()   # refused as a whole: nothing loaded, the user is told why
            assert time.perf_counter() - started < 60
            return
        assert not h.refused, f"not refused: {report.files[0].message}"
        assert report.files[0].status == "loaded", report.files[0].message
    else:
        report = load([h.path, *h.extra], db=db, today=TODAY)
        assert all(f.status == "loaded" for f in report.files), [f.message for f in report.files]
    assert time.perf_counter() - started < 60
    (file_id,) = query(db, "select file_id from files where original_name = $n", {"n": h.path.name})[0]
    loaded = query(db, "select count(*) from src_sessions where file_id = $f", {"f": file_id})[0][0]
    rejects = query(db, "select line, reason from rejects where file_id = $f", {"f": file_id})
    rejected_lines = {line for line, _ in rejects}
    assert loaded + len(rejected_lines) == h.data_rows, (loaded, sorted(rejected_lines)[:10], rejects[:3])
    if h.rejected is not None:
        assert rejected_lines == h.rejected, rejects[:5]
    for line in rejected_lines:
        assert any(h.reason in reason for ln, reason in rejects if ln == line), rejects[:5]
    for extra in h.extra:
        assert query(db, "select rows_loaded from files where original_name = $n", {"n": extra.name}) == [(1,)]
    if h.check:
        h.check(db)
