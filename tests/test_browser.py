"""The dashboard in a real browser: headless Chromium (the system's, never a downloaded one).

Starts ``streamlit run dashboard/streamlit_app.py`` on a free port against the shared sample
warehouse (``dashboard_db`` of conftest.py), opens every page, checks that no page shows an
exception, follows a shared URL with filters (the widgets must show them), and saves a
screenshot of each page to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

import browser_support

import test_dashboard_support as support

CHROMIUM = browser_support.CHROMIUM
SHOTS = support.ROOT / "artifacts" / "screenshots"
ARGS = browser_support.ARGS
PAGES = {
    "overview": "",
    "groups": "groups",
    "approach": "approach",
    "child_progress": "child_progress",
    "needs_attention": "needs_attention",
    "team_meeting": "team_meeting",
    "data": "data_loads",
}
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

sync_api = browser_support.sync_api()


@pytest.fixture(scope="module")
def server(tmp_path_factory, dashboard_db):
    work = tmp_path_factory.mktemp("browser")
    db = dashboard_db  # shared, read-only (conftest.py)
    with browser_support.streamlit_server({"PIPELINES_DB": str(db)}, work / "streamlit.log") as base:
        yield base


@pytest.fixture(scope="module")
def page():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000})
        pg = ctx.new_page()
        try:
            yield pg
        finally:
            with contextlib.suppress(Exception):
                ctx.close()
            browser.close()


# every element still loading is drawn: no skeleton left, and each plotly chart has its SVG
DRAWN = ("() => !document.querySelector(\"[data-testid='stSkeleton']\") && [...document.querySelectorAll("
         "\"[data-testid='stPlotlyChart']\")].every(c => c.querySelector('.main-svg'))")


def _settle(page) -> None:
    """The script has finished, plotly has drawn (it draws after the script), no rerun follows."""
    page.wait_for_selector(IDLE, timeout=60_000)
    page.wait_for_function(DRAWN, timeout=60_000)
    page.wait_for_timeout(300)  # a rerun (a callback, a widget reset) may follow
    page.wait_for_selector(IDLE, timeout=60_000)


def _open(page, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_selector("[data-testid='stApp']", timeout=60_000)
    page.wait_for_selector("h1", timeout=60_000)
    _settle(page)


def _screenshot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main container, so grow the viewport to fit it."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll(\"[data-testid='stMain'], [data-testid='stSidebar'] > div\")]"
        ".map(e => e.scrollHeight), 800)")
    page.set_viewport_size({"width": 1440, "height": min(int(height) + 40, 12000)})
    page.wait_for_timeout(300)  # let plotly redraw at the new size
    page.wait_for_function(DRAWN, timeout=60_000)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1440, "height": 1000})
    return path


def test_every_page_renders_without_exception(server, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in PAGES.items():
        _open(page, f"{server}/{path}")
        errors = page.locator("[data-testid='stException']")
        assert errors.count() == 0, f"{name}: {errors.first.inner_text()[:2000]}"
        assert _screenshot(page, name).stat().st_size > 10_000


def test_shared_url_restores_filters(server, page):
    _open(page, f"{server}/groups?period=6m&modality=OT&modality=speech&team=North")
    assert page.locator("[data-testid='stException']").count() == 0
    sidebar = page.locator("[data-testid='stSidebar']")
    modality = sidebar.locator("[data-testid='stMultiSelect']").filter(has_text="Modality")
    assert "OT" in modality.inner_text() and "speech" in modality.inner_text()
    team = sidebar.locator("[data-testid='stMultiSelect']").filter(has_text="Team")
    assert "North" in team.inner_text()
    period = sidebar.locator("[data-testid='stSelectbox']").filter(has_text="Period")
    assert "Last 6 months" in period.inner_text() + " ".join(
        period.locator("input").evaluate_all("els => els.map(e => e.value)"))
    # the address still carries the filters (bookmarkable)
    assert "modality=OT" in page.url and "team=North" in page.url and "period=6m" in page.url
    _screenshot(page, "shared_url_groups")


def test_invalid_url_values_warn_and_do_not_break(server, page):
    _open(page, f"{server}/?modality=Physio&from=2026-13-45&period=decade")
    assert page.locator("[data-testid='stException']").count() == 0
    # the warnings stand at the top of the page (a narrow window can hide the sidebar)
    text = page.locator("[data-testid='stMain']").inner_text()
    assert "Physio" in text and "Ignored" in text


def test_child_link_opens_that_child(server, page):
    _open(page, f"{server}/child_progress?child=C0003")
    assert page.locator("[data-testid='stException']").count() == 0
    box = page.locator("[data-testid='stMainBlockContainer'] [data-testid='stSelectbox']").first
    assert "C0003" in box.inner_text() + " ".join(box.locator("input").evaluate_all("els => els.map(e => e.value)"))
    _screenshot(page, "child_progress_C0003")


def test_overview_link_into_a_group_sets_the_filter(server, page):
    _open(page, f"{server}/?period=6m")
    link = page.locator("[data-testid='stPageLink'] a").filter(has_text="OT").first
    link.click()
    page.wait_for_url("**/groups**", timeout=30_000)
    page.wait_for_selector("h1:has-text('Modalities and age groups')", timeout=60_000)
    _settle(page)
    assert page.locator("[data-testid='stException']").count() == 0
    modality = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(has_text="Modality")
    assert "OT" in modality.inner_text()
    assert "modality=OT" in page.url and "period=6m" in page.url
