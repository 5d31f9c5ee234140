"""The dashboard's frame (issue 16, items 8-10) under Streamlit's AppTest, on a warehouse built
from the sample practice, and the theme's colours by the WCAG formula. No mocks.

* Team meeting page: the sidebar's filter bar is its only team, therapist and period (no second
  period), the filters the pack ignores are hidden and said so, the address holds team and
  period (a bookmark opens the same pack), and it opens on the viewer's own team.
* Every chart: the legend under the plot area, the title with its own margin, text colours of
  the theme, no toolbar, and its figures as a table under it.
* A team or therapist of the address outside the viewer's scope says why it was dropped.
* Theme colours: WCAG 2.2 contrast of chart text and of Streamlit's captions at least 4.5:1.

The real-browser half (800 px, bounding boxes, computed colours, tab stops) is
``tests/test_layout_browser.py``.
"""

from __future__ import annotations

import datetime as dt
import json
import tomllib
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from streamlit.testing.v1 import AppTest

import test_dashboard_support as support

import analytics  # noqa: E402
from access import access_list  # noqa: E402
from dashboard import ui  # noqa: E402
from pipelines import warehouse  # noqa: E402
from reports import theme  # noqa: E402
from reports import meeting_pack as mp  # noqa: E402
from reports.formats import day  # noqa: E402

APP = str(support.ROOT / "dashboard" / "streamlit_app.py")
TIMEOUT = 90
AUTH = {"client_id": "dashboard", "client_secret": "s", "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "c" * 32, "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
CHART_PAGES = ["overview", "groups", "approach", "child_progress", "team_meeting"]
CAPTION_OPACITY = 0.6  # Streamlit draws st.caption in the text colour at this opacity (read in the browser test)


# ----------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("layout")
    path, _ = support.build_warehouse(work / "practice.duckdb", work)
    return path


@pytest.fixture(scope="module")
def sessions(db) -> pd.DataFrame:
    con = warehouse.connect_reader(db)
    try:
        return con.execute("select child_id, therapist_id, team, session_date, attended from wh.sessions").df()
    finally:
        con.close()


@pytest.fixture()
def local(db, monkeypatch):
    """The local single-user mode (everything visible, a lead's scope) on the test warehouse."""
    monkeypatch.setenv("PIPELINES_DB", str(db))
    monkeypatch.setenv("PIPELINES_AUDIT", str(db.parent / "audit.sqlite"))


@pytest.fixture()
def signed_in(db, tmp_path, monkeypatch):
    """Sign-in with an access list; returns ``add(user)`` to put people on it."""
    monkeypatch.setenv("PIPELINES_DB", str(db))
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "audit.sqlite"))
    users: list[access_list.User] = []

    def add(user: access_list.User) -> access_list.User:
        users.append(user)
        monkeypatch.setenv("PIPELINES_ACCESS", str(access_list.save(users, tmp_path / "access.toml")))
        return user
    add(access_list.User("lead@practice.example", "lead"))  # an access list always has a lead
    return add


def run_local(page: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if query:
        at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception[0].value
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, at.exception[0].value
    return at


def run_as(email: str, page: str | None = None, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user.clear()
    at.user.update({"is_logged_in": True, "email": email, "email_verified": True})
    if query:
        at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception[0].value
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, at.exception[0].value
    return at


def url(at: AppTest, key: str) -> list[str]:
    v = at.query_params.get(key)
    return [] if v is None else ([v] if isinstance(v, str) else list(v))


def sidebar_keys(at: AppTest) -> set[str]:
    return {w.key for kind in ("multiselect", "selectbox", "date_input", "text_input")
            for w in getattr(at.sidebar, kind)}


def captions(at: AppTest) -> str:
    return " | ".join(str(c.value) for c in at.main.caption)


def most_children(sessions: pd.DataFrame, d_from: dt.date, d_to: dt.date, therapist: str | None = None) -> str:
    """The team with the most children with an attended session in the period (ties: by name),
    worked out from the sessions table, independently of the dashboard."""
    s = sessions[sessions["attended"].astype(bool)
                 & (pd.to_datetime(sessions["session_date"]).dt.date >= d_from)
                 & (pd.to_datetime(sessions["session_date"]).dt.date <= d_to)]
    if therapist:
        s = s[s["therapist_id"] == therapist]
    n = s.groupby("team")["child_id"].nunique().reset_index()
    return str(n.sort_values(["child_id", "team"], ascending=[False, True])["team"].iloc[0])


def default_period(sessions: pd.DataFrame) -> tuple[dt.date, dt.date]:
    hi = pd.to_datetime(sessions["session_date"]).max().date()
    return hi - dt.timedelta(days=ui.PERIODS[ui.DEFAULT_PERIOD][1] - 1), hi


# ----------------------------------------------------------------------------- item 8: the meeting page

def test_meeting_page_uses_the_sidebar_period_and_hides_what_the_pack_ignores(local):
    at = run_local("team_meeting")
    # one period on the screen: the sidebar's; no period or date control of the page's own
    assert not at.main.selectbox and not at.main.date_input and not at.main.get("segmented_control")
    assert [s.label for s in at.selectbox if s.label == "Period"] == ["Period"]
    keys = sidebar_keys(at)
    assert {"f_period", "f_team", "f_therapist"} <= keys
    assert not keys & {"f_modality", "f_age", "f_approach"}
    assert any("do not apply to the meeting pack" in c.value for c in at.sidebar.caption)
    f = at.session_state["filters"]
    assert f.modalities == () and f.age_groups == () and f.approaches == ()
    # the pack covers exactly the sidebar's period
    assert f"{day(f.date_from)} – {day(f.date_to)}" in captions(at)
    assert at.main.subheader[0].value == "1 · Needs attention"


def test_a_bookmarked_meeting_link_opens_the_same_pack(local, sessions):
    team = "North"
    at = run_local("team_meeting", {"team": team, "period": "6m"})
    assert at.sidebar.multiselect(key="f_team").value == [team]
    assert at.sidebar.selectbox(key="f_period").value == "6m"
    hi = pd.to_datetime(sessions["session_date"]).max().date()
    d_from = hi - dt.timedelta(days=ui.PERIODS["6m"][1] - 1)
    assert f"Team {team} · {day(d_from)} – {day(hi)}" in captions(at)
    # the address keeps them, so the link can be bookmarked and shared
    assert url(at, "team") == [team] and url(at, "period") == ["6m"]
    # the same address in a new session (the bookmark) gives the same pack
    again = run_local("team_meeting", {key: url(at, key) for key in ("team", "period")})
    assert captions(again) == captions(at)
    assert [s.value for s in again.subheader] == [s.value for s in at.subheader]


def test_the_shared_version_is_in_the_address_too(local):
    at = run_local("team_meeting", {"team": "North", "shared": "1"})
    assert at.toggle(key="mp_suppress").value is True
    assert any("<5" in str(i.value) for i in at.info)
    at.toggle(key="mp_suppress").set_value(False).run()
    assert url(at, "shared") == []


def test_hidden_filters_stay_set_for_the_other_pages(local):
    at = run_local("overview")
    at.multiselect(key="f_modality").set_value(["OT"]).run()
    at.query_params.clear()  # the navigation menu clears the address; the session keeps the filters
    at.switch_page("app_pages/team_meeting.py").run()
    assert not at.exception, at.exception[0].value
    assert "f_modality" not in sidebar_keys(at) and url(at, "modality") == []
    assert at.session_state["filters"].modalities == ()
    at.query_params.clear()
    at.switch_page("app_pages/overview.py").run()
    assert at.multiselect(key="f_modality").value == ["OT"]
    assert at.session_state["filters"].modalities == ("OT",)


def test_two_teams_in_the_sidebar_ask_for_one(local):
    at = run_local("team_meeting", {"team": ["North", "South"]})
    assert "for one team" in " ".join(i.value for i in at.info)
    assert not at.main.subheader  # no pack for two teams at once
    [b for b in at.button if b.label == "Pack for South"][0].click().run()
    assert at.sidebar.multiselect(key="f_team").value == ["South"]
    assert at.main.subheader[0].value == "1 · Needs attention" and "Team South ·" in captions(at)


def test_a_lead_gets_the_team_with_the_most_children(local, sessions):
    at = run_local("team_meeting")
    expected = most_children(sessions, *default_period(sessions))
    assert expected != sorted(sessions["team"].unique())[0]  # the old default (alphabetical) was another team
    assert at.sidebar.multiselect(key="f_team").value == [expected]
    assert url(at, "team") == [expected]
    assert f"Team **{ui.md_escape(expected)}** is the team with the most children seen in the period" in captions(at)


@pytest.mark.parametrize("teams", [("North", "South"), ("South", "North")])
def test_a_supervisor_gets_their_first_team(signed_in, teams):
    user = signed_in(access_list.User("sup@practice.example", "supervisor", teams))
    at = run_as(user.email, "team_meeting")
    assert at.sidebar.multiselect(key="f_team").value == [teams[0]]
    assert "your first team in the access list" in captions(at)
    assert f"Team {teams[0]} ·" in captions(at)


def test_a_therapist_gets_the_team_of_their_sessions(signed_in, sessions):
    # a therapist who works in two teams: the one with most of their children
    per = sessions.groupby("therapist_id")["team"].nunique()
    tid = str(per[per > 1].index[0]) if (per > 1).any() else str(per.index[0])
    user = signed_in(access_list.User("ther@practice.example", "therapist", therapist_id=tid))
    at = run_as(user.email, "team_meeting")
    expected = most_children(sessions, *default_period(sessions), therapist=tid)
    assert at.sidebar.multiselect(key="f_team").value == [expected]
    assert "the team of your sessions in the period" in captions(at)


def test_reset_filters_goes_back_to_the_own_team(local, sessions):
    at = run_local("team_meeting", {"team": "North", "period": "4w"})
    [b for b in at.sidebar.button if b.label == "Reset filters"][0].click().run()
    assert at.sidebar.multiselect(key="f_team").value == [most_children(sessions, *default_period(sessions))]
    assert at.sidebar.selectbox(key="f_period").value == ui.DEFAULT_PERIOD


# ----------------------------------------------------------------------------- item 10: scope messages

@pytest.mark.parametrize("asked", ["South", "Nowhere"])
def test_a_supervisor_is_told_why_a_team_of_the_link_is_dropped(signed_in, asked):
    user = signed_in(access_list.User("sup@practice.example", "supervisor", ("North",)))
    at = run_as(user.email, "overview", {"team": asked})
    # the same words whether the team exists or not: the message tells nothing about other teams
    assert [w.value for w in at.main.warning] == [
        f"Team {asked} is not among the teams you can see; showing your teams."]
    assert at.sidebar.multiselect(key="f_team").value == []
    assert at.session_state["filters"].teams == ()
    assert at.metric  # the page goes on with the viewer's own children


def test_a_therapist_is_told_why_a_therapist_of_the_link_is_dropped(signed_in, sessions):
    tid = str(sorted(sessions["therapist_id"].unique())[0])
    user = signed_in(access_list.User("ther@practice.example", "therapist", therapist_id=tid))
    at = run_as(user.email, "needs_attention", {"therapist": "T_not_mine"})
    assert [w.value for w in at.main.warning] == [
        f"Therapist {ui.md_escape('T_not_mine')} is not among the therapists you can see; showing your caseload."]


def test_a_lead_is_told_a_team_is_not_in_the_data(local):
    at = run_local("overview", {"team": "Nowhere"})
    assert [w.value for w in at.main.warning] == ["Ignored from the link: team Nowhere is not in the data."]


def test_scope_words_for_each_role():
    opts = {"teams": ["North"], "therapists": ["T01"], "min_date": dt.date(2026, 1, 1),
            "max_date": dt.date(2026, 6, 30)}
    _, lead = ui.state_from_url({"team": ["South"]}, opts)
    _, sup = ui.state_from_url({"team": ["South"]}, opts, "your teams")
    _, ther = ui.state_from_url({"therapist": ["T9"]}, opts, "your caseload")
    assert lead == ["Ignored from the link: team South is not in the data."]
    assert sup == ["Team South is not among the teams you can see; showing your teams."]
    assert ther == ["Therapist T9 is not among the therapists you can see; showing your caseload."]


# ----------------------------------------------------------------------------- item 9: every chart

def _charts(at: AppTest) -> list[dict]:
    return [{"spec": json.loads(c.proto.spec), "config": json.loads(c.proto.config), "theme": c.proto.theme}
            for c in at.get("plotly_chart")]


def _expanders(node) -> list:
    out = []
    for child in (node.children.values() if isinstance(getattr(node, "children", None), dict) else []):
        if type(child).__name__ == "Expander" and child.label == "Chart as a table":
            out.append(child)
        out.extend(_expanders(child))
    return out


@pytest.mark.parametrize("page", CHART_PAGES)
def test_every_chart_has_its_legend_below_no_toolbar_and_a_table(local, page):
    at = run_local(page, {"period": "all"})
    charts = _charts(at)
    assert charts, f"{page} has no chart"
    for c in charts:
        lay, title = c["spec"]["layout"], c["spec"]["layout"]["title"]["text"]
        leg = lay.get("legend", {})
        # the legend at the bottom of the figure, growing downwards: never in the title's band
        assert (leg.get("yref"), leg.get("y"), leg.get("yanchor")) == ("container", 0, "bottom"), title
        # the title has a margin of its own: 40 px plus 20 px a line
        assert lay["margin"]["t"] >= 40 + 20 * (title.count("<br>") + 1), title
        assert all(len(line) <= theme.TITLE_LINE_CHARS + 12 for line in title.split("<br>")), title
        # the theme's text colours, not Streamlit's grey (theme=None keeps them)
        assert lay["xaxis"]["tickfont"]["color"] == theme.AXIS_TEXT and lay["font"]["color"] == theme.TEXT
        assert c["theme"] == ""  # theme=None
        assert c["config"]["displayModeBar"] is False and "toImage" in c["config"]["modeBarButtonsToRemove"]
    tables = _expanders(at._tree)
    assert len(tables) == len(charts)
    for exp in tables:
        t = exp.get("table")
        assert len(t) == 1 and len(t[0].value) > 0 and len(t[0].value.columns) >= 2


def test_a_chart_table_is_built_from_the_plotted_frame(local, db):
    con = warehouse.connect_reader(db)
    try:
        trends = analytics.monthly_trends(con, analytics.Filters())
    finally:
        con.close()
    from dashboard import charts
    from reports import figure_table
    t = figure_table.table(charts.trend_line(trends, "attendance_rate"))
    d = trends.sort_values("month_start")
    assert list(t.columns) == ["Month", "Attendance rate", "n (scheduled sessions)"]
    assert list(t["Attendance rate"]) == [f"{100 * v:.0f}%" for v in d["attendance_rate"]]
    assert list(t["n (scheduled sessions)"]) == [f"{int(v):,}" for v in d["sessions"]]


def test_a_figure_without_its_table_gets_one_from_its_traces(db):
    from reports import figure_table
    con = warehouse.connect_reader(db)
    try:
        team = "North"
        pack = mp.build_pack(con, team=team, date_from=None, date_to=None)
    finally:
        con.close()
    figs = [fig for sec in pack.sections for _k, fig in sec.figures]
    assert figs
    for fig in figs:
        t = figure_table.table(go.Figure(fig))  # a copy keeps no attributes: the table comes from the traces
        assert len(t) > 0 and len(t.columns) >= 2, fig.layout.title.text
    # an interval band is read as its low and high bound per month, not as points
    band = go.Figure()
    band.add_scatter(x=["2026-01-01", "2026-02-01", "2026-02-01", "2026-01-01"], y=[3.5, 3.6, 3.1, 3.0],
                     fill="toself", name="95% CI")
    band.update_xaxes(dtick="M1", title_text="Month")
    got = figure_table.from_traces(band)
    assert got[["Month", "low", "high"]].values.tolist() == [["Jan 2026", "3.00", "3.50"], ["Feb 2026", "3.10", "3.60"]]


def test_chart_table_cells_are_text_not_markdown(local):
    def script():
        import plotly.graph_objects as go
        from dashboard import ui
        from reports import figure_table
        import pandas as pd
        fig = go.Figure(go.Scatter(x=[1], y=[2]))
        figure_table.attach(fig, pd.DataFrame({"who": ["**bold** [x](http://evil.example)"]}),
                            [("who", "Who", "text")])
        ui.chart(fig, key="c")

    at = AppTest.from_function(script, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception[0].value
    cell = at.table[0].value.iloc[0, 0]
    assert cell == ui.md_escape("**bold** [x](http://evil.example)") and "\\*\\*bold" in cell


# ----------------------------------------------------------------------------- item 9: contrast (WCAG 2.2)

def test_contrast_ratio_matches_published_values():
    # WebAIM contrast checker / WCAG 2.2 understanding docs: black on white 21:1, #767676 on white 4.54:1
    # (the lightest grey that passes AA), #777777 on white 4.48:1 (fails), the same colour 1:1
    assert theme.contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert theme.contrast_ratio("#767676", "#FFFFFF") == pytest.approx(4.54, abs=0.01)
    assert theme.contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)
    assert theme.contrast_ratio("#FFFFFF", "#767676") == theme.contrast_ratio("#767676", "#FFFFFF")
    assert theme.contrast_ratio("#0072B2", "#0072B2") == pytest.approx(1.0)
    assert theme.blend("#000000", 0.5, "#FFFFFF") == (127.5, 127.5, 127.5)


def test_chart_text_colours_pass_aa():
    for fg in (theme.TEXT, theme.AXIS_TEXT):
        assert theme.contrast_ratio(fg, theme.BACKGROUND) >= theme.MIN_CONTRAST, fg
    # what Streamlit's chart theme drew before (tick labels rgb(128, 132, 149)): below AA
    assert theme.contrast_ratio("#808495", "#FFFFFF") < theme.MIN_CONTRAST


def test_caption_colour_of_the_app_theme_passes_aa():
    cfg = tomllib.loads((support.ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["theme"]
    for bg in (cfg["backgroundColor"], cfg["secondaryBackgroundColor"]):  # the page and the sidebar
        seen = theme.blend(cfg["textColor"], CAPTION_OPACITY, bg)
        assert theme.contrast_ratio(seen, bg) >= theme.MIN_CONTRAST, (cfg["textColor"], bg)
    # Streamlit's default text colour (#2F2D2B) at the caption's opacity was 3.9:1
    assert theme.contrast_ratio(theme.blend("#2F2D2B", CAPTION_OPACITY, "#FFFFFF"), "#FFFFFF") < theme.MIN_CONTRAST


def test_long_titles_wrap_at_words():
    t = "C0001: engagement per session (33 attended of 38 scheduled)"
    lines = theme.wrap_title(t).split("<br>")
    assert len(lines) == 2 and all(len(x) <= theme.TITLE_LINE_CHARS for x in lines) and " ".join(lines) == t
    assert theme.wrap_title("Sessions per month") == "Sessions per month"
