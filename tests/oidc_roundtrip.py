"""Helpers for real-browser sign-in tests: Streamlit's ``st.login()`` against tests/oidc_provider.py.

    port = free_port()
    with LocalIdP(users, redirect_uris=[f"http://127.0.0.1:{port}/oauth2callback"]) as idp:
        secrets = write_secrets(tmp_path / "secrets.toml", port, idp)
        with run_streamlit("dashboard/streamlit_app.py", port, secrets, env) as base:
            sign_in(page, base, "lena@practice.example")

Things Streamlit needs (found with a probe app, Streamlit 1.67):
* The browser must use exactly the host of ``redirect_uri`` (127.0.0.1 here, never ``localhost``):
  the login state lives in a host-scoped session cookie, so a callback on the other host finds
  none and Streamlit logs "Missing provider for OAuth callback" and shows the app signed out.
* Cookies ignore ports: all apps on 127.0.0.1 share one cookie jar, so use a fresh browser
  context per app/user. The provider sets no cookies, so it cannot clash with the app.
* After the callback Streamlit always lands on the app's root URL, not the page you started on.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
COOKIE_SECRET = "a-long-random-test-cookie-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_secrets(path, app_port: int, idp) -> Path:
    """The ``[auth]`` section st.login() needs, pointing at ``idp`` (a LocalIdP)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{COOKIE_SECRET}"\n'
        f'client_id = "{idp.client.client_id}"\n'
        f'client_secret = "{idp.client.client_secret}"\n'
        f'server_metadata_url = "{idp.metadata_url}"\n', encoding="utf-8")
    return path


@contextlib.contextmanager
def run_streamlit(app_path, port: int, secrets_path, env: dict | None = None, cwd=ROOT,
                  timeout: float = 60) -> Iterator[str]:
    """Run ``streamlit run app_path`` on 127.0.0.1:port; yield its base URL; stop it at exit.

    ``env`` is added to this process's environment. On any failure (startup or the test body)
    the tail of Streamlit's output is printed, so pytest shows it with the failure.
    """
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_path),
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
           "--secrets.files", str(secrets_path), "--browser.gatherUsageStats", "false"]
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as log:
        proc = subprocess.Popen(cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as reply:
                        if reply.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError(f"streamlit exited with code {proc.returncode} before answering")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"streamlit did not answer {base}/_stcore/health within {timeout:.0f} s")
                time.sleep(0.2)
            yield base
        except BaseException:
            log.flush()
            log.seek(0)
            print(f"--- streamlit output (tail) for {app_path} ---\n{log.read()[-4000:]}", file=sys.stderr)
            raise
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def sign_in(page, base_url: str, email: str, timeout_ms: int = 30000, button: str = "Sign in") -> None:
    """Open the app, press its ``button`` (calls st.login), sign in at the test IdP as ``email``,
    and wait until the app is back (at its root URL) and its script has finished running."""
    base_url = base_url.rstrip("/")
    page.goto(base_url + "/", wait_until="domcontentloaded")
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_selector("input#email", timeout=timeout_ms)  # the provider's form
    page.fill("input#email", email)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: url.startswith(base_url + "/") and "/oauth2callback" not in url,
                      timeout=timeout_ms)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
