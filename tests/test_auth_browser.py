"""Sign-in, roles and scope on the real dashboard, in headless Chromium, through a real OIDC round trip.

One warehouse, one access list (a lead, a supervisor of one team, a therapist with a short
caseload that has flags), one test identity provider (tests/oidc_provider.py) and one
``streamlit run dashboard/streamlit_app.py`` serve every test; each test signs in in a fresh
browser context (cookies ignore ports, so a context is one person). Checked:

* a therapist lands on the dashboard with their role in the sidebar, the child picker offers
  exactly their caseload (as the warehouse says), and the audit log has their sign-in and a view;
* URL tampering: a link naming a child outside the caseload shows the "not among the children
  you can see" warning and nothing else about that child (audited as a view with shown=false),
  and a link naming another team does not put that team in the Team filter;
* the Needs-attention CSV export holds only the therapist's children and is audited;
* an email not on the access list gets "No access yet", no data, and a ``refused`` event;
* a supervisor is labelled "supervisor".

Uses the system Chromium, never a downloaded one. Screenshots: artifacts/screenshots/auth_*.png.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

import browser_support

import test_dashboard_support as support

CHROMIUM = browser_support.CHROMIUM
SHOTS = support.ROOT / "artifacts" / "screenshots"
ARGS = browser_support.ARGS
VIEWPORT = {"width": 1440, "height": 1000}

sync_api = browser_support.sync_api()

import pandas as pd  # noqa: E402

from oidc_provider import LocalIdP  # noqa: E402
from oidc_roundtrip import IDLE, free_port, run_streamlit, sign_in, write_secrets  # noqa: E402
import analytics  # noqa: E402
from access import audit  # noqa: E402
from pipelines import warehouse  # noqa: E402

LEAD = "lead@practice.example"
SUPERVISOR = "supervisor@practice.example"
THERAPIST = "therapist@practice.example"
STRANGER = "stranger@elsewhere.example"
SIDEBAR = "[data-testid='stSidebar']"
MAIN = "[data-testid='stMain']"


def _plain(name: str) -> bool:
    """A team name that travels in a URL as it is (the sample also holds a CSV-injection team)."""
    return name.replace(" ", "").isalnum()


@pytest.fixture(scope="module")
def practice(tmp_path_factory, dashboard_db):
    """The warehouse (shared, read-only: conftest.py), and who is who in it: the therapist (the
    one with flags and the fewest children), their caseload, a child and a team outside it,
    the supervisor's team."""
    work = tmp_path_factory.mktemp("auth_browser")
    db = dashboard_db
    con = warehouse.connect_reader(db)
    try:
        sessions = con.execute("select child_id, therapist_id, team from wh.sessions").df()
        flagged = set(analytics.flags(con, analytics.Filters())["child_id"].astype(str))
    finally:
        con.close()
    sessions = sessions.astype(str)
    caseloads = {t: set(g["child_id"]) for t, g in sessions.groupby("therapist_id")}
    with_flags = [t for t, kids in caseloads.items() if kids & flagged]
    assert with_flags, "no therapist has a flagged child: the export test needs one"
    tid = min(with_flags, key=lambda t: (len(caseloads[t]), t))
    mine = caseloads[tid]
    # the teams a scoped viewer can see: every session of their children (a child may move team)
    my_teams = set(sessions.loc[sessions["child_id"].isin(mine), "team"])
    teams = sorted(t for t in sessions["team"].unique() if _plain(t))
    other_teams = [t for t in teams if t not in my_teams]
    assert other_teams, f"every team of the data is in {tid}'s scope: no team to tamper with"
    outside = sorted(set(sessions["child_id"]) - mine)
    sup_team = teams[0]
    return {"db": db, "work": work, "therapist_id": tid, "children": mine, "flagged": mine & flagged,
            "outside_child": outside[0], "other_team": other_teams[0], "supervisor_team": sup_team,
            "supervisor_children": set(sessions.loc[sessions["team"] == sup_team, "child_id"])}


@pytest.fixture(scope="module")
def app(practice):
    """The IdP and the dashboard (OIDC mode) for the whole module: {"base", "audit", ...}."""
    work = practice["work"]
    access_file = work / "access.toml"
    access_file.write_text(
        f'[[user]]\nemail = "{LEAD}"\nrole = "lead"\n\n'
        f'[[user]]\nemail = "{SUPERVISOR}"\nrole = "supervisor"\nteams = ["{practice["supervisor_team"]}"]\n\n'
        f'[[user]]\nemail = "{THERAPIST}"\nrole = "therapist"\ntherapist_id = "{practice["therapist_id"]}"\n',
        encoding="utf-8")
    audit_file = work / "audit.sqlite"
    env = {"PIPELINES_DB": str(practice["db"]), "PIPELINES_ACCESS": str(access_file),
           "PIPELINES_AUDIT": str(audit_file)}
    port = free_port()
    with LocalIdP(redirect_uris=[f"http://127.0.0.1:{port}/oauth2callback"]) as idp:
        secrets = write_secrets(work / "secrets.toml", port, idp)
        with run_streamlit("dashboard/streamlit_app.py", port, secrets, env, cwd=support.ROOT) as base:
            yield {"base": base, "audit": audit_file, "idp": idp}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    """A fresh context (own cookie jar: one person) and page per test."""
    ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    try:
        yield ctx.new_page()
    finally:
        with contextlib.suppress(Exception):
            ctx.close()


# ----------------------------------------------------------------------------- helpers

def _settle(page, timeout_ms: int = 60_000) -> None:
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_timeout(300)  # a rerun (a callback, a widget reset) may follow
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def _open(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
    page.wait_for_selector(f"{MAIN} h1", timeout=60_000)
    _settle(page)


def _no_exception(page) -> None:
    errors = page.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()[:2000]


def _signed_in(page, base: str, email: str) -> str:
    """Sign in as ``email``; the sidebar caption naming them (fails if the dashboard is not shown)."""
    sign_in(page, base, email)
    caption = page.locator(SIDEBAR).get_by_text("Signed in as", exact=False)
    caption.first.wait_for(timeout=30_000)
    _no_exception(page)
    return caption.first.inner_text()


def _screenshot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main container, so grow the viewport to fit it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll(\"[data-testid='stMain'], [data-testid='stSidebar'] > div\")]"
        ".map(e => e.scrollHeight), 800)")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(300)  # let plotly redraw at the new size
    path = SHOTS / f"auth_{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(VIEWPORT)
    return path


def _events(app, predicate, timeout: float = 15) -> pd.DataFrame:
    """Audit events matching ``predicate(row)``; waits (callbacks write a moment after the click)."""
    deadline = time.monotonic() + timeout
    while True:
        log = audit.read(app["audit"])
        hits = log[log.apply(predicate, axis=1)] if not log.empty else log
        if not hits.empty or time.monotonic() > deadline:
            return hits
        time.sleep(0.25)


def _detail(row) -> dict:
    return json.loads(row["detail"]) if isinstance(row["detail"], str) and row["detail"] else {}


def _input_values(locator) -> str:
    return " ".join(locator.locator("input").evaluate_all("els => els.map(e => e.value)"))


def _dropdown_options(page, widget) -> list[str]:
    """Open a selectbox/multiselect and return the texts of its options (then close it).

    Streamlit 1.67's multiselect is a react-aria ComboBox: a plain click on its input does not
    always open it, ArrowDown on the focused input or a press on its "Open" button does.
    """
    box = widget.locator("input").first
    options = page.locator("[role='option']")
    for attempt in range(3):
        if attempt == 0:
            box.focus()
            page.keyboard.press("ArrowDown")
        else:
            opener = widget.locator("button[aria-label='Open']")
            (opener.first if opener.count() else box).click()
        with contextlib.suppress(sync_api.TimeoutError):
            options.first.wait_for(timeout=3_000)
            break
    else:
        raise AssertionError(f"the dropdown of {widget.inner_text()!r} did not open")
    texts = [t.strip() for t in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return texts


# ----------------------------------------------------------------------------- tests

def test_therapist_sees_their_caseload_only(app, practice, page):
    caption = _signed_in(page, app["base"], THERAPIST)
    assert THERAPIST in caption and caption.rstrip().endswith("· therapist"), caption
    sidebar = page.locator(SIDEBAR).inner_text()
    assert f"the caseload of therapist {practice['therapist_id']}" in sidebar
    assert page.get_by_role("button", name="Sign out").count() == 1

    _open(page, f"{app['base']}/child_progress?period=all")  # all data: every child of the caseload is listed
    _no_exception(page)
    picker = page.locator(f"{MAIN} [data-testid='stSelectbox']").filter(has_text="Child (pseudonymous id")
    expected = sorted(practice["children"])
    assert f"{len(expected)} in the current filters" in picker.inner_text()
    options = _dropdown_options(page, picker)
    assert sorted(o.split(" · ")[0] for o in options) == expected, options
    assert all(f" · {practice['therapist_id']} · " in o for o in options), options
    _screenshot(page, "therapist_child_progress")

    signins = _events(app, lambda r: r["action"] == "sign_in" and r["actor"] == THERAPIST)
    assert not signins.empty and set(signins["role"]) == {"therapist"}
    assert _detail(signins.iloc[-1])["mode"] == "oidc"
    # one event per sign-in at the identity provider, not one per page load (each load is a new session)
    logins = [_detail(r)["login_at"] for _, r in signins.iterrows()]
    assert len(logins) == len(set(logins)), logins
    views = _events(app, lambda r: r["action"] == "view" and r["actor"] == THERAPIST
                    and r["page"] == "Child progress" and r["child_id"] in practice["children"])
    assert not views.empty and set(views["role"]) == {"therapist"}


def test_url_tampering_shows_nothing_outside_scope(app, practice, page):
    child, team = practice["outside_child"], practice["other_team"]
    _signed_in(page, app["base"], THERAPIST)

    _open(page, f"{app['base']}/child_progress?child={child}&period=all")
    _no_exception(page)
    warning = page.get_by_text("is not among the children you can see", exact=False)
    assert warning.count() == 1 and f"Child {child} from the link" in warning.first.inner_text()
    # the id is in the warning and nowhere else; and nothing of any other child is shown under it
    whole = page.locator("[data-testid='stApp']").inner_text()
    assert whole.count(child) == 1, whole
    main = page.locator(MAIN)
    for kind in ("stSelectbox", "stMetric", "stPlotlyChart", "stDataFrame"):
        assert main.locator(f"[data-testid='{kind}']").count() == 0, kind
    assert not [c for c in practice["children"] if c in main.inner_text()]
    _screenshot(page, "tampered_child_link")
    # the way back: the viewer's own children, the linked child gone from the address
    main.get_by_role("button", name="Choose one of your children").click()
    page.wait_for_selector(IDLE, timeout=60_000)
    picker = page.locator(f"{MAIN} [data-testid='stSelectbox']").filter(has_text="Child (pseudonymous id")
    picker.wait_for(timeout=30_000)
    assert child not in _input_values(picker)
    assert not any(o.startswith(child) for o in _dropdown_options(page, picker))
    assert parse_qs(urlparse(page.url).query).get("child", [None])[0] in practice["children"]
    refused_views = _events(app, lambda r: r["action"] == "view" and r["actor"] == THERAPIST
                            and r["child_id"] == child)
    assert not refused_views.empty
    assert all(_detail(r)["shown"] is False for _, r in refused_views.iterrows())
    assert set(refused_views["role"]) == {"therapist"}

    _open(page, f"{app['base']}/?team={team}")
    _no_exception(page)
    team_filter = page.locator(f"{SIDEBAR} [data-testid='stMultiSelect']").filter(has_text="Team")
    assert team not in team_filter.inner_text() + _input_values(team_filter)
    assert team not in _dropdown_options(page, team_filter)
    # anywhere else the team name may appear only in the "not in the data" warning
    sidebar = page.locator(SIDEBAR).inner_text()
    assert sidebar.count(team) <= 1 and (team not in sidebar or f"team {team} is not in the data" in sidebar)
    assert team not in parse_qs(urlparse(page.url).query).get("team", [])


def test_export_holds_only_the_therapists_children(app, practice, page):
    assert practice["flagged"], "the fixture picks a therapist with flags"
    _signed_in(page, app["base"], THERAPIST)
    _open(page, f"{app['base']}/needs_attention?period=all")
    _no_exception(page)
    button = page.get_by_role("button", name="Download these flags (CSV)")
    button.wait_for(timeout=30_000)
    with page.expect_download(timeout=30_000) as info:
        button.click()
    path = info.value.path()
    csv = pd.read_csv(io.BytesIO(Path(path).read_bytes()), encoding="utf-8-sig", dtype=str)
    assert "Child" in csv.columns and not csv.empty
    exported = set(csv["Child"])
    assert exported <= practice["children"], exported - practice["children"]
    assert exported == practice["flagged"]  # all of their flagged children, no one else's
    _settle(page)
    _screenshot(page, "therapist_needs_attention")

    exports = _events(app, lambda r: r["action"] == "export" and r["actor"] == THERAPIST)
    assert not exports.empty
    detail = _detail(exports.iloc[0])
    assert set(detail["children"]) == exported and detail["rows"] == len(csv)
    assert exports.iloc[0]["role"] == "therapist" and exports.iloc[0]["page"] == "Needs attention"


def test_unknown_email_gets_no_access_and_no_data(app, practice, page):
    sign_in(page, app["base"], STRANGER)
    page.locator(f"{MAIN} h1").filter(has_text="No access yet").wait_for(timeout=30_000)
    _settle(page)
    _no_exception(page)
    main = page.locator(MAIN).inner_text()
    assert STRANGER in main and "not on this dashboard's access list" in main
    for kind in ("stMetric", "stDataFrame", "stTable", "stPlotlyChart", "stSelectbox", "stMultiSelect",
                 "stSidebarNav", "stDownloadButton"):
        assert page.locator(f"[data-testid='{kind}']").count() == 0, kind
    assert not any(c in page.locator("[data-testid='stApp']").inner_text() for c in practice["children"])
    assert page.get_by_role("button", name="Sign out").count() == 1
    _screenshot(page, "no_access")

    # a deep link to a child's page is refused the same way
    child = sorted(practice["children"])[0]
    _open(page, f"{app['base']}/child_progress?child={child}&period=all")
    assert page.locator(f"{MAIN} h1").inner_text() == "No access yet"
    assert child not in page.locator("[data-testid='stApp']").inner_text()
    assert page.locator("[data-testid='stMetric'], [data-testid='stSelectbox']").count() == 0

    refused = _events(app, lambda r: r["action"] == "refused" and r["actor"] == STRANGER)
    assert not refused.empty and _detail(refused.iloc[0])["reason"] == "not on the access list"
    others = audit.read(app["audit"], actor=STRANGER)
    assert set(others["action"]) == {"refused"}  # no sign_in, no view


def test_supervisor_is_labelled_supervisor(app, practice, page):
    caption = _signed_in(page, app["base"], SUPERVISOR)
    assert SUPERVISOR in caption and caption.rstrip().endswith("· supervisor"), caption
    assert f"You see children of team {practice['supervisor_team']}." in page.locator(SIDEBAR).inner_text()
    _screenshot(page, "supervisor_overview")
    signins = _events(app, lambda r: r["action"] == "sign_in" and r["actor"] == SUPERVISOR)
    assert not signins.empty and set(signins["role"]) == {"supervisor"}
