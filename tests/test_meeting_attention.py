"""The Team meeting page's "Needs attention" lists each flagged child once, with all its flags
(issue 16: it showed a table of flags and then a table of the same children).

AppTest on the sample warehouse, against the pack ``reports.meeting_pack`` builds for the same
team and dates.
"""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

import test_dashboard_support as support
from pipelines import warehouse
from reports import meeting_pack as mp

APP = str(support.ROOT / "dashboard" / "streamlit_app.py")


def _rows(md: str) -> list[list[str]]:
    lines = [ln for ln in md.splitlines() if ln.startswith("|")]
    cells = [[c.strip() for c in re.split(r"(?<!\\)\|", ln)[1:-1]] for ln in lines]
    return [r for r in cells if set("".join(r)) - set("-")]  # without the --- row


def _meeting_page(dashboard_db, monkeypatch):
    """Team North's meeting page for the last quarter (AppTest), and the pack built for the same team and dates."""
    monkeypatch.setenv("PIPELINES_DB", str(dashboard_db))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"team": "North", "period": "last_quarter"})
    at.run()
    at.switch_page("app_pages/team_meeting.py").run()
    assert not at.exception, at.exception
    f = at.session_state["filters"]
    con = warehouse.connect_reader(dashboard_db)
    try:
        pack = mp.build_pack(con, team="North", therapist=None, date_from=f.date_from, date_to=f.date_to)
    finally:
        con.close()
    return at, pack


def test_each_flagged_child_once_with_all_its_flags(dashboard_db, monkeypatch):
    at, pack = _meeting_page(dashboard_db, monkeypatch)
    assert len(pack.attention) > pack.attention["child_id"].nunique() > 1   # some child has two flags
    tables = [_rows(str(m.value)) for m in at.markdown if str(m.value).startswith("| Child |")]
    tables = [t for t in tables if "Severity" in t[0]]    # the flags' tables (wins and others have no severity)
    assert len(tables) == 1, "flagged children are in one table"
    header, *body = tables[0]
    assert header == ["Child", "Severity", "Flags and why", "In the period"]
    kids = [r[0].replace("\\", "") for r in body]
    assert len(kids) == len(set(kids))                                       # one row per child
    assert kids == list(dict.fromkeys(map(str, pack.attention_children["child_id"])))   # most urgent first
    for kid, row in zip(kids, body):
        cell = row[2].replace("\\", "")
        for title in pack.attention.loc[pack.attention["child_id"].astype(str) == kid, "title"]:
            assert f"**{title}**" in cell, (kid, title)
    # and no other table or grid repeats the flags
    assert not [d for d in at.dataframe if "child_id" in getattr(d.value, "columns", [])]
    assert not any("Flags and reasons" in str(m.value) for m in at.markdown)


def test_long_tables_are_cut_on_the_page_and_whole_in_the_download(dashboard_db, monkeypatch):
    """A large practice's meeting lists thousands of flagged children and met goals: the page draws
    the first ``layout.PAGE_ROWS`` of each table (the most urgent children first) and says how many
    there are and where the rest are; the Excel download keeps every row. (At 1M rows a team's page
    drew 2,945 flagged children and 7,507 met goals as markdown and took the browser over a minute.)"""
    from dashboard import layout

    monkeypatch.setattr(layout, "PAGE_ROWS", 2)     # the sample's team has a handful of flagged children
    at, pack = _meeting_page(dashboard_db, monkeypatch)
    n_flagged = pack.attention["child_id"].nunique()
    assert n_flagged > 2
    tables = [_rows(str(m.value)) for m in at.markdown if str(m.value).startswith("| Child |")]
    flagged = next(t for t in tables if "Severity" in t[0])
    kids = [r[0].replace("\\", "") for r in flagged[1:]]
    assert kids == list(dict.fromkeys(map(str, pack.attention_children["child_id"])))[:2]   # the most urgent two
    captions = [str(c.value) for c in at.caption]
    assert f"Showing the first 2 of {n_flagged:,} rows. Every flagged child is in the downloads above" in " ".join(
        captions)
    for t in (t for t in tables if "Severity" not in t[0]):
        assert len(t) - 1 <= 2                                                    # every table cut to 2 rows
    long = [t for s in pack.sections for t in s.tables
            if t.frame is not None and len(t.frame) > 2 and t.key not in ("attention_children", "attention_flags")]
    assert long, "the sample has a table longer than 2 rows"
    for t in long:
        assert f"Showing the first 2 of {len(t.frame):,} rows." in " ".join(captions), t.key
    buf = io.BytesIO()
    mp.write_excel(pack, buf)                                   # what the page's Excel download writes
    book = openpyxl.load_workbook(io.BytesIO(buf.getvalue()), read_only=True)
    cells = {str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None}
    assert set(map(str, pack.attention["child_id"])) <= cells                 # every flagged child, not 2
