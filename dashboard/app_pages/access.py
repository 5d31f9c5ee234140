"""Access (clinical lead): who may sign in, with which role and which children they see."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, ui
from access import access_list
from access.scope import ROLES

PAGE = "Access"
st.title("Access", anchor=False)
v = auth.viewer()
if not v.is_lead:
    st.info("The access list is kept by the clinical lead.", icon=":material/lock:")
    st.stop()
auth.log_view(PAGE)
path = access_list.access_path()
st.caption(f"People sign in with their practice account; this list says what each of them sees. Stored in "
           f"{ui.md_code(path)} (a lead can also edit the file). A **lead** sees the whole practice, a "
           "**supervisor** the children of their team(s), a **therapist** the children booked with their therapist id; supervisors "
           "and therapists also see de-identified practice figures.")
if v.mode == "local":
    st.info("Local single-user mode: the list takes effect once sign-in is configured (see the README).",
            icon=":material/laptop:")

try:
    users = access_list.load(path)
except access_list.AccessError as exc:
    users = []
    if path.exists():
        st.error(ui.md_escape(exc))
    else:
        st.info("No access list yet: add people below and save.", icon=":material/person_add:")

opts = ui.options()
known_teams = [str(t) for t in opts.get("teams") or []]
known_ids = {str(t) for t in opts.get("therapists") or []}
frame = pd.DataFrame([{"email": u.email, "role": u.role, "teams": list(u.teams),
                       "therapist_id": u.therapist_id or ""} for u in users],
                     columns=["email", "role", "teams", "therapist_id"])
edited = st.data_editor(
    frame, num_rows="dynamic", hide_index=False, width="stretch", key="access_editor",
    column_config={
        "email": st.column_config.TextColumn("Email", required=True),
        "role": st.column_config.SelectboxColumn("Role", options=list(ROLES), required=True),
        "teams": st.column_config.MultiselectColumn(
            "Teams (supervisors)", options=sorted({*known_teams, *(t for u in users for t in u.teams)}),
            help="The team(s) a supervisor supervises, as the exports name them."),
        "therapist_id": st.column_config.TextColumn(
            "Therapist id", help="The id the practice-management export uses, e.g. T07 (therapists; optional for "
                                 "supervisors)")})
st.caption("Rows are numbered on the left; messages below refer to those numbers.")


if st.button("Save the access list", type="primary", icon=":material/save:"):
    entries, problems = access_list.table_rows(edited.to_dict("records"))
    try:
        if problems:
            raise access_list.AccessError("; ".join(problems))
        new = access_list.validate([{k: e[k] for k in ("email", "role", "teams", "therapist_id")} for e in entries],
                                   "the table")
        if not any(u.role == "lead" for u in new):
            raise access_list.AccessError("the access list needs at least one clinical lead")
    except access_list.AccessError as exc:
        # validate() counts the people it was given; say which table rows those are
        msg = str(exc)
        for i, e in enumerate(entries, start=1):
            msg = msg.replace(f"user {i} ", f"row {e['_row']} ").replace(f"user {i})", f"row {e['_row']})")
        st.error(f"Not saved: {ui.md_escape(msg)}")
    else:
        before = {u.email: u for u in users}
        after = {u.email: u for u in new}

        def _desc(u: access_list.User) -> str:
            return u.role + (f" {'/'.join(u.teams)}" if u.teams else "") + (f" {u.therapist_id}" if u.therapist_id else "")
        changes = {"added": {e: _desc(after[e]) for e in sorted(set(after) - set(before))},
                   "removed": {e: _desc(before[e]) for e in sorted(set(before) - set(after))},
                   "changed": {e: f"{_desc(before[e])} -> {_desc(after[e])}"
                               for e in sorted(set(after) & set(before)) if after[e] != before[e]}}
        auth.log("access_change", page=PAGE, detail=changes)  # recorded first: no unaudited change
        access_list.save(new, path)
        st.session_state["_access_saved"] = (
            f"Saved {len(new)} people: {len(changes['added'])} added, {len(changes['removed'])} removed, "
            f"{len(changes['changed'])} changed. Changes apply at each person's next page load.",
            access_list.unknown_values(entries, known_teams, known_ids))
        st.rerun()

saved = st.session_state.pop("_access_saved", None)
if saved:
    st.success(saved[0], icon=":material/check_circle:")
    for w in saved[1]:
        st.warning(ui.md_escape(w), icon=":material/warning:")
