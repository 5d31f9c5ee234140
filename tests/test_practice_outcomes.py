"""Practice outcomes (issue 16, item 5): the share of children reliably improved, unchanged and
deteriorated per standardised measure and modality, with n, an interval and the method named."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

import analytics
import test_dashboard_support as support
from analytics.outcomes import OUTCOME_CLASSES
from pipelines import warehouse
from stats.proportion import wilson_interval


@pytest.fixture(scope="module")
def con(sample_db):
    c = warehouse.connect_reader(sample_db)
    yield c
    c.close()


@pytest.mark.parametrize("by", ["modality", "age_group", None])
def test_shares_count_each_child_once_per_measure_from_reliable_change(con, by):
    d = analytics.outcome_shares(con, analytics.Filters(), by=by)
    rc = analytics.reliable_change(con, analytics.Filters())
    rc = rc[rc["classification"].isin(OUTCOME_CLASSES)]
    assert not d.empty and set(d["measure"]) == set(rc["measure"])
    for (measure, group), g in d.groupby(["measure", "group"]):
        mine = rc[rc["measure"] == measure] if by is None else rc[(rc["measure"] == measure) & (rc[by] == group)]
        assert list(g["outcome"]) == list(OUTCOME_CLASSES)
        assert (g["n_children"] == mine["child_id"].nunique()).all() and g["n_outcome"].sum() == len(mine)
        for _, row in g.iterrows():
            want = int((mine["classification"] == row["outcome"]).sum())
            assert row["n_outcome"] == want and row["share"] == pytest.approx(want / len(mine))
            lo, hi = wilson_interval(want / len(mine), len(mine), 0.95)
            assert (row["share_lo"], row["share_hi"]) == pytest.approx((float(lo), float(hi)))


def test_the_planted_improvers_and_deteriorators_are_counted(con, sample_truth):
    d = analytics.outcome_shares(con, analytics.Filters(), by=None)
    improved = int(d.loc[d["outcome"] == "reliably improved", "n_outcome"].sum())
    worse = int(d.loc[d["outcome"] == "reliably deteriorated", "n_outcome"].sum())
    assert improved >= len(sample_truth["reliable_improvement"])
    assert worse >= len(sample_truth["reliable_deterioration"])


def test_the_groups_page_shows_the_outcomes_with_n_and_the_method(dashboard_db, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB", str(dashboard_db))
    at = AppTest.from_file(str(support.ROOT / "dashboard" / "streamlit_app.py"), default_timeout=90)
    at.query_params.update({"period": "all"})
    at.run()
    at.switch_page("app_pages/groups.py").run()
    assert not at.exception, at.exception[0].value
    assert "Outcomes on standardised measures" in [s.value for s in at.subheader]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any("reliable change by modality" in t for t in titles), titles
    ticks = [json.loads(c.proto.spec)["data"][0]["y"] for c in at.get("plotly_chart")
             if "reliable change" in json.loads(c.proto.spec)["layout"]["title"]["text"]]
    assert all("(n = " in t for tick in ticks for t in tick)
    assert any("Jacobson & Truax" in c.value for c in at.caption)
