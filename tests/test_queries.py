"""Every SQL file in queries/ runs on the sample practice (``sample_db`` of conftest.py), and
states its grain."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines import ingest, queries, warehouse

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample" / "canonical"
ALL = sorted(p.stem for p in queries.QUERIES_DIR.rglob("*.sql"))


def test_there_are_queries_in_every_layer():
    assert {queries.path(n).parent.name for n in ALL} == {"staging", "intermediate", "marts", "analysis"}


@pytest.mark.parametrize("name", ALL)
def test_query_states_its_grain_and_is_lowercase_sql(name):
    text = queries.sql(name)
    first = text.splitlines()[0]
    assert first.startswith("-- ") and ("one row per" in first or "one row" in first), first
    code = "\n".join(line.split("--")[0] for line in text.splitlines())
    for keyword in ("SELECT ", "FROM ", "WHERE ", "GROUP BY", "JOIN "):
        assert keyword not in code, f"{name}: uppercase {keyword.strip()}"


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
        if case == "unfiltered" and queries.path(name).parent.name == "marts":
            assert len(df) > 0, f"{name} is empty on the sample"
        # hostile values are data, not SQL: the warehouse is intact
        assert con.execute("select count(*) from sessions").fetchall()[0][0] == 5443
    finally:
        con.close()


def test_staging_query_runs_on_a_sample_file(tmp_path):
    import duckdb

    con = duckdb.connect()
    sniffed = ingest.sniff(SAMPLE / "export_2026-10.csv")
    res = ingest.read_into(con, sniffed, None)
    con.execute("create temp table value_synonyms (field varchar, raw varchar, value varchar)")
    con.executemany("insert into value_synonyms values (?, ?, ?)", res.profile.synonym_rows())
    rows = con.execute(
        queries.sql("stg_session_rows"),
        queries.bind("stg_session_rows", {"date_format": "ISO", "date_label": "yyyy-mm-dd",
                                          "today": dt.date(2026, 11, 1)})).fetchall()
    assert len(rows) == res.rows_read
    bad = [r for r in rows if r[-1]]
    assert 0 < len(bad) < 20  # the sample plants a handful of malformed rows
