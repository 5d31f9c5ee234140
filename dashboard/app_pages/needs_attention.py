"""Needs attention: every flag across the caseload, sortable, each row linking to the child's page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, ui
from pipelines import settings
from reports import cells

st.title("Needs attention", anchor=False)
f = ui.require_data()
ui.caption_filters()

fl = ui.fetch("flags", f)
as_of = ui.fetch("as_of")
thr = settings.get().flags
st.caption(
    f"Flags are worked out as of the latest session loaded ({ui.day(as_of)}), for the children in the filters: "
    f"falling engagement over the last {thr.engagement_window_weeks} weeks, goals stalled for "
    f"{thr.gas_stall_weeks} weeks, attendance under {ui.pct(thr.attendance_min_rate)}, "
    f"no session for {thr.dropout_days} days, no goal rating for {thr.rating_gap_days} days. "
    "Thresholds live in settings.toml.")
if fl.empty:
    st.success("No child in this selection has a flag.", icon=":material/check_circle:")
    st.stop()

fl = fl.copy()
# severity: a number (3 high .. 1 low) with severity_label; title: the flag in words
if "severity_label" not in fl:
    fl["severity_label"] = fl["severity"].astype(str)
if "title" not in fl:
    fl["title"] = fl["flag"].astype(str)
SEV_ORDER = {"high": 0, "medium": 1, "low": 2}
c1, c2 = st.container(), st.container()
kinds = list(dict.fromkeys(fl["title"].astype(str)))  # most urgent first, as analytics orders them
sevs = sorted(fl["severity_label"].astype(str).unique(), key=lambda s: SEV_ORDER.get(s, 9))
pick_kinds = c1.pills("Flag", kinds, selection_mode="multi", key="na_kinds",
                      format_func=lambda k: f"{ui.md_escape(k)} ({int((fl['title'] == k).sum())})")
pick_sevs = c2.pills("Severity", sevs, selection_mode="multi", key="na_sevs",
                     format_func=lambda s: f"{ui.md_escape(s)} ({int((fl['severity_label'] == s).sum())})")
view = fl
if pick_kinds:
    view = view[view["title"].isin(pick_kinds)]
if pick_sevs:
    view = view[view["severity_label"].isin(pick_sevs)]
if view.empty:
    ui.empty("No flags of that kind. Clear the flag or severity choice above.")
    st.stop()

n_children = view["child_id"].nunique()
m = st.columns(3)
m[0].metric("Flags", f"{len(view):,}", border=True)
m[1].metric("Children flagged", f"{n_children:,}", border=True)
m[2].metric("High severity", f"{int((view['severity_label'] == 'high').sum()):,}", border=True)

view = view.copy()
view.insert(0, "page", [ui.child_url(c) for c in view["child_id"]])
cols = [c for c in ("page", "child_id", "severity_label", "title", "reason", "since", "n", "value", "threshold",
                    "therapist_id", "team", "modality", "age_group", "flag") if c in view.columns]
st.caption("Click a column header to sort. *open ↗* opens the child's page in a new tab with these filters; "
           "or select a row to open it here.")
event = st.dataframe(
    view[cols], hide_index=True, width="stretch", key="na_table", height=min(36 * (len(view) + 1) + 4, 640),
    on_select="rerun", selection_mode="single-row",
    column_config={
        "page": st.column_config.LinkColumn("Child page", display_text="open ↗", width="small"),
        "child_id": st.column_config.TextColumn("Child", width="small"),
        "severity_label": st.column_config.TextColumn("Severity", width="small"),
        "title": st.column_config.TextColumn("Flag"),
        "n": st.column_config.NumberColumn("n", help="Sessions or ratings the flag rests on", format="%d"),
        "flag": st.column_config.TextColumn("Code"),
        "age_group": st.column_config.TextColumn("Age group"),
        "reason": st.column_config.TextColumn("Why", width="large"),
        "since": st.column_config.DateColumn("Since", format="YYYY-MM-DD"),
        "value": st.column_config.NumberColumn("Value", format="%.2f"),
        "threshold": st.column_config.NumberColumn("Threshold", format="%.2f"),
        "therapist_id": st.column_config.TextColumn("Therapist"),
    })
rows = event.selection.rows if event and hasattr(event, "selection") else []
if rows:
    child = str(view.iloc[rows[0]]["child_id"])
    st.page_link(ui.PAGE_FILES["child"], label=f"Open {ui.md_escape(child)}'s progress page",
                 icon=":material/child_care:",
                 query_params=ui.url_params(child=child))
export_frame = pd.DataFrame(view[cols[1:]])
st.download_button("Download these flags (CSV)",
                   auth.audited("needs-attention flags (CSV)", "Needs attention",
                                lambda: cells.to_csv_bytes(export_frame), rows=len(export_frame),
                                children=sorted(map(str, export_frame["child_id"].unique()))[:500]),
                   file_name=f"flags_{as_of}.csv", mime="text/csv", icon=":material/download:", on_click="ignore")
