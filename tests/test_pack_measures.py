"""The meeting pack per outcome measure (issue 13, item 4): every session-level measure of the
catalogue the scope's children have in the period, with its label, unit and direction, its
within-child child-led vs directed comparison (each child once per measure), its trends and the
small-cell rules applied per measure, in the pack, its HTML and Excel files and on the Team
meeting page. Real warehouses (the sample practice and a planted one), real files, AppTest.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import replace
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

import analytics
from analytics import stored
from pipelines import load, warehouse
from pipelines.measures import catalogue
from pipelines.small_practice import HEADER
from reports import meeting_pack as mp

ROOT = Path(__file__).resolve().parent.parent
END = dt.date(2026, 10, 30)
# team West: 8 children; on task recorded for 3 of them (a small cell), protests for 6
ON_TASK_CHILDREN = {"W-K0", "W-K1", "W-K2"}
PROTEST_CHILDREN = {f"W-K{c}" for c in range(6)}


def _write_west(path: Path) -> Path:
    rows, sid = [], 0
    for c in range(8):
        child, ther = f"W-K{c}", ("W1" if c < 5 else "W2")
        for w in range(16):
            sid += 1
            led = (c + w) % 2 == 0
            row = dict.fromkeys(HEADER + ["on_task", "protests"], "")
            row.update(session_id=f"W{sid:05d}", child_id=child, therapist_id=ther, team="West",
                       session_date=(END - dt.timedelta(weeks=15 - w, days=c % 3)).isoformat(), modality="OT",
                       approach="child-led" if led else "directed", date_of_birth="2017-03-01",
                       attendance="attended", setting="clinic", duration_min="45",
                       engagement=str(3 + (1 if led else 0) - (w % 2 if c == 7 else 0)))
            if child in ON_TASK_CHILDREN:
                row["on_task"] = str(40 + (15 if led else 0) + w + c)
            if child in PROTEST_CHILDREN:
                # lower is better: fewer protests in child-led sessions, and rising over the weeks for W-K5
                row["protests"] = str(max(0, 5 - (3 if led else 0) + (w % 3) + (w if c == 5 else 0)))
            rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        wr = csv.DictWriter(fh, fieldnames=HEADER + ["on_task", "protests"])
        wr.writeheader()
        wr.writerows(rows)
    return path


@pytest.fixture(scope="module")
def west_db(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("west")
    db = work / "west.duckdb"
    report = load.load([_write_west(work / "exports" / "west.csv")], db=db, after_build=stored.STEPS)
    assert not [f for f in report.files if f.status == "failed"], report.files
    return db


@pytest.fixture(scope="module")
def west(west_db):
    c = warehouse.connect_reader(west_db)
    yield c
    c.close()


def _row(frame: pd.DataFrame, measure: str) -> pd.Series:
    rows = frame[frame["measure"] == measure]
    assert len(rows) == 1, (measure, frame)
    return rows.iloc[0]


def _section(html_text: str, key: str) -> str:
    m = re.search(rf'<section class="pack-section" id="{key}">(.*?)</section>', html_text, re.S)
    assert m, f"no section {key}"
    return m.group(1)


def _html_rows(section: str, title: str) -> list[list[str]]:
    """The rows of the table titled ``title`` as the cells' plain text."""
    m = re.search(rf"<h3>{re.escape(title)}</h3>\s*<table>(.*?)</table>", section, re.S)
    assert m, f"no table {title!r}"
    rows = re.findall(r"<tr>(.*?)</tr>", m.group(1).split("<tbody>", 1)[1], re.S)
    return [[re.sub(r"<[^>]+>", " ", td).replace("&lt;", "<").strip()
             for td in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


# ---------------------------------------------------------------------------------------------- the sample practice


@pytest.fixture(scope="module")
def sample_pack(sample_con):
    team = next(t for t in analytics.filter_options(sample_con)["teams"] if str(t) == "North")
    return mp.build_pack(sample_con, team=str(team))


def test_every_session_measure_of_the_period_with_catalogue_label_unit_and_direction(sample_con, sample_pack):
    p = sample_pack
    f = p.filters()
    cat = catalogue()
    expected = []
    for o in analytics.measure_options(sample_con):
        m = cat[o["measure"]]
        if m.sd is None and analytics.kpis(sample_con, f, measure=m.id)["current"]["n_values"]:
            expected.append(m.id)
    assert {"engagement", "on_task", "protests"} <= set(expected)
    s = p.measure_summary
    assert list(s["measure"]) == expected
    for _, r in s.iterrows():
        m = cat[r["measure"]]
        assert (r["label"], r["unit"]) == (m.label, m.unit)
        assert r["better"] == ("lower is better" if m.direction == "lower" else "higher is better")
        k = analytics.kpis(sample_con, f, previous=replace(f, date_from=p.prev_from, date_to=p.prev_to), measure=m.id)
        for col in ("mean_value", "value_ci_lo", "value_ci_hi", "n_values", "n_children_values"):
            assert r[col] == pytest.approx(k["current"][col])
            assert r[col + "_prev"] == pytest.approx(k["previous"][col])
    sec = next(x for x in p.sections if x.key == "measures")
    assert sec.title == "Outcome measures" and [x.key for x in p.sections][-1] == "measures"
    text = " ".join(sec.summary) + " ".join(mp.table_text(t).to_string() for t in sec.tables)
    for mid in expected:
        assert cat[mid].label in text and cat[mid].unit in text
    # never "engagement points" for another measure
    for line in sec.summary[1:]:
        if not line.startswith("Engagement"):
            assert "engagement" not in line.lower() and "points" not in line


def test_within_child_comparison_pooled_per_measure_each_child_once(sample_con, sample_pack):
    p = sample_pack
    tf = replace(p.filters(), date_from=p.trend_from)
    for mid in ("on_task", "protests"):
        got = _row(p.measure_effects, mid)
        want = analytics.approach_effects(sample_con, tf, measure=mid).iloc[0]
        pairs = analytics.approach_pairs(sample_con, tf, measure=mid)
        eligible = pairs[pairs["eligible"].astype(bool) & pairs["diff"].notna()]
        assert eligible["child_id"].is_unique  # each child once per measure
        assert int(got["n_children"]) == len(eligible) == int(want["n_children"])
        for col in ("mean_diff", "ci_lo", "ci_hi", "wilcoxon_p", "mean_nap"):
            assert got[col] == pytest.approx(want[col])
        assert got["mean_diff"] == pytest.approx(eligible["diff"].mean())
    # the sample plants fewer protests and more time on task in child-led sessions
    assert _row(p.measure_effects, "protests")["mean_diff"] < 0 < _row(p.measure_effects, "on_task")["mean_diff"]
    assert "better" in _row(p.measure_effects, "protests")["reading"]


def test_trends_per_measure_follow_the_direction(sample_con, sample_pack):
    """Getting worse is a significant Mann-Kendall trend against the measure's direction: a
    rising count of protests is worse, a rising engagement is better."""
    p = sample_pack
    from pipelines import settings

    fl = settings.get().flags
    window = replace(p.filters(), date_from=min(p.date_from, p.date_to - dt.timedelta(days=7 * fl.engagement_window_weeks - 1)))
    for mid in p.measure_summary["measure"]:
        t = analytics.child_trends(sample_con, window, measure=mid)
        sign = catalogue()[mid].sign
        ok = (t["recent_n"] >= fl.engagement_min_sessions) & (t["recent_p_value"] < fl.engagement_trend_alpha)
        r = _row(p.measure_trends, mid)
        assert r["worse"] == int((ok & (t["recent_kendall_tau"] * sign < 0)).sum())
        assert r["better_n"] == int((ok & (t["recent_kendall_tau"] * sign > 0)).sum())
        assert r["n_children"] == int((t["recent_n"] >= fl.engagement_min_sessions).sum())
        assert r["worse"] + r["better_n"] + r["no_clear"] == r["n_children"]


def test_monthly_per_measure(sample_con, sample_pack):
    p = sample_pack
    tf = replace(p.filters(), date_from=p.trend_from)
    for mid in ("on_task", "protests"):
        got = p.measure_monthly[p.measure_monthly["measure"] == mid].reset_index(drop=True)
        want = analytics.monthly_trends(sample_con, tf, measure=mid)
        assert list(pd.to_datetime(got["month_start"])) == list(pd.to_datetime(want["month_start"]))
        assert list(got["mean_value"]) == pytest.approx(list(want["mean_value"]), nan_ok=True)
        assert (got["unit"] == catalogue()[mid].unit).all()


# ---------------------------------------------------------------------------------------------- planted small cell


def test_west_direction_of_a_rising_count_is_getting_worse(west):
    p = mp.build_pack(west, team="West")
    assert set(p.measure_summary["measure"]) == {"engagement", "on_task", "protests"}
    r = _row(p.measure_trends, "protests")
    t = analytics.child_trends(west, replace(p.filters(), date_from=p.trend_from), measure="protests")
    k5 = t[t["child_id"] == "W-K5"].iloc[0]
    assert k5["recent_kendall_tau"] > 0 and k5["recent_p_value"] < 0.05  # protests rising for W-K5
    assert r["worse"] >= 1
    flagged = analytics.flags(west, p.filters())
    assert "W-K5" in set(flagged.loc[flagged["measure"] == "protests", "child_id"])


def test_small_cell_of_a_non_engagement_measure_is_suppressed_in_html_and_excel(west, tmp_path):
    full = mp.build_pack(west, team="West")
    sup = mp.build_pack(west, team="West", suppress_small_cells=True)
    lt = sup.small_text
    assert lt == "<5"
    # unsuppressed: on task rests on 3 children
    on = _row(full.measure_summary, "on_task")
    assert int(on["n_children_values"]) == len(ON_TASK_CHILDREN) and not isinstance(on["mean_value"], str)
    s_on, s_pr, s_en = (_row(sup.measure_summary, m) for m in ("on_task", "protests", "engagement"))
    for col in ("mean_value", "value_ci_lo", "value_ci_hi", "n_values", "n_children_values"):
        assert s_on[col] == lt, col
        assert not isinstance(s_pr[col], str) and not isinstance(s_en[col], str), col
    assert s_pr["mean_value"] == pytest.approx(_row(full.measure_summary, "protests")["mean_value"])
    e_on = _row(sup.measure_effects, "on_task")
    for col in ("n_children", "mean_diff", "ci_lo", "ci_hi", "mean_nap", "reading", "n_children_considered"):
        assert e_on[col] == lt, col
    assert not isinstance(_row(sup.measure_effects, "protests")["mean_diff"], str)
    mon = sup.measure_monthly[sup.measure_monthly["measure"] == "on_task"]
    assert len(mon) and (mon["mean_value"] == lt).all() and (mon["n_children_values"] == lt).all()
    assert not sup.measure_monthly.loc[sup.measure_monthly["measure"] == "protests", "mean_value"].map(
        lambda v: isinstance(v, str)).any()

    # HTML: the on-task rows show <5 and none of its figures
    html_text = mp.render_html(sup)
    sec = _section(html_text, "measures")
    rows = {r[0]: r for r in _html_rows(sec, "Each measure in the period")}
    assert rows["On task"][3].startswith(lt) and rows["On task"][4].startswith(lt)
    assert re.match(r"\d", rows["Protests"][3])
    true_mean = f"{float(on['mean_value']):.2f}"
    assert true_mean not in sec
    eff = {r[0]: r for r in _html_rows(sec, "Within-child difference per measure, child-led − directed")}
    assert eff["On task"][3] == lt and eff["On task"][6] == lt
    assert f"{float(_row(full.measure_effects, 'on_task')['mean_diff']):+.2f}" not in sec
    assert true_mean in _section(mp.render_html(full), "measures")  # the unsuppressed pack has it

    # Excel: the Outcome measures sheet
    mp.write_excel(sup, tmp_path / "shared.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "shared.xlsx")
    assert "Outcome measures" in wb.sheetnames
    ws = wb["Outcome measures"]
    grid = [[c.value for c in r] for r in ws.iter_rows()]
    head_i = next(i for i, r in enumerate(grid) if r[0] == "Measure" and "Mean" in r)
    head = grid[head_i]
    body = {}
    for r in grid[head_i + 1:]:
        if r[0] is None:
            break
        body[r[0]] = dict(zip(head, r))
    assert body["On task"]["Mean"] == lt and body["On task"]["Mean: CI low"] == lt
    assert body["On task"]["Children with a value"] == lt
    assert isinstance(body["Protests"]["Mean"], float)
    assert body["Protests"]["Mean"] == pytest.approx(float(s_pr["mean_value"]))
    numbers = [v for r in grid for v in r if isinstance(v, float)]
    assert float(on["mean_value"]) not in numbers


# ---------------------------------------------------------------------------------------------- the page

WRAPPER = """
import runpy
from dashboard import auth, data, ui
auth.gate()
data.ensure_warehouse()
ui.filter_bar("team_meeting")
runpy.run_path({page!r}, run_name="__page__")
"""


def test_page_shows_each_measure_and_suppresses_per_measure(west_db, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PIPELINES_DB", str(west_db))
    script = tmp_path / "page_app.py"
    script.write_text(WRAPPER.format(page=str(ROOT / "dashboard" / "app_pages" / "team_meeting.py")))
    at = AppTest.from_file(str(script), default_timeout=120)
    at.query_params["team"] = "West"
    at.run()
    assert not at.exception, at.exception[0].value
    heads = [s.value for s in at.subheader]
    assert "5 · Outcome measures" in heads

    def markdown_tables(at_) -> list[pd.DataFrame]:
        """The page's tables, drawn as markdown (layout.static_table), read back as frames."""
        out = []
        for m in at_.markdown:
            lines = [ln for ln in str(m.value).splitlines() if ln.startswith("| ")]
            if len(lines) < 2 or set(lines[1].replace("|", "").split()) != {"---"}:
                continue
            cells = [[c.strip().replace("\\", "") for c in ln.strip("|").split(" | ")] for ln in lines]
            out.append(pd.DataFrame(cells[2:], columns=cells[0]))
        return out

    def summary_table(at_) -> pd.DataFrame:
        frames = [f for f in markdown_tables(at_) if "Children with a value" in f.columns
                  and "Direction" in f.columns]
        assert frames, "no per-measure table on the page"
        return frames[0].set_index("Measure")

    t = summary_table(at)
    assert {"Engagement", "On task", "Protests"} <= set(t.index)
    assert t.loc["Protests", "Unit"] == "protests per session" and t.loc["Protests", "Direction"] == "lower is better"
    assert not t.loc["On task", "Mean"].startswith("<")
    at.toggle(key="mp_suppress").set_value(True).run()
    assert not at.exception, at.exception[0].value
    t = summary_table(at)
    assert t.loc["On task", "Mean"].startswith("<5") and not t.loc["Protests", "Mean"].startswith("<")
    # the files are still made only on click: three download buttons, nothing written yet
    assert len(at.get("download_button")) == 3
