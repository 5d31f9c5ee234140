"""Print an HTML document of ours to PDF with headless Chromium (the meeting pack, and the
child report of issue 15): the system Chromium, never a downloaded one.

A document that draws charts sets ``data-charts-ready`` on ``<html>`` ("1" when every chart
is drawn, "error" otherwise); printing waits for it.
"""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM_HINT = ("install Chromium to make the PDF (apt-get install chromium); the HTML pack works without it "
                 "and prints to PDF from any browser")


class ChromiumMissing(RuntimeError):
    """No Chromium to print the PDF with."""


def chromium_path() -> str | None:
    """The Chromium used for the PDF: ``$PIPELINES_CHROMIUM`` when set (a path; empty or missing
    means none), else ``/usr/bin/chromium``, else ``chromium`` / ``chromium-browser`` on PATH."""
    env = os.environ.get("PIPELINES_CHROMIUM")
    if env is not None:
        return env if env and os.access(env, os.X_OK) else None
    if os.access("/usr/bin/chromium", os.X_OK):
        return "/usr/bin/chromium"
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _print_with_playwright(src: Path, out: Path, exe: str, timeout_s: float) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, args=BROWSER_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 1100})
            page.goto(src.as_uri(), wait_until="load", timeout=timeout_s * 1000)
            page.wait_for_selector("html[data-charts-ready]", timeout=timeout_s * 1000, state="attached")
            if page.get_attribute("html", "data-charts-ready") != "1":
                raise RuntimeError("the pack's charts failed to draw in Chromium")
            page.emulate_media(media="print")
            page.pdf(path=str(out), prefer_css_page_size=True, print_background=True)
        finally:
            browser.close()


def _print_with_cli(src: Path, out: Path, exe: str, timeout_s: float) -> None:
    cmd = [exe, *BROWSER_ARGS, "--no-pdf-header-footer", "--virtual-time-budget=15000",
           f"--print-to-pdf={out}", src.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if res.returncode != 0 or not out.exists():
        raise RuntimeError(f"chromium could not print the pack (exit {res.returncode}): {res.stderr.strip()[-300:]}")


def render_pdf(html_text: str, path: str | Path, chromium: str | None = None, timeout_s: float = 120) -> Path:
    """Print the pack's HTML to ``path`` (A4, one section per page) with headless Chromium.

    Uses Playwright driving the system Chromium (never a downloaded one) and waits until
    every chart is drawn; without the playwright package, Chromium's own ``--print-to-pdf``.
    Raises ``ChromiumMissing`` (with how to install it) when there is no Chromium.
    """
    exe = chromium or chromium_path()
    if not exe:
        raise ChromiumMissing(f"no Chromium found (/usr/bin/chromium): {CHROMIUM_HINT}")
    out = Path(path).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="meeting-pack-") as tmp:
        src = Path(tmp) / "pack.html"
        src.write_text(html_text, encoding="utf-8")
        try:
            import playwright.sync_api  # noqa: F401
            printer = _print_with_playwright
        except ImportError:
            printer = _print_with_cli
        # a thread of its own: Playwright's sync API refuses to run inside a running event loop
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(printer, src, out, exe, timeout_s).result()
    return out
