"""Audit log (clinical lead): who viewed which child's page, who exported what, when."""

from __future__ import annotations

import datetime as dt
import json
import re

import pandas as pd
import streamlit as st

from dashboard import auth
from access import audit
from reports import cells

PAGE = "Audit log"
st.title("Audit log", anchor=False)
if not auth.viewer().is_lead:
    st.info("The audit log is for the clinical lead.", icon=":material/lock:")
    st.stop()


def _plain(text: str) -> str:
    """Text shown as text: markdown's special characters escaped (paths hold ``_``, ``*``...)."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:=])", r"\\\1", text)


check = audit.verify()
checked = "Checked: " + "; ".join(check.checked) + "."
if check.intact:
    st.success(_plain(f"{check.rows:,} events; the log is intact. {checked}"), icon=":material/verified:")
else:
    where = f" at event {check.first_broken}" if check.first_broken else ""
    st.error(_plain(f"The log has been altered{where}. " + " ".join(check.problems) + f" Keep a copy of the log "
                    f"({audit.audit_path()}) and of the warehouse, and investigate. {checked}"),
             icon=":material/gpp_bad:")
st.caption(_plain(" ".join([*check.notes, audit.LIMITS])))

c1, c2, c3, c4 = st.columns([2, 1.3, 1.3, 2])
who = c1.selectbox("Person", ["Everyone", *audit.actors()], key="au_actor")
action = c2.selectbox("Action", ["Any", *audit.ACTIONS], key="au_action")
child = c3.text_input("Child id", key="au_child", placeholder="e.g. C0042").strip()
today = dt.datetime.now(dt.timezone.utc).date()
rng = c4.date_input("Dates (UTC)", (today - dt.timedelta(days=30), today), key="au_range", format="YYYY-MM-DD")
d_from, d_to = (rng[0], rng[1]) if isinstance(rng, (tuple, list)) and len(rng) == 2 else (None, None)

log = audit.read(actor=None if who == "Everyone" else who, action=None if action == "Any" else action,
                 child_id=child or None, date_from=d_from, date_to=d_to)
auth.log_view(PAGE, detail={"actor": who, "action": action, "child": child[:64], "from": d_from, "to": d_to})
st.caption(f"{len(log):,} event{'s' if len(log) != 1 else ''}, newest first (at most 5,000 shown).")
raw = log[["at", "actor", "role", "action", "page", "child_id", "detail"]]
WORDS = {"sign_in": "signed in", "refused": "refused: not on the list", "view": "viewed", "export": "exported",
         "upload": "loaded data", "access_change": "changed access", "alert": "acted on a flag"}


def _detail_text(text: object) -> str:
    """A JSON detail as short plain words: ``key: value; ...`` (lists cut to five items)."""
    if not isinstance(text, str) or not text:
        return ""
    try:
        d = json.loads(text)
    except ValueError:
        return text
    parts = []
    for k, v in d.items():
        if k == "login_at":
            continue
        if k == "log_head" and isinstance(v, dict):
            parts.append(f"log then ended at event {v.get('seq')}")
            continue
        if isinstance(v, dict):
            v = ", ".join(f"{a} ({b})" for a, b in v.items()) or "none"
        elif isinstance(v, list):
            v = ", ".join(map(str, v[:5])) + (f" … ({len(v) - 5} more)" if len(v) > 5 else "") if v else "none"
        parts.append(f"{k.replace('_', ' ')}: {v}")
    return "; ".join(parts)


view = pd.DataFrame({
    "When (UTC)": pd.to_datetime(raw["at"], utc=True).dt.strftime("%Y-%m-%d %H:%M:%S"),
    "Who": raw["actor"], "Role": raw["role"].fillna(""), "What": raw["action"].map(WORDS).fillna(raw["action"]),
    "Page": raw["page"].fillna(""), "Child": raw["child_id"].fillna(""), "Detail": raw["detail"].map(_detail_text)})
st.dataframe(view, hide_index=True, width="stretch", column_config={
    "Detail": st.column_config.TextColumn("Detail", width="large")})
st.download_button("Download these events (CSV)",
                   auth.audited("audit log (CSV)", PAGE, lambda: cells.to_csv_bytes(raw), rows=len(raw)),
                   file_name=f"audit_log_{today}.csv", mime="text/csv", icon=":material/download:", on_click="ignore")
st.caption("Events are only ever added: the log refuses changes and deletions, each event carries a hash of "
           "the one before, and every load records the log's last event and its hash in the warehouse, so an edit "
           "made outside the dashboard, or events deleted from the end before a load, show up above.")
