"""The report's charts as PNG images (for the Word document), drawn by the same system
Chromium that prints the PDF (``reports.pdf``): the HTML is opened once and each chart is
photographed. No Chromium (or no Playwright): no images, and the document says so."""

from __future__ import annotations

import concurrent.futures
import tempfile
from pathlib import Path

from reports.pdf import BROWSER_ARGS, chromium_path


def chart_images(html_text: str, timeout_s: float = 90) -> list[bytes] | None:
    """One PNG per chart of ``html_text`` (in document order), or None without Chromium."""
    exe = chromium_path()
    if not exe:
        return None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return None
    with tempfile.TemporaryDirectory(prefix="child-report-") as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(html_text, encoding="utf-8")
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # not inside an event loop
            return pool.submit(_shoot, src, exe, timeout_s).result()


def _shoot(src: Path, exe: str, timeout_s: float) -> list[bytes]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=BROWSER_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 1100}, device_scale_factor=2)
            page.goto(src.as_uri(), wait_until="load", timeout=timeout_s * 1000)
            page.wait_for_selector("html[data-charts-ready]", timeout=timeout_s * 1000, state="attached")
            if page.get_attribute("html", "data-charts-ready") != "1":
                raise RuntimeError("the report's charts failed to draw in Chromium")
            return [el.screenshot(type="png") for el in page.query_selector_all(".figure")]
        finally:
            browser.close()
