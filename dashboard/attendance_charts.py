"""Charts of the Attendance page: each outcome's rate per group, with its interval and n."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analytics.attendance import DIMENSIONS
from pipelines import settings
from reports import figure_table, theme
from reports.figures_common import ci_name

OUTCOME_COLORS = {"attended": theme.BLUE, "cancelled": theme.SKY_BLUE, "late_cancelled": theme.ORANGE,
                  "no_show": theme.VERMILLION, "clinician_cancelled": theme.REDDISH_PURPLE}


def rates_chart(d: pd.DataFrame, by: str, outcomes: list[str]) -> go.Figure:
    """Dots with interval bars: the rate of each outcome in ``outcomes`` per value of ``by``
    (``analytics.attendance_detail`` rows); partial months drawn hollow, n in the hover, the
    figures as the chart's table."""
    ci = ci_name(settings.get().comparison.confidence)
    d = d[d["outcome"].isin(outcomes)]
    if by == "month":  # 'YYYY-MM' as the other pages' months read: "Aug 2026"
        d = d.assign(group=pd.to_datetime(d["group"] + "-01").dt.strftime("%b %Y"))
    data = []
    groups = list(dict.fromkeys(d["group"]))
    for outcome in outcomes:
        s = d[d["outcome"] == outcome]
        if s.empty:
            continue
        label = s["outcome_label"].iloc[0]
        err_plus = (s["rate_hi"] - s["rate"]).fillna(0)
        err_minus = (s["rate"] - s["rate_lo"]).fillna(0)
        data.append({
            "type": "scatter", "x": s["group"], "y": s["rate"], "name": label,
            "mode": "markers+lines" if by == "month" else "markers",
            "marker": {"color": OUTCOME_COLORS[outcome], "size": 9,
                       "symbol": ["circle-open" if p else "circle" for p in s["partial"]]},
            "line": {"color": OUTCOME_COLORS[outcome], "width": 1.5},
            "error_y": {"type": "data", "array": err_plus, "arrayminus": err_minus, "thickness": 1.2, "width": 4,
                        "color": OUTCOME_COLORS[outcome]},
            "customdata": s[["n_outcome", "scheduled", "n_children", "rate_lo", "rate_hi"]],
            "hovertemplate": (f"%{{x}}<br>{label}: %{{y:.1%}} (%{{customdata[0]:,}} of %{{customdata[1]:,}} "
                              f"scheduled)<br>{ci}: %{{customdata[3]:.1%}} – %{{customdata[4]:.1%}}"
                              "<br>n children: %{customdata[2]:,}<extra></extra>")})
    title = f"Share of scheduled sessions by {DIMENSIONS[by].lower()}"
    fig = theme.figure(data, theme.merge(
        theme.layout(title, x=DIMENSIONS[by], y="Share of scheduled sessions (%)", height=380),
        {"yaxis": {"tickformat": ".0%", "rangemode": "tozero"},
         "scattermode": "group", "scattergap": 0.5,  # the outcomes of a group side by side, not on top
         "xaxis": {"type": "category", "categoryorder": "array", "categoryarray": groups}}))
    d = d.assign(partial_text=d["partial"].map({True: "yes: the period covers part of it", False: ""}))
    return figure_table.attach(fig, d, [
        ("group", DIMENSIONS[by], "text"), ("outcome_label", "Outcome", "text"),
        ("rate", "Share of scheduled", "pct"), ("rate_lo", f"{ci} low", "pct"), ("rate_hi", f"{ci} high", "pct"),
        ("n_outcome", "Sessions", "int"), ("scheduled", "Scheduled", "int"), ("n_children", "Children", "int"),
        ("partial_text", "Partial month", "text")])
