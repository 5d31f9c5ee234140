"""Sign-in, the viewer's role and scope, and the audit trail of what they view and export.

Three ways the app can run (``mode()``):

* **oidc** -- ``[auth]`` is configured in ``.streamlit/secrets.toml``: people sign in with
  the practice's identity provider (Google Workspace, Microsoft Entra ID, any OpenID
  Connect provider) through Streamlit's ``st.login``; their email is looked up in the
  access list (``access.access_list``), which gives the role and scope. People not on it
  see a polite refusal and no data.
* **local** -- no ``[auth]`` and the server is bound to 127.0.0.1 (``server.address``),
  the request comes from this computer and not through a proxy: one person on a laptop,
  who sees everything (a lead's scope), with a banner on every page saying so.
* **closed** -- anything else (say, bound to every interface with no sign-in set up):
  the app explains how to configure sign-in and shows no data.

``gate()`` runs first on every script run and stops the run unless a viewer is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard.ui import md_code, md_escape
from access import access_list, audit
from pipelines import settings
from access.scope import ROLE_LABELS, Scope

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip", "x-forwarded-host")
LOCAL_ACTOR = "local-user"
_LOCAL_RECORDED: set[tuple] = set()  # local-mode starts recorded by this server process


@dataclass(frozen=True)
class Viewer:
    email: str
    role: str
    scope: Scope
    mode: str                     # "oidc" or "local"

    @property
    def is_lead(self) -> bool:
        return self.role == "lead"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self.role]


class SecretsUnreadable(Exception):
    """A secrets file exists but cannot be read: never fall back to the local mode then."""


def _secrets_auth() -> dict | None:
    try:
        section = st.secrets.get("auth")
    except Exception as exc:  # noqa: BLE001 - no secrets file at all, or one that does not parse
        files = st.get_option("secrets.files") or []
        if any(Path(f).expanduser().is_file() for f in files):
            raise SecretsUnreadable(str(exc).splitlines()[0]) from None
        return None
    return dict(section) if section else None


def providers() -> list[str | None]:
    """Configured providers: ``[None]`` for one unnamed provider, else the ``[auth.<name>]`` names."""
    section = _secrets_auth() or {}
    named = [k for k, v in section.items() if isinstance(v, dict) and "client_id" in v]
    return named or ([None] if "client_id" in section or "server_metadata_url" in section else [])


def _request_is_local() -> bool:
    """The request comes from this computer, not through a proxy (best effort; see README)."""
    try:
        headers = {k.lower(): v for k, v in (st.context.headers or {}).items()}
    except Exception:  # noqa: BLE001 - no request context (AppTest)
        headers = {}
    if any(h in headers for h in PROXY_HEADERS):
        return False
    host = headers.get("host", "")
    if host and host.rsplit(":", 1)[0].strip("[]") not in LOOPBACK:
        return False
    try:
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001
        ip = None
    return not isinstance(ip, str) or ip in LOOPBACK


def mode() -> str:
    """``"oidc"``, ``"local"`` or ``"closed"`` (see the module doc). A secrets file that exists
    but does not parse means "closed": a broken sign-in set-up never opens the local mode."""
    try:
        configured = _secrets_auth()
    except SecretsUnreadable:
        return "closed"
    if configured:
        return "oidc"
    address = str(st.get_option("server.address") or "")
    if address in LOOPBACK and _request_is_local():
        return "local"
    return "closed"


def _user_claims() -> dict[str, Any]:
    try:
        return {k: st.user.get(k) for k in ("is_logged_in", "email", "email_verified", "name", "iat", "iss")}
    except Exception:  # noqa: BLE001
        return {}


def log(action: str, *, page: str | None = None, child_id: str | None = None, detail: dict | None = None) -> None:
    """Append an audit event for the current viewer (or the person being refused)."""
    v: Viewer | None = st.session_state.get("_viewer")
    actor = v.email if v else (_user_claims().get("email") or "unknown")
    _record(action, actor, role=v.role if v else None, page=page, child_id=child_id, detail=detail)


def _record(action: str, actor: str, **kwargs: Any) -> None:
    """``audit.record``, failing closed: without an audit trail nothing more is shown."""
    try:
        audit.record(action, actor, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any failure to write the log stops the page
        st.error(f"The audit log cannot be written ({type(exc).__name__}: {md_escape(exc)}), so nothing is shown "
                 f"until it can. Ask whoever runs the dashboard to check {md_code(audit.audit_path())}.",
                 icon=":material/error:")
        st.stop()


def log_view(page: str, child_id: str | None = None, detail: dict | None = None) -> None:
    """A page view, written once per distinct (page, child, detail) in a row for this session."""
    key = (page, child_id, repr(sorted((detail or {}).items())))
    if st.session_state.get("_last_view") == key:
        return
    log("view", page=page, child_id=child_id, detail=detail)
    st.session_state["_last_view"] = key


def audited(what: str, page: str, make: Callable[[], bytes], rows: int | None = None,
            **detail: Any) -> Callable[[], bytes]:
    """The ``data`` of a download button: a callable Streamlit runs only when the file is
    requested, which records the export first and hands the file over only if that worked.

    So no file leaves the server unaudited: the bytes are never put in Streamlit's media
    store ahead of the click (where their address could be fetched directly), and a failed
    audit write fails the download. Runs outside the script thread: it uses the viewer
    captured here, not the session.
    """
    v = viewer()
    event = {"what": what, **({"rows": int(rows)} if rows is not None else {}), **detail}

    def run() -> bytes:
        audit.record("export", v.email, role=v.role, page=page, detail=event)
        return make()
    # the callables of this run by export, so tests (AppTest has no media server) run the same code
    st.session_state.setdefault("_export_makers", {})[what] = run
    return run


def _email_trusted(claims: dict[str, Any]) -> bool:
    """An email may be matched to the access list only when the provider says it is verified
    (``email_verified`` true), or the token comes from an issuer the practice trusts to
    issue only its own verified addresses (``[access] trusted_issuers``, e.g. a single-tenant
    Microsoft Entra ID, which sends no ``email_verified``). A missing claim is not trust."""
    if claims.get("email_verified") is True or str(claims.get("email_verified")).lower() == "true":
        return True
    trusted = settings.get().access.trusted_issuers
    return bool(claims.get("iss")) and claims.get("iss") in trusted


def _refuse(title: str, body: str, icon: str = ":material/lock:") -> None:
    st.title(title, anchor=False)
    st.info(body, icon=icon)


def _signed_in_viewer() -> Viewer | None:
    claims = _user_claims()
    if not claims.get("is_logged_in"):
        st.title("Therapy progress", anchor=False)
        st.write("This dashboard holds children's health records. Sign in with your practice account to continue.")
        for p in providers():
            label = "Sign in" if p is None else f"Sign in with {p.title()}"
            st.button(label, key=f"login_{p}", on_click=st.login, args=(p,) if p else (), type="primary",
                      icon=":material/login:")
        return None
    email = access_list.normalise_email(claims.get("email") or "")
    if not _email_trusted(claims):
        _refuse("Email not verified", f"Your identity provider does not confirm that "
                f"{md_code(email) if email else 'your email'} is "
                "verified, so it cannot be matched to the access list. Verify it there and sign in again; if your "
                "provider never sends `email_verified` (Microsoft Entra ID), a lead lists its issuer under "
                "`[access] trusted_issuers` in settings.toml.")
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        return None
    try:
        user = access_list.lookup(access_list.load(), email)
    except access_list.AccessError as exc:
        _refuse("Access list unavailable", f"The dashboard's access list cannot be read ({md_escape(exc)}). "
                "Ask your clinical lead to fix it; no data is shown until then.", icon=":material/error:")
        return None
    if user is None:
        _record_once("refused", email or "unknown", None, {"reason": "not on the access list"})
        who = md_code(email) if email else "an account without an email"
        _refuse("No access yet", f"You are signed in as **{who}**, but you are "
                "not on this dashboard's access list. Ask your clinical lead to add you; nothing else is needed "
                "on your side.")
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        return None
    return Viewer(user.email, user.role, user.scope, "oidc")


def gate() -> Viewer:
    """The viewer of this run; draws the sign-in page or a refusal and stops the run otherwise."""
    m = mode()
    if m == "oidc" and not st.get_option("client.disableDataExport"):
        _refuse("Not safe to serve yet",
                "Sign-in is configured but tables would offer their own CSV download, which the audit log does not "
                "see. Start the dashboard from the project folder (its `.streamlit/config.toml` sets "
                "`client.disableDataExport = true`) or pass `--client.disableDataExport true`.",
                icon=":material/error:")
        v = None
    elif m == "oidc":
        v = _signed_in_viewer()
    elif m == "local":
        v = Viewer(LOCAL_ACTOR, "lead", Scope.everything(), "local")
    else:
        try:
            _secrets_auth()
        except SecretsUnreadable as exc:
            _refuse("Sign-in settings cannot be read",
                    f"`.streamlit/secrets.toml` exists but cannot be read ({exc}). Fix it; no data is shown until "
                    "then.", icon=":material/error:")
            st.stop()
        _refuse("Sign-in is not set up",
                "This dashboard is reachable from other computers but has no sign-in configured, so it shows "
                "no data. Either configure sign-in (`[auth]` in `.streamlit/secrets.toml` and an access list, "
                "see the README), or run it for yourself only with `--server.address 127.0.0.1`.")
        v = None
    if v is None:
        st.session_state.pop("_viewer", None)
        st.stop()
    if st.session_state.get("_viewer") != v:
        st.session_state["_viewer"] = v
        _record_once("sign_in", v.email, v.role, {"mode": v.mode, "scope": v.scope.describe()})
    return v


def _record_once(action: str, actor: str, role: str | None, detail: dict) -> None:
    """A sign-in or refusal, once per sign-in at the identity provider (its ``iat`` claim), not
    once per page load: every load is a new Streamlit session. Local mode: once per server
    start. A token without ``iat``: once per session."""
    login_at = _user_claims().get("iat")
    key = (action, actor, login_at)
    if st.session_state.get("_recorded_login") == key:
        return
    if actor == LOCAL_ACTOR:  # local mode: once per server start (and log file), not per page load
        started = (*key, str(audit.audit_path()))
        if started in _LOCAL_RECORDED:
            st.session_state["_recorded_login"] = key
            return
        _LOCAL_RECORDED.add(started)
    if not audit.has_sign_in(actor, login_at, action):
        _record(action, actor, role=role, detail={**detail, **({"login_at": str(login_at)} if login_at else {})})
    st.session_state["_recorded_login"] = key


def viewer() -> Viewer:
    """The viewer ``gate()`` admitted on this run (pages run after the gate)."""
    v = st.session_state.get("_viewer")
    if v is None:
        st.stop()
    return v


def scope() -> Scope:
    return viewer().scope


def sidebar() -> None:
    """Who is signed in, what they see, and sign-out (or the local-mode banner)."""
    v = viewer()
    with st.sidebar:
        if v.mode == "local":
            st.warning("**Local single-user mode**: no sign-in, everything visible. Only for this computer "
                       "(127.0.0.1); never expose it to a network.", icon=":material/laptop:")
        else:
            st.caption(f"Signed in as **{md_code(v.email)}** · {md_escape(v.label)}")
            st.caption(f"You see {md_escape(v.scope.describe())}.")
            st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="logout")
