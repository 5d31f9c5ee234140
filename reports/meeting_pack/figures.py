"""The pack's charts (plotly, printable width): engagement and goals per month, child-led vs
directed per month, engagement per therapist. Suppressed figures ("<N") are gaps."""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from reports import theme
from reports.figures_common import add_ci_band, ci_name
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


def _style(fig: go.Figure, title: str, y: str, height: int, x: str | None = None) -> go.Figure:
    theme.style(fig, title, x=x, y=y, height=height)
    fig.update_layout(width=CHART_WIDTH, autosize=False, margin={"l": 10, "r": 20, "b": 10},
                      font={"size": 12}, title={"font": {"size": 14}})
    return fig


def _n_text(v: Any, small: int) -> str:
    if isinstance(v, str):
        return v
    return "0" if is_missing(v) else f"{int(v):,}"


def _month_ticks(fig: go.Figure, months: list, ns: list, unit: str, small: int) -> None:
    fig.update_xaxes(tickvals=months, ticktext=[f"{month(m)}<br>n={_n_text(n, small)} {unit}" for m, n in zip(months, ns)],
                     title_text="Month (n below each)")


def _engagement_figure(t: pd.DataFrame, small: int, conf: float) -> go.Figure:
    d = t.sort_values("month_start")
    x = list(pd.to_datetime(d["month_start"]))
    y, lo, hi = _nums(d["mean_engagement"]), _nums(d["engagement_ci_lo"]), _nums(d["engagement_ci_hi"])
    fig = add_ci_band(go.Figure(), x, lo, hi, name=ci_name(conf))
    fig.add_scatter(x=x, y=y, mode="lines+markers+text", name="mean engagement", line={"color": theme.BLUE, "width": 2},
                    text=[("" if math.isnan(v) else f"{v:.2f}") for v in y], textposition="top center",
                    customdata=list(zip([_n_text(v, small) for v in d["n_rated"]],
                                        [_n_text(v, small) for v in d["n_children_rated"]])),
                    hovertemplate="%{x|%b %Y}<br>mean engagement %{y:.2f}<br>n = %{customdata[0]} rated sessions, "
                                  "%{customdata[1]} children<extra></extra>")
    _style(fig, f"Mean engagement per month (1–5), with {ci_name(conf)}", "Mean engagement (1–5)", 330)
    fig.update_yaxes(range=[1, 5.05])
    _month_ticks(fig, x, list(d["n_children_rated"]), "children", small)
    return fig


def _goals_figure(t: pd.DataFrame, small: int) -> go.Figure:
    d = t.sort_values("month_start")
    x = list(pd.to_datetime(d["month_start"]))
    y = _nums(d["share_goals_at_expected"])
    fig = go.Figure()
    fig.add_bar(x=x, y=y, marker_color=theme.BLUISH_GREEN, name="goals at or above expected",
                text=[("" if math.isnan(v) else f"{100 * v:.0f}%") for v in y], textposition="outside",
                customdata=[_n_text(v, small) for v in d["n_goals"]],
                hovertemplate="%{x|%b %Y}<br>%{y:.0%} of goals at or above expected<br>n = %{customdata} goals"
                              "<extra></extra>")
    _style(fig, "Goals at or above the expected GAS level, per month (each goal rated so far, latest rating by the month's end)",
           "Share of goals rated (%)", 330)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.1])
    fig.update_layout(showlegend=False)
    _month_ticks(fig, x, list(d["n_goals"]), "goals", small)
    return fig


def _approach_figure(t: pd.DataFrame, small: int, conf: float) -> go.Figure:
    fig = go.Figure()
    fill = {"child-led": "rgba(213,94,0,0.13)", "directed": "rgba(86,180,233,0.18)"}
    for ap in ("child-led", "directed"):
        d = t[t["approach"] == ap].sort_values("month_start")
        if d.empty:
            continue
        x = list(pd.to_datetime(d["month_start"]))
        y, lo, hi = _nums(d["mean_engagement"]), _nums(d["engagement_ci_lo"]), _nums(d["engagement_ci_hi"])
        add_ci_band(fig, x, lo, hi, fillcolor=fill[ap], name=f"{ap} {ci_name(conf)}", showlegend=False)
        n_total = sum(int(v) for v in d["n_rated"] if not isinstance(v, str) and not is_missing(v))
        fig.add_scatter(x=x, y=y, mode="lines+markers", name=f"{ap} ({n_total:,} rated sessions)",
                        line={"color": theme.APPROACH_COLORS[ap], "width": 2, "dash": "solid" if ap == "child-led" else "dash"},
                        marker={"symbol": "circle" if ap == "child-led" else "square", "size": 7},
                        customdata=list(zip([_n_text(v, small) for v in d["n_rated"]],
                                            [_n_text(v, small) for v in d["n_children_rated"]])),
                        hovertemplate=f"{ap} · %{{x|%b %Y}}<br>mean engagement %{{y:.2f}}<br>n = %{{customdata[0]}} "
                                      "rated sessions, %{customdata[1]} children<extra></extra>")
    _style(fig, f"Engagement in child-led and directed sessions per month (1–5), with {ci_name(conf)}s",
           "Mean engagement (1–5)", 340, x="Month")
    fig.update_yaxes(range=[1, 5.05])
    fig.update_xaxes(dtick="M1", tickformat="%b %Y")
    fig.update_layout(legend={"title": {"text": ""}})
    return fig


def _caseload_figure(c: pd.DataFrame, small: int, conf: float) -> go.Figure:
    d = c[~c["is_total"].astype(bool)] if c["is_total"].astype(bool).sum() < len(c) else c
    labels = [html.escape(str(t)) for t in d["therapist_id"]]
    fig = go.Figure()
    prev = _nums(d["mean_engagement_prev"])
    now, lo, hi = _nums(d["mean_engagement"]), _nums(d["engagement_ci_lo"]), _nums(d["engagement_ci_hi"])
    fig.add_scatter(x=prev, y=labels, mode="markers", name="previous period",
                    marker={"symbol": "circle-open", "size": 10, "color": theme.GREY, "line": {"width": 2}},
                    customdata=[_n_text(v, small) for v in d["n_rated_prev"]],
                    hovertemplate="%{y} · previous period<br>mean engagement %{x:.2f}<br>n = %{customdata} rated "
                                  "sessions<extra></extra>")
    fig.add_scatter(x=now, y=labels, mode="markers", name=f"this period ({ci_name(conf)})",
                    marker={"symbol": "circle", "size": 10, "color": theme.BLUE},
                    error_x={"type": "data", "symmetric": False,
                             "array": [h - v for h, v in zip(hi, now)], "arrayminus": [v - low for v, low in zip(now, lo)],
                             "color": theme.BLUE, "thickness": 1.5, "width": 4},
                    customdata=[_n_text(v, small) for v in d["n_rated"]],
                    hovertemplate="%{y} · this period<br>mean engagement %{x:.2f}<br>n = %{customdata} rated "
                                  "sessions<extra></extra>")
    # all at once: add_annotation one by one is quadratic in the number of therapists
    fig.update_layout(annotations=[
        {"x": 1.0, "xref": "paper", "xanchor": "left", "y": lab, "text": f"n={_n_text(n, small)}",
         "showarrow": False, "font": {"size": 11, "color": "#333333"}}
        for lab, n in zip(labels, d["n_rated"])])
    _style(fig, "Mean engagement per therapist: this period vs the previous one", "Therapist",
           120 + 45 * max(len(labels), 1), x="Mean engagement (1–5); n = rated sessions this period")
    fig.update_xaxes(range=[1, 5.05])
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels[::-1])
    fig.update_layout(margin_r=70)  # room for the n at the right; the top margin is the title's
    return fig


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
