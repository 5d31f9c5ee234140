"""The child-led uptake section (Child-led vs directed page, and a chart on the overview):
how much of the therapy is child-led, and whether the within-child gap changes."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import layout, ranking, ui, uptake_charts
from pipelines import measures

BY_LABELS = {"all": "Whole selection", "team": "Team", "therapist_id": "Therapist"}


def draw(f: Any, measure: str = "engagement", gap: Any = None) -> None:
    """The section: a choice of breakdown (whole selection, team, therapist; ``?uptake_by=`` in
    the URL), the monthly child-led share with intervals, and the quarterly gap with n
    (``gap``: ``approach_gap_by_quarter``'s rows of ``f`` and ``measure`` when the page has them)."""
    st.subheader("Child-led uptake", anchor=False)
    url = st.query_params.get("uptake_by")
    if "uptake_by" not in st.session_state:
        st.session_state["uptake_by"] = url if url in BY_LABELS else "all"
    choice = st.segmented_control("Uptake by", list(BY_LABELS), format_func=BY_LABELS.get, key="uptake_by",
                                  selection_mode="single") or "all"
    if choice == "all":
        st.query_params.pop("uptake_by", None)
    elif st.query_params.get("uptake_by") != choice:
        st.query_params["uptake_by"] = choice
    by = None if choice == "all" else choice
    d = ui.fetch("child_led_uptake", f, by=by)
    if d.empty:
        ui.empty("No attended session with a recorded approach matches these filters.")
        return
    if by is None and (said := ranking.uptake_change(d)):  # "is uptake rising?" in one line
        st.markdown(ui.md_escape(said))
    q = gap if gap is not None else ui.fetch("approach_gap_by_quarter", f, measure=measure)
    m = measures.catalogue()[measure]
    with layout.chart_grid("uptake") as grid:
        ui.chart(uptake_charts.uptake_chart(d, by), key=f"uptake_{choice}", where=grid)
        ui.chart(uptake_charts.gap_chart(q, m.unit, m.label), key="uptake_gap", where=grid)
    st.caption("Left: the share of attended sessions with a recorded approach that were child-led (hollow: a month "
               f"the period covers only in part). Right: the within-child difference in {m.label.lower()} between child-led "
               "and directed sessions, computed separately for each quarter's sessions, with its interval and the "
               "number of children it rests on; a quarter with too few children has no point (see the table).")
