"""Data: upload exports (same pipeline as the CLI), load report, history, rejected rows, freshness."""

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

st.subheader("Load export files", anchor=False)
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

rep = st.session_state.get("last_report")
if rep:
    st.subheader("Load report", anchor=False)
    if "error" in rep:
        st.error(f"The load stopped and the warehouse is unchanged: {ui.md_escape(rep['error'])}")
    else:
        df = pd.DataFrame(rep["files"])
        ok = int((df["status"] == "loaded").sum())
        failed = df[df["status"] == "failed"]
        (st.error if len(failed) else st.success)(
            f"{ok} loaded, {int((df['status'] == 'skipped').sum())} skipped (already loaded), {len(failed)} failed; "
            f"{int(df['rows_loaded'].sum()):,} rows loaded, {int(df['rows_rejected'].sum()):,} rejected.")
        for _, r in failed.iterrows():
            st.error(f"**{ui.md_escape(r['path'])}**: {ui.md_escape(r['message'])}")
        st.dataframe(df[["path", "status", "message", "rows_read", "rows_loaded", "rows_rejected", "profile"]]
                     .rename(columns={"path": "file"}), hide_index=True, width="stretch")

if s is not None:
    st.subheader("Load history", anchor=False)
    hist = pd.DataFrame(s.get("file_list") or [])
    if hist.empty:
        st.caption("No files loaded yet.")
    else:
        st.dataframe(hist, hide_index=True, width="stretch", column_config={
            "name": "file", "loaded_at": "loaded at", "rows_read": "rows read", "rows_loaded": "rows loaded",
            "rows_rejected": "rows rejected"})

    st.subheader("Rejected rows", anchor=False)
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
        st.dataframe(rej, hide_index=True, width="stretch")
        st.download_button("Download rejected rows (CSV)",
                           auth.audited("rejected rows (CSV)", PAGE, lambda: cells.to_csv_bytes(pd.DataFrame(rej)),
                                        rows=len(rej)),
                           file_name="rejected_rows.csv", mime="text/csv", icon=":material/download:",
                           on_click="ignore")
    st.caption(f"Warehouse: {ui.md_code(s.get('db'))}")
