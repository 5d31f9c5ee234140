"""The child's progress report (issue 15): built from the analytics layer, in HTML (no network
requests), PDF (looked at as images with pdftoppm), Word (read back with python-docx) and the
family version (no statistics vocabulary); the CLI command, its audit event and scope.

Goal text and GAS level descriptions: the goals source loader is not merged yet, so
``story_db`` fills a goal's row of the real warehouse's ``src_goals`` table (a copy of the
sample's) and rebuilds the marts with the pipeline's own transform (``transform.build``).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import analytics
from access import scope as scope_mod
from builders import copy_warehouse
from pipelines import cli, transform, warehouse
from reports import child_report as cr

CHILD = "C0008"
TEXT_GOAL = "G0008-1"
TRIAL_GOAL = "G0008-9"
TRIALS = [3, 4, 4, 6, 8, 7, 8, 8, 9]       # correct of 10 per attended session: mastered (80% x 3) at the 9th
NAME = "Zebulon Quillfeather"          # a typed display name: must be in the file, nowhere else
LEVELS = {"level_m2": "Does not take turns", "level_m1": "Takes turns with an adult prompting each turn",
          "level_0": "Takes turns in a 2-person game", "level_p1": "Takes turns in a 3-person game",
          "level_p2": "Takes turns in a group game without prompts"}
# words a family version must not contain (checked on its visible text)
STAT_TERMS = ["NAP", "Tau", "PND", "T-score", "interval", "significant", "p-value", "p =", "p <", "Theil", "Sen's",
              "Mann-Kendall", "Kendall", "slope", "RCI", "reliable change", "standard error", "confidence",
              "statistic", "Newcombe", "Parker", "Jacobson", "regression", "estimate", "effect size", "GAS",
              "median", "variance", "n ="]


def add_goal_text(db: Path) -> None:
    """Give one goal of CHILD its text and level descriptions in src_goals (as the goals source will),
    then rebuild the marts with the pipeline's transform."""
    con = duckdb.connect(str(db))
    try:
        # the sessions source has put the goal in src_goals (id, domain, weight); the goals source adds the rest
        n = con.execute(
            "update src_goals set goal_text = $text, level_m2 = $m2, level_m1 = $m1, level_0 = $l0, level_p1 = $p1, "
            "level_p2 = $p2, baseline = 'no turn-taking at intake', target = 'level 0 by the review' "
            "where goal_uid = $uid returning goal_uid",
            {"uid": f"{CHILD}/{TEXT_GOAL}", "text": "Takes turns in a 2-person game", "m2": LEVELS["level_m2"],
             "m1": LEVELS["level_m1"], "l0": LEVELS["level_0"], "p1": LEVELS["level_p1"],
             "p2": LEVELS["level_p2"]}).fetchall()
        assert len(n) == 1
        # a trial-based goal (percent correct, with a mastery criterion), rated in the child's attended sessions
        con.execute(
            "insert into src_goals (goal_uid, child_id, goal_id, goal_text, goal_domain, mastery_criterion, measure, "
            "source, file_id, load_seq, line, export_order) values ($uid, $child, $goal, 'Names 10 everyday pictures', "
            "'communication', '80% over 3 consecutive sessions', 'goal_trials', 'goals', 999, 999, 3, "
            "timestamp '2026-11-01 00:00:00')", {"uid": f"{CHILD}/{TRIAL_GOAL}", "child": CHILD, "goal": TRIAL_GOAL})
        sessions = con.execute("select session_id from sessions where child_id = $c and attended "
                               "order by session_date, session_id", {"c": CHILD}).fetchall()
        for i, (sid,) in enumerate(sessions):
            correct = TRIALS[i] if i < len(TRIALS) else 9
            con.execute(
                "insert into src_observations (session_ref, measure, goal_key, goal_id, child_id, value, "
                "trials_correct, trials_total, source, file_id, load_seq, line, export_order) values "
                "($s, 'goal_trials', $g, $g, $c, $v, $k, 10, 'sessions', 999, 999, $line, "
                "timestamp '2026-11-01 00:00:00')",
                {"s": sid, "g": TRIAL_GOAL, "c": CHILD, "v": 10.0 * correct, "k": correct, "line": 100 + i})
        transform.build(con, after_build=analytics.STEPS)
    finally:
        con.close()


@pytest.fixture(scope="module")
def story_db(sample_db, tmp_path_factory) -> Path:
    db = copy_warehouse(sample_db, tmp_path_factory.mktemp("story") / sample_db.name)
    add_goal_text(db)
    return db


@pytest.fixture(scope="module")
def con(story_db):
    c = warehouse.connect_reader(story_db)
    yield c
    c.close()


class _Visible(HTMLParser):
    """The text a reader sees: everything outside <script> and <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.skip, self.parts, self.urls = 0, [], []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        for k, v in attrs:
            if k in ("src", "href") and v:
                self.urls.append(v)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def visible(html_text: str) -> tuple[str, list[str]]:
    p = _Visible()
    p.feed(html_text)
    return " ".join(p.parts), p.urls


def figure_texts(report: cr.ChildReport, parent: bool) -> str:
    """Every text the charts draw (titles, axis labels, ticks, annotations, hover text)."""
    from reports.child_report import sections

    out = []
    for sec in sections.document(report, parent=parent).sections:
        for g in sec.goals:
            if g.figure is not None:
                j = g.figure.to_plotly_json()
                out.append(str(j["layout"].get("title", {}).get("text", "")))
                out += [str(a.get("text", "")) for a in j["layout"].get("annotations", [])]
                for ax in ("xaxis", "yaxis"):
                    a = j["layout"].get(ax, {})
                    out.append(str(a.get("title", {}).get("text", "")))
                    out += [str(t) for t in a.get("ticktext", []) or []]
                out += [str(t.get("hovertemplate", "")) for t in j["data"]]
    return " ".join(out)


# ---------------------------------------------------------------------------------------------- model

def test_goals_carry_text_and_level_descriptions_when_the_source_has_them(con):
    g = analytics.child_goals(con, CHILD).set_index("goal_id")
    assert g.loc[TEXT_GOAL, "goal_text"] == "Takes turns in a 2-person game" and g.loc[TEXT_GOAL, "has_text"]
    assert g.loc[TEXT_GOAL, "level_p1"] == LEVELS["level_p1"]
    other = g.drop(index=[TEXT_GOAL, TRIAL_GOAL])
    assert len(other) and not other["has_text"].any()
    # baseline and current are the goal's first and latest rating; the trend is stats.trend's
    ratings = analytics.child_goal_ratings(con, CHILD).query("goal_id == @TEXT_GOAL").sort_values("session_date")
    assert g.loc[TEXT_GOAL, "baseline"] == ratings["gas_level"].iloc[0]
    assert g.loc[TEXT_GOAL, "current"] == ratings["gas_level"].iloc[-1]
    from stats.trend import trends_grouped
    import pandas as pd
    r = ratings.assign(w=(pd.to_datetime(ratings["session_date"]) - pd.Timestamp("2000-01-01")).dt.days / 7.0)
    want = trends_grouped(r, "goal_id", "w", "gas_level").iloc[0]
    assert g.loc[TEXT_GOAL, "slope_per_week"] == pytest.approx(want["slope"])
    assert g.loc[TEXT_GOAL, "slope_lo"] == pytest.approx(want["slope_lo"])
    assert set(g["status"]) <= {"met", "mastered", "stalled", "no recent rating", "no rating in the period",
                                "discontinued", "in progress"}


def test_trial_goal_has_percent_correct_and_mastery_from_its_criterion(con):
    g = analytics.child_goals(con, CHILD).set_index("goal_id").loc[TRIAL_GOAL]
    assert g["kind"] == "trials" and g["baseline"] == pytest.approx(30) and g["current"] == pytest.approx(90)
    assert g["mastery_percent"] == 80 and g["mastery_sessions"] == 3
    sessions = con.execute("select session_date from sessions where child_id = $c and attended "
                           "order by session_date, session_id", {"c": CHILD}).fetchall()
    # 80% three sessions in a row first at the 9th (8, 8, 9 of 10; the 5th, 8, was followed by a 7)
    assert g["status"] == "mastered" and pd.Timestamp(g["first_met_date"]) == pd.Timestamp(sessions[8][0])
    rep = cr.build_report(con, CHILD)
    from reports.child_report import figures
    fig = figures.goal_figure(g.rename(None).to_frame().T.assign(goal_id=TRIAL_GOAL).iloc[0], rep.observations,
                              rep.phases, rep.expected_level)
    assert [s["y0"] for s in fig.to_plotly_json()["layout"]["shapes"] if s.get("y0") == s.get("y1")] == [80.0]
    assert any("mastered" in str(a["text"]) for a in fig.to_plotly_json()["layout"]["annotations"])
    seen, _ = visible(cr.render_html(rep))
    assert "Baseline 30% correct, now 90%" in seen and "mastery: 80% over 3 consecutive sessions" in seen


def test_report_model_matches_the_analytics_layer(con):
    lo, hi = dt.date(2026, 6, 1), dt.date(2026, 10, 31)
    rep = cr.build_report(con, CHILD, lo.isoformat(), hi.isoformat())
    f = analytics.Filters(date_from=lo, date_to=hi)
    tl = analytics.child_timeline(con, CHILD, f)
    assert rep.attendance["scheduled"] == len(tl)
    assert rep.attendance["attended"] == int(tl["attended"].sum())
    comp = analytics.child_comparison(con, CHILD, f)
    assert rep.comparison["nap"] == pytest.approx(comp["nap"])
    html_text = cr.render_html(rep)
    k = int(round(comp["nap"] * 10))
    n_cl, n_d = comp["n_child_led"], comp["n_directed"]
    assert "Comparing each child-led session with each directed one" in html_text
    assert (f"higher in the child-led session about {k} times in 10" if k > 5 else
            f"higher in the directed session about {10 - k} times in 10" if k < 5 else "about as often") in html_text
    assert f"({n_cl} child-led and {n_d} directed session" in html_text
    assert "pairs of sessions" not in html_text
    for method in ("Parker, R. I., &amp; Vannest, K. J. (2009)", "Tau-U", "Scruggs", "How this is computed"):
        assert method in html_text


def test_unknown_child_and_bad_dates_are_one_clear_error(con):
    with pytest.raises(cr.ReportError, match="C9999"):
        cr.build_report(con, "C9999")
    with pytest.raises(cr.ReportError, match="--from"):
        cr.build_report(con, CHILD, "2026-13-01")
    with pytest.raises(cr.ReportError, match="before it starts"):
        cr.build_report(con, CHILD, "2026-10-01", "2026-09-01")


def test_a_therapist_can_make_reports_only_for_children_in_scope(con):
    sessions = con.execute("select child_id, therapist_id from sessions").df()
    mine = sessions.loc[sessions["child_id"] == CHILD, "therapist_id"].iloc[-1]
    other = sorted(set(sessions["therapist_id"]) - set(sessions.loc[sessions["child_id"] == CHILD, "therapist_id"]))[0]
    own = scope_mod.scoped(con, scope_mod.Scope("therapist", therapist_id=mine))
    try:
        assert cr.build_report(own, CHILD).child_id == CHILD
    finally:
        own.close()
    theirs = scope_mod.scoped(con, scope_mod.Scope("therapist", therapist_id=other))
    try:
        with pytest.raises(cr.ReportError, match="not among the children you can see"):
            cr.build_report(theirs, CHILD)
    finally:
        theirs.close()


# ---------------------------------------------------------------------------------------------- formats

def test_html_makes_no_request_in_a_real_browser(con, tmp_path):
    from playwright.sync_api import sync_playwright

    from reports.pdf import BROWSER_ARGS

    src = tmp_path / "report.html"
    src.write_text(cr.render_html(cr.build_report(con, CHILD)), encoding="utf-8")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS, headless=True)
        try:
            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(src.as_uri(), wait_until="load")
            page.wait_for_selector("html[data-charts-ready='1']", state="attached", timeout=60_000)
            assert page.locator(".figure .main-svg").count() >= 1      # the charts are drawn
        finally:
            browser.close()
    assert requests == [src.as_uri()], requests                        # the document itself, nothing else


def test_html_is_self_contained_and_shows_goal_text_or_the_note(con):
    text = cr.render_html(cr.build_report(con, CHILD), display_name=NAME, narrative="Good term.")
    seen, urls = visible(text)
    assert not [u for u in urls if re.match(r"(?i)\s*(https?:)?//", u)], urls
    assert "@import" not in text and "url(http" not in text
    assert "Takes turns in a 2-person game" in seen and LEVELS["level_p2"] in seen
    assert "gives no goal text or level descriptions" in seen
    assert NAME in seen and "Good term." in seen


def test_family_version_has_no_statistics_vocabulary(con):
    rep = cr.build_report(con, CHILD)
    text = cr.render_html(rep, parent=True, display_name=NAME)
    seen, _ = visible(text)
    words = seen + " " + figure_texts(rep, parent=True)
    found = [t for t in STAT_TERMS if re.search(r"(?<![A-Za-z])" + re.escape(t) + r"(?![A-Za-z])", words)]
    assert not found, found
    assert "What is going well" in seen and "What we will work on next" in seen
    assert "font-size: 14pt" in text                      # larger type
    import io

    from docx import Document

    d = Document(io.BytesIO(cr.render_docx(rep, parent=True, display_name=NAME)))
    doc_text = " ".join([p.text for p in d.paragraphs] + [c.text for t in d.tables for r in t.rows for c in r.cells])
    found = [t for t in STAT_TERMS if re.search(r"(?<![A-Za-z])" + re.escape(t) + r"(?![A-Za-z])", doc_text)]
    assert not found, found
    assert d.styles["Normal"].font.size.pt == 14
    # the therapist's version does use them (the check can fail)
    th_seen, _ = visible(cr.render_html(rep))
    assert [t for t in STAT_TERMS if t in th_seen]


@pytest.fixture(scope="module")
def cli_files(story_db, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli_report")
    rc = cli.main(["child-report", "--child", CHILD, "--from", "2026-05-01", "--to", "2026-10-31", "--out", str(out),
                   "--format", "pdf,html,docx", "--db", str(story_db), "--name", NAME])
    assert rc == 0
    return out


def test_cli_writes_each_format_and_audits_the_report_without_the_name(story_db, cli_files):
    files = sorted(p.suffix for p in cli_files.iterdir())
    assert files == [".docx", ".html", ".pdf"], files
    from access import audit

    log = audit.read(path=audit.audit_path(story_db))
    ev = log[(log["page"] == "cli child-report")].iloc[-1]
    assert ev["child_id"] == CHILD and ev["action"] == "export"
    assert '"display_name_typed": true' in str(ev["detail"]).lower().replace("'", '"').replace("True", "true")
    for p in sorted(story_db.parent.iterdir()):
        if p.is_file():
            assert NAME.encode() not in p.read_bytes(), p.name
    assert NAME in (cli_files / f"progress_{CHILD}_2026-05-01_2026-10-31.html").read_text(encoding="utf-8")


def test_docx_reads_back_with_headings_and_the_goals_table(cli_files):
    from docx import Document

    d = Document(str(next(cli_files.glob("*.docx"))))
    heads = [p.text for p in d.paragraphs if p.style.name.startswith("Heading") or p.style.name == "Title"]
    for h in ("Goals at a glance", "Goals", "Child-led and directed sessions", "Therapist's narrative", "Plan",
              "How this is computed"):
        assert h in heads, heads
    goals_table = next(t for t in d.tables if t.rows[0].cells[0].text == "Goal")
    assert [c.text for c in goals_table.rows[0].cells][:5] == ["Goal", "Domain", "Goal text", "Baseline", "Current"]
    assert TEXT_GOAL in [r.cells[0].text for r in goals_table.rows[1:]]
    assert len(d.inline_shapes) >= 1                     # the charts, photographed by Chromium
    assert NAME in " ".join(p.text for p in d.paragraphs)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm is not installed")
def test_pdf_pages_render_as_images_with_charts(cli_files, tmp_path):
    from PIL import Image

    pdf = next(cli_files.glob("*.pdf"))
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) >= 2
    # a chart page has colour (approach points, status rings): not a page of black text only
    coloured = 0
    for p in pages:
        im = Image.open(p).convert("RGB").resize((200, 280))
        coloured += sum(1 for r, g, b in im.get_flattened_data() if max(r, g, b) - min(r, g, b) > 60)
    assert coloured > 50


def test_cli_refuses_unknown_child_and_format(story_db, tmp_path, capsys):
    assert cli.main(["child-report", "--child", "C9999", "--out", str(tmp_path), "--db", str(story_db)]) == 2
    assert cli.main(["child-report", "--child", CHILD, "--out", str(tmp_path), "--format", "xls",
                     "--db", str(story_db)]) == 2
    err = capsys.readouterr().err
    assert "C9999" in err and "--format" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------ chart layout

def test_goal_chart_date_ticks_never_repeat_a_month(con):
    """Month labels one per month (or fewer) on a span of months, day labels on a short one: a
    tick every two weeks under a month format wrote "Aug 2026, Aug 2026, Sep 2026, ..."."""
    from reports.child_report import figures

    rep = cr.build_report(con, CHILD)
    g = rep.goals.set_index("goal_id").loc[TEXT_GOAL].copy()
    g["goal_id"] = TEXT_GOAL
    for days, dtick in ((120, "M1"), (365, "M2"), (730, "M3")):
        lo = pd.Timestamp("2026-01-01")
        fig = figures.goal_figure(g, rep.observations, rep.phases, rep.expected_level,
                                  x_range=[lo, lo + pd.Timedelta(days=days)])
        ax = fig.layout.xaxis
        assert ax.tickformat == "%b %Y" and ax.dtick == dtick, (days, ax.tickformat, ax.dtick)
    fig = figures.goal_figure(g, rep.observations, rep.phases, rep.expected_level,
                              x_range=[lo, lo + pd.Timedelta(days=40)])
    assert "%d" in fig.layout.xaxis.tickformat          # a short span: days, each label distinct
    # no rating to draw: still a date axis (it read -1, 0, 1, ... 6 in the PDF)
    fig = figures.goal_figure(g, rep.observations.iloc[0:0], rep.phases, rep.expected_level,
                              x_range=[lo, lo + pd.Timedelta(days=120)])
    assert fig.layout.xaxis.type == "date"


def test_status_label_sits_on_the_side_of_the_point_with_room(con):
    """A goal last rated early in the period: its "no recent rating (last ...)" label goes to the
    right of the point (into the empty plot), not to the left over the y axis."""
    from analytics import child_story as cs
    from reports.child_report import figures

    rep = cr.build_report(con, CHILD)
    g = rep.goals.set_index("goal_id").loc[TEXT_GOAL].copy()
    g["goal_id"], g["status"] = TEXT_GOAL, cs.NO_RECENT
    obs = rep.observations[(rep.observations["goal_uid"] == g["goal_uid"]) & (rep.observations["measure"] == "gas")
                           & rep.observations["value"].notna()].sort_values("session_date")
    early = obs.iloc[:2]                                   # rated twice, then not again
    first = pd.Timestamp(early["session_date"].iloc[0])
    span = [first - pd.Timedelta(days=7), first + pd.Timedelta(days=300)]
    fig = figures.goal_figure(g, early, rep.phases.iloc[0:0], rep.expected_level, x_range=span)
    label = [a for a in fig.layout.annotations if "no recent rating" in (a.text or "")]
    assert len(label) == 1
    assert label[0].xanchor == "left" and label[0].ax > 0, (label[0].xanchor, label[0].ax)
    # and a goal last rated near the end of the period: the label goes to the left of the point
    late = [pd.Timestamp(early["session_date"].iloc[-1]) - pd.Timedelta(days=300),
            pd.Timestamp(early["session_date"].iloc[-1]) + pd.Timedelta(days=7)]
    fig = figures.goal_figure(g, early, rep.phases.iloc[0:0], rep.expected_level, x_range=late)
    label = [a for a in fig.layout.annotations if "no recent rating" in (a.text or "")]
    assert label[0].xanchor == "right" and label[0].ax < 0
    # the family's larger type, the point mid-axis: no side has room for one line, so it breaks
    at = pd.Timestamp(early["session_date"].iloc[-1])
    fig = figures.goal_figure(g, early, rep.phases.iloc[0:0], rep.expected_level, parent=True, width=680,
                              x_range=[at - pd.Timedelta(days=90), at + pd.Timedelta(days=107)])
    label = [a for a in fig.layout.annotations if "not checked lately" in (a.text or "")]
    assert "<br>" in label[0].text and label[0].xanchor == "left", label[0].text


def test_comparison_sentence_says_what_is_compared_in_plain_words():
    from reports.child_report import words

    comp = {"nap": 0.87, "n_child_led": 13, "n_directed": 36}
    s = words.comparison_sentence(comp, "C0008")
    assert s == ("Comparing each child-led session with each directed one, C0008's engagement was higher in the "
                 "child-led session about 9 times in 10 (13 child-led and 36 directed sessions).")
    assert "directed session about 7 times in 10" in words.comparison_sentence({**comp, "nap": 0.3}, "C0008")
    # an interval that includes 0.5 (stats.wording: compatible with no difference) says it could be chance
    unsure = {**comp, "nap": 0.74, "nap_lo": 0.45, "nap_hi": 0.91, "n_child_led": 16, "n_directed": 5}
    assert words.comparison_sentence(unsure, "C0008").endswith(
        "about 7 times in 10 (16 child-led and 5 directed sessions; with this few sessions that could still be chance).")
    assert "chance" not in words.comparison_sentence({**comp, "nap_lo": 0.75, "nap_hi": 0.95}, "C0008")
    fam = words.parent_comparison(comp, "Sam")
    assert "about 9 times in 10" in fam and "pairs" not in fam
    assert "cannot be sure yet" in words.parent_comparison(unsure, "Sam")
    found = [t for t in STAT_TERMS if re.search(r"(?<![A-Za-z])" + re.escape(t) + r"(?![A-Za-z])", fam)]
    assert not found, found


def test_phase_labels_stay_inside_and_the_family_chart_has_no_approach_lines(con):
    """A phase label near the right edge reads leftwards (it was cut off: "child-led fro"); the
    family chart shows the goal's own phases but not the approach's ("directed from here")."""
    from reports.child_report import figures

    rep = cr.build_report(con, CHILD)
    ph = rep.phases
    assert (ph["kind"] == "approach").any()
    g = rep.goals.set_index("goal_id").loc[TEXT_GOAL].copy()
    g["goal_id"] = TEXT_GOAL
    dates = pd.to_datetime(ph["date"])
    lo, hi = dates.min() - pd.Timedelta(days=60), dates.max() + pd.Timedelta(days=5)
    fig = figures.goal_figure(g, rep.observations, ph, rep.expected_level, x_range=[lo, hi])
    labels = {figures.phase_label(p) for _, p in ph.iterrows()}
    drawn = [a for a in fig.layout.annotations if a.text in labels and a.yref == "paper"]
    assert not [a.text for a in drawn if TEXT_GOAL in a.text]      # the chart is the goal's: no id on its lines
    assert drawn
    for a in drawn:
        share = (pd.Timestamp(a.x) - lo) / (hi - lo)
        assert a.xanchor == ("right" if share > 0.75 else "left"), (a.text, share, a.xanchor)
    assert any(a.xanchor == "right" for a in drawn)          # the last phase sits at the right edge
    fam = figures.goal_figure(g, rep.observations, ph, rep.expected_level, x_range=[lo, hi], parent=True)
    approach = set(ph.loc[ph["kind"] == "approach", "label"].astype(str))
    assert not [a.text for a in fam.layout.annotations if a.text in approach]


def test_status_words_write_dates_as_the_rest_of_the_report(con):
    """"Status: last rated on 27 Oct 2026", like every other date in the report (it read 2026-10-27)."""
    g = analytics.child_goals(con, CHILD)
    reasons = " ".join(g["status_reason"].astype(str))
    assert re.search(r"\b\d{1,2} [A-Z][a-z]{2} \d{4}\b", reasons), reasons
    assert not re.search(r"\d{4}-\d{2}-\d{2}", reasons), reasons
