"""The one-line ranking of groups on the Modalities and age groups page: best first with mean,
interval and n; the worst named only when its interval does not overlap the best one's.

The rule on hand-made frames (both verdicts, a lower-is-better measure, a small group left
out), then the page under AppTest on the sample warehouse against ``analytics.kpis_by``.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import analytics
import test_dashboard_support as support
from dashboard.ranking import rank_groups, uptake_change
from pipelines import settings, warehouse

APP = str(support.ROOT / "dashboard" / "streamlit_app.py")


def frame(rows):
    return pd.DataFrame(rows, columns=["modality", "mean_value", "value_ci_lo", "value_ci_hi",
                                       "n_children_values", "n_values"])


def test_worst_named_only_when_apart_from_the_best():
    apart = frame([("OT", 3.6, 3.4, 3.8, 30, 600), ("speech", 3.0, 2.8, 3.2, 25, 500), ("play", 3.3, 3.1, 3.5, 20, 400)])
    r = rank_groups(apart, "modality", "modality", "modalities", higher_is_better=True, min_children=5)
    assert r.worst == "speech"
    assert r.line.index("OT") < r.line.index("play") < r.line.index("speech")
    assert "3.00 (2.80–3.20; 25 children, 500 sessions)" in r.line
    assert r.verdict.startswith("speech is the worst modality")
    close = apart.assign(value_ci_lo=[3.1, 2.8, 3.1], value_ci_hi=[4.1, 3.2, 3.5])   # OT's interval reaches 3.1
    r = rank_groups(close, "modality", "modality", "modalities", higher_is_better=True, min_children=5)
    assert r.worst is None and "cannot be told apart" in r.verdict and "(OT)" in r.verdict and "(speech)" in r.verdict


def test_lower_is_better_and_small_groups_left_out():
    d = frame([("OT", 2.0, 1.5, 2.5, 30, 300), ("speech", 5.0, 4.0, 6.0, 30, 300), ("CBT", 9.0, 1.0, 17.0, 3, 20)])
    r = rank_groups(d, "modality", "modality", "modalities", higher_is_better=False, min_children=5)
    assert r.worst == "speech" and r.left_out == ("CBT",) and "CBT" not in r.line
    assert r.line.index("OT") < r.line.index("speech")
    one = rank_groups(d.iloc[[0, 2]], "modality", "modality", "modalities", higher_is_better=False, min_children=5)
    assert one.worst is None and one.verdict.startswith("Too few modalities")


@pytest.mark.parametrize("by,label", [("modality", "modality"), ("age_group", "age group")])
def test_groups_page_ranks_as_analytics_says(dashboard_db, monkeypatch, by, label):
    monkeypatch.setenv("PIPELINES_DB", str(dashboard_db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"period": "12m"})
    at.run()
    at.switch_page("app_pages/groups.py").run()
    assert not at.exception, at.exception
    f = at.session_state["filters"]
    con = warehouse.connect_reader(dashboard_db)
    try:
        k = analytics.kpis_by(con, analytics.resolve(con, f), by)
    finally:
        con.close()
    line = next(str(m.value) for m in at.markdown if str(m.value).startswith(f"**By {label}:**"))
    plain = line.replace("\\", "")
    min_n = settings.get().comparison.min_children
    k = k[k["n_children_values"] >= min_n].sort_values("mean_value", ascending=False)
    assert len(k) >= 2
    shown = re.findall(r"([\w+-]+) (\d\.\d\d) \((\d\.\d\d)–(\d\.\d\d); (\d+) children, ([\d,]+) sessions\)", plain)
    assert [s[0] for s in shown] == [str(g) for g in k[by]]                  # best first
    for s, (_, row) in zip(shown, k.iterrows()):
        assert float(s[1]) == pytest.approx(row["mean_value"], abs=0.005)
        assert (float(s[2]), float(s[3])) == pytest.approx((row["value_ci_lo"], row["value_ci_hi"]), abs=0.005)
        assert int(s[4]) == row["n_children_values"] and int(s[5].replace(",", "")) == row["n_values"]
    best, worst = k.iloc[0], k.iloc[-1]
    if worst["value_ci_hi"] < best["value_ci_lo"]:
        assert f"{worst[by]} is the worst {label}" in plain
    else:
        assert "cannot be told apart" in plain and f"({best[by]})" in plain and f"({worst[by]})" in plain


def _uptake(rows):
    return pd.DataFrame(rows, columns=["month_start", "share", "share_lo", "share_hi", "sessions", "n_children",
                                       "partial"]).assign(month_start=lambda d: pd.to_datetime(d["month_start"]))


def test_uptake_rising_only_when_the_months_are_apart():
    rows = [("2026-01-01", 0.9, 0.0, 1.0, 5, 2, True),          # partial: not the first whole month
            ("2026-02-01", 0.30, 0.25, 0.35, 300, 60, False), ("2026-03-01", 0.40, 0.33, 0.47, 310, 61, False),
            ("2026-04-01", 0.45, 0.40, 0.50, 320, 62, False)]
    said = uptake_change(_uptake(rows))
    assert said.startswith("Child-led share, first and last whole month: Feb 2026 30% (25–35%; 300 sessions, 60 ")
    assert "Apr 2026 45% (40–50%" in said and "rising" in said
    rows[-1] = ("2026-04-01", 0.38, 0.33, 0.43, 320, 62, False)
    assert "no change can be told" in uptake_change(_uptake(rows))
    rows[-1] = ("2026-04-01", 0.20, 0.15, 0.24, 320, 62, False)
    assert "falling" in uptake_change(_uptake(rows))
    assert uptake_change(_uptake(rows[:2])) is None                # one whole month only


def test_approach_page_says_whether_uptake_is_rising(dashboard_db, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB", str(dashboard_db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"period": "12m"})
    at.run()
    at.switch_page("app_pages/approach.py").run()
    assert not at.exception, at.exception
    f = at.session_state["filters"]
    con = warehouse.connect_reader(dashboard_db)
    try:
        expected = uptake_change(analytics.child_led_uptake(con, f))
    finally:
        con.close()
    assert expected
    shown = [str(m.value).replace("\\", "") for m in at.markdown if "Child-led share, first and last" in str(m.value)]
    assert shown == [expected]
