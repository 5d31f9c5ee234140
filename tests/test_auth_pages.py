"""Sign-in, roles and scope in the real app (Streamlit's AppTest with ``at.user``): each role
sees exactly the children in its scope on every page, edited URLs show nothing outside it,
exports and page views land in the audit log, and people who may not see data see none.

Real DuckDB warehouse of the sample data (shared: ``dashboard_db`` of conftest.py), real access file and audit log in tmp.
"""

from __future__ import annotations

import io
import json
import re
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

import test_dashboard_support as support
import analytics
from access import access_list, audit
from pipelines import warehouse
from analytics import Filters

APP = str(support.ROOT / "dashboard" / "streamlit_app.py")
TIMEOUT = 60
AUTH = {"client_id": "dashboard", "client_secret": "s", "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "c" * 32, "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
PAGES = ["overview", "groups", "approach", "child_progress", "needs_attention", "team_meeting", "data_loads"]


@pytest.fixture(scope="module")
def db(dashboard_db) -> Path:
    return dashboard_db  # shared, read-only (conftest.py)


@pytest.fixture(scope="module")
def sessions(db) -> pd.DataFrame:
    con = warehouse.connect_reader(db)
    try:
        return con.execute("select child_id, therapist_id, team, attended from wh.sessions").df()
    finally:
        con.close()


@pytest.fixture(scope="module")
def people(sessions) -> dict[str, access_list.User]:
    per_ther = sessions.groupby("therapist_id")["child_id"].nunique().sort_values()
    teams = sorted(sessions["team"].unique())
    return {
        "lead": access_list.User("lead@practice.example", "lead"),
        "supervisor": access_list.User("sup@practice.example", "supervisor", (teams[-1],)),
        "therapist": access_list.User("ther@practice.example", "therapist", therapist_id=str(per_ther.index[0])),
    }


@pytest.fixture()
def env(db, people, tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PIPELINES_DB", str(db))
    monkeypatch.setenv("PIPELINES_ACCESS", str(access_list.save(list(people.values()), tmp_path / "access.toml")))
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "audit.sqlite"))
    return tmp_path / "audit.sqlite"


def in_scope(sessions: pd.DataFrame, user: access_list.User) -> set[str]:
    """The scope rule, independently of the SQL."""
    if user.role == "lead":
        return set(sessions["child_id"])
    keep = sessions["therapist_id"].eq(user.therapist_id) | sessions["team"].isin(user.teams)
    return set(sessions.loc[keep, "child_id"])


def run_as(email: str | None, page: str | None = None, query: dict | None = None, verified: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user.clear()
    at.user["is_logged_in"] = email is not None
    if email is not None:
        at.user["email"] = email
        at.user["email_verified"] = verified
    if query:
        at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception[0].value
    if page:
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, at.exception[0].value
    return at


def shows_no_data(at: AppTest) -> bool:
    return not at.metric and not at.dataframe and not at.get("plotly_chart") and not at.sidebar.multiselect


def all_text(at: AppTest) -> str:
    parts = [str(e.value) for kind in ("markdown", "caption", "title", "subheader", "info", "warning", "success",
                                       "error") for e in getattr(at, kind)]
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    for sb in at.selectbox:
        parts.extend(map(str, sb.options))
    return "\n".join(parts)


# ----------------------------------------------------------------------------- who gets in


def test_logged_out_sees_only_the_sign_in_button(env):
    at = run_as(None)
    assert [b.label for b in at.button] == ["Sign in"]
    assert shows_no_data(at)


def test_unknown_user_is_refused_politely_and_audited(env):
    at = run_as("stranger@elsewhere.example")
    assert at.title[0].value == "No access yet"
    assert "stranger@elsewhere.example" in at.info[0].value and "clinical lead" in at.info[0].value
    assert shows_no_data(at)
    log = audit.read(env)
    assert log["action"].tolist() == ["refused"] and log["actor"].tolist() == ["stranger@elsewhere.example"]


def test_unverified_email_is_refused(env, people):
    at = run_as(people["lead"].email, verified=False)
    assert at.title[0].value == "Email not verified"
    assert shows_no_data(at)


def test_unreadable_access_list_shows_no_data(env, people, monkeypatch, tmp_path):
    (tmp_path / "broken.toml").write_text("[[user]\n", encoding="utf-8")
    monkeypatch.setenv("PIPELINES_ACCESS", str(tmp_path / "broken.toml"))
    at = run_as(people["lead"].email)
    assert at.title[0].value == "Access list unavailable"
    assert shows_no_data(at)


@pytest.fixture()
def address(monkeypatch):
    """Set Streamlit's server.address for one test (the app reads it to allow the local mode)."""
    old = st_config.get_option("server.address")

    def _set(value: str | None) -> None:
        st_config.set_option("server.address", value)
    yield _set
    st_config.set_option("server.address", old)


def test_local_mode_only_on_127_0_0_1(env, address):
    address("127.0.0.1")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert any("Local single-user mode" in w.value for w in at.sidebar.warning)
    assert at.metric  # the practice is shown
    assert audit.read(env)["actor"].iloc[-1] == "local-user"

    address("0.0.0.0")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert at.title[0].value == "Sign-in is not set up"
    assert shows_no_data(at)


# ----------------------------------------------------------------------------- what each role sees


@pytest.mark.parametrize("role", ["lead", "supervisor", "therapist"])
def test_child_page_offers_exactly_the_children_in_scope(env, sessions, people, role):
    user = people[role]
    at = run_as(user.email, "child_progress", {"period": "all"})
    options = {o.split(" · ")[0] for o in at.selectbox(key="child_pick").options}
    assert options == in_scope(sessions, user)
    caption = " ".join(c.value for c in at.sidebar.caption)
    assert f"Signed in as **`{user.email}`**" in caption


@pytest.mark.parametrize("role", ["supervisor", "therapist"])
def test_needs_attention_lists_only_children_in_scope(env, db, sessions, people, role):
    user = people[role]
    at = run_as(user.email, "needs_attention", {"period": "all"})
    con = warehouse.connect_reader(db)
    try:
        lead_flags = analytics.flags(con, Filters())
    finally:
        con.close()
    expected = set(lead_flags["child_id"]) & in_scope(sessions, user)
    shown = set(at.dataframe[0].value["child_id"]) if at.dataframe else set()
    assert shown == expected


@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_a_child_outside_the_scope(env, sessions, people, page):
    user = people["therapist"]
    outsiders = set(sessions["child_id"]) - in_scope(sessions, user)
    at = run_as(user.email, page, {"period": "all"})
    text = all_text(at)
    leaked = sorted(c for c in outsiders if c in text)
    assert not leaked, f"{page} shows {leaked[:5]}"


def test_overview_counts_the_caseload_and_the_practice_view_is_de_identified(env, db, sessions, people):
    user = people["therapist"]
    at = run_as(user.email, "overview", {"period": "all"})
    active = sessions[sessions["attended"] & sessions["child_id"].isin(in_scope(sessions, user))]
    assert at.metric[0].label == "Active children"
    assert at.metric[0].value == f"{active['child_id'].nunique():,}"
    at = run_as(user.email, "overview", {"period": "all", "view": "practice"})
    # the whole practice's groups shown: children with an attended session in a modality x age group x month
    # with at least 5 children (a smaller group is left out of every practice figure, access.disclosure)
    con = warehouse.connect_reader(db)
    try:
        shown = con.execute(
            "with cells as (select modality, age_group, month_start from wh.sessions group by all "
            "having count(distinct child_id) >= 5) "
            "select count(distinct child_id) from wh.sessions join cells using (modality, age_group, month_start) "
            "where attended").fetchall()[0][0]
    finally:
        con.close()
    everyone = sessions.loc[sessions["attended"], "child_id"].nunique()
    assert at.metric[0].value == f"{shown:,}" and shown <= everyone


# ----------------------------------------------------------------------------- tampering with the URL


def test_a_link_to_another_child_shows_the_warning_and_nothing_else(env, sessions, people):
    """Issue 11, item 18: not another child's record under the warning (easy to read as the
    linked child's): the warning, a way back to the child list, and no figure of anyone."""
    user = people["therapist"]
    outsider = sorted(set(sessions["child_id"]) - in_scope(sessions, user))[0]
    at = run_as(user.email, "child_progress", {"child": outsider, "period": "all"})
    main = at.main
    assert [w.value for w in main.warning] == [
        f"Child {outsider} from the link is not among the children you can see."]
    assert not main.selectbox and not main.metric and not main.dataframe and not at.get("plotly_chart")
    assert not main.subheader and not main.markdown and not main.info and not main.error and not main.success
    assert not [c.value for c in main.caption]
    assert [b.label for b in main.button] == ["Choose one of your children"]
    assert outsider not in all_text(at).replace(f"Child {outsider} from the link", "")
    ev = audit.read(env, child_id=outsider)
    assert len(ev) == 1 and json.loads(ev["detail"].iloc[0]) == {"shown": False}
    # a rerun with the same address (any click) still shows nothing of any child
    at.run()
    assert [w.value for w in at.main.warning] and not at.main.metric and not at.main.selectbox
    assert len(audit.read(env, child_id=outsider)) == 1  # recorded once per link
    # the way back: the child list of the viewer's own children, the link's child gone from the address
    at.main.button[0].click().run()
    assert not at.exception
    assert at.selectbox(key="child_pick").value in in_scope(sessions, user)
    assert at.query_params.get("child") not in (outsider, [outsider])
    assert not [w for w in at.main.warning if "from the link" in w.value]


def test_a_link_naming_another_team_or_therapist_is_ignored(env, sessions, people):
    user = people["therapist"]
    other_team = sorted(set(sessions["team"]) - set(sessions.loc[sessions["therapist_id"] == user.therapist_id,
                                                                  "team"]))[0]
    at = run_as(user.email, "needs_attention", {"team": other_team, "therapist": "T_not_mine"})
    assert at.sidebar.multiselect(key="f_team").value == []
    assert at.sidebar.multiselect(key="f_therapist").value == []
    # said at the top of the page, and why (issue 16, item 10): outside the scope, not "not in the data"
    warnings = " ".join(w.value for w in at.main.warning)
    assert "is not among the teams you can see; showing your caseload" in warnings
    assert "is not among the therapists you can see; showing your caseload" in warnings
    assert "not in the data" not in warnings


@pytest.mark.parametrize("role, page", [("therapist", "audit_log"), ("supervisor", "access")])
def test_admin_pages_are_for_the_lead(env, people, role, page):
    at = run_as(people[role].email)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(f"app_pages/{page}.py")  # not registered in this role's navigation
    # and the page on its own, without the gate having admitted a lead, draws nothing
    alone = AppTest.from_file(str(support.ROOT / "dashboard" / "app_pages" / f"{page}.py"),
                              default_timeout=TIMEOUT).run()
    assert not alone.exception and not alone.dataframe and not alone.button


def test_data_page_shows_no_raw_rows_to_a_therapist(env, people):
    at = run_as(people["therapist"].email, "data_loads")
    assert not at.get("file_uploader") and not at.dataframe
    assert not [b for b in at.button if b.key and b.key.startswith("undo")]  # no "Undo this load": leads only
    assert "clinical lead" in " ".join(c.value for c in at.caption)


# ----------------------------------------------------------------------------- exports and the audit log


def test_flag_export_is_scoped_and_audited(env, sessions, people):
    user = people["supervisor"]
    at = run_as(user.email, "needs_attention", {"period": "all"})
    assert at.download_button[0].proto.deferred_file_id  # made on request: no file in the media store ahead
    assert audit.read(env, action="export").empty
    content = at.session_state["_export_makers"]["needs-attention flags (CSV)"]()  # what the button runs
    exported = pd.read_csv(io.BytesIO(content), dtype=str)
    assert set(exported["Child"]) <= in_scope(sessions, user) and len(exported) > 0
    ev = audit.read(env, action="export")
    assert len(ev) == 1
    detail = json.loads(ev["detail"].iloc[0])
    assert detail["what"] == "needs-attention flags (CSV)" and detail["rows"] == len(exported)
    assert set(detail["children"]) == set(exported["Child"])
    assert ev["actor"].iloc[0] == user.email and ev["role"].iloc[0] == "supervisor"


def test_no_audit_no_file(env, people, monkeypatch, tmp_path):
    at = run_as(people["lead"].email, "needs_attention", {"period": "all"})
    (tmp_path / "gone").mkdir()
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "gone"))  # the log cannot be written any more
    with pytest.raises(sqlite3.OperationalError):  # the download fails: no bytes come back
        at.session_state["_export_makers"]["needs-attention flags (CSV)"]()


def test_page_views_and_child_views_are_recorded(env, sessions, people):
    user = people["therapist"]
    child = sorted(in_scope(sessions, user))[0]
    run_as(user.email, "child_progress", {"child": child})
    log = audit.read(env)
    assert {"sign_in", "view"} <= set(log["action"])
    assert child in set(log.loc[log["page"] == "Child progress", "child_id"])
    assert set(log["actor"]) == {user.email}


def test_lead_reads_the_audit_log_and_edits_access(env, people, tmp_path):
    run_as(people["therapist"].email, "needs_attention")
    at = run_as(people["lead"].email, "audit_log")
    log = at.dataframe[0].value
    assert people["therapist"].email in set(log["Who"])
    assert any("intact" in s.value for s in at.success)

    at = run_as(people["lead"].email, "access")
    assert set(at.dataframe[0].value["email"]) == {u.email for u in people.values()}  # the editor
    save = next(b for b in at.button if b.label == "Save the access list")
    save.click().run()  # saving (here unchanged) rewrites the file and records who saved it
    assert not at.exception
    ev = audit.read(env, action="access_change")
    assert len(ev) == 1 and ev["actor"].iloc[0] == people["lead"].email
    assert access_list.load() == list(people.values())


def test_no_audit_trail_no_data(env, people, monkeypatch, tmp_path):
    (tmp_path / "not_a_file").mkdir()
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "not_a_file"))  # a folder: the log cannot be written
    at = run_as(people["lead"].email)
    assert any("audit log cannot be written" in e.value for e in at.error)
    assert shows_no_data(at)


def test_supervisor_meeting_pack_is_their_team_and_their_children(env, sessions, people):
    user = people["supervisor"]
    at = run_as(user.email, "team_meeting")
    # the sidebar's team filter: the teams of the sessions of their children (as on every page) ...
    in_teams = set(sessions.loc[sessions["child_id"].isin(in_scope(sessions, user)), "team"])
    assert set(at.multiselect(key="f_team").options) == in_teams and set(user.teams) <= in_teams
    assert at.multiselect(key="f_team").value == [user.teams[0]]  # ... and the page opens on their own team
    shown = set()
    for d in at.dataframe:
        for col in ("child_id", "Child"):
            if col in d.value:
                shown |= set(d.value[col].astype(str))
    for m in at.markdown:  # the page's tables are markdown tables, the child in the first column
        shown |= {ln.split("|")[1].strip().replace("\\", "") for ln in str(m.value).splitlines()
                  if re.match(r"\| C\d", ln)}
    assert shown and shown <= in_scope(sessions, user)
    assert not [c for c in set(sessions["child_id"]) - in_scope(sessions, user) if c in all_text(at)]
    at.session_state["_export_makers"]["meeting pack (Excel)"]()
    detail = json.loads(audit.read(env, action="export")["detail"].iloc[0])
    assert detail["what"] == "meeting pack (Excel)" and detail["team"] == user.teams[0]
    assert set(detail["flagged_children"]) <= in_scope(sessions, user)


def test_practice_figures_for_a_therapist_hide_small_cells(env, people):
    at = run_as(people["therapist"].email, "groups", {"period": "all"})
    at.query_params["view"] = "practice"  # a shared link to the practice view of this page
    at.run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "n_children" in d.value.columns)
    hidden = table["n_children"].astype(str) == "hidden"
    assert hidden.any() and not hidden.all()
    assert (table.loc[hidden, "mean_engagement"].astype(str) == "hidden").all()
    assert (pd.to_numeric(table.loc[~hidden, "n_children"]) >= 5).all()
    # every modality of the practice is in the grid, not only the therapist's own
    assert set(table["modality"]) == {"CBT", "OT", "speech", "play"}
    assert any("hidden to protect the children" in c.value for c in at.caption)


def test_practice_view_of_another_measure_shows_its_values_with_small_cells_hidden(env, db, people):
    """Issue 13: the practice view carries every session measure. A supervisor's link to the
    practice grid of on-task time shows its values (from the practice cells shown), hidden
    where the cell is small, and the values are on task's, not engagement's."""
    at = run_as(people["supervisor"].email, "groups", {"period": "all", "view": "practice", "measure": "on_task"})
    assert not at.exception, at.exception[0].value
    assert at.session_state["filter_state"]["measure"] == "on_task"
    table = next(d.value for d in at.dataframe if "n_children" in d.value.columns and "mean_value" in d.value.columns)
    assert (table["measure"].astype(str).isin(["on_task", "hidden"])).all()
    hidden = table["n_children"].astype(str) == "hidden"
    assert hidden.any() and not hidden.all()
    assert (table.loc[hidden, "mean_value"].astype(str) == "hidden").all()
    shown = table[~hidden]
    values = pd.to_numeric(shown["mean_value"], errors="coerce")
    assert values.notna().any(), "on-task values reach the practice view"
    assert values.dropna().between(0, 100).all() and values.max() > 5  # percentages, not 1-5 ratings
    few = pd.to_numeric(shown["n_children_values"], errors="coerce")
    assert not ((few > 0) & (few < 5)).any()  # a figure never rests on 1-4 children with a value
    # the figures are the practice view's own: the same as practice_aggregate gives
    from access import practice as practice_mod

    con = warehouse.connect_reader(db)
    try:
        opts = analytics.filter_options(con)
        grid = practice_mod.practice_aggregate(con, "group_grid", Filters(date_from=opts["min_date"],
                                               date_to=opts["max_date"]), measure="on_task")
    finally:
        con.close()
    want = grid[~grid["suppressed"]].set_index(["modality", "age_group"])["mean_value"]
    got = pd.to_numeric(shown.set_index(["modality", "age_group"])["mean_value"], errors="coerce")
    pd.testing.assert_series_equal(got.astype(float).sort_index(), want.astype(float).sort_index(), check_names=False)


def test_tables_offer_no_unaudited_download():
    """Streamlit's own table toolbar (CSV download, copy) is off in the project's config, so every
    export goes through an audited download button."""
    import tomllib

    cfg = tomllib.loads((support.ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["client"]["disableDataExport"] is True
    assert cfg["server"]["address"] == "127.0.0.1"


@pytest.fixture()
def option():
    """Set a Streamlit config option for one test and put it back afterwards."""
    saved: dict[str, object] = {}

    def _set(name: str, value) -> None:
        saved.setdefault(name, st_config.get_option(name))
        st_config.set_option(name, value)
    yield _set
    for name, value in saved.items():
        st_config.set_option(name, value)


def test_a_broken_secrets_file_never_opens_the_local_mode(env, option, tmp_path):
    broken = tmp_path / "secrets.toml"
    broken.write_text('[auth\nclient_id = "x"\n', encoding="utf-8")
    option("secrets.files", [str(broken)])
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()  # bound to 127.0.0.1, no [auth] readable
    assert at.title[0].value == "Sign-in settings cannot be read"
    assert shows_no_data(at)


@pytest.mark.parametrize("claims, trusted, admitted", [
    ({"email_verified": True}, [], True),
    ({"email_verified": "true"}, [], True),
    ({}, [], False),                                              # no claim is no verification
    ({"email_verified": False}, [], False),
    ({"iss": "https://login.example/tenant/v2.0"}, ["https://login.example/tenant/v2.0"], True),
    ({"iss": "https://login.example/other/v2.0"}, ["https://login.example/tenant/v2.0"], False),
], ids=["verified", "verified-text", "missing", "unverified", "trusted-issuer", "other-issuer"])
def test_only_verified_or_trusted_emails_match_the_access_list(env, people, monkeypatch, tmp_path, claims, trusted,
                                                             admitted):
    text = (support.ROOT / "settings.toml").read_text(encoding="utf-8")
    text = text.replace("trusted_issuers = []", "trusted_issuers = " + json.dumps(trusted))
    (tmp_path / "settings.toml").write_text(text, encoding="utf-8")
    monkeypatch.setenv("PIPELINES_SETTINGS", str(tmp_path / "settings.toml"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user.clear()
    at.user.update({"is_logged_in": True, "email": people["lead"].email, **claims})
    at.run()
    assert not at.exception
    assert (at.title[0].value == "Practice overview") is admitted
    if not admitted:
        assert at.title[0].value == "Email not verified" and shows_no_data(at)


def test_sign_in_refuses_to_serve_tables_with_their_own_download(env, people, option):
    option("client.disableDataExport", False)
    at = run_as(people["lead"].email)
    assert at.title[0].value == "Not safe to serve yet"
    assert shows_no_data(at)


def test_a_served_dashboard_never_loads_the_sample(env, people, monkeypatch, tmp_path):
    missing = tmp_path / "none" / "practice.duckdb"
    monkeypatch.setenv("PIPELINES_DB", str(missing))
    at = run_as(people["lead"].email)
    assert not missing.exists()
    assert any("No data is loaded yet" in i.value for i in at.info)


@pytest.mark.parametrize("page", ["overview", "groups", "child_progress"])
def test_charts_offer_no_unaudited_png_download(env, people, page):
    at = run_as(people["therapist"].email, page, {"period": "all"})
    charts = at.get("plotly_chart")
    assert charts
    for c in charts:
        assert "toImage" in json.loads(c.proto.config)["modeBarButtonsToRemove"]


def test_a_therapist_compares_approaches_against_the_practice(env, sessions, people):
    at = run_as(people["therapist"].email, "approach", {"period": "all"})
    at.query_params["view"] = "practice"
    at.run()
    assert not at.exception
    text = all_text(at)
    assert "Across **" in text and "Each child's paired difference is shown for your own children only" in text
    outsiders = set(sessions["child_id"]) - in_scope(sessions, people["therapist"])
    assert not [c for c in outsiders if c in text]
    assert "Therapist ·" not in text
