"""What every browser test needs: the system Chromium, its flags, and Playwright.

``sync_api()`` skips the calling test module when Chromium is missing, and fails it
instead when ``REQUIRE_BROWSER`` is set (CI installs Chromium: there a missing browser is a
failure, not a skip). Playwright never downloads a browser here.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def sync_api():
    """``playwright.sync_api``, or skip (fail under REQUIRE_BROWSER) the module without Chromium."""
    if not CHROMIUM.exists():
        reason = "no system Chromium at /usr/bin/chromium (apt-get install chromium); the browser test never downloads one"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason, allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="python package playwright is not installed")
