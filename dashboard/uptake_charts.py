"""Charts of child-led uptake: the share of sessions that were child-led per month, and the
within-child child-led vs directed gap per quarter, each with its interval and n."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import GROUP_LABEL
from dashboard.chart_cache import kept
from pipelines import settings
from reports import figure_table, theme
from reports.figures_common import ci_band, ci_name

PALETTE = [theme.BLUE, theme.ORANGE, theme.BLUISH_GREEN, theme.REDDISH_PURPLE, theme.VERMILLION, theme.SKY_BLUE,
           theme.BLACK, theme.GREY]


@kept
def uptake_chart(d: pd.DataFrame, by: str | None) -> go.Figure:
    """Share of attended sessions that were child-led, per month: one line per group
    (``analytics.child_led_uptake`` rows), the interval as a band when there is one group,
    partial months hollow, n in the hover and in the chart's table."""
    ci = ci_name(settings.get().comparison.confidence)
    data = []
    groups = list(dict.fromkeys(d["group"]))
    for k, g in enumerate(groups):
        s = d[d["group"] == g].sort_values("month_start")
        color = theme.BLUE if by is None else PALETTE[k % len(PALETTE)]
        if by is None:
            data.append(ci_band(s["month_start"], s["share_lo"], s["share_hi"], name=ci))
        data.append({
            "type": "scatter", "x": s["month_start"], "y": s["share"], "mode": "lines+markers",
            "name": "child-led share" if by is None else str(g), "line": {"color": color, "width": 2},
            "marker": {"color": color, "size": 8, "symbol": ["circle-open" if p else "circle" for p in s["partial"]]},
            "customdata": s[["child_led", "sessions", "n_children", "share_lo", "share_hi"]],
            "hovertemplate": ("%{x|%b %Y}" + ("" if by is None else f"<br>{g}") +
                              "<br>child-led: %{y:.0%} (%{customdata[0]:,} of %{customdata[1]:,} sessions)"
                              f"<br>{ci}: %{{customdata[3]:.0%}} – %{{customdata[4]:.0%}}"
                              "<br>n children: %{customdata[2]:,}<extra></extra>")})
    who = "" if by is None else f" by {GROUP_LABEL.get(by, by).lower()}"
    fig = theme.figure(data, theme.merge(
        theme.layout(f"Child-led sessions per month{who}", y="Child-led share", height=360),
        {"yaxis": {"tickformat": ".0%", "range": [0, 1]},
         "xaxis": {"dtick": "M1", "tickformat": "%b %Y", "title": {"text": "Month"}}}))
    d = d.assign(partial_text=d["partial"].map({True: "yes", False: ""}))
    return figure_table.attach(fig, d, [
        ("month_start", "Month", "month"), ("group", GROUP_LABEL.get(by, "Group") if by else "Group", "text"),
        ("share", "Child-led share", "pct"), ("share_lo", f"{ci} low", "pct"), ("share_hi", f"{ci} high", "pct"),
        ("child_led", "Child-led sessions", "int"), ("sessions", "Sessions with an approach", "int"),
        ("n_children", "Children", "int"), ("partial_text", "Partial month", "text")])


@kept
def gap_chart(q: pd.DataFrame, unit: str = "points (1–5)", label: str = "Engagement") -> go.Figure:
    """The within-child child-led minus directed difference per quarter with its interval
    (``analytics.approach_gap_by_quarter`` rows); quarters without an estimate are listed in
    the table with their reason, partial quarters hollow, n under each point."""
    ci = ci_name(settings.get().comparison.confidence)
    est = q[q["estimated"].fillna(False).astype(bool)]
    data = [{
        "type": "scatter", "x": est["quarter"], "y": est["mean_diff"], "mode": "markers+text",
        "name": "child-led minus directed",
        "marker": {"color": theme.VERMILLION, "size": 10,
                   "symbol": ["circle-open" if p else "circle" for p in est["partial"]]},
        "error_y": {"type": "data", "array": (est["ci_hi"] - est["mean_diff"]),
                    "arrayminus": (est["mean_diff"] - est["ci_lo"]), "color": theme.VERMILLION, "width": 5},
        "text": [f"n = {n}" for n in est["n_children"]], "textposition": "bottom center",
        "customdata": est[["n_children", "ci_lo", "ci_hi"]],
        "hovertemplate": (f"%{{x}}<br>difference: %{{y:+.2f}} {unit}<br>{ci}: %{{customdata[1]:+.2f}} to "
                          "%{customdata[2]:+.2f}<br>n children: %{customdata[0]}<extra></extra>")}]
    fig = theme.figure(data, theme.merge(
        {"shapes": [theme.hline(0, {"color": theme.GREY, "dash": "dot"})]},
        theme.layout(f"Is the gap changing? {label}, child-led minus directed, per quarter", x="Quarter",
                     y=f"Difference ({unit})", height=340),
        {"xaxis": {"type": "category", "categoryorder": "array", "categoryarray": list(q["quarter"])},
         "showlegend": False}))
    q = q.assign(partial_text=q["partial"].map({True: "yes", False: ""}),
                 note=[("" if e else str(r)) for e, r in zip(q["estimated"].fillna(False), q["reason"])])
    return figure_table.attach(fig, q, [
        ("quarter", "Quarter", "text"), ("mean_diff", "Difference", "num2"), ("ci_lo", f"{ci} low", "num2"),
        ("ci_hi", f"{ci} high", "num2"), ("n_children", "Children", "int"), ("partial_text", "Partial quarter", "text"),
        ("note", "Not estimated because", "text")])
