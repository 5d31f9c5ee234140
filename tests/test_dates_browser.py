"""Typed dates in the sidebar apply on Enter, and the first page-link click after typing is not
swallowed (issue 16, item 2); a date typed but not applied is not used. A real ``streamlit run`` and headless Chromium on the sample.

With ``st.date_input`` the typed text reached the app only when its calendar pop-up closed, and
the click that closed it did nothing else.
"""

from __future__ import annotations

import pytest

import browser_support
from test_browser import IDLE, _settle, server  # noqa: F401  (the module's own Streamlit server)

sync_api = browser_support.sync_api()


@pytest.fixture(scope="module")
def page():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(browser_support.CHROMIUM), args=browser_support.ARGS)
        ctx = b.new_context(viewport={"width": 1280, "height": 900})
        try:
            yield ctx.new_page()
        finally:
            b.close()


def _box(page, label: str):
    return page.locator("[data-testid='stSidebar'] [data-testid='stTextInput']").filter(has_text=label).locator("input")


def test_enter_applies_a_typed_date_and_the_next_link_click_navigates(server, page):  # noqa: F811
    page.goto(f"{server}/?period=custom&from=2026-03-01&to=2026-06-30", wait_until="domcontentloaded")
    _settle(page)
    side = page.locator("[data-testid='stSidebar']")
    assert "1 Mar 2026 – 30 Jun 2026" in side.inner_text()
    start = _box(page, "From")
    start.fill("2026-04-01")
    start.press("Enter")
    page.wait_for_function("() => location.search.includes('from=2026-04-01')", timeout=60_000)
    _settle(page)
    assert "1 Apr 2026 – 30 Jun 2026" in side.inner_text()
    assert "1 Apr 2026 – 30 Jun 2026" in page.locator("[data-testid='stMain']").inner_text()
    # typed, not applied: the very next click on a page link opens the page (nothing else runs first)
    end = _box(page, "To")
    end.fill("2026-05-31")
    side.locator("a[href*='groups']").first.click()
    page.wait_for_function("() => location.pathname.endsWith('/groups')", timeout=60_000)
    _settle(page)
    page.wait_for_timeout(1500)   # no late rerun takes the app back to the page it left
    assert page.url.split("?")[0].endswith("/groups")
    assert "Modalities and age groups" in page.locator("h1").first.inner_text()
    assert "from=2026-04-01" in page.url and "to=2026-06-30" in page.url   # the unapplied date is not used
    assert _box(page, "To").input_value() == "2026-06-30"
    # a date that does not read as one is refused in words, the old one kept
    start = _box(page, "From")
    start.fill("2026-13-40")
    start.press("Enter")
    page.wait_for_function("() => document.querySelector(\"[data-testid='stSidebar']\").innerText"
                           ".includes('not a date written YYYY-MM-DD')", timeout=60_000)
    _settle(page)
    sidebar_from = ("() => [...document.querySelectorAll(\"[data-testid='stSidebar'] [data-testid='stTextInput']\")]"
                    ".find(e => e.innerText.includes('From')).querySelector('input').value")
    page.wait_for_function(f"() => ({sidebar_from})() === '2026-04-01'", timeout=15_000)
    assert start.input_value() == "2026-04-01"
