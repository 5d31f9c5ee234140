"""Streamlit's built-in st.login() round trip in headless Chromium against the test IdP.

A five-line app (written to tmp_path) signs in through tests/oidc_provider.py; the page must
end up saying "LOGGED IN AS <email>". Proves the IdP + helpers in tests/oidc_roundtrip.py
work before they are pointed at the real dashboard. Uses the system Chromium, never a
downloaded one.
"""

from __future__ import annotations

import contextlib

import pytest

import browser_support

CHROMIUM = browser_support.CHROMIUM
ARGS = browser_support.ARGS

sync_api = browser_support.sync_api()

from oidc_provider import LocalIdP  # noqa: E402
from oidc_roundtrip import free_port, run_streamlit, sign_in, write_secrets  # noqa: E402

APP = '''import streamlit as st
if not st.user.is_logged_in:
    st.button("Sign in", on_click=st.login)
else:
    st.write("LOGGED IN AS", st.user.email)
'''


@pytest.fixture
def page():
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        ctx = browser.new_context()
        try:
            yield ctx.new_page()
        finally:
            with contextlib.suppress(Exception):
                ctx.close()
            browser.close()


def test_st_login_round_trip(tmp_path, page):
    app = tmp_path / "app.py"
    app.write_text(APP, encoding="utf-8")
    port = free_port()
    with LocalIdP({"probe@practice.example": {"name": "Probe"}},
                  redirect_uris=[f"http://127.0.0.1:{port}/oauth2callback"]) as idp:
        secrets = write_secrets(tmp_path / "secrets.toml", port, idp)
        with run_streamlit(app, port, secrets, env={}, cwd=tmp_path) as base:
            sign_in(page, base, "probe@practice.example")
            page.get_by_text("LOGGED IN AS").wait_for(timeout=10_000)
            assert "LOGGED IN AS probe@practice.example" in page.locator("[data-testid='stMain']").inner_text()
            assert page.url.rstrip("/") == base
            # what Streamlit's Authlib client sent: PKCE S256 (the metadata offers it) and a nonce
            (issued,) = idp.issued
            assert issued.code_challenge_method == "S256" and issued.code_challenge and issued.nonce
            assert issued.scope == "openid email profile" and not idp.codes  # code exchanged, gone
            assert {"_streamlit_user", "_streamlit_user_tokens"} <= {c["name"] for c in page.context.cookies()}
