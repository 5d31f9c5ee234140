"""The outcome measure selector (issue 13 item 4): the filter bar offers the catalogue's session
measures with values on the pages that show an outcome, keeps it in the address (``measure``),
and the pages show that measure's figures with the catalogue's labels and units, never
"engagement" for another measure. AppTest on the shared sample warehouse (with on_task and
protests)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

import analytics
import test_dashboard_support as support
from pipelines import warehouse

TIMEOUT = 60


@pytest.fixture()
def con(dashboard_db, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB", str(dashboard_db))
    c = warehouse.connect_reader(dashboard_db)
    yield c
    c.close()


def open_page(page: str, query: dict | None = None) -> AppTest:
    return support.open_page(page, query, TIMEOUT)


def words(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [m.label for m in at.metric]
    parts += [str(e.value) for kind in ("info", "warning", "success") for e in getattr(at, kind)]
    return " | ".join(parts)


def metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}; have {[m.label for m in at.metric]}")


def test_the_selector_offers_the_measures_with_values_and_writes_the_address(con):
    at = open_page("overview")
    box = at.selectbox(key="f_measure")
    assert box.value == "engagement" and box.options[0].startswith("Engagement")
    assert {"On task (% of intervals)", "Protests (protests per session)"} <= set(box.options)
    box.set_value("on_task").run()
    assert not at.exception
    assert at.query_params.get("measure") == "on_task"
    f = at.session_state["filters"]
    k = analytics.kpis(con, f, measure="on_task")["current"]
    assert metric(at, "Mean on task (% of intervals)") == f"{k['mean_value']:.2f}"
    assert "Mean engagement (1–5)" not in [m.label for m in at.metric]


def test_a_link_with_a_measure_opens_it_and_an_unknown_one_is_ignored_with_a_warning(con):
    at = open_page("overview", {"measure": "protests", "period": "all"})
    assert at.selectbox(key="f_measure").value == "protests"
    k = analytics.kpis(con, at.session_state["filters"], measure="protests")["current"]
    assert metric(at, "Mean protests (protests per session)") == f"{k['mean_value']:.2f}"
    at = open_page("overview", {"measure": "xyz"})
    assert at.selectbox(key="f_measure").value == "engagement"
    assert any("measure xyz is not a session measure" in str(w.value) for w in at.warning)


def test_the_approach_page_compares_the_chosen_measure_in_its_direction(con):
    at = open_page("approach", {"measure": "protests", "period": "all"})
    f = at.session_state["filters"]
    overall = analytics.approach_effects(con, f, measure="protests").iloc[0]
    table = at.dataframe[0].value
    row = table[table["section"] == "All children"].iloc[0]
    assert int(row["n_children"]) == int(overall["n_children"])
    assert row["mean_diff"] == pytest.approx(overall["mean_diff"])
    body = words(at)
    assert "protests per session lower (better: lower is better)" in body
    assert "engagement points" not in body and "points, 1–5" not in body


def test_the_groups_page_shows_the_measures_grid(con):
    at = open_page("groups", {"measure": "on_task", "period": "all"})
    f = at.session_state["filters"]
    grid = analytics.group_grid(con, f, measure="on_task")
    shown = at.dataframe[0].value
    assert "mean_value" in shown.columns and "mean_engagement" not in shown.columns
    assert shown["mean_value"].astype(float).sum() == pytest.approx(grid["mean_value"].sum())
    assert [t.label for t in at.tabs][0] == "Mean on task"


def test_needs_attention_and_other_pages_keep_the_measure(con):
    at = open_page("needs_attention", {"measure": "protests"})
    assert at.selectbox(key="f_measure").value == "protests"
    at.switch_page("app_pages/team_meeting.py").run()
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == "f_measure"]          # not an outcome page: hidden
    assert at.query_params.get("measure") == "protests"                   # ... and kept for the others
