"""The Team meeting page's "Needs attention" lists each flagged child once, with all its flags
(issue 16: it showed a table of flags and then a table of the same children).

AppTest on the sample warehouse, against the pack ``reports.meeting_pack`` builds for the same
team and dates.
"""

from __future__ import annotations

import re

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


def test_each_flagged_child_once_with_all_its_flags(dashboard_db, monkeypatch):
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
