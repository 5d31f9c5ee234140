"""The team meeting pack (``reports/meeting_pack/``, the ``meeting-pack`` command and the
Team meeting page) on real warehouses, real files and the system's Chromium; no mocks.

* the shared warehouse of the sample practice (``sample_db`` of conftest.py:
  ``data/sample/canonical``, loaded once per run), and
* a tiny export with planted formula-looking values (team ``=HYPERLINK(...)``, therapist
  ``+T1``, children ``-C1`` and ``@C2``) for spreadsheet safety and small-cell suppression.

Every section is checked against the analytics layer. The Chromium parts (the HTML opened
in headless Chromium with no network request and no console error, the PDF with a page per
section) skip with a reason when /usr/bin/chromium is missing, and fail then when
REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

import analytics
from analytics import stored
from pipelines import load, warehouse
from pipelines.small_practice import HEADER
from reports import meeting_pack as mp
from stats.rci import IMPROVED

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample" / "canonical"
CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
TITLES = ["Needs attention", "Wins", "Caseload by therapist", "Team trends", "Outcome measures"]
PLANTED_TEAM = '=HYPERLINK("http://example.invalid","x")'
PLANTED = {"team": PLANTED_TEAM, "therapist": "+T1", "children": ["-C1", "@C2"]}
TINY_END = dt.date(2026, 10, 30)


def _need_chromium() -> None:
    if not CHROMIUM.exists():
        reason = "no system Chromium at /usr/bin/chromium (apt-get install chromium); never downloaded by the tests"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture()
def chromium(monkeypatch) -> str:
    _need_chromium()
    monkeypatch.delenv("PIPELINES_CHROMIUM", raising=False)
    return str(CHROMIUM)


# ---------------------------------------------------------------------------------------------- warehouses


def _write_tiny(path: Path) -> Path:
    """Three children of one team over 20 weeks; -C1 misses sessions lately (low attendance)."""
    rows, sid = [], 0
    for ci, (child, ther) in enumerate([("-C1", "+T1"), ("@C2", "+T1"), ("C3", "T2")]):
        for w in range(20):
            day = TINY_END - dt.timedelta(weeks=19 - w, days=ci)
            sid += 1
            att = "no-show" if child == "-C1" and w >= 13 and w % 2 == 0 else "attended"
            row = dict.fromkeys(HEADER, "")
            row.update(session_id=f"X{sid:04d}", child_id=child, therapist_id=ther, team=PLANTED_TEAM,
                       session_date=day.isoformat(), modality="OT", approach=("child-led", "directed")[w % 2],
                       date_of_birth="2018-01-01", attendance=att, setting="clinic",
                       duration_min="45" if att == "attended" else "",
                       engagement=str(3 + w % 2) if att == "attended" else "")
            if att == "attended" and w % 3 == 0:
                row.update(goal_id=f"G{ci}-1", goal_domain="motor", gas_level=str(min(1, -2 + w // 5)), goal_weight="1")
            rows.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)
    return path


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("meeting_pack_tiny")
    db = work / "tiny.duckdb"
    report = load.load([_write_tiny(work / "exports" / "tiny.csv")], db=db, after_build=stored.STEPS)
    assert not [f for f in report.files if f.status == "failed"], report.files
    return db


@pytest.fixture(scope="session")
def con(sample_db):
    c = warehouse.connect_reader(sample_db)
    yield c
    c.close()


@pytest.fixture(scope="session")
def tiny_con(tiny_db):
    c = warehouse.connect_reader(tiny_db)
    yield c
    c.close()


@pytest.fixture(scope="session")
def team(con) -> str:
    """The team with the most flagged children as of the latest session (a full agenda)."""
    fl = analytics.flags(con)
    teams = [t for t in analytics.filter_options(con)["teams"] if not str(t).startswith("=")]
    counts = fl[fl["team"].isin(teams)].groupby("team")["child_id"].nunique()
    return str(counts.idxmax()) if len(counts) else str(teams[0])


@pytest.fixture(scope="session")
def period(con) -> tuple[dt.date, dt.date]:
    return mp.default_period(analytics.as_of(con), 4)


@pytest.fixture(scope="session")
def pack(con, team, period) -> mp.MeetingPack:
    return mp.build_pack(con, team=team, date_from=period[0], date_to=period[1])


@pytest.fixture(scope="session")
def files(pack, tmp_path_factory) -> dict:
    """pack.html and pack.xlsx of the team's pack (the PDF is made by the Chromium tests)."""
    out = tmp_path_factory.mktemp("pack_files")
    return mp.write_all(pack, out, pdf=False)


def _body(html_text: str) -> str:
    """The document without the inlined plotly.js (its minified code is not the pack's content)."""
    return html_text.split("</head>", 1)[1]


def _f(team, d_from, d_to, **kw) -> analytics.Filters:
    return analytics.Filters(date_from=d_from, date_to=d_to, teams=(team,), **kw)


# ---------------------------------------------------------------------------------------------- sections vs analytics


def test_needs_attention_is_exactly_the_flags(con, pack, team, period):
    fl = analytics.flags(con, _f(team, *period))
    assert len(fl), "the chosen team should have flagged children in the sample"
    # the flagged children are exactly analytics.flags' for the team and period, most urgent first
    assert list(pack.attention_children["child_id"]) == list(dict.fromkeys(fl["child_id"]))
    pd.testing.assert_frame_equal(
        pack.attention[["child_id", "title", "reason", "severity_label"]].reset_index(drop=True),
        fl[["child_id", "title", "reason", "severity_label"]].reset_index(drop=True))
    # key numbers are the child's own figures in the period
    ct = analytics.child_trends(con, _f(team, *period)).set_index("child_id")
    for _, r in pack.attention_children.iterrows():
        if r["child_id"] in ct.index:
            assert r["sessions"] == ct.at[r["child_id"], "sessions"]
            assert r["attended"] == ct.at[r["child_id"], "attended"]
            assert np.isclose(r["mean_engagement"], ct.at[r["child_id"], "mean_engagement"], equal_nan=True)
        else:
            assert r["sessions"] == 0
    sev_rank = pack.attention_children["severity_label"].map({"high": 0, "medium": 1, "low": 2})
    assert sev_rank.is_monotonic_increasing, "most urgent first"


@pytest.mark.parametrize("which", ["last 4 weeks", "August"])
def test_wins_agree_with_analytics(con, team, period, which):
    d_from, d_to = period if which == "last 4 weeks" else (dt.date(2026, 8, 1), dt.date(2026, 8, 28))
    p = mp.build_pack(con, team=team, date_from=d_from, date_to=d_to)
    exp = 0
    # goals: best level in the period reached expected (or above it) for the first time
    in_period = analytics.goal_summary(con, _f(team, d_from, d_to)).set_index("goal_uid")
    before = analytics.goal_summary(con, analytics.Filters(date_to=d_from - dt.timedelta(days=1), teams=(team,)))
    best_before = before.set_index("goal_uid")["best_level"]
    bb = in_period.index.map(best_before).astype(float)
    met = (in_period["best_level"] >= exp) & ~(bb >= exp)
    exceeded = (in_period["best_level"] > exp) & ~(bb > exp)
    expected = {(r.child_id, r.goal_id) for r in in_period[met | exceeded].itertuples()}
    assert set(zip(p.goals_met["child_id"], p.goals_met["goal_id"])) == expected
    # reliable improvements: classified improved, latest administration in the period
    rc = analytics.reliable_change(con, analytics.Filters(date_to=d_to, teams=(team,)))
    last = pd.to_datetime(rc["last_date"])
    want = rc[(rc["classification"] == IMPROVED) & (last >= pd.Timestamp(d_from)) & (last <= pd.Timestamp(d_to))]
    assert set(zip(p.reliable_improvements["child_id"], p.reliable_improvements["measure"])) == \
        set(zip(want["child_id"], want["measure"]))
    if which == "August" and SAMPLE.is_dir():
        assert len(p.reliable_improvements), "the sample plants reliable improvements measured in August"
    # engagement: each child says which evidence, and the numbers are analytics.child_trends'
    cur = analytics.child_trends(con, _f(team, d_from, d_to)).set_index("child_id")
    prev = analytics.child_trends(con, _f(team, d_from, d_to).previous_period()).set_index("child_id")
    for _, r in p.engagement_rises.iterrows():
        assert ("trend" in r["evidence"]) or ("rise" in r["evidence"])
        assert np.isclose(r["mean_now"], cur.at[r["child_id"], "mean_engagement"])
        if "rise" in r["evidence"]:
            assert r["mean_now"] - prev.at[r["child_id"], "mean_engagement"] >= 1.0 - 1e-9
        if "trend" in r["evidence"]:
            assert r["trend_p"] < 0.05 and r["trend_slope_per_week"] > 0


def test_caseload_is_kpis_per_therapist_against_the_previous_period(con, pack, team, period):
    f = _f(team, *period)
    rows = pack.caseload.set_index("therapist_id")
    def has_sessions(t: str) -> bool:
        k = analytics.kpis(con, replace(f, therapists=(t,)))
        return bool(k["current"]["sessions"] or (k["previous"] or {}).get("sessions"))

    therapists = [t for t in analytics.filter_options(con)["therapists"] if has_sessions(t)]
    assert [t for t in rows.index if t != "All"] == sorted(therapists)
    for t in [*therapists, "All"]:
        sf = f if t == "All" else replace(f, therapists=(t,))
        k = analytics.kpis(con, sf)
        kc = analytics.kpis(con, replace(sf, approaches=("child-led",)))
        for block, suffix in (("current", ""), ("previous", "_prev")):
            for key in ("n_children", "sessions", "attendance_rate", "mean_engagement", "share_goals_at_expected",
                        "n_goals", "n_rated"):
                assert np.isclose(float(rows.at[t, key + suffix]), float(k[block][key]), equal_nan=True), (t, key, block)
            share = kc[block]["attended"] / k[block]["attended"] if k[block]["attended"] else np.nan
            assert np.isclose(float(rows.at[t, "child_led_share" + suffix]), share, equal_nan=True)


def test_trends_are_the_teams_monthly_trends_and_paired_effect(con, pack, team, period):
    first = (pd.Timestamp(period[1]).to_period("M") - 5).to_timestamp().date()
    tf = _f(team, first, period[1])
    pd.testing.assert_frame_equal(pack.trends.reset_index(drop=True), analytics.monthly_trends(con, tf))
    by = analytics.monthly_trends(con, tf, by="approach")
    by = by[by["approach"].isin(["child-led", "directed"])].reset_index(drop=True)
    pd.testing.assert_frame_equal(pack.trends_by_approach.reset_index(drop=True), by)
    pd.testing.assert_frame_equal(pack.approach_effect, analytics.approach_effects(con, tf))
    assert {"trend_engagement", "trend_goals", "trend_approach", "caseload_engagement"} <= set(pack.figures)
    for fig in pack.figures.values():
        assert fig.layout.title.text, "every chart has a title"


def test_bad_requests_fail_with_one_line(con, team):
    for kwargs, words in (({"team": "No such team"}, "unknown team"), ({"therapist": "T999"}, "unknown therapist"),
                          ({"team": team, "date_from": "2026-02-30"}, "not a date"),
                          ({"team": team, "date_from": "2026-10-30", "date_to": "2026-10-01"}, "after"),
                          ({"team": team, "date_from": "2001-01-01", "date_to": "2001-02-01"}, "no data"),
                          ({}, "team or a therapist")):
        with pytest.raises(mp.PackError, match=words) as exc:
            mp.build_pack(con, **kwargs)
        assert "\n" not in str(exc.value)


# ---------------------------------------------------------------------------------------------- HTML and Excel


def test_html_is_self_contained(files, pack):
    from plotly.offline import get_plotlyjs

    text = Path(files["html"]).read_text(encoding="utf-8")
    assert get_plotlyjs() in text, "plotly.js is inlined"
    text = text.replace(get_plotlyjs(), "")  # the rest is ours: no reference to anything outside the file
    assert "<script src" not in text and "cdn.plot.ly" not in text
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text), "no external resource"
    assert "@import" not in text and "url(http" not in text
    for i, title in enumerate(TITLES, start=1):
        assert f"<h2>{i} · {title}</h2>" in text
    assert text.count("break-before: page") >= 1
    for child in pack.attention_children["child_id"]:
        assert str(child) in text


def test_excel_has_a_sheet_per_section_and_the_numbers(files, pack):
    wb = openpyxl.load_workbook(files["xlsx"])
    assert wb.sheetnames == ["About", "Needs attention", "Wins", "Caseload", "Team trends", "Outcome measures"]
    ws = wb["Caseload"]
    header_row = next(r for r in ws.iter_rows() if r[0].value == "Therapist")
    headers = [c.value for c in header_row]
    col = headers.index("Sessions")
    got = {}
    for r in ws.iter_rows(min_row=header_row[0].row + 1):
        if r[0].value is None or r[col].value is None:  # the table's note follows it
            break
        got[r[0].value] = r[col].value
    assert got == dict(zip(pack.caseload["therapist_id"], pack.caseload["sessions"].astype(int)))
    flagged = {c.value for c in wb["Needs attention"]["A"] if isinstance(c.value, str) and re.fullmatch(r"C\d+", c.value)}
    assert flagged == set(pack.attention_children["child_id"])


def test_formula_looking_values_stay_text(tiny_con, tmp_path):
    p = mp.build_pack(tiny_con, team=PLANTED_TEAM)
    assert "-C1" in set(p.attention_children["child_id"]), "the planted child is flagged"
    mp.write_excel(p, tmp_path / "pack.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "pack.xlsx")
    seen = set()
    for ws in wb:
        for row in ws.iter_rows():
            for c in row:
                assert c.data_type != "f", f"{ws.title}!{c.coordinate} is a formula"
                if isinstance(c.value, str):
                    assert not c.value.startswith(("=", "+", "-", "@", "\t", "\r")), f"{ws.title}!{c.coordinate}"
                    seen.add(c.value)
                    if c.value.lstrip("'") in (PLANTED_TEAM, PLANTED["therapist"], *PLANTED["children"]):
                        assert c.data_type == "s" and c.value.startswith("'")
    assert "'" + PLANTED_TEAM in seen and "'+T1" in seen and "'-C1" in seen
    # the HTML shows them as plain (escaped) text
    text = mp.render_html(p)
    assert "=HYPERLINK(&quot;http://example.invalid&quot;,&quot;x&quot;)" in text


def test_small_cells_are_suppressed(tiny_con, con, team, period, tmp_path):
    small = mp.build_pack(tiny_con, team=PLANTED_TEAM, suppress_small_cells=True)
    lt = f"<{small.small_cell_min}"
    assert small.suppress_small_cells and small.small_cell_min == 5
    assert (small.caseload["n_children"] == lt).all() and (small.caseload["mean_engagement"] == lt).all()
    assert (small.trends["mean_engagement"] == lt).all()
    assert "child_id" not in small.attention.columns and list(small.attention["children"]) == [lt, lt]
    text = _body(mp.render_html(small))
    assert "&lt;5" in text and "-C1" not in text and "@C2" not in text
    mp.write_excel(small, tmp_path / "small.xlsx")
    cells = [c.value for ws in openpyxl.load_workbook(tmp_path / "small.xlsx") for r in ws.iter_rows() for c in r]
    assert lt in cells and "'-C1" not in cells
    # on the sample: every caseload figure resting on 1-4 children shows "<5", the rest are numbers
    full = mp.build_pack(con, team=team, date_from=period[1] - dt.timedelta(days=13), date_to=period[1])
    sup = mp.build_pack(con, team=team, date_from=period[1] - dt.timedelta(days=13), date_to=period[1],
                        suppress_small_cells=True)
    for col, ncol in (("sessions", "n_children"), ("mean_engagement", "n_children_rated"),
                      ("share_goals_at_expected", "n_children_gas")):
        small_here = False
        for (_, a), (_, b) in zip(full.caseload.iterrows(), sup.caseload.iterrows()):
            if 0 < a[ncol] < 5 or 0 < a["n_children"] < 5:
                assert b[col] == lt
                small_here = True
            elif b[col] == mp.HIDDEN_TEXT:  # hidden beside a small one, so the total gives neither back
                pass
            else:
                assert b[col] == a[col] or (pd.isna(a[col]) and pd.isna(b[col]))
        hidden = (sup.caseload[col] == mp.HIDDEN_TEXT).sum()
        assert small_here or not hidden, f"{col}: hidden with no small figure to protect"
    body = _body(mp.render_html(sup))
    for child in analytics.flags(con, _f(team, *period))["child_id"]:
        assert str(child) not in body


SMALL_TEAM = {"TA": 8, "TB": 7, "TC": 2}  # children per therapist of team East: TC has fewer than 5


@pytest.fixture(scope="session")
def east_con(tmp_path_factory):
    """Team East: therapists TA (8 children), TB (7) and TC (2), weekly sessions for 12 weeks,
    every attended session rated, a goal rated every other week."""
    rows, sid = [], 0
    for ther, n in SMALL_TEAM.items():
        for c in range(n):
            child = f"{ther}-K{c}"
            for w in range(12):
                sid += 1
                att = "no-show" if (c + w) % 7 == 0 else "attended"
                row = dict.fromkeys(HEADER, "")
                row.update(session_id=f"E{sid:05d}", child_id=child, therapist_id=ther, team="East",
                           session_date=(TINY_END - dt.timedelta(weeks=11 - w, days=c % 3)).isoformat(),
                           modality="OT", approach=("child-led", "directed")[(c + w) % 2],
                           date_of_birth="2017-03-01", attendance=att, setting="clinic",
                           duration_min="45" if att == "attended" else "",
                           engagement=str(2 + (c + w) % 4) if att == "attended" else "")
                if att == "attended" and w % 2 == 0:
                    row.update(goal_id=f"{child}-G1", goal_domain="motor", gas_level=str(min(2, -2 + w // 3)),
                               goal_weight="1")
                rows.append(row)
    work = tmp_path_factory.mktemp("east")
    path = work / "east.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)
    report = load.load([path], db=work / "east.duckdb", after_build=stored.STEPS)
    assert not [f for f in report.files if f.status == "failed"], report.files
    c = warehouse.connect_reader(work / "east.duckdb")
    yield c
    c.close()


# what the caseload table shows of each row: a figure, or the n it is shown with
_SHOWN_AS = {"n_children": None, "sessions": None, "attended": None, "n_rated": None, "n_goals": None,
             "mean_engagement": "n_rated", "attendance_rate": "sessions", "child_led_share": "attended",
             "share_goals_at_expected": "n_goals"}


def _shown_total(frame: pd.DataFrame, col: str, weight: str | None, suffix: str) -> dict[str, float | str]:
    """Per row of the caseload: the additive quantity behind a shown cell (a count, or a rate
    times its shown n: attended = attendance x sessions), or the text it shows instead."""
    out = {}
    for _, r in frame.iterrows():
        v = r[col + suffix]
        if isinstance(v, str):
            out[r["therapist_id"]] = v
        elif weight is None:
            out[r["therapist_id"]] = float(v) if not pd.isna(v) else 0.0
        else:
            n = r[weight + suffix]
            out[r["therapist_id"]] = n if isinstance(n, str) else (0.0 if pd.isna(v) else float(v) * float(n))
    return out


def test_shared_pack_total_does_not_give_back_a_small_therapist(east_con):
    """Issue 11, item 16: "All" minus the therapists shown must not recover a therapist shown as <5."""
    d_to = TINY_END
    d_from = d_to - dt.timedelta(days=27)
    full = mp.build_pack(east_con, team="East", date_from=d_from, date_to=d_to)
    sup = mp.build_pack(east_con, team="East", date_from=d_from, date_to=d_to, suppress_small_cells=True)
    lt = sup.small_text
    shown = sup.caseload.set_index("therapist_id")
    assert shown.loc["TC", "n_children"] == lt and shown.loc["TC", "sessions"] == lt
    assert not isinstance(shown.loc["TA", "n_children"], str) or not isinstance(shown.loc["TB", "n_children"], str)
    true = full.caseload
    for suffix in ("", "_prev"):
        for col, weight in _SHOWN_AS.items():
            cells = _shown_total(sup.caseload, col, weight, suffix)
            truth = _shown_total(true, col, weight, suffix)
            total = cells.pop("All")
            if isinstance(total, str):
                continue  # the total itself is hidden
            hidden = [t for t, v in cells.items() if isinstance(v, str)]
            residual = total - sum(v for v in cells.values() if not isinstance(v, str))
            assert len(hidden) != 1, f"{col}{suffix}: only {hidden} hidden next to a shown total"
            for t in hidden:
                assert not np.isclose(residual, truth[t], atol=0.5), \
                    f"{col}{suffix}: All - shown = {residual} gives back {t} ({truth[t]})"
    # the complementary cell says why it is hidden, and is not claimed to be small
    second = [t for t in ("TA", "TB") if isinstance(shown.loc[t, "n_children"], str)]
    assert second and all(shown.loc[t, "n_children"] == "hidden" for t in second)
    text = mp.render_html(sup)
    assert "hidden" in text and "worked out" in text


def test_shared_pack_counts_never_hide_one_row_next_to_a_shown_total(east_con, con, team, period):
    for c, kw in ((east_con, {"team": "East"}), (con, {"team": team, "date_from": period[0], "date_to": period[1]})):
        sup = mp.build_pack(c, suppress_small_cells=True, **kw)
        for frame, label, total in ((sup.attention, "title", "Any flag"), (sup.goals_met, "kind", "All"),
                                    (sup.reliable_improvements, "kind", "All"), (sup.engagement_rises, "kind", "All")):
            if frame.empty:
                continue
            rows = frame[frame[label] != total]
            tot = frame.loc[frame[label] == total, "children"]
            if len(tot) and not isinstance(tot.iloc[0], str):
                assert (rows["children"].map(lambda v: isinstance(v, str))).sum() != 1, frame


# ---------------------------------------------------------------------------------------------- Chromium


def test_html_opens_in_chromium_without_network_or_errors(chromium, files, pack):
    sync_api = pytest.importorskip("playwright.sync_api", reason="python package playwright is not installed")
    url = Path(files["html"]).resolve().as_uri()
    requests, problems = [], []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=BROWSER_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(url, wait_until="load")
            page.wait_for_selector("html[data-charts-ready]", state="attached", timeout=30_000)
            assert page.get_attribute("html", "data-charts-ready") == "1"
            assert page.locator(".js-plotly-plot .main-svg").count() >= len(pack.figures)
            assert [h.strip() for h in page.locator("h2").all_inner_texts()] == \
                [f"{i} · {t}" for i, t in enumerate(TITLES, start=1)]
            page.wait_for_timeout(500)
        finally:
            browser.close()
    assert problems == []
    assert requests == [url], f"requests beyond the file itself: {requests}"


def _page_texts(pdf: Path) -> list[str]:
    from pypdf import PdfReader

    return [p.extract_text() or "" for p in PdfReader(str(pdf)).pages]


def test_pdf_starts_each_section_on_a_new_page(chromium, files, pack, tmp_path):
    out = mp.render_pdf(Path(files["html"]).read_text(encoding="utf-8"), tmp_path / "pack.pdf")
    pages = _page_texts(out)
    squash = [re.sub(r"\s+", "", t) for t in pages]
    starts = []
    for i, title in enumerate(TITLES, start=1):
        heading = re.sub(r"\s+", "", f"{i} · {title}")
        hits = [n for n, t in enumerate(squash) if heading in t]
        assert len(hits) == 1, (title, hits)
        starts.append(hits[0])
        if i > 1:  # nothing of the page before the heading but the running footer
            before = squash[hits[0]].split(heading)[0]
            before = re.sub(r"page\d+of\d+", "", before).replace(re.sub(r"\s+", "", f"{pack.scope} · {pack.period}"), "")
            assert before == "", (title, before[:200])
    assert starts == sorted(starts) and len(set(starts)) == len(TITLES), starts
    assert starts[0] == 0 and len(pages) >= len(TITLES)
    # the numbers are there with their units and n, and the charts drew (their titles are text in the PDF)
    assert "n = " in pages[starts[2]] and "%" in pages[starts[2]]
    rest = re.sub(r"\s+", "", "".join(pages[starts[3]:starts[4]]))
    for title in ("Mean engagement per month (1–5), with 95% CI", "Engagement in child-led and directed sessions"):
        assert re.sub(r"\s+", "", title) in rest, title


def test_cli_writes_the_three_files_and_fails_cleanly(chromium, sample_db, team, period, tmp_path):
    out = tmp_path / "pack"
    cmd = [sys.executable, "-m", "pipelines", "meeting-pack", "--team", team, "--from", str(period[0]),
           "--to", str(period[1]), "--out", str(out), "--db", str(sample_db)]
    env = {k: v for k, v in os.environ.items() if k != "PIPELINES_CHROMIUM"}
    res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == [f"wrote {out / name}" for name in ("pack.html", "pack.pdf", "pack.xlsx")]
    assert _page_texts(out / "pack.pdf") and openpyxl.load_workbook(out / "pack.xlsx")
    for extra, words in ((["--team", "Atlantis"], "unknown team"), (["--team", team, "--from", "31/10/2026"], "not a date"),
                         (["--team", team, "--therapist", "T999"], "unknown therapist")):
        bad = [sys.executable, "-m", "pipelines", "meeting-pack", *extra, "--out", str(tmp_path / "bad"),
               "--db", str(sample_db)]
        res = subprocess.run(bad, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
        assert res.returncode != 0
        assert len(res.stderr.strip().splitlines()) == 1 and words in res.stderr, res.stderr
        assert not (tmp_path / "bad").exists()


def test_cli_without_chromium_writes_html_and_excel(sample_db, team, tmp_path):
    out = tmp_path / "nochrome"
    env = dict(os.environ, PIPELINES_CHROMIUM="")  # as if Chromium were not installed
    res = subprocess.run([sys.executable, "-m", "pipelines", "meeting-pack", "--team", team, "--out", str(out),
                          "--db", str(sample_db), "--suppress-small-cells"],
                         cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == ["pack.html", "pack.xlsx"]
    assert "apt-get install chromium" in res.stderr


# ---------------------------------------------------------------------------------------------- the page


WRAPPER = """
import runpy
from dashboard import auth, data, ui
auth.gate()  # local single-user mode (tests bind Streamlit to 127.0.0.1)
data.ensure_warehouse()
ui.filter_bar("team_meeting")  # the page's filter bar: period, team and therapist
runpy.run_path({page!r}, run_name="__page__")
"""


def test_page_renders_and_offers_the_downloads(sample_db, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PIPELINES_DB", str(sample_db))
    script = tmp_path / "page_app.py"
    script.write_text(WRAPPER.format(page=str(ROOT / "dashboard" / "app_pages" / "team_meeting.py")))
    at = AppTest.from_file(str(script), default_timeout=180).run()
    assert not at.exception, at.exception[0].value
    assert at.title[0].value == "Team meeting pack"
    heads = [s.value for s in at.subheader]
    for i, t in enumerate(TITLES, start=1):
        assert f"{i} · {t}" in heads
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels[0] == "Meeting pack (HTML)" and labels[2] == "Tables (Excel)"
    assert labels[1] in ("Meeting pack (PDF)", "PDF needs Chromium")
    # another period and the shared version still render
    at.selectbox(key="f_period").set_value("2w").run()  # the sidebar's period is the pack's
    at.toggle(key="mp_suppress").set_value(True).run()
    assert not at.exception, at.exception[0].value
    assert any("<5" in str(i.value) for i in at.info)


def test_page_in_the_app_navigation(sample_db, monkeypatch):
    app = (ROOT / "dashboard" / "streamlit_app.py").read_text(encoding="utf-8")
    if "team_meeting" not in app and "team_meeting" not in (ROOT / "dashboard" / "ui.py").read_text(encoding="utf-8"):
        pytest.skip("the Team meeting page is not in the app's navigation yet (dashboard/streamlit_app.py)")
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PIPELINES_DB", str(sample_db))
    at = AppTest.from_file(str(ROOT / "dashboard" / "streamlit_app.py"), default_timeout=180).run()
    assert not at.exception
    at.switch_page("app_pages/team_meeting.py").run()
    assert not at.exception, at.exception[0].value
    assert len(at.get("download_button")) == 3


@pytest.mark.parametrize("suppress", [False, True])
def test_pack_start_is_the_packs_first_section_and_build_reuses_its_calls(con, team, period, suppress):
    """The page draws ``pack_start``'s Needs attention before the rest is built: it is the whole
    pack's (frames, text, scope, file name), and ``build_pack(start=...)`` gives the same pack."""
    kw = dict(team=team, date_from=period[0], date_to=period[1], suppress_small_cells=suppress)
    start = mp.pack_start(con, **kw)
    whole = mp.build_pack(con, **kw)
    again = mp.build_pack(con, **kw, start=start)
    assert [s.key for s in start.pack.sections] == ["attention"]
    for p in (whole, again):
        s0, w0 = start.pack.sections[0], p.sections[0]
        assert (s0.title, s0.summary, s0.notes) == (w0.title, w0.summary, w0.notes)
        assert [(t.key, t.title) for t in s0.tables] == [(t.key, t.title) for t in w0.tables]
        for a, b in zip(s0.tables, w0.tables):
            pd.testing.assert_frame_equal(a.frame, b.frame, check_exact=True)
        pd.testing.assert_frame_equal(start.pack.attention, p.attention, check_exact=True)
        assert (start.pack.scope, start.pack.period, start.pack.file_stem()) == (p.scope, p.period, p.file_stem())
    assert [s.summary for s in again.sections] == [s.summary for s in whole.sections]
    pd.testing.assert_frame_equal(again.caseload, whole.caseload, check_exact=True)


def test_printable_pack_lists_the_most_urgent_children_and_says_how_many_more(pack, files, monkeypatch):
    """One team's pack at 1M rows printed all 2,933 flagged children (421 PDF pages, s7 try-out): the
    HTML/PDF lists the first ``PRINT_ROWS`` cards and rows, most urgent first, and says how many the
    Excel pack holds. The sample's pack with the cap set below its flagged children."""
    from reports.meeting_pack import html_page
    kids = list(pack.attention_children["child_id"])
    assert len(kids) > 3, "the team's pack has more than 3 flagged children"
    full = _body(mp.render_html(pack))
    assert all(f">{k}<" in full for k in kids) and "the Excel pack lists every one" not in full
    monkeypatch.setattr(html_page, "PRINT_ROWS", 3)
    text = _body(mp.render_html(pack))
    assert [k for k in kids if f">{k}<span" in text] == kids[:3]
    assert f"The first 3 of {len(kids):,} flagged children (most urgent first) are listed here" in text
    wb = openpyxl.load_workbook(files["xlsx"])
    listed = {c.value.lstrip("'") for ws in wb for r in ws.iter_rows() for c in r if isinstance(c.value, str)}
    assert set(kids) <= listed, "the Excel pack still lists every flagged child"
