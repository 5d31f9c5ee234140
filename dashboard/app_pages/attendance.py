"""Attendance in detail: attended, cancelled in time, late cancelled, no-show and cancelled by the
clinician, as shares of scheduled sessions per month, weekday, time of day, therapist, modality,
team or age group, each with n and an interval."""

from __future__ import annotations

import streamlit as st

from analytics.attendance import DIMENSIONS, OUTCOMES
from dashboard import attendance_charts, layout, ui
from pipelines import settings

st.title("Attendance", anchor=False)
f = ui.require_data()
ui.caption_filters(f)

url_by = st.query_params.get("by")
if "att_by" not in st.session_state:
    st.session_state["att_by"] = url_by if url_by in DIMENSIONS else "month"
by = st.segmented_control("Break down by", list(DIMENSIONS), format_func=DIMENSIONS.get, key="att_by",
                          selection_mode="single") or "month"
if by == "month":
    st.query_params.pop("by", None)
elif st.query_params.get("by") != by:
    st.query_params["by"] = by

d = ui.fetch("attendance_detail", f, by=by)
if d.empty:
    ui.empty("No sessions match these filters. Widen the period or clear a filter in the sidebar.")
    st.stop()

# the headline: the whole selection, one card per outcome (the same query, grouped by nothing but outcome)
total = d.groupby("outcome", sort=False).agg(n=("n_outcome", "sum")).reindex(list(OUTCOMES)).fillna(0)
scheduled = int(d.drop_duplicates("group")["scheduled"].sum())
with layout.metric_row("attendance"):
    layout.metric_card("Scheduled sessions", f"{scheduled:,}", help="Every session booked in the period.")
    for outcome, (label, what) in OUTCOMES.items():
        n = int(total.loc[outcome, "n"])
        layout.metric_card(label, ui.pct(n / scheduled if scheduled else float("nan"), 1),
                           help=f"Sessions where {what}, as a share of scheduled sessions.",
                           note=f"{n:,} of {scheduled:,} sessions")

default = ["no_show", "late_cancelled", "cancelled", "clinician_cancelled"]
chosen = st.pills("Outcomes on the chart", list(OUTCOMES), default=default, format_func=lambda o: OUTCOMES[o][0],
                  selection_mode="multi", key="att_outcomes") or default
ui.chart(attendance_charts.rates_chart(d, by, chosen), key=f"att_{by}")

notes = []
if by == "month" and bool(d["partial"].any()):
    notes.append("Hollow dots are months the period covers only in part: compare them with care.")
if by == "time_of_day" and "not recorded" in set(d["group"]):
    notes.append("'Not recorded' are sessions whose export has no start time.")
few = d.drop_duplicates("group").query("n_children < @settings.get().comparison.min_children")
if not few.empty:
    notes.append(f"{len(few)} group{'s rest' if len(few) != 1 else ' rests'} on fewer than "
                 f"{settings.get().comparison.min_children} children ({', '.join(map(str, few['group']))}): "
                 "their intervals are wide; read them as a hint, not a finding.")
for n in notes:
    st.caption(n)

with st.expander("How this is computed"):
    st.markdown(
        "Every scheduled session has one outcome: attended, cancelled in time, cancelled late, no-show, or "
        "cancelled by the clinician (the practice-management system's status, as the load maps it). Each share "
        "is *sessions with that outcome ÷ scheduled sessions* in the group.\n\n"
        f"The bars are {settings.get().comparison.confidence:.0%} intervals: the range of shares compatible with the data. Sessions of one child are not "
        "independent (a family that often cancels cancels many sessions), so the interval treats children as "
        "the units: the ratio estimator's variance with a child-clustered correction (Cochran 1977; Cameron & "
        "Miller 2015), turned into Wilson's score interval (Wilson 1927) on the effective number of sessions "
        "(Kish 1965's design effect). A group of one child has no interval.")
