"""Chart pieces shared by the dashboard's charts and the reports' figures."""

from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go

CI_FILL = "rgba(0,114,178,0.15)"  # the theme's blue (Okabe-Ito #0072B2), light: an interval


def ci_name(confidence: float) -> str:
    """The interval's name in a legend or hover: "95% CI" for 0.95 ([comparison] confidence)."""
    return f"{confidence:.0%} CI"


def ci_band(x: Iterable, lo: Iterable, hi: Iterable, name: str, fillcolor: str = CI_FILL,
            showlegend: bool | None = None) -> dict:
    """The interval ``lo``..``hi`` over ``x`` as one shaded band (a closed outline, no hover),
    a scatter trace as a dict for ``reports.theme.figure``; missing bounds leave a gap."""
    xs, lows, highs = list(x), list(lo), list(hi)
    extra = {} if showlegend is None else {"showlegend": showlegend}
    return {"type": "scatter", "x": xs + xs[::-1], "y": highs + lows[::-1], "fill": "toself", "fillcolor": fillcolor,
            "line": {"width": 0}, "mode": "lines", "name": name, "hoverinfo": "skip", **extra}


def add_ci_band(fig: go.Figure, x: Iterable, lo: Iterable, hi: Iterable, name: str, fillcolor: str = CI_FILL,
                showlegend: bool | None = None) -> go.Figure:
    """Add the interval ``lo``..``hi`` over ``x`` as one shaded band (a closed outline, no hover);
    missing bounds leave a gap. Returns ``fig``."""
    xs, lows, highs = list(x), list(lo), list(hi)
    extra = {} if showlegend is None else {"showlegend": showlegend}
    fig.add_scatter(x=xs + xs[::-1], y=highs + lows[::-1], fill="toself", fillcolor=fillcolor, line={"width": 0},
                    mode="lines", name=name, hoverinfo="skip", **extra)
    return fig
