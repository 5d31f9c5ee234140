"""The dashboard served by a real ``streamlit run`` in a child process, for the browser tests and
the browser benchmark (``serve``), and the system Chromium they drive (``CHROMIUM``; its flags
are ``reports.pdf.BROWSER_ARGS``, the ones the meeting pack prints with)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; Playwright is pointed at it and never downloads one


class ServerDidNotStart(RuntimeError):
    """``streamlit run`` ended or did not answer in time; the message holds its log's tail."""


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(env: dict[str, str], log_path: Path, timeout_s: float = 60,
          extra_args: tuple[str, ...] = ()) -> Iterator[tuple[str, int]]:
    """``streamlit run dashboard/streamlit_app.py`` on a free local port with ``env`` on top of this
    process's (a value of None removes that variable), its output in ``log_path``; yields (base
    URL, pid) once ``/_stcore/health`` answers, raises ``ServerDidNotStart`` with the log's tail
    when it does not within ``timeout_s``, and stops the server afterwards."""
    port = free_port()
    full_env = {**os.environ, **{k: v for k, v in env.items() if v is not None}}
    for k in [k for k, v in env.items() if v is None]:
        full_env.pop(k, None)
    log = open(log_path, "w+")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
         *extra_args], cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.time() > deadline:
                log.seek(0)
                raise ServerDidNotStart(f"streamlit did not start:\n{log.read()[-3000:]}")
            time.sleep(0.3)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
