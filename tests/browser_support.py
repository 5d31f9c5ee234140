"""What every browser test needs: the system Chromium, its flags, and Playwright.

``sync_api()`` skips the calling test module when Chromium is missing, and fails it
instead when ``REQUIRE_BROWSER`` is set (CI installs Chromium: there a missing browser is a
failure, not a skip). Playwright never downloads a browser here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboard.serve import CHROMIUM, ServerDidNotStart, free_port, serve  # noqa: F401  (free_port, CHROMIUM: for the tests)
from reports.pdf import BROWSER_ARGS

ARGS = BROWSER_ARGS  # the flags the meeting pack's PDF printing uses (reports.pdf)


def sync_api():
    """``playwright.sync_api``, or skip (fail under REQUIRE_BROWSER) the module without Chromium."""
    if not CHROMIUM.exists():
        reason = "no system Chromium at /usr/bin/chromium (apt-get install chromium); the browser test never downloads one"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason, allow_module_level=True)
    return pytest.importorskip("playwright.sync_api", reason="python package playwright is not installed")


@contextlib.contextmanager
def streamlit_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """The dashboard served by a real ``streamlit run`` with ``env`` (on top of this process's),
    its output in ``log_path``; yields its base URL once ``/_stcore/health`` answers (the test
    fails with the log's tail when it does not start within 60 s) and stops it afterwards
    (``dashboard.serve.serve``, which the browser benchmark uses too)."""
    try:
        with serve(env, log_path, timeout_s=60) as (base, _pid):
            yield base
    except ServerDidNotStart as exc:
        pytest.fail(str(exc), pytrace=False)

