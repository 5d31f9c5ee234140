"""Data: upload exports (same pipeline as the CLI), each file's result with its own rejected rows,
history with "Undo this load" (the lead's ``python -m pipelines unload``), rejected rows, freshness."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from dashboard import auth, data, layout, ui
from reports import cells

PAGE = "Data"
st.title("Data", anchor=False)

s = data.status()
if not auth.viewer().is_lead:
    # freshness only: the file list, counts and rejected rows (raw export rows) are for the lead
    if s is None:
        st.info("No data has been loaded yet.", icon=":material/database:")
    else:
        with layout.metric_row("freshness"):
            layout.metric_card("Last load", ui.day(s.get("last_load")))
            layout.metric_card("Latest session", ui.day(s.get("last_session")),
                               help="Flags and relative periods are worked out as of this date.")
    st.caption("Loading exports, the load history and rejected rows are available to the clinical lead.")
    st.stop()
if s is None:
    st.info("No warehouse yet: load practice-management exports below to create it.", icon=":material/database:")
else:
    names = [f["name"] for f in s.get("file_list") or []]
    if data.is_sample_data(names):
        st.warning("**You are looking at the sample data**: a synthetic practice shipped with the project, not "
                   "your caseload. Load your own exports below; the figures then describe your practice.",
                   icon=":material/science:")

    st.subheader("Freshness", anchor=False)
    with layout.metric_row("freshness"):
        layout.metric_card("Last load", ui.day(s.get("last_load")),
                           help=f"At {str(s.get('last_load') or '')[:19].replace('T', ' ')}")
        layout.metric_card("Latest session", ui.day(s.get("last_session")),
                           help="Flags and relative periods are worked out as of this date.")
        layout.metric_card("Sessions", ui.count(s.get("sessions")),
                           help=f"From {ui.day(s.get('first_session'))} to {ui.day(s.get('last_session'))}")
        layout.metric_card("Children", ui.count(s.get("children")))
        layout.metric_card("Rejected rows", ui.count(s.get("rejected_rows")))
    if s.get("last_session"):
        age = (dt.date.today() - dt.date.fromisoformat(s["last_session"][:10])).days
        if age > 31:
            st.caption(f"The latest session loaded is {age} days old: load a newer export to bring the figures "
                       "up to date.")

served = data.served_from() if s is not None else None  # Parquet marts (serve-from): no loads here
st.subheader("Load export files", anchor=False)
if served is not None:
    st.info(data.SERVED_MESSAGE.format(marts=served), icon=":material/cloud:")
else:
    st.caption("CSV, Excel (.xlsx) or Parquet exports from the practice-management system. They go through the same "
               "pipeline as `python -m pipelines load`: names are dropped, rows are checked, rows already loaded are "
               "replaced by the newer version, and bad rows are kept aside with the reason.")
    with st.form("upload", clear_on_submit=True):
        files = st.file_uploader("Export files", type=["csv", "xlsx", "parquet"], accept_multiple_files=True,
                                 key="uploads", help=f"Up to {data.upload_limit_mb():g} MB per file. The type is "
                                 "checked from the content, not the name; Excel is read without running macros "
                                 "or formulas.")
        profiles = data.profile_names()
        profile = st.selectbox("Mapping profile", ["(choose from the headers)"] + profiles, key="upload_profile",
                               help="How the file's columns and values map to the contract (profiles/*.toml). "
                                    "Left on the first option, the best-fitting profile is chosen per file.")
        submitted = st.form_submit_button("Load", icon=":material/upload:", type="primary")
    if submitted:
        if not files:
            st.warning("Choose one or more files first.")
        else:
            chosen = None if profile.startswith("(") else profile
            names = [u.name for u in files]
            # recorded before anything is loaded; when the log cannot be written this stops the page
            auth.log("upload", page=PAGE, detail={"files": names, **({"profile": chosen} if chosen else {})})
            with st.spinner(f"Loading {len(files)} file{'s' if len(files) != 1 else ''} ..."):
                try:
                    report = data.load_uploaded([(u.name, u.getvalue()) for u in files], chosen)
                except Exception as exc:  # noqa: BLE001 - any failure is shown, the warehouse is unchanged
                    st.session_state["last_report"] = {"error": str(exc)}
                else:
                    st.session_state["last_report"] = report.as_dict()
            st.rerun()


def _undo(loaded: list[dict]) -> None:
    """Undo one file's load (``pipelines unload``), after a confirmation; audited first."""
    by_sha = {f["sha256"]: f for f in loaded if f.get("sha256")}
    if not by_sha:
        return
    with st.expander("Undo a load", icon=":material/undo:"):
        sha = st.selectbox("File", list(by_sha), key="undo_file", format_func=lambda k: (
            f"{by_sha[k]['name']} (loaded {by_sha[k]['loaded_at'][:16].replace('T', ' ')}, "
            f"{by_sha[k]['rows_loaded']:,} rows)"))
        if st.button("Undo this load", icon=":material/undo:", key="undo_ask"):
            st.session_state["undo_pending"] = sha
        pending = st.session_state.get("undo_pending")
        if pending not in by_sha:
            return
        name = by_sha[pending]["name"]
        st.warning(f"Undo the load of **{ui.md_escape(name)}**? Its rows are removed and the other "
                   f"{len(by_sha) - 1} files are replayed from the landing archive, so corrections made by later "
                   "files stay. The file stays in the archive: loading it again brings it back.",
                   icon=":material/warning:")
        yes, no = st.columns(2)
        if yes.button("Yes, undo this load", type="primary", key="undo_yes"):
            # recorded before anything changes; when the log cannot be written this stops the page
            auth.log("unload", page=PAGE, detail={"file": name, "sha256": pending})
            with st.spinner(f"Undoing the load of {name} ..."):
                try:
                    data.unload_file(pending)
                except Exception as exc:  # noqa: BLE001 - any failure is shown, the warehouse is unchanged
                    st.session_state["undo_result"] = {"error": f"{name} was not unloaded: {ui.md_escape(exc)}"}
                else:
                    st.session_state["undo_result"] = {
                        "ok": f"{name} was unloaded: its rows are gone, the other files were replayed."}
            st.session_state.pop("undo_pending", None)
            st.session_state.pop("last_report", None)
            st.rerun()
        if no.button("Cancel", key="undo_no"):
            st.session_state.pop("undo_pending", None)
            st.rerun()


def _file_result(r: dict) -> None:
    """One file's result: its counts (read = loaded + rejected), then its own problem rows."""
    name = ui.md_escape(r["path"])
    if r["status"] == "failed":
        what, todo = data.plain_failure(r["path"], r["message"])
        st.error(f"**{name}** could not be loaded: {ui.md_escape(what)} {todo}", icon=":material/error:")
        return
    if r["status"] == "skipped":
        st.info(f"**{name}**: already loaded (the same content), so nothing changed.", icon=":material/info:")
        return
    probs = data.file_problems(r["sha256"]) if r.get("sha256") else pd.DataFrame()
    unlinked = int(probs.loc[probs["column"] == "not linked", "line"].nunique()) if len(probs) else 0
    rejected = int(r["rows_rejected"])
    said = (f"**{name}**: {int(r['rows_read']):,} rows read: {int(r['rows_loaded']):,} loaded, {rejected:,} "
            f"rejected" + (f"; {unlinked:,} of the loaded rows are not linked yet" if unlinked else "") + ".")
    if not rejected and not unlinked:
        st.success(said, icon=":material/check_circle:")
        return
    st.warning(said + (" The rejected rows are not in the figures: fix them in the practice system and load a "
                       "new export (the corrected rows then load normally)." if rejected else "")
               + (" Rows not linked are kept and link by themselves when their appointment or child is loaded."
                  if unlinked else ""), icon=":material/warning:")
    st.dataframe(data.cells(probs), hide_index=True, width="stretch", key=f"problems_{r['sha256'][:16]}")


rep = st.session_state.get("last_report")
if rep:
    st.subheader("Load result", anchor=False)
    if "error" in rep:
        st.error(f"Nothing was loaded and the warehouse is unchanged: {ui.md_escape(rep['error'])}",
                 icon=":material/error:")
    else:
        for r in rep["files"]:
            _file_result(r)

undone = st.session_state.pop("undo_result", None)
if undone:
    (st.error if "error" in undone else st.success)(undone.get("error") or undone["ok"])

if s is not None:
    st.subheader("Load history", anchor=False)
    hist = pd.DataFrame(s.get("file_list") or [])
    if hist.empty:
        st.caption("No files loaded yet.")
    else:
        st.dataframe(data.cells(hist.drop(columns=["sha256"], errors="ignore")), hide_index=True, width="stretch",
                     column_config={"name": "file", "loaded_at": "loaded at", "rows_read": "rows read",
                                    "rows_loaded": "rows loaded", "rows_rejected": "rows rejected",
                                    "export_order": "export order", "order_from": "export order from"})
        if served is None:
            _undo(s.get("file_list") or [])

    st.subheader("Rejected rows (every file loaded)", anchor=False)
    rej = data.rejects()
    if rej is None or len(rej) == 0:
        st.success("No rejected rows.", icon=":material/check_circle:")
    else:
        n_unlinked = int((pd.DataFrame(rej)["column"] == "not linked").sum()) if "column" in pd.DataFrame(rej) else 0
        st.caption(f"{len(rej):,} reasons. Fix them in the source system and load a new export: the corrected "
                   "rows then load normally."
                   + (f" {n_unlinked:,} rows are loaded but **not linked** (column 'not linked'): session data or "
                      "charges with no appointment (or several) to join them to, or a goal of an unknown child; "
                      "they link by themselves when the missing appointment or child is loaded." if n_unlinked else ""))
        st.dataframe(data.cells(rej), hide_index=True, width="stretch")
        st.download_button("Download rejected rows (CSV)",
                           auth.audited("rejected rows (CSV)", PAGE, lambda: cells.to_csv_bytes(pd.DataFrame(rej)),
                                        rows=len(rej)),
                           file_name="rejected_rows.csv", mime="text/csv", icon=":material/download:",
                           on_click="ignore")
    st.caption(f"Warehouse: {ui.md_code(s.get('db'))}")
