"""Access (clinical lead): who may sign in, with which role and which children they see."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, ui
from pipelines import access
from pipelines.scope import ROLES

PAGE = "Access"
st.title("Access", anchor=False)
v = auth.viewer()
if not v.is_lead:
    st.info("The access list is kept by the clinical lead.", icon=":material/lock:")
    st.stop()
auth.log_view(PAGE)
path = access.access_path()
st.caption(f"People sign in with their practice account; this list says what each of them sees. Stored in "
           f"`{path}` (a lead can also edit the file). A **lead** sees the whole practice, a **supervisor** the "
           "children of their team(s), a **therapist** the children booked with their therapist id, plus "
           "de-identified practice figures.")
if v.mode == "local":
    st.info("Local single-user mode: the list takes effect once sign-in is configured (see the README).",
            icon=":material/laptop:")

try:
    users = access.load(path)
except access.AccessError as exc:
    users = []
    if path.exists():
        st.error(str(exc))
    else:
        st.info("No access list yet: add people below and save.", icon=":material/person_add:")

opts = ui.fetch("filter_options") or {}
frame = pd.DataFrame([{"email": u.email, "role": u.role, "teams": ", ".join(u.teams),
                       "therapist_id": u.therapist_id or ""} for u in users],
                     columns=["email", "role", "teams", "therapist_id"])
edited = st.data_editor(frame, num_rows="dynamic", hide_index=True, width="stretch", key="access_editor",
                        column_config={
                            "email": st.column_config.TextColumn("Email", required=True),
                            "role": st.column_config.SelectboxColumn("Role", options=list(ROLES), required=True),
                            "teams": st.column_config.TextColumn(
                                "Teams (supervisors)", help="Comma-separated; teams in the data: "
                                + ", ".join(map(str, opts.get("teams") or []))),
                            "therapist_id": st.column_config.TextColumn(
                                "Therapist id", help="The id the practice-management export uses, e.g. T07")})
if st.button("Save the access list", type="primary", icon=":material/save:"):
    entries = [{"email": r["email"], "role": r["role"],
                "teams": [t.strip() for t in str(r["teams"] or "").split(",") if t.strip()],
                "therapist_id": r["therapist_id"] or None}
               for r in edited.fillna("").to_dict("records") if str(r["email"]).strip()]
    try:
        new = access.validate(entries)
        if not any(u.role == "lead" for u in new):
            raise access.AccessError("the access list needs at least one clinical lead")
    except access.AccessError as exc:
        st.error(f"Not saved: {exc}")
    else:
        before = {u.email: u for u in users}
        after = {u.email: u for u in new}
        changes = {"added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after)),
                   "changed": sorted(e for e in set(after) & set(before) if after[e] != before[e])}
        auth.log("access_change", page=PAGE, detail=changes)  # recorded first: no unaudited change
        access.save(new, path)
        st.success(f"Saved {len(new)} people. Added {len(changes['added'])}, removed {len(changes['removed'])}, "
                   f"changed {len(changes['changed'])}. Changes apply at each person's next page load.")
