"""Issue 14, the read path: the Team meeting page builds its files only when a download is
clicked, and the pack's tables, HTML and workbook are written column by column with the
same text as the row-by-row code they replace.

Real warehouse of the sample data (``dashboard_db`` of conftest.py), real Streamlit (AppTest).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from streamlit.testing.v1 import AppTest

import test_dashboard_support as support
import analytics
from pipelines import warehouse
from reports import meeting_pack as mp
from reports.formats import cell, delta, is_missing

APP = str(support.ROOT / "dashboard" / "streamlit_app.py")


@pytest.fixture()
def local(dashboard_db, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PIPELINES_DB", str(dashboard_db))
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "audit.sqlite"))
    return dashboard_db


@pytest.fixture(scope="module")
def packs(dashboard_db) -> list[mp.MeetingPack]:
    """A full and a suppressed pack of each team over the whole sample."""
    con = warehouse.connect_reader(dashboard_db)
    try:
        opts = analytics.filter_options(con)
        return [mp.build_pack(con, team=str(team), date_from=opts["min_date"], date_to=opts["max_date"],
                              suppress_small_cells=s) for team in opts["teams"] for s in (False, True)]
    finally:
        con.close()


def test_meeting_page_builds_no_file_until_its_download_is_clicked(local, monkeypatch):
    made = {"html": 0, "excel": 0}
    render_html, write_excel = mp.render_html, mp.write_excel

    def counting_html(pack):
        made["html"] += 1
        return render_html(pack)

    def counting_excel(pack, target):
        made["excel"] += 1
        return write_excel(pack, target)

    monkeypatch.setattr(mp, "render_html", counting_html)
    monkeypatch.setattr(mp, "write_excel", counting_excel)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"period": "all"})
    at.run()
    at.switch_page("app_pages/team_meeting.py").run()
    assert not at.exception, at.exception[0].value
    assert at.main.subheader, "the pack's sections are shown"
    at.run()  # a rerun (a widget click elsewhere) builds nothing either
    assert made == {"html": 0, "excel": 0}

    makers = at.session_state["_export_makers"]  # what each download button runs when clicked
    page = makers["meeting pack (HTML)"]()
    assert page.startswith(b"<!DOCTYPE html>") and b"Team meeting pack" in page
    assert made == {"html": 1, "excel": 0}
    book = makers["meeting pack (Excel)"]()
    assert zipfile.is_zipfile(io.BytesIO(book)) and made == {"html": 1, "excel": 1}
    sheets = CalamineWorkbook.from_filelike(io.BytesIO(book)).sheet_names
    assert sheets[0] == "About" and "Caseload" in sheets


def _table_text_by_rows(t: mp.Table) -> pd.DataFrame:
    """The row-by-row ``table_text`` that the column-wise one replaced (the reference)."""
    rows = []
    for _, r in t.frame.iterrows():
        row = {}
        for c in t.columns:
            v = r.get(c.name)
            txt = cell(v, c.kind)
            if c.ci and not isinstance(v, str) and not is_missing(v):
                lo, hi = r.get(c.ci[0]), r.get(c.ci[1])
                if not any(isinstance(x, str) or is_missing(x) for x in (lo, hi)):
                    txt += f" ({cell(lo, c.kind)} to {cell(hi, c.kind)})"
            if c.n:
                txt += f" · n = {cell(r.get(c.n), 'int')} {c.n_label}".rstrip()
            if c.prev:
                pv = r.get(c.prev)
                d = delta(v, pv, c.kind)
                txt += f" · prev {cell(pv, c.kind)}" + (f" ({d})" if d else "")
            row[c.label] = txt
        rows.append(row)
    return pd.DataFrame(rows, columns=[c.label for c in t.columns])


def test_table_text_column_wise_is_the_row_wise_text(packs):
    n_rows = 0
    for pack in packs:
        for sec in pack.sections:
            for t in sec.tables:
                got, want = mp.table_text(t), _table_text_by_rows(t)
                assert list(got.columns) == list(want.columns)
                assert got.astype(object).equals(want.astype(object)), t.key
                n_rows += len(got)
    assert n_rows > 20  # the tables were not all empty


def test_html_and_workbook_hold_every_table_row(packs, tmp_path):
    """Each row of each table is in its section's sheet of the workbook (its first value in column
    A, below the header), and in the HTML (its first cell as ``table_text`` writes it) up to the
    printable pack's ``PRINT_ROWS``, the rest counted in a note."""
    import html as html_lib

    from reports.meeting_pack.html_page import PRINT_ROWS

    names = {"attention": "Needs attention", "wins": "Wins", "caseload": "Caseload", "trends": "Team trends",
             "measures": "Outcome measures"}
    checked = 0
    for i, pack in enumerate(packs):
        text = html_lib.unescape(mp.render_html(pack))
        book = tmp_path / f"{i}.xlsx"
        mp.write_excel(pack, book)
        wb = CalamineWorkbook.from_path(str(book))
        for sec in pack.sections:
            column_a = [row[0] if row else "" for row in wb.get_sheet_by_name(names[sec.key]).to_python()]
            for t in sec.tables:
                if t.frame is None or t.frame.empty or t.columns[0].kind not in ("id", "text"):
                    continue
                start = column_a.index(t.title) + 1  # the table's title, then its header row
                assert column_a[start] == t.columns[0].label
                in_sheet = [str(v) for v in column_a[start + 1:start + 1 + len(t.frame)]]
                assert in_sheet == [str(v) for v in t.frame[t.columns[0].name]], t.key
                if not (sec.key == "attention" and not pack.suppress_small_cells):  # cards there, not a table
                    for v in t.frame[t.columns[0].name].head(PRINT_ROWS):
                        assert f">{cell(v, t.columns[0].kind)}<" in text, (t.key, v)
                    if len(t.frame) > PRINT_ROWS:
                        assert f"The first {PRINT_ROWS:,} of {len(t.frame):,} rows are listed here" in text, t.key
                checked += len(t.frame)
    assert checked > 20


def _count_pairings(monkeypatch) -> dict:
    """Each pairing of the children counted: ``single_case_effects_coded``, which both the
    row-level ``single_case_effects`` and the coded path (``pairs_coded``) go through once."""
    from analytics import approach as approach_mod

    seen = {"pairings": 0}
    real = approach_mod.single_case_effects_coded

    def counting(*args, **kwargs):
        seen["pairings"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(approach_mod, "single_case_effects_coded", counting)
    return seen


def test_approach_page_pairs_the_children_once_and_shows_the_breakdowns_of_that_pairing(local, monkeypatch):
    import streamlit as st

    st.cache_data.clear()  # a cold page: no pairing answered from an earlier test's cache
    seen = _count_pairings(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"period": "all"})  # a filter: the pairs are computed, not read from the stored table
    at.run()
    at.switch_page("app_pages/approach.py").run()
    assert not at.exception, at.exception[0].value
    # one pairing for the comparison and its breakdowns; the uptake section's quarterly gap pairs each quarter's sessions
    from analytics.uptake import _quarters
    c = warehouse.connect_reader(local)
    try:
        rf = analytics.resolve(c, analytics.Filters())
    finally:
        c.close()
    assert seen["pairings"] == 1 + len(_quarters(rf.date_from, rf.date_to))
    assert any("Each child's paired difference" in s.value for s in at.main.subheader)
    table = next(d.value for d in at.dataframe if "mean_diff" in d.value.columns and "section" in d.value.columns)
    con = warehouse.connect_reader(local)
    try:
        f = analytics.Filters(date_from=analytics.filter_options(con)["min_date"],
                              date_to=analytics.filter_options(con)["max_date"])
        want = analytics.approach_breakdowns(con, f, outcome="engagement")
    finally:
        con.close()
    overall = table[table["section"] == "All children"].iloc[0]
    assert overall["n_children"] == want[None]["n_children"].iloc[0]
    assert overall["mean_diff"] == want[None]["mean_diff"].iloc[0]
    assert (overall["ci_lo"], overall["ci_hi"]) == (want[None]["ci_lo"].iloc[0], want[None]["ci_hi"].iloc[0])
    by_mod = table[table["section"] == "Modality"].set_index("group")["mean_diff"]
    want_mod = want["modality"].set_index("modality")["mean_diff"]
    assert by_mod.to_dict() == {str(k): v for k, v in want_mod.items() if k in set(by_mod.index)}
