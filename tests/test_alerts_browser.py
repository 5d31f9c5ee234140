"""The alert workflow in a real browser (headless system Chromium): tick a flag on the Needs
attention page, acknowledge it, see it leave the list and come back under "Show handled";
the action is in the alert store and the audit log. A screenshot goes to
``artifacts/screenshots/needs_attention_acknowledged.png``.
"""

from __future__ import annotations

import contextlib
import re

import pytest

import browser_support

import test_dashboard_support as support

from access import alerts, audit

SHOTS = support.ROOT / "artifacts" / "screenshots"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
MAIN = "[data-testid='stMain']"
CODE = "possible_dropout"

sync_api = browser_support.sync_api()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    work = tmp_path_factory.mktemp("alerts_browser")
    db, _ = support.build_warehouse(work / "practice.duckdb", work)
    files = {"alerts": work / "alerts.sqlite", "audit": work / "audit.sqlite"}
    env = {"PIPELINES_DB": str(db), "PIPELINES_ALERTS": str(files["alerts"]), "PIPELINES_AUDIT": str(files["audit"])}
    with browser_support.streamlit_server(env, work / "streamlit.log") as base:
        yield {"base": base, **files}


@pytest.fixture(scope="module")
def page():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(browser_support.CHROMIUM), args=browser_support.ARGS,
                                    headless=True)
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
        pg = ctx.new_page()
        try:
            yield pg
        finally:
            with contextlib.suppress(Exception):
                ctx.close()
            browser.close()


def _settle(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=60_000)
    page.wait_for_timeout(700)
    page.wait_for_selector(IDLE, timeout=60_000)


def _metric(page, label: str) -> int:
    m = page.locator(f"{MAIN} [data-testid='stMetric']").filter(has_text=label).first
    return int(m.locator("[data-testid='stMetricValue']").inner_text().replace(",", ""))


def test_acknowledge_a_flag_in_the_browser(app, page):
    page.goto(f"{app['base']}/needs_attention?period=all&flag={CODE}", wait_until="domcontentloaded")
    page.wait_for_selector(f"{MAIN} h1", timeout=60_000)
    _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    before = _metric(page, "Flags")
    assert before > 0 and _metric(page, "Handled") == 0
    # tick the first row: the box at the left of the table's first row
    grid = page.locator(f"{MAIN} [data-testid='stDataFrame']").first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
    _settle(page)
    picked = page.locator(f"{MAIN} [data-testid='stForm'] [data-testid='stMarkdownContainer']").filter(
        has_text="1 selected").first.inner_text()
    child = re.search(r"1 selected: (\S+) · Possible drop-out", picked).group(1)
    page.locator(f"{MAIN} [data-testid='stForm']").get_by_role("textbox", name="Note (kept with any action)").fill(
        "Phoned; family on holiday")
    page.get_by_role("button", name="Acknowledge").click()
    page.locator(f"{MAIN} [data-testid='stAlert']").filter(has_text="Acknowledged 1 flag").wait_for(timeout=30_000)
    _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert _metric(page, "Flags") == before - 1 and _metric(page, "Handled") == 1
    hist = alerts.history(path=app["alerts"])
    assert hist[["child_id", "flag", "action", "actor", "note"]].values.tolist() == [
        [child, CODE, "acknowledge", "local-user", "Phoned; family on holiday"]]
    ev = audit.read(app["audit"], action="alert")
    assert ev["child_id"].tolist() == [child] and int(hist.loc[0, "audit_seq"]) == int(ev.loc[0, "seq"])
    # "Show handled" brings it back, and the address says so
    page.locator(f"{MAIN} [data-testid='stCheckbox']").filter(has_text="Show handled").locator("label").click()
    _settle(page)
    assert "handled=1" in page.url and f"flag={CODE}" in page.url
    assert _metric(page, "Flags") == before
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "needs_attention_acknowledged.png"), full_page=True)
