"""Chart pieces shared by the dashboard's charts and the reports' figures."""

from __future__ import annotations

from collections.abc import Iterable

import plotly.graph_objects as go

CI_FILL = "rgba(0,114,178,0.15)"  # the theme's blue (Okabe-Ito #0072B2), light: a 95% interval


def add_ci_band(fig: go.Figure, x: Iterable, lo: Iterable, hi: Iterable, fillcolor: str = CI_FILL,
                name: str = "95% CI", showlegend: bool | None = None) -> go.Figure:
    """Add the interval ``lo``..``hi`` over ``x`` as one shaded band (a closed outline, no hover);
    missing bounds leave a gap. Returns ``fig``."""
    xs, lows, highs = list(x), list(lo), list(hi)
    extra = {} if showlegend is None else {"showlegend": showlegend}
    fig.add_scatter(x=xs + xs[::-1], y=highs + lows[::-1], fill="toself", fillcolor=fillcolor, line={"width": 0},
                    mode="lines", name=name, hoverinfo="skip", **extra)
    return fig
