"""Practice outcomes on standardised measures (Modalities and age groups page): the share of
children reliably improved, unchanged and deteriorated per measure and group, with n."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import ui
from dashboard.charts import GROUP_LABEL
from dashboard.chart_cache import kept
from pipelines import settings
from reports import figure_table, theme
from reports.figures_common import ci_name

COLORS = {"reliably improved": theme.BLUE, "no reliable change": theme.LIGHT_GREY,
          "reliably deteriorated": theme.VERMILLION}


@kept
def outcomes_chart(d: pd.DataFrame, label: str, by: str) -> go.Figure:
    """Stacked bars, one per group: the share of children in each class of one measure
    (``analytics.outcome_shares`` rows), n under each bar, the intervals in the table."""
    ci = ci_name(settings.get().comparison.confidence)
    fig = go.Figure()
    groups = list(dict.fromkeys(d["group"]))
    n = d.drop_duplicates("group").set_index("group")["n_children"]
    ticks = [f"{g} (n = {n[g]})" for g in groups]
    for outcome, color in COLORS.items():
        s = d[d["outcome"] == outcome].set_index("group").reindex(groups)
        fig.add_bar(y=ticks, x=s["share"], orientation="h", name=outcome, marker_color=color,
                    customdata=s[["n_outcome", "n_children", "share_lo", "share_hi"]].to_numpy(),
                    hovertemplate=(f"%{{y}}<br>{outcome}: %{{x:.0%}} (%{{customdata[0]}} of %{{customdata[1]}} "
                                   f"children)<br>{ci}: %{{customdata[2]:.0%}} – %{{customdata[3]:.0%}}<extra></extra>"))
    fig.update_layout(barmode="stack")
    theme.style(fig, f"{label}: reliable change by {GROUP_LABEL.get(by, by).lower()}", x="Share of children (%)",
                height=160 + 40 * len(groups))
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    fig.update_yaxes(autorange="reversed")
    return figure_table.attach(fig, d, [
        ("group", GROUP_LABEL.get(by, "Group"), "text"), ("outcome", "Outcome", "text"),
        ("share", "Share of children", "pct"), ("share_lo", f"{ci} low", "pct"), ("share_hi", f"{ci} high", "pct"),
        ("n_outcome", "Children", "int"), ("n_children", "Children with two scores", "int")])


def draw(f: Any, practice: bool) -> None:
    """The section: one chart per standardised measure with scores in the selection."""
    st.subheader("Outcomes on standardised measures", anchor=False)
    if practice:
        st.caption("Shown for your own children only (switch to *My children*): the groups are too small to "
                   "publish practice-wide without hiding most of them.")
        return
    by = st.segmented_control("Outcomes by", ["modality", "age_group"], default="modality", key="oc_by",
                              format_func=lambda b: GROUP_LABEL[b]) or "modality"
    d = ui.fetch("outcome_shares", f, by=by)
    if d.empty:
        ui.empty("No child in this selection has a first and a latest score on a standardised measure "
                 "(SCAS-P, RCADS-25, COPM, ...).")
        return
    for measure, m in d.groupby("measure", sort=True):
        ui.chart(outcomes_chart(m, m["label"].iloc[0], by), key=f"oc_{measure}_{by}")
    st.caption("Each child counts once per measure: their first and latest score in the period. "
               "Reliable change (Jacobson & Truax 1991): a change larger than 1.96 standard errors of a difference, "
               "√2 · SD · √(1 − reliability), with the SD and reliability of measures.toml, so it is unlikely to be "
               "measurement error alone; in the measure's direction (a falling anxiety score is an improvement). "
               "The table gives each share's Wilson interval; with few children in a group the intervals are wide.")
