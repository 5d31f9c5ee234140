"""What a new user read wrong on the pages (the s7 try-out, on the 1M warehouse): counts of a
thousand or more printed without separators beside ones with them (the approach reading, the
child picker, the needs-attention chips), a child picker that counted
the linked child from outside the filters as one "in the current filters", and the Data page's
load history headed by raw column names.

Runs the real app under AppTest on a generated practice big enough for four-digit counts
(``pipelines.sample``, 4,500 children over 4 months, loaded with ``analytics.STEPS``) and on
the shared sample warehouse (``dashboard_db``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import analytics
import test_dashboard_support as support
from pipelines import load as loader
from pipelines import warehouse
from pipelines.sample.write import write_sample

TIMEOUT = 120


@pytest.fixture(scope="module")
def big_db(tmp_path_factory) -> Path:
    """A generated practice with over a thousand children, and over a thousand flags of one
    severity (read-only)."""
    work = tmp_path_factory.mktemp("tryout_big")
    write_sample(work / "exports", children=4500, months=4, seed=7, end=dt.date(2026, 10, 30), split=False)
    db = work / "practice.duckdb"
    report = loader.load([work / "exports" / "canonical"], db=db, today=dt.date(2026, 10, 31),
                         after_build=analytics.STEPS)
    assert not [f.message for f in report.files if f.status == "failed"]
    return db


def open_page(monkeypatch, db: Path, page: str, query: dict | None = None) -> AppTest:
    monkeypatch.setenv("PIPELINES_DB", str(db))
    return support.open_page(page, query, TIMEOUT)


def test_approach_reading_prints_children_with_thousands_separators(big_db, monkeypatch):
    at = open_page(monkeypatch, big_db, "approach")
    reading = next(m.value for m in at.markdown if m.value.startswith("Across **"))
    n_children = re.search(r"Across \*\*([\d,]+) children\*\*", reading).group(1)
    assert int(n_children.replace(",", "")) >= 1000, reading  # the practice is big enough to show it
    assert n_children == f"{int(n_children.replace(',', '')):,}", reading
    # no count of four or more digits without separators anywhere in the page's text (years excepted)
    page_text = [m.value for m in at.markdown] + [c.value for c in at.caption]
    bare = [(n, t) for t in page_text for n in re.findall(r"(?<![\w.,:\-/])\d{4,}(?![\d.,:\-/])", t)
            if not 1990 <= int(n) <= 2100]
    assert not bare, bare
    left_out = [c.value for c in at.caption if "rated sessions of each approach;" in c.value]
    for text in left_out:  # "N children with at least 3 rated sessions of each approach; M more ..."
        for number in re.findall(r"\d[\d,]*", text.split(";")[0]):
            assert number == f"{int(number.replace(',', '')):,}", text


def test_child_picker_count_has_separators_and_counts_only_the_filtered_children(big_db, monkeypatch):
    at = open_page(monkeypatch, big_db, "child_progress")
    picker = at.selectbox(key="child_pick")
    n = len(picker.options)
    assert n >= 1000
    assert f"; {n:,} in the current filters" in picker.label, picker.label

    # a child linked from outside the filters is listed first (marked so), but is not one of them
    c = warehouse.connect_reader(big_db)
    try:
        opts = analytics.filter_options(c)
        child = opts["children"][0]
        own = c.execute("select modality from children where child_id = ?", [child]).fetchall()[0][0]
    finally:
        c.close()
    others = [m for m in opts["modalities"] if m != own]
    at = open_page(monkeypatch, big_db, "child_progress", {"child": child, "modality": others})
    picker = at.selectbox(key="child_pick")
    assert picker.value == child and picker.options[0].endswith("(outside the current filters)"), picker.options[:2]
    in_filters = len(picker.options) - 1
    assert f"; {in_filters:,} in the current filters" in picker.label, picker.label


def test_data_page_load_history_has_worded_headers(dashboard_db, monkeypatch):
    at = open_page(monkeypatch, dashboard_db, "data_loads")
    history = at.dataframe[0]
    config = json.loads(history.proto.columns)
    shown = [config.get(c, {}).get("label", c) for c in history.value.columns]
    assert all("_" not in label for label in shown), shown


def test_needs_attention_chip_counts_have_thousands_separators(big_db, monkeypatch):
    at = open_page(monkeypatch, big_db, "needs_attention")
    chips = [o for p in at.get("button_group") for o in p.proto.options]
    labels = [o.content for o in chips]
    counts = [re.search(r"\(([\d,]+)\)$", label).group(1) for label in labels]
    assert any(int(c.replace(",", "")) >= 1000 for c in counts), labels  # big enough to show it
    assert all(c == f"{int(c.replace(',', '')):,}" for c in counts), labels


@pytest.mark.parametrize("md, says", [
    (0.0, "Mean engagement the same in child-led and directed sessions (difference 0.00 points, 1-5)."),
    (0.004, "Mean engagement the same in child-led and directed sessions (difference 0.00 points, 1-5)."),
    (-0.004, "Mean engagement the same in child-led and directed sessions (difference 0.00 points, 1-5)."),
    (0.3, "Mean engagement 0.30 points (1-5) higher in child-led sessions."),
    (-0.25, "Mean engagement 0.25 points (1-5) lower in child-led sessions."),
])
def test_child_comparison_detail_never_says_a_zero_difference_is_higher(md, says):
    """The child page's "How this is computed" read "Mean engagement +0.00 points (1-5) higher in
    child-led sessions" for a child with no difference (C00001 on the 1M warehouse)."""
    from reports.child_report import words
    comp = {"nap": 0.5, "nap_lo": 0.11, "nap_hi": 0.89, "n_child_led": 1, "n_directed": 5, "tau_u": 0.0, "pnd": 0.0,
            "mean_difference": md}
    text = words.comparison_detail(comp, 0.95)
    assert says in text, text


def test_goal_trend_is_not_told_from_two_ratings(sample_con):
    """The child report of C00001 (1M warehouse) gave goal G00001-3 "+0.26 levels a week; 95%
    interval +0.26 to +0.26; Mann-Kendall p = 1.000; n = 2": two ratings give one pairwise
    slope, so the "interval" is that slope and the test cannot reject. A real two-rating goal
    of the sample, through analytics.child_goals and the words the page and the report use."""
    from analytics import child_story
    from reports.child_report import words
    pairs = sample_con.execute(
        "select child_id, goal_id from goal_ratings group by all having count(*) = 2 order by all limit 1").fetchall()
    assert pairs, "the sample has a goal rated twice"
    child, goal = pairs[0]
    goals = child_story.child_goals(sample_con, child, analytics.Filters())
    g = goals[goals["goal_id"] == goal].iloc[0]
    assert int(g["n_ratings"]) == 2 and not pd.isna(g["slope_per_week"])  # analytics still gives the slope
    text = words.trend_text(g, 0.95)
    assert text == "too few ratings for a trend (2; a trend needs at least 3)", text
    three = {**g.to_dict(), "n_ratings": 3}
    assert "levels a week" in words.trend_text(three, 0.95)


def test_attendance_months_read_like_the_other_pages(sample_con):
    """The Attendance page's month chart (and its table) labelled months '2026-08' where the
    Overview and every other chart say 'Aug 2026'."""
    from dashboard import attendance_charts
    d = analytics.attendance_detail(sample_con, analytics.Filters(), by="month")
    fig = attendance_charts.rates_chart(d, "month", ["attended", "no_show"])
    months = list(dict.fromkeys(d["group"]))
    want = [dt.date.fromisoformat(m + "-01").strftime("%b %Y") for m in months]
    for trace in fig.data:
        assert list(dict.fromkeys(trace.x)) == want, list(trace.x)
    assert list(fig.layout.xaxis.categoryarray) == want
    from reports import figure_table
    assert list(dict.fromkeys(figure_table.table(fig)["Month"])) == want  # the chart's table says it the same way


def test_ambiguous_dates_message_quotes_the_files_own_date_and_its_profile(tmp_path):
    """A file with slash dates 07/08/2026 and 09/08/2026 failed with "dates such as 03/04/2026
    ... (e.g. --profile vendor_pms for dd/mm/yyyy)": a date the file does not hold, and a fixed
    profile that need not fit it (for a SimplePractice-style file it then failed for missing
    columns). The message now quotes a date of the file and names the profile that read it."""
    import subprocess
    import sys
    f = tmp_path / "sessions.csv"
    f.write_text("session_id,child_id,therapist_id,session_date,modality,approach,attendance\n"
                 "S1,C1,T1,07/08/2026,OT,child-led,attended\nS2,C2,T1,09/08/2026,speech,directed,attended\n",
                 encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "pipelines", "load", str(f), "--db", str(tmp_path / "w.duckdb")],
                       capture_output=True, text=True, cwd=support.ROOT, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    said = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("error:")]
    assert len(said) == 1, r.stdout + r.stderr
    line = said[0]
    assert "sessions.csv" in line and "could be day-first or month-first" in line, line
    assert "07/08/2026" in line and "03/04/2026" not in line, line
    assert "the profile 'canonical'" in line and "vendor_pms" not in line, line
    assert 'date_format = "%d/%m/%Y" for dd/mm/yyyy' in line and 'date_format' in line, line


def test_child_comparison_is_not_told_from_too_few_sessions_of_one_approach(sample_con):
    """The child page told C00001 (1M warehouse) "engagement was higher in the child-led session
    about 9 times in 10 (1 child-led and 5 directed sessions)", while the Child-led vs directed
    page leaves out any child with fewer than ``min_sessions_per_approach`` sessions of each. A
    real child of the sample with both approaches but too few of one, through
    analytics.child_comparison and the words the child page and the report use."""
    from pipelines import settings
    from reports.child_report import words
    least = settings.get().comparison.min_sessions_per_approach
    rows = sample_con.execute(
        "select o.child_id, count(*) filter (where s.approach = 'child-led') as cl, "
        "count(*) filter (where s.approach = 'directed') as d "
        "from observations as o join sessions as s using (session_id) "
        "where o.measure = 'engagement' and o.goal_id is null group by o.child_id "
        "having least(cl, d) between 1 and $k order by o.child_id limit 1", {"k": least - 1}).fetchall()
    assert rows, "the sample has a child with both approaches but too few sessions of one"
    comp = analytics.child_comparison(sample_con, rows[0][0], analytics.Filters())
    assert comp["n_child_led"] >= 1 and comp["n_directed"] >= 1 and not pd.isna(comp["nap"])
    assert comp["eligible"] is False
    assert words.comparison_sentence(comp, "the child") is None
    assert words.parent_comparison(comp, "Sam") is None
    detail = words.comparison_detail(comp, 0.95)
    assert "too few to compare" in detail and f"fewer than {least}" in detail, detail


def test_gas_t_change_is_shown_at_the_precision_of_the_score(dashboard_db, monkeypatch):
    """The Overview showed the mean GAS T-score as 47.6 and its change as "+5.70" (s7 try-out)."""
    at = open_page(monkeypatch, dashboard_db, "overview")
    (m,) = [m for m in at.metric if m.label == "Mean GAS T-score"]
    assert re.fullmatch(r"\d+\.\d", m.value), m.value
    assert m.delta is not None and re.fullmatch(r"[+-]\d+\.\d", m.delta), m.delta
