"""The pack's charts (plotly, printable width): engagement and goals per month, child-led vs
directed per month, engagement per therapist. Suppressed figures ("<N") are gaps."""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from reports import theme
from reports.figures_common import ci_band, ci_name
from reports.formats import is_missing, month
from reports.meeting_pack.model import MeetingPack

CHART_WIDTH = 680          # px: fits the printable width of an A4 page (186 mm) with room to spare


def _num(v: Any) -> float:
    """A plottable number: suppressed text ("<5") and missing values become NaN (a gap)."""
    if isinstance(v, str) or is_missing(v):
        return float("nan")
    return float(v)


def _nums(s: pd.Series) -> list[float]:
    return [_num(v) for v in s]


def _layout(title: str, y: str, height: int, x: str | None = None) -> dict:
    """``theme.layout`` at the printable width, in the pack's type sizes."""
    return theme.merge(theme.layout(title, x=x, y=y, height=height),
                       {"width": CHART_WIDTH, "autosize": False, "margin": {"l": 10, "r": 20, "b": 10},
                        "font": {"size": 12}, "title": {"font": {"size": 14}}})


def _n_text(v: Any, small: int) -> str:
    if isinstance(v, str):
        return v
    return "0" if is_missing(v) else f"{int(v):,}"


def _month_ticks(months: list, ns: list, unit: str, small: int) -> dict:
    """The x axis of months with each month's n under it (a layout update)."""
    return {"xaxis": {"tickvals": months,
                      "ticktext": [f"{month(m)}<br>n={_n_text(n, small)} {unit}" for m, n in zip(months, ns)],
                      "title": {"text": "Month (n below each)"}}}


def _engagement_figure(t: pd.DataFrame, small: int, conf: float) -> go.Figure:
    d = t.sort_values("month_start")
    x = list(pd.to_datetime(d["month_start"]))
    y, lo, hi = _nums(d["mean_engagement"]), _nums(d["engagement_ci_lo"]), _nums(d["engagement_ci_hi"])
    data = [ci_band(x, lo, hi, name=ci_name(conf)),
            {"type": "scatter", "x": x, "y": y, "mode": "lines+markers+text", "name": "mean engagement",
             "line": {"color": theme.BLUE, "width": 2},
             "text": [("" if math.isnan(v) else f"{v:.2f}") for v in y], "textposition": "top center",
             "customdata": list(zip([_n_text(v, small) for v in d["n_rated"]],
                                    [_n_text(v, small) for v in d["n_children_rated"]])),
             "hovertemplate": "%{x|%b %Y}<br>mean engagement %{y:.2f}<br>n = %{customdata[0]} rated sessions, "
                              "%{customdata[1]} children<extra></extra>"}]
    return theme.figure(data, theme.merge(
        _layout(f"Mean engagement per month (1–5), with {ci_name(conf)}", "Mean engagement (1–5)", 330),
        {"yaxis": {"range": [1, 5.05]}}, _month_ticks(x, list(d["n_children_rated"]), "children", small)))


def _goals_figure(t: pd.DataFrame, small: int) -> go.Figure:
    d = t.sort_values("month_start")
    x = list(pd.to_datetime(d["month_start"]))
    y = _nums(d["share_goals_at_expected"])
    data = [{"type": "bar", "x": x, "y": y, "marker": {"color": theme.BLUISH_GREEN},
             "name": "goals at or above expected",
             "text": [("" if math.isnan(v) else f"{100 * v:.0f}%") for v in y], "textposition": "outside",
             "customdata": [_n_text(v, small) for v in d["n_goals"]],
             "hovertemplate": "%{x|%b %Y}<br>%{y:.0%} of goals at or above expected<br>n = %{customdata} goals"
                              "<extra></extra>"}]
    return theme.figure(data, theme.merge(
        _layout("Goals at or above the expected GAS level, per month (each goal rated so far, latest rating by the "
                "month's end)", "Share of goals rated (%)", 330),
        {"yaxis": {"tickformat": ".0%", "range": [0, 1.1]}, "showlegend": False},
        _month_ticks(x, list(d["n_goals"]), "goals", small)))


def _approach_figure(t: pd.DataFrame, small: int, conf: float) -> go.Figure:
    data = []
    fill = {"child-led": "rgba(213,94,0,0.13)", "directed": "rgba(86,180,233,0.18)"}
    for ap in ("child-led", "directed"):
        d = t[t["approach"] == ap].sort_values("month_start")
        if d.empty:
            continue
        x = list(pd.to_datetime(d["month_start"]))
        y, lo, hi = _nums(d["mean_engagement"]), _nums(d["engagement_ci_lo"]), _nums(d["engagement_ci_hi"])
        data.append(ci_band(x, lo, hi, fillcolor=fill[ap], name=f"{ap} {ci_name(conf)}", showlegend=False))
        n_total = sum(int(v) for v in d["n_rated"] if not isinstance(v, str) and not is_missing(v))
        data.append({"type": "scatter", "x": x, "y": y, "mode": "lines+markers",
                     "name": f"{ap} ({n_total:,} rated sessions)",
                     "line": {"color": theme.APPROACH_COLORS[ap], "width": 2,
                              "dash": "solid" if ap == "child-led" else "dash"},
                     "marker": {"symbol": "circle" if ap == "child-led" else "square", "size": 7},
                     "customdata": list(zip([_n_text(v, small) for v in d["n_rated"]],
                                            [_n_text(v, small) for v in d["n_children_rated"]])),
                     "hovertemplate": f"{ap} · %{{x|%b %Y}}<br>mean engagement %{{y:.2f}}<br>n = %{{customdata[0]}} "
                                      "rated sessions, %{customdata[1]} children<extra></extra>"})
    return theme.figure(data, theme.merge(
        _layout(f"Engagement in child-led and directed sessions per month (1–5), with {ci_name(conf)}s",
                "Mean engagement (1–5)", 340, x="Month"),
        {"yaxis": {"range": [1, 5.05]}, "xaxis": {"dtick": "M1", "tickformat": "%b %Y"},
         "legend": {"title": {"text": ""}}}))


def _caseload_figure(c: pd.DataFrame, small: int, conf: float) -> go.Figure:
    d = c[~c["is_total"].astype(bool)] if c["is_total"].astype(bool).sum() < len(c) else c
    labels = [html.escape(str(t)) for t in d["therapist_id"]]
    prev = _nums(d["mean_engagement_prev"])
    now, lo, hi = _nums(d["mean_engagement"]), _nums(d["engagement_ci_lo"]), _nums(d["engagement_ci_hi"])
    data = [{"type": "scatter", "x": prev, "y": labels, "mode": "markers", "name": "previous period",
             "marker": {"symbol": "circle-open", "size": 10, "color": theme.GREY, "line": {"width": 2}},
             "customdata": [_n_text(v, small) for v in d["n_rated_prev"]],
             "hovertemplate": "%{y} · previous period<br>mean engagement %{x:.2f}<br>n = %{customdata} rated "
                              "sessions<extra></extra>"},
            {"type": "scatter", "x": now, "y": labels, "mode": "markers", "name": f"this period ({ci_name(conf)})",
             "marker": {"symbol": "circle", "size": 10, "color": theme.BLUE},
             "error_x": {"type": "data", "symmetric": False,
                         "array": [h - v for h, v in zip(hi, now)], "arrayminus": [v - low for v, low in zip(now, lo)],
                         "color": theme.BLUE, "thickness": 1.5, "width": 4},
             "customdata": [_n_text(v, small) for v in d["n_rated"]],
             "hovertemplate": "%{y} · this period<br>mean engagement %{x:.2f}<br>n = %{customdata} rated "
                              "sessions<extra></extra>"}]
    return theme.figure(data, theme.merge(
        {"annotations": [{"x": 1.0, "xref": "paper", "xanchor": "left", "y": lab, "text": f"n={_n_text(n, small)}",
                          "showarrow": False, "font": {"size": 11, "color": "#333333"}}
                         for lab, n in zip(labels, d["n_rated"])]},
        _layout("Mean engagement per therapist: this period vs the previous one", "Therapist",
                120 + 45 * max(len(labels), 1), x="Mean engagement (1–5); n = rated sessions this period"),
        {"xaxis": {"range": [1, 5.05]}, "yaxis": {"type": "category", "categoryorder": "array",
                                                  "categoryarray": labels[::-1]},
         "margin": {"r": 70}}))  # room for the n at the right; the top margin is the title's


def pack_figures(p: MeetingPack) -> dict[str, go.Figure]:
    small = p.small_cell_min
    figs: dict[str, go.Figure] = {}
    if len(p.caseload):
        figs["caseload_engagement"] = _caseload_figure(p.caseload, small, p.confidence)
    if len(p.trends):
        figs["trend_engagement"] = _engagement_figure(p.trends, small, p.confidence)
        if pd.to_numeric(p.trends["n_goals"], errors="coerce").fillna(0).sum() > 0 or p.suppress_small_cells:
            figs["trend_goals"] = _goals_figure(p.trends, small)
    if len(p.trends_by_approach):
        figs["trend_approach"] = _approach_figure(p.trends_by_approach, small, p.confidence)
    return figs
