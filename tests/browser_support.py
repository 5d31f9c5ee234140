"""What every browser test needs: the system Chromium, its flags, and Playwright.

``sync_api()`` skips the calling test module when Chromium is missing, and fails it
instead when ``REQUIRE_BROWSER`` is set (CI installs Chromium: there a missing browser is a
failure, not a skip). Playwright never downloads a browser here.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
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


def free_port() -> int:
    """A TCP port nothing listens on now."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(env: dict[str, str], log_path: Path) -> Iterator[str]:
    """The dashboard served by a real ``streamlit run`` with ``env`` (on top of this process's),
    its output in ``log_path``; yields its base URL once ``/_stcore/health`` answers (the test
    fails with the log's tail when it does not start within 60 s) and stops it afterwards."""
    root = Path(__file__).resolve().parent.parent
    port = free_port()
    log = open(log_path, "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=root, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                pytest.fail(f"streamlit did not start:\n{log.read()[-3000:]}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
