"""Every SQL file in queries/ runs on the sample practice (``sample_db`` of conftest.py) and
states its grain; the analysis queries filter through one macro
(``queries/macros/filtered_rows.sql``) and honour every filter they claim, and the filters they
ignore are exactly the ones declared here (``IGNORED``)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines import ingest, queries, warehouse

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample" / "canonical"
ALL = sorted(p.stem for p in queries.QUERIES_DIR.rglob("*.sql"))


def test_there_are_queries_in_every_layer():
    assert {queries.path(n).parent.name for n in ALL} == set(queries.LAYERS)


@pytest.mark.parametrize("name", ALL)
def test_query_states_its_grain_and_is_lowercase_sql(name):
    text = queries.sql(name)
    first = text.splitlines()[0]
    grain = ("one row per", "one row:") + (("one value per",) if queries.path(name).parent.name == "macros" else ())
    assert first.startswith("-- ") and any(g in first for g in grain), first
    code = "\n".join(line.split("--")[0] for line in text.splitlines())
    for keyword in ("SELECT ", "FROM ", "WHERE ", "GROUP BY", "JOIN ", "CREATE ", "MACRO ", " AS TABLE"):
        assert keyword not in code, f"{name}: uppercase {keyword.strip()}"


@pytest.mark.parametrize("name", ALL)
def test_query_is_one_statement_a_cte_chain_ending_in_one_select(name):
    code = "\n".join(line.split("--")[0] for line in queries.sql(name).splitlines()).strip()
    statements = duckdb.extract_statements(code)
    assert len(statements) == 1, f"{name}: {len(statements)} statements"
    if queries.path(name).parent.name == "macros":
        assert statements[0].type == duckdb.StatementType.CREATE and code.startswith("create or replace macro "), name
    else:
        assert statements[0].type == duckdb.StatementType.SELECT, name
        assert re.match(r"(with\s+\w+ as \(|select\s)", code), f"{name} starts with neither a CTE nor a select"


ANALYSIS_PARAMS = {
    "unfiltered": {},
    "filtered": {"date_from": dt.date(2026, 5, 1), "date_to": dt.date(2026, 10, 31), "modalities": ["OT", "speech"],
                 "age_groups": ["3-5", "6-12"], "teams": ["North"], "approaches": ["child-led", "directed"]},
    "hostile": {"teams": ["North'); drop table sessions; --"], "modalities": ["' or 1=1 --"]},
}


@pytest.mark.parametrize("case", sorted(ANALYSIS_PARAMS))
@pytest.mark.parametrize("name", [n for n in ALL if queries.path(n).parent.name in ("marts", "intermediate", "analysis")])
def test_model_and_analysis_queries_run_on_the_sample(sample_db, name, case):
    con = warehouse.connect_reader(sample_db)
    try:
        params = dict(ANALYSIS_PARAMS[case])
        # parameters some analysis queries need beyond the filters
        params.setdefault("limit", 1000)
        params.setdefault("as_of", dt.date(2026, 10, 30))
        params.setdefault("child_id", "C0003")
        params.setdefault("by", "modality")
        df = queries.run(con, name, params)
        assert df is not None and len(df.columns) > 0
        # unlinked_rows lists rows of other sources (session data, charges, goals): none in the one-file sample
        # (tests/test_sources.py checks it on the multi-source practice)
        if case == "unfiltered" and queries.path(name).parent.name == "marts" and name != "unlinked_rows":
            assert len(df) > 0, f"{name} is empty on the sample"
        # hostile values are data, not SQL: the warehouse is intact
        assert con.execute("select count(*) from sessions").fetchall()[0][0] == 5443
    finally:
        con.close()


def test_staging_query_runs_on_a_sample_file(tmp_path):
    import duckdb

    from pipelines import upsert

    con = duckdb.connect()
    upsert.prepare(con)  # the staging macros and the measures catalogue
    sniffed = ingest.sniff(SAMPLE / "export_2026-10.csv")
    res = ingest.read_into(con, sniffed, None)
    con.execute("create temp table value_synonyms (field varchar, raw varchar, value varchar)")
    con.executemany("insert into value_synonyms values (?, ?, ?)", upsert.synonyms(res.profile))
    rows = con.execute(
        queries.sql("stg_sessions"),
        queries.bind("stg_sessions", {"date_format": "ISO", "date_label": "yyyy-mm-dd", "today": dt.date(2026, 11, 1),
                                      "long_form": False, "catalogue_name": "measures.toml"})).fetchall()
    assert len(rows) == res.rows_read
    bad = [r for r in rows if r[-1]]
    assert 0 < len(bad) < 20  # the sample plants a handful of malformed rows


# ---------------------------------------------------------------------------------------------
# The page filters: written once (queries/macros/filtered_rows.sql), exceptions stated in code.

# macro argument -> the bound parameter every analysis query passes to it
FILTER_ARGS = {"date_from": "date_from", "date_to": "date_to", "modalities": "modalities",
               "age_groups": "age_groups", "teams": "teams", "therapists": "therapists",
               "approaches": "approaches", "child": "child_id"}
# how the first-line comment names an ignored filter
LABELS = {"date_from": "date", "date_to": "date", "modalities": "modality", "age_groups": "age group",
          "teams": "team", "therapists": "therapist", "approaches": "approach", "child": "child"}
PAGE_FILTERS = {"date_from", "date_to", "modalities", "age_groups", "teams", "therapists", "approaches"}
# Which analysis queries ignore which filters (they pass null for it, and say why in their first line).
IGNORED = {
    "approach_gas_children": {"approaches"},   # compares the approaches
    "approach_sessions": {"approaches"},       # compares the approaches
    "approach_effect_rows": {"approaches"},    # approach_sessions, narrow
    "approach_session_rows": {"approaches"},   # approach_sessions, as Arrow columns
    "approach_effect_children": {"approaches"},
    "rated_session_rows": {"child"},           # every child of child_list
    "measure_pairs": {"approaches"},           # first to latest administration, whatever the approach
    "child_list": {"child"},                   # lists the children
    "period_metrics": {"child"},               # practice figures
    "attended_counts": {"child"},              # group figures (the meeting pack's caseload)
    "measure_period_values": {"child"},        # group figures (the meeting pack's measures)
    "pack_period_metrics": {"child"},          # group figures (the meeting pack's caseload)
    "attendance_rates": {"child"},             # group figures of attendance
    "approach_uptake": {"child"},              # group figures of how much is child-led
    "gas_review_goals": PAGE_FILTERS,          # a review covers the child's whole record
    "child_goal_list": PAGE_FILTERS,           # a goal's definition, whatever the period
    "child_record": PAGE_FILTERS,              # a child's episode of care, whatever the period
}
# Analysis queries that take no filter at all, and why.
UNFILTERED = {
    "file_problems": "one loaded file's rejected and not-linked rows (the upload result), not sessions",
    "filter_options": "the values each filter can take",
    "measure_options": "the measures the outcome selector offers",
    "flag_child_status": "the flags' figures up to $as_of; the pages filter the flags",
    "practice_cells": "the whole practice's cells (access.disclosure rule 3)",
    "rejected_rows": "rejected rows are not sessions",
}
# Filtered queries with no rows on the single-file sample, and why.
EMPTY_ON_SAMPLE = {"trial_sessions": "trial-based goals cannot be written in the single wide file"}
ANALYSIS = queries.names("analysis")
FILTERED = [n for n in ANALYSIS if n not in UNFILTERED]
# a value of each filter that matches nothing in any warehouse
NOTHING = {"date_from": dt.date(2100, 1, 1), "date_to": dt.date(1900, 1, 1), "modalities": ["no such modality"],
           "age_groups": ["no such age group"], "teams": ["no such team"], "therapists": ["no such therapist"],
           "approaches": ["no such approach"], "child": "no such child"}
BASE = {"as_of": dt.date(2026, 10, 30), "attendance_days": 56, "dropout_days": 30, "active_days": 90,
        "expected_level": 0, "stall_days": 84, "min_sessions": 3, "period": "month", "by": "modality",
        "by2": "age_group", "limit": 1000}
CALL = re.compile(r"filtered_rows\(\s*'(\w+)'\s*,([^()]*)\)")


def filter_calls(name: str) -> list[tuple[str, dict[str, str]]]:
    """(mart, {argument: expression}) of every filtered_rows call in query ``name``."""
    code = "\n".join(line.split("--")[0] for line in queries.sql(name).splitlines())
    return [(mart, dict(re.findall(r"(\w+)\s*:=\s*([^,\s]+)", args))) for mart, args in CALL.findall(code)]


def test_every_analysis_query_is_declared_filtered_or_not():
    assert set(UNFILTERED) <= set(ANALYSIS) and set(IGNORED) <= set(FILTERED)
    assert len(FILTERED) >= 12


@pytest.mark.parametrize("name", ANALYSIS)
def test_analysis_queries_filter_through_the_macro_and_ignore_exactly_the_declared_filters(name):
    calls = filter_calls(name)
    if name in UNFILTERED:
        assert not calls, f"{name} is declared unfiltered ({UNFILTERED[name]}) but calls filtered_rows"
        assert not queries.parameters(name) & set(FILTER_ARGS.values()), name
        return
    assert calls, f"{name} does not filter through filtered_rows"
    for mart, args in calls:
        assert mart in ("sessions", "goal_ratings", "measures", "observations"), mart
        assert set(args) == set(FILTER_ARGS), f"{name}: filtered_rows('{mart}') arguments {sorted(args)}"
        for arg, expr in args.items():
            assert expr in ("null", "$" + FILTER_ARGS[arg]), f"{name}: {arg} := {expr}"
        ignored = {a for a, e in args.items() if e == "null"}
        assert ignored == IGNORED.get(name, set()), f"{name}: filtered_rows('{mart}') ignores {sorted(ignored)}"


@pytest.mark.parametrize("name", sorted(IGNORED))
def test_an_ignored_filter_is_named_with_its_reason_in_the_first_line(name):
    first = queries.sql(name).splitlines()[0]
    m = re.search(r"\(([^()]*?) filters? ignored: ([^();]+)", first)
    assert m, f"{name}: the first line does not say which filters it ignores and why: {first}"
    for arg in IGNORED[name]:
        assert LABELS[arg] in m.group(1), f"{name}: first line does not name the {LABELS[arg]} filter"
    assert len(m.group(2).split()) >= 2, f"{name}: no reason given"


def test_the_filter_order_key_and_group_case_are_written_once():
    texts = {n: "\n".join(line.split("--")[0] for line in queries.sql(n).splitlines()) for n in ALL}
    for name, code in texts.items():
        if queries.path(name).parent.name != "analysis":
            continue
        for pasted in ("list_contains($", "$date_from is null", "$child_id is null", "case $by", "hash("):
            assert pasted not in code, f"{name} pastes {pasted!r}"
    assert [n for n, c in texts.items() if "4294967296" in c] == ["int_sessions"]
    assert [n for n, c in texts.items() if "when 'therapist_id' then" in c] == ["group_value"]


@pytest.fixture(scope="module")
def reader(sample_db):
    con = warehouse.connect_reader(sample_db)
    yield con
    con.close()


@pytest.fixture(scope="module")
def unfiltered_results(reader) -> dict[str, pd.DataFrame]:
    return {n: queries.run(reader, n, BASE) for n in FILTERED}


@pytest.mark.parametrize("arg", list(FILTER_ARGS))
@pytest.mark.parametrize("name", FILTERED)
def test_every_analysis_query_honours_the_filters_it_claims(reader, unfiltered_results, name, arg):
    """A filter value that matches nothing leaves no rows in a query that claims the filter,
    and changes nothing in one that ignores it."""
    everything = unfiltered_results[name]
    if name in EMPTY_ON_SAMPLE:
        pytest.skip(f"{name}: {EMPTY_ON_SAMPLE[name]} (its filters: tests/test_analytics_measures.py)")
    assert len(everything) > 0, f"{name} is empty on the sample"
    got = queries.run(reader, name, {**BASE, FILTER_ARGS[arg]: NOTHING[arg]})
    if arg in IGNORED.get(name, set()):
        pd.testing.assert_frame_equal(got, everything)
    else:
        assert len(got) == 0, f"{name} ignores the {arg} filter: {len(got)} rows"


@pytest.fixture(scope="module")
def marts(reader) -> dict[str, pd.DataFrame]:
    return {m: reader.execute(f"select * from {m}").df() for m in ("sessions", "goal_ratings", "measures",
                                                                  "observations")}


MATCHING = {"date_from": dt.date(2026, 6, 1), "date_to": dt.date(2026, 6, 30), "modalities": ["OT", "CBT"],
            "age_groups": ["6-12"], "teams": ["North"], "therapists": ["T02", "T05"],
            "approaches": ["child-led", "mixed"], "child": "C0030"}


def _python_filter(df: pd.DataFrame, args: dict) -> pd.DataFrame:
    keep = pd.Series(True, index=df.index)
    day = pd.to_datetime(df["session_date"]).dt.date
    if args.get("date_from") is not None:
        keep &= day >= args["date_from"]
    if args.get("date_to") is not None:
        keep &= day <= args["date_to"]
    for arg, col in (("modalities", "modality"), ("age_groups", "age_group"), ("teams", "team"),
                     ("therapists", "therapist_id"), ("approaches", "approach")):
        if args.get(arg) is not None:
            keep &= df[col].isin(args[arg])
    if args.get("child") is not None:
        keep &= df["child_id"] == args["child"]
    return df[keep]


@pytest.mark.parametrize("arg", [None, *FILTER_ARGS, "all but child"])
@pytest.mark.parametrize("mart", ["sessions", "goal_ratings", "measures", "observations"])
def test_the_filter_macro_keeps_exactly_the_matching_rows(reader, marts, mart, arg):
    args = dict.fromkeys(FILTER_ARGS)
    if arg == "all but child":
        args.update({k: v for k, v in MATCHING.items() if k not in ("child", "date_to")})
    elif arg is not None:
        args[arg] = MATCHING[arg]
    got = reader.execute(
        f"select * from filtered_rows('{mart}', date_from := $date_from, date_to := $date_to, "
        "modalities := $modalities, age_groups := $age_groups, teams := $teams, therapists := $therapists, "
        "approaches := $approaches, child := $child) order by session_id", args).df()
    want = _python_filter(marts[mart], args).sort_values("session_id", kind="stable")
    assert 0 < len(got) and (len(got) < len(marts[mart])) == (arg is not None)
    assert sorted(map(tuple, got.astype(str).to_numpy())) == sorted(map(tuple, want.astype(str).to_numpy()))


def test_no_mart_column_shares_a_name_with_a_macro_argument(marts):
    # a macro argument named like a column would shadow the column inside the macro body
    args = set(FILTER_ARGS) | {"mart_name", "by_column"}
    for mart, df in marts.items():
        assert not args & set(df.columns), mart


def test_group_value_picks_the_named_column(reader):
    row = reader.execute(
        "select modality, age_group, team, therapist_id, approach, "
        "[group_value(b, modality, age_group, team, therapist_id, approach) "
        " for b in ['modality', 'age_group', 'team', 'therapist_id', 'approach', 'child_id']] as picked, "
        "group_value(null, modality, age_group, team, therapist_id, approach) as none "
        "from sessions where approach = 'mixed' limit 1").fetchall()[0]
    assert list(row[5]) == [*row[:5], None] and row[6] is None


def test_a_scoped_reader_sees_only_its_children_through_the_macros(sample_db):
    """The scoped connections' temporary views shadow the marts inside the macro bodies too."""
    from access.scope import Scope, scoped, scope_children

    con = warehouse.connect_reader(sample_db)
    try:
        scope = Scope("therapist", therapist_id="T02")
        mine = set(scope_children(con, scope))
        everyone = set(con.execute("select child_id from sessions").df()["child_id"])
        assert 0 < len(mine) < len(everyone)
        sc = scoped(con, scope)
        for name in FILTERED:
            df = queries.run(sc, name, BASE)
            if "child_id" in df.columns:
                assert (len(df) > 0 or name in EMPTY_ON_SAMPLE) and set(df["child_id"]) <= mine, name
        sc.close()
    finally:
        con.close()


def test_observations_carry_their_sessions_filter_columns(reader):
    """period_metrics and child_list filter the observations mart with the page filters before
    joining it to the filtered sessions: right only while each observation carries exactly its
    session's date and filter columns."""
    cols = ["child_id", "session_date", "modality", "age_group", "team", "therapist_id", "approach"]
    differ = " or ".join(f"o.{c} is distinct from s.{c}" for c in cols)
    n, bad = reader.execute(f"select count(*), count(*) filter (where s.session_id is null or {differ}) "
                            "from observations as o left join sessions as s using (session_id)").fetchall()[0]
    assert n > 0 and bad == 0


KEY_COLUMNS = {"child_key", "goal_key"}
KEYED_MARTS = {"child_keys", "goal_keys", "sessions", "observations", "goal_ratings"}


def test_the_integer_keys_stay_inside_the_marts(sample_db):
    """child_key and goal_key are the marts' numbers for joins and groupings: no analysis query
    returns them and no other table (the stored per-child tables, the exports' sources) holds them."""
    con = warehouse.connect_reader(sample_db)
    try:
        holders = {r[0] for r in con.execute(
            "select distinct table_name from duckdb_columns() where column_name in ('child_key', 'goal_key') "
            "and database_name = current_database() and schema_name = 'main'").fetchall()}
        # the raw observations' goal_key is the export's goal column (text), read through int_linked_observations
        assert holders - {"src_observations", "int_linked_observations"} == KEYED_MARTS
        params = {**ANALYSIS_PARAMS["unfiltered"], "limit": 1000, "as_of": dt.date(2026, 10, 30),
                  "child_id": "C0003", "by": "modality"}
        for name in ANALYSIS:
            df = queries.run(con, name, params)
            assert not KEY_COLUMNS & set(df.columns), name
    finally:
        con.close()
