"""Measures (issue 13, items 1, 2 and 9): the catalogue ``measures.toml`` and measures in either
shape for the ``sessions`` source. Every value is checked against its measure's kind (the
reason names the measure and the rule, and nothing already loaded changes), an unknown measure
is a rejected row, nothing is rounded, an empty cell is missing and a zero is a zero, the wide
and the long form of the same data give the same marts, and an emptied cell in a newer export
clears the older value. Real files, real loads, real DuckDB."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import measures, profiles, warehouse
from pipelines.load import load

REPO = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 1)
SESSION = ["session_id", "child_id", "therapist_id", "team", "session_date", "modality", "approach", "attendance"]
WIDE = SESSION + ["engagement", "on_task", "protests", "goal_id", "goal_domain", "gas_level", "goal_weight",
                  "measure", "measure_score"]
LONG = SESSION + ["goal_id", "goal_domain", "goal_weight", "measure", "value", "trials_correct", "trials_total"]
MARTS = ("sessions", "observations", "goal_ratings", "measures", "goals", "children")


def session(**kw) -> dict:
    base = dict(session_id="S1", child_id="C1", therapist_id="T1", team="North", session_date="2026-06-01",
                modality="speech", approach="child-led", attendance="attended")
    base.update(kw)
    return base


def write(path: Path, header: list[str], rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header, restval="")
        w.writeheader()
        w.writerows(rows)
    return path


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = warehouse.connect_reader(db)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def marts(db: Path, exclude: str = "") -> dict[str, list[tuple]]:
    return {m: query(db, f"select * {exclude if m == 'sessions' else ''} from {m} order by all") for m in MARTS}


def values(db: Path) -> list[tuple]:
    return query(db, "select session_id, measure, goal_id, value, trials_correct, trials_total from observations "
                     "order by all")


# --------------------------------------------------------------------------- the catalogue

def test_the_shipped_catalogue_lists_the_measures_the_issue_names():
    cat = measures.catalogue()
    assert {"engagement", "gas", "goal_trials", "on_task", "protests", "disruptive", "SCAS-P", "RCADS-25",
            "SDQ-TD", "COPM-P", "FOCUS-34"} <= set(cat)
    eng, protests, scas = cat["engagement"], cat["protests"], cat["SCAS-P"]
    assert (eng.kind, eng.min, eng.max, eng.step, eng.direction, eng.level, eng.good) == \
        ("rating", 1, 5, 1, "higher", "session", 4)
    assert (protests.kind, protests.direction, protests.sign) == ("count", "lower", -1)
    assert (scas.sd, scas.reliability, scas.higher_is_better, scas.min, scas.max) == (17.0, 0.89, False, 0, 114)
    assert cat["on_task"].rule == "a percent must be from 0 to 100"
    assert cat["gas"].rule == "a rating must be a whole number from -3 to +2"


def catalogue_text(extra: str = "", replace: tuple[str, str] | None = None) -> str:
    text = (REPO / "measures.toml").read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    return text + extra


BAD_CATALOGUES = [
    ("unknown kind", '\n[measure.x]\nkind = "percentage"\ndirection = "higher"\nlevel = "session"\n',
     r"cat\.toml: measure 'x': kind = 'percentage': expected one of rating, percent, count"),
    ("rating without max", '\n[measure.x]\nkind = "rating"\nmin = 0\ndirection = "higher"\nlevel = "session"\n',
     r"measure 'x': max is missing \(a rating needs min and max\)"),
    ("min above max", '\n[measure.x]\nkind = "rating"\nmin = 5\nmax = 1\ndirection = "higher"\nlevel = "session"\n',
     r"measure 'x': min = 5 must be below max = 1"),
    ("min on a percent", '\n[measure.x]\nkind = "percent"\nmin = 0\ndirection = "higher"\nlevel = "session"\n',
     r"measure 'x': min: only a rating has min and max"),
    ("unknown key", '\n[measure.x]\nkind = "count"\ndirection = "lower"\nlevel = "session"\nunits = "n"\n',
     r"measure 'x': unknown key 'units'"),
    ("no direction", '\n[measure.x]\nkind = "count"\nlevel = "session"\n', r"measure 'x': direction is missing"),
    ("bad level", '\n[measure.x]\nkind = "count"\ndirection = "lower"\nlevel = "week"\n',
     r"measure 'x': level = 'week': expected one of session, goal"),
    ("sd without reliability",
     '\n[measure.x]\nkind = "rating"\nmin = 0\nmax = 9\ndirection = "lower"\nlevel = "session"\nsd = 3\n',
     r"measure 'x': reliability is missing"),
    ("reliability of 1",
     '\n[measure.x]\nkind = "rating"\nmin = 0\nmax = 9\ndirection = "lower"\nlevel = "session"\nsd = 3\n'
     'reliability = 1.0\n', r"measure 'x': reliability = 1: expected a number from 0 to below 1"),
    ("a text number", '\n[measure.x]\nkind = "count"\ndirection = "lower"\nlevel = "session"\nstep = "1"\n',
     r"measure 'x': step = '1': expected a \(finite\) number"),
    ("step zero", '\n[measure.x]\nkind = "count"\ndirection = "lower"\nlevel = "session"\nstep = 0\n',
     r"measure 'x': step = 0: expected a number above 0"),
    ("good out of range", '\n[measure.x]\nkind = "percent"\ndirection = "higher"\nlevel = "session"\ngood = 120\n',
     r"measure 'x': good = 120 is outside the measure's values \(a percent must be from 0 to 100\)"),
    ("an id with a space", '\n[measure."on task"]\nkind = "percent"\ndirection = "higher"\nlevel = "session"\n',
     r"measure 'on task': an id has letters, digits, _ and - only"),
    ("attended_only not a flag", '\n[measure.x]\nkind = "count"\ndirection = "lower"\nlevel = "session"\n'
     'attended_only = "no"\n', r"measure 'x': attended_only = 'no': expected true or false"),
    ("GAS with fractional levels", "", r"measure 'gas': GAS levels are whole numbers per goal"),
    ("not TOML", "\n[measure.x\n", r"cat\.toml: not valid TOML"),
    ("a top-level key", '\nversion = 2\n', r"cat\.toml: unknown top-level key 'version'"),
]


@pytest.mark.parametrize("case,extra,message", BAD_CATALOGUES, ids=[c[0] for c in BAD_CATALOGUES])
def test_a_malformed_catalogue_is_one_line_naming_the_file_the_measure_and_the_key(tmp_path, case, extra, message):
    replace = ('max = 2\nstep = 1\n', 'max = 2\nstep = 0.5\n') if case == "GAS with fractional levels" else None
    if case == "a top-level key":
        text = extra + catalogue_text()
    else:
        text = catalogue_text(extra, replace)
    p = tmp_path / "cat.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(measures.MeasuresError, match=message) as err:
        measures.catalogue(p)
    assert "\n" not in str(err.value)


def test_a_malformed_catalogue_stops_a_load_in_one_line_and_changes_nothing(tmp_path):
    bad = tmp_path / "cat.toml"
    bad.write_text(catalogue_text('\n[measure.x]\nkind = "percentage"\ndirection = "higher"\nlevel = "session"\n'),
                   encoding="utf-8")
    f = write(tmp_path / "a.csv", WIDE, [session(engagement="4")])
    db = tmp_path / "p.duckdb"
    env = dict(os.environ, PIPELINES_MEASURES=str(bad))
    r = subprocess.run([sys.executable, "-m", "pipelines", "load", str(f), "--db", str(db)], cwd=REPO, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    (line,) = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert line.startswith("error: ") and "cat.toml: measure 'x': kind = 'percentage'" in line
    assert not db.exists()


def test_pipelines_measures_names_another_catalogue_and_a_step_grid_is_checked(tmp_path, monkeypatch):
    cat = tmp_path / "practice_measures.toml"
    cat.write_text(catalogue_text('\n[measure.mood]\nlabel = "Mood"\nunit = "rating 0-10"\nkind = "rating"\n'
                                  'min = 0\nmax = 10\nstep = 0.5\ndirection = "higher"\nlevel = "session"\n'),
                   encoding="utf-8")
    monkeypatch.setenv("PIPELINES_MEASURES", str(cat))
    assert measures.path() == cat and "mood" in measures.catalogue()
    f = write(tmp_path / "a.csv", LONG, [session(measure="mood", value="3.5"),
                                        session(session_id="S2", measure="mood", value="3.25"),
                                        session(session_id="S3", measure="unheard", value="1")])
    db = tmp_path / "p.duckdb"
    load([f], db=db, today=TODAY)
    assert values(db) == [("S1", "mood", None, 3.5, None, None)]
    assert query(db, "select line, column_name, value, reason from rejects order by line") == [
        (3, "value", "3.25", "mood: a rating must be from 0 to 10 in steps of 0.5 (got 3.25)"),
        (4, "measure", "unheard", f"measure 'unheard' is not in the catalogue ({cat})")]
    assert query(db, "select measure, label, unit, step from measure_catalogue where measure = 'mood'") == [
        ("mood", "Mood", "rating 0-10", 0.5)]


# --------------------------------------------------------------------------- values against kinds

def july(folder: Path) -> Path:
    """What is loaded first: S1 (engagement, on-task, protests), S2 (a GAS goal, a standardised
    measure), S3 (trials of a goal, long form in its own file)."""
    write(folder / "trials_2026-07-31.csv", LONG, [
        session(session_id="S3", session_date="2026-06-10", goal_id="G5", measure="goal_trials",
                trials_correct="7", trials_total="10")])
    return write(folder / "export_2026-07-31.csv", WIDE, [
        session(engagement="4", on_task="40", protests="2"),
        session(session_id="S2", session_date="2026-06-08", approach="directed", engagement="3", goal_id="G1",
                goal_domain="communication", gas_level="-1", measure="SCAS-P", measure_score="41")])


# case -> (the form of the newer file, the bad row for the loaded session S1, column, reason)
VALUE_CASES = {
    "percent 140": ("wide", dict(on_task="140"), "on_task", "on_task: a percent must be from 0 to 100 (got 140)"),
    "rating 7": ("wide", dict(engagement="7"), "engagement",
                 "engagement: a rating must be a whole number from 1 to 5 (got 7)"),
    "12 correct of 10": ("long", dict(goal_id="G5", measure="goal_trials", trials_correct="12", trials_total="10"),
                         "trials_correct", "goal_trials: trials need whole numbers: a trials_total of 1 or more "
                                           "and trials_correct from 0 to trials_total (got 12 correct of 10)"),
    "negative count": ("wide", dict(protests="-1"), "protests", "protests: a count must be 0 or more (got -1)"),
    "inf": ("wide", dict(on_task="inf"), "on_task", "on_task: a value must be a finite number (got inf)"),
    "NaN": ("long", dict(measure="protests", value="NaN"), "value",
            "protests: a value must be a finite number (got NaN)"),
    "fractional rating with step": ("wide", dict(engagement="3.5"), "engagement",
                                    "engagement: a rating must be a whole number from 1 to 5 (got 3.5)"),
    "unknown measure": ("long", dict(measure="xyz", value="3"), "measure",
                        "measure 'xyz' is not in the catalogue (measures.toml)"),
    "long-form row without value": ("long", dict(measure="on_task"), "value",
                                    "no value for measure 'on_task' (a long-form row gives one measure's value; "
                                    "leave the row out when nothing was measured)"),
    "trials without total": ("long", dict(goal_id="G5", measure="goal_trials", trials_correct="7"), "trials_total",
                             "goal_trials: 7 trials correct but no trials_total (trials need whole numbers: a "
                             "trials_total of 1 or more and trials_correct from 0 to trials_total)"),
    "text for a number": ("wide", dict(protests="some"), "protests",
                          "protests: 'some' is not a number (a count must be 0 or more)"),
    "percent below zero": ("long", dict(measure="On Task", value="-0.5"), "value",
                           "on_task: a percent must be from 0 to 100 (got -0.5)"),
    "trials of a percent measure": ("long", dict(measure="on_task", trials_correct="3", trials_total="4"),
                                    "trials_correct",
                                    "on_task is a percent measure: trials_correct and trials_total are for trials "
                                    "measures"),
    "a goal measure without a goal": ("long", dict(measure="gas", value="1"), "goal_id",
                                      "gas given without a goal_id (gas is recorded per goal)"),
    "rated in a session not attended": ("wide", dict(attendance="no-show", on_task="50"), "on_task",
                                        "on_task recorded for a session that was not attended (no-show)"),
    "GAS level 4": ("wide", dict(goal_id="G1", gas_level="4"), "gas_level",
                    "gas: a rating must be a whole number from -3 to +2 (got 4)"),
    "a value without a measure": ("long", dict(value="4"), "measure", "value given without the measure name"),
}


@pytest.mark.parametrize("case", list(VALUE_CASES))
def test_a_value_that_does_not_fit_its_measure_is_rejected_with_the_rule_and_nothing_loaded_changes(tmp_path, case):
    form, change, column, reason = VALUE_CASES[case]
    src = tmp_path / "src"
    db = tmp_path / "p.duckdb"
    first = load([src / "trials_2026-07-31.csv", july(src)], db=db, today=TODAY)
    assert [f.rows_rejected for f in first.files] == [0, 0], [f.message for f in first.files]
    before = marts(db)
    # a newer export: the bad row corrects loaded session S1, a good row adds S9
    header = WIDE if form == "wide" else LONG
    good = session(session_id="S9", child_id="C9", session_date="2026-09-01", **({"engagement": "5"} if form == "wide" else
                                                                   {"measure": "engagement", "value": "5"}))
    bad = session(**change)
    newer = write(src / "export_2026-10-31.csv", header, [bad, good])
    profile = str(tmp_path / "long.toml") if "On Task" in change.get("measure", "") else None
    if profile:
        Path(profile).write_text('extends = "canonical"\n[values.measure]\non_task = ["On Task"]\n', encoding="utf-8")
    (rep,) = load([newer], db=db, today=TODAY, profile=profile).files
    assert rep.status == "loaded" and (rep.rows_loaded, rep.rows_rejected) == (1, 1), rep.message
    assert query(db, "select line, column_name, reason from rejects where file_name = $f",
                 {"f": newer.name}) == [(2, column, reason)]
    after = marts(db)
    # nothing of what was loaded changed; only S9 came in
    for m in MARTS:
        kept = [r for r in after[m] if "S9" not in r and "C9" not in r]
        assert kept == before[m], m
    assert query(db, "select count(*) from sessions where session_id = 'S9'") == [(1,)]


# --------------------------------------------------------------------------- zero, empty, unrounded

def test_a_zero_is_a_zero_an_empty_cell_is_missing_and_nothing_is_rounded(tmp_path):
    f = write(tmp_path / "a.csv", WIDE, [
        session(engagement="4", on_task="33.3333333333333", protests="0"),
        session(session_id="S2", session_date="2026-06-08", engagement="", on_task="", protests="",
                measure="COPM-P", measure_score="4.55"),
        session(session_id="S3", session_date="2026-06-09", engagement="5", on_task="0", protests="0.5")])
    db = tmp_path / "p.duckdb"
    load([f], db=db, today=TODAY)
    assert query(db, "select reason from rejects") == []
    assert values(db) == [
        ("S1", "engagement", None, 4.0, None, None), ("S1", "on_task", None, 33.3333333333333, None, None),
        ("S1", "protests", None, 0.0, None, None),
        ("S2", "COPM-P", None, 4.55, None, None),
        ("S3", "engagement", None, 5.0, None, None), ("S3", "on_task", None, 0.0, None, None),
        ("S3", "protests", None, 0.5, None, None)]
    # counted apart: S2 has no on-task value at all, S1's count of protests is zero
    assert query(db, "select count(*), count(*) filter (where value = 0) from observations "
                     "where measure = 'protests'") == [(2, 1)]
    assert query(db, "select count(*) from sessions") == [(3,)]


def test_trials_give_the_percent_correct_and_keep_the_counts(tmp_path):
    f = write(tmp_path / "trials.csv", LONG, [
        session(goal_id="G1", measure="goal_trials", trials_correct="7", trials_total="9"),
        session(goal_id="G2", trials_correct="0", trials_total="4"),        # no measure: goal_trials
        session(session_id="S2", session_date="2026-06-08", goal_id="G1", measure="goal_trials",
                trials_correct="9", trials_total="9")])
    db = tmp_path / "p.duckdb"
    load([f], db=db, today=TODAY)
    assert query(db, "select reason from rejects") == []
    assert values(db) == [("S1", "goal_trials", "G1", 100 * 7 / 9, 7, 9), ("S1", "goal_trials", "G2", 0.0, 0, 4),
                          ("S2", "goal_trials", "G1", 100.0, 9, 9)]
    assert query(db, "select goal_uid, measure, goal_weight from goals order by goal_uid") == [
        ("C1/G1", "goal_trials", 1.0), ("C1/G2", "goal_trials", 1.0)]


# --------------------------------------------------------------------------- the two shapes

def wide_rows() -> list[dict]:
    return [
        session(engagement="4", on_task="40.5", protests="2", goal_id="G1", goal_domain="communication",
                gas_level="-1", goal_weight="2", measure="SCAS-P", measure_score="41"),
        session(engagement="4", on_task="40.5", protests="2", goal_id="G2", goal_domain="social", gas_level="0"),
        session(session_id="S2", session_date="2026-06-08", approach="directed", engagement="3", on_task="0",
                protests=""),
        session(session_id="S3", child_id="C2", session_date="2026-06-09", attendance="cancelled"),
        session(session_id="S4", child_id="C2", session_date="2026-06-16", modality="OT", engagement="5",
                protests="1", measure="COPM-P", measure_score="6.5"),
    ]


def long_rows() -> list[dict]:
    """The same data, one row per session per measure (per goal for GAS)."""
    out = []
    for r in wide_rows():
        base = {k: r[k] for k in SESSION}
        given = [(m, r[m]) for m in ("engagement", "on_task", "protests") if r.get(m, "") != ""]
        given += [(r["measure"], r["measure_score"])] if r.get("measure") else []
        for m, v in given:
            if not any(o.get("measure") == m and o["session_id"] == base["session_id"] for o in out):
                out.append(dict(base, measure=m, value=v))
        if r.get("goal_id"):
            out.append(dict(base, goal_id=r["goal_id"], goal_domain=r["goal_domain"],
                            goal_weight=r.get("goal_weight", ""), measure="gas", value=r["gas_level"]))
        if not given and not r.get("goal_id"):
            out.append(base)   # a session without any measure (cancelled)
    return out


def test_the_wide_and_the_long_form_of_the_same_data_give_the_same_marts(tmp_path):
    wide_db, long_db, mapped_db = tmp_path / "w.duckdb", tmp_path / "l.duckdb", tmp_path / "m.duckdb"
    load([write(tmp_path / "wide.csv", WIDE, wide_rows())], db=wide_db, today=TODAY)
    load([write(tmp_path / "long.csv", LONG, long_rows())], db=long_db, today=TODAY)
    # the wide form again, as a practice's spreadsheet names its columns (a profile's [measures])
    prof = tmp_path / "sheet.toml"
    prof.write_text('extends = "canonical"\n[measures]\nengagement = ["Engagement Rating"]\n'
                    'on_task = ["% intervals on task"]\nprotests = ["Protests"]\n', encoding="utf-8")
    names = {"engagement": "Engagement Rating", "on_task": "% intervals on task", "protests": "Protests"}
    header = [names.get(c, c) for c in WIDE]
    renamed = [{names.get(k, k): v for k, v in r.items()} for r in wide_rows()]
    load([write(tmp_path / "sheet.csv", header, renamed)], db=mapped_db, today=TODAY, profile=str(prof))
    for db in (wide_db, long_db, mapped_db):
        assert query(db, "select reason from rejects") == [], db
    wide = marts(wide_db)
    assert marts(long_db) == wide
    assert marts(mapped_db) == wide
    assert len(wide["observations"]) == 11 and len(wide["goal_ratings"]) == 2 and len(wide["measures"]) == 2
    assert query(wide_db, "select goal_uid, goal_domain, goal_weight from goals order by goal_uid") == [
        ("C1/G1", "communication", 2.0), ("C1/G2", "social", 1.0)]


# --------------------------------------------------------------------------- a newer export's empty cell

def test_an_emptied_cell_in_a_newer_export_clears_the_value_and_an_older_one_clears_nothing(tmp_path):
    src = tmp_path / "src"
    db = tmp_path / "p.duckdb"
    load([write(src / "export_2026-07-31.csv", WIDE, [
        session(engagement="4", on_task="40", protests="2"),
        session(session_id="S2", session_date="2026-06-08", engagement="3", on_task="55", protests="1")])],
        db=db, today=TODAY)
    # October: S1's on-task cell emptied (the therapist removed a wrong value), its protests corrected
    load([write(src / "export_2026-10-31.csv", WIDE, [session(engagement="4", on_task="", protests="3")])],
         db=db, today=TODAY)
    # June, loaded last: older than both, so its values and its empty cells change nothing
    load([write(src / "export_2026-06-30.csv", WIDE, [
        session(engagement="1", on_task="90", protests=""),
        session(session_id="S2", session_date="2026-06-08", engagement="", on_task="", protests="")])],
        db=db, today=TODAY)
    # a November export without the on-task column says nothing of it: S2's value stays
    load([write(src / "export_2026-11-01.csv", SESSION + ["engagement"],
                [session(session_id="S2", session_date="2026-06-08", engagement="5")])], db=db, today=TODAY)
    assert values(db) == [("S1", "engagement", None, 4.0, None, None), ("S1", "protests", None, 3.0, None, None),
                          ("S2", "engagement", None, 5.0, None, None), ("S2", "on_task", None, 55.0, None, None),
                          ("S2", "protests", None, 1.0, None, None)]
    assert query(db, "select value from src_observations where session_ref = 'S1' and measure = 'on_task'") == [
        (None,)]  # kept as a null value, so that the older June value cannot come back


# --------------------------------------------------------------------------- profiles for research exports

def test_a_research_export_loads_with_defaults_derived_ids_and_dates_and_measure_spellings(tmp_path):
    prof = tmp_path / "study.toml"
    prof.write_text("""
name = "study"
extends = "canonical"
[columns]
child_id = ["Case_pseudonym"]
session_number = ["Session_number"]
approach = ["Condition"]
measure = ["Outcome_descriptor"]
value = ["Outcome"]
[values.approach]
directed = ["A"]
child-led = ["B"]
[values.measure]
on_task = ["On Task Behavior"]
disruptive = ["Disruptive Behavior"]
[defaults]
therapist_id = "T-study"
modality = "play"
[derive.session_id]
from = "session_number"
[derive.session_date]
from = "session_number"
start = "2020-01-06"
step_days = 7
""", encoding="utf-8")
    header = ["Outcome_descriptor", "Case_pseudonym", "Session_number", "Condition", "Outcome"]
    rows = [["On Task Behavior", "Faith", "1", "A", "12.5"], ["Disruptive Behavior", "Faith", "1", "A", "22.94446345"],
            ["On Task Behavior", "Faith", "2", "B", "87.0"], ["On Task Behavior", "Lilly", "1", "A", "3.603604"],
            ["On Task Behavior", "Lilly", "x", "A", "50"]]
    f = tmp_path / "study.csv"
    with open(f, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    db = tmp_path / "p.duckdb"
    (rep,) = load([f], db=db, today=TODAY, profile=str(prof)).files
    assert (rep.rows_loaded, rep.rows_rejected) == (4, 1), rep.message
    assert query(db, "select session_id, child_id, therapist_id, modality, approach, session_date from sessions "
                     "order by session_id") == [
        ("Faith/1", "Faith", "T-study", "play", "directed", dt.date(2020, 1, 6)),
        ("Faith/2", "Faith", "T-study", "play", "child-led", dt.date(2020, 1, 13)),
        ("Lilly/1", "Lilly", "T-study", "play", "directed", dt.date(2020, 1, 6))]
    assert values(db) == [("Faith/1", "disruptive", None, 22.94446345, None, None),
                          ("Faith/1", "on_task", None, 12.5, None, None), ("Faith/2", "on_task", None, 87.0, None, None),
                          ("Lilly/1", "on_task", None, 3.603604, None, None)]
    (reason,) = query(db, "select reason from rejects")
    assert "session number must be a whole number" in reason[0]


@pytest.mark.parametrize("text, message", [
    ('[measures]\nxyz = ["X"]\n', r"\[measures\] maps 'xyz', which is not in the catalogue \(measures.toml\)"),
    ('[defaults]\nengagement = "3"\n', r"\[defaults\] engagement: not a canonical column that takes a constant"),
    ('[derive.session_date]\nfrom = "session_number"\nstart = "monday"\nstep_days = 7\n',
     r"\[derive.session_date\]: start = 'monday': expected a date"),
    ('[derive.session_date]\nfrom = "visit"\nstart = "2020-01-06"\nstep_days = 7\n',
     r"\[derive.session_date\]: from = 'visit'"),
    ('[derive.team]\nfrom = "session_number"\n', r"\[derive.team\]: only session_date, session_id can be derived"),
    ('source = "diary"\n', r"source = 'diary': expected one of sessions"),
])
def test_a_profile_with_a_bad_measures_defaults_or_derive_table_is_refused(tmp_path, text, message):
    p = tmp_path / "bad.toml"
    p.write_text('extends = "canonical"\n' + text, encoding="utf-8")
    with pytest.raises(profiles.ProfileError, match=message):
        profiles.load(str(p))
