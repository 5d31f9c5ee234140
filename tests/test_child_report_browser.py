"""A therapist makes a child's progress report from the Child progress page in a real browser
(the system Chromium, never a downloaded one): types a display name and a narrative, clicks
the download, and gets a file that holds them, while the warehouse, its audit log and the
landing archive beside it do not. Screenshot: artifacts/screenshots/child_report_page.png."""

from __future__ import annotations

import contextlib
import time

import pytest

import browser_support
import test_dashboard_support as support
from builders import copy_warehouse

sync_api = browser_support.sync_api()
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
NAME = "Octavia Bramblewick"
CHILD = "C0008"


@pytest.fixture(scope="module")
def served(tmp_path_factory, sample_db):
    work = tmp_path_factory.mktemp("report_browser")
    db = copy_warehouse(sample_db, work / "wh" / sample_db.name)   # its own audit log
    with browser_support.streamlit_server({"PIPELINES_DB": str(db)}, work / "streamlit.log") as base:
        yield base, db


def test_report_from_the_page_holds_the_typed_name_and_nothing_else_does(served, tmp_path):
    base, db = served
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(browser_support.CHROMIUM), args=browser_support.ARGS,
                                    headless=True)
        ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
        page = ctx.new_page()
        try:
            started = time.monotonic()
            page.goto(f"{base}/child_progress?child={CHILD}&period=all", wait_until="domcontentloaded")
            page.wait_for_selector("h1", timeout=60_000)
            page.wait_for_selector(IDLE, timeout=60_000)
            assert page.locator("[data-testid='stException']").count() == 0
            box = page.get_by_label("Child's name for the file (optional; into the file only)")
            box.fill(NAME)
            box.press("Enter")
            page.wait_for_timeout(300)
            page.wait_for_selector(IDLE, timeout=60_000)
            notes = page.get_by_label("Narrative (optional; into the file only)")
            notes.fill("Joined the group game this month.")
            notes.press("Control+Enter")                                  # sends the value (as leaving the box does)
            page.wait_for_timeout(300)
            page.wait_for_selector(IDLE, timeout=60_000)
            button = page.get_by_role("button", name="Report (HTML)")
            button.scroll_into_view_if_needed()
            with page.expect_download(timeout=60_000) as info:
                button.click()
            target = tmp_path / info.value.suggested_filename
            info.value.save_as(str(target))
            elapsed = time.monotonic() - started
            shots = support.ROOT / "artifacts" / "screenshots"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "child_report_page.png"), full_page=True)
        finally:
            with contextlib.suppress(Exception):
                ctx.close()
            browser.close()
    text = target.read_text(encoding="utf-8")
    assert target.name.startswith(f"progress_{CHILD}_") and target.suffix == ".html"
    assert NAME in text and "Joined the group game this month." in text
    assert elapsed < 60, f"making the report took {elapsed:.0f} s"
    for f in sorted(db.parent.rglob("*")):
        if f.is_file():
            assert NAME.encode() not in f.read_bytes(), f
    from access import audit

    log = audit.read(path=audit.audit_path(db), action="export", child_id=CHILD)
    assert len(log) == 1 and "child progress report (html)" in str(log["detail"].iloc[0])
