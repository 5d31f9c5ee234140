"""Colours, symbols and chart layout: defined once, used by every page.

Colours come from the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"),
which stays distinguishable for the common forms of colour-vision deficiency. Modality and
approach never share a chart's colour channel, and each keeps its colour on every page.
"""

from __future__ import annotations

import plotly.graph_objects as go

# Okabe-Ito
BLACK = "#000000"
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
GREY = "#8C8C8C"
LIGHT_GREY = "#D9D9D9"

MODALITY_COLORS = {"CBT": BLUE, "OT": ORANGE, "speech": BLUISH_GREEN, "play": REDDISH_PURPLE}
MODALITY_ORDER = list(MODALITY_COLORS)
APPROACH_COLORS = {"child-led": VERMILLION, "directed": SKY_BLUE, "mixed": GREY}
APPROACH_ORDER = list(APPROACH_COLORS)
# age groups are ordered: an ordered (viridis) ramp, light green = youngest, dark purple = oldest
AGE_RAMP = ["#5EC962", "#21918C", "#3B528B", "#440154", "#2A0A3A"]  # viridis stops, young -> old
SEVERITY_COLORS = {"high": VERMILLION, "medium": ORANGE, "low": SKY_BLUE}
# sessions that did not happen: drawn as markers at the bottom of a child's timeline
ATTENDANCE_SYMBOLS = {"no-show": "x", "cancelled": "circle-open", "late-cancelled": "diamond-open",
                      "clinician-cancelled": "square-open"}
ATTENDANCE_COLOR = BLACK
EXPECTED_LINE = BLACK
# GAS levels: a diverging scale around the expected level (0), colour-blind safe
GAS_LEVEL_COLORS = {-3: "#8C2D04", -2: VERMILLION, -1: ORANGE, 0: "#BDBDBD", 1: SKY_BLUE, 2: BLUE}
GAS_LEVEL_LABELS = {-3: "-3 deterioration", -2: "-2 much less than expected", -1: "-1 less than expected",
                    0: "0 expected", 1: "+1 more than expected", 2: "+2 much more than expected"}
SEQUENTIAL = "Cividis"  # heatmaps: perceptually uniform and colour-blind safe
BELOW_MIN_N_COLOR = "#EEEEEE"


def age_colors(labels: list[str]) -> dict[str, str]:
    """A colour per age group label, in the given (age) order; 'unknown' is grey."""
    out: dict[str, str] = {}
    known = [lab for lab in labels if lab != "unknown"]
    for i, lab in enumerate(known):
        out[lab] = AGE_RAMP[min(i, len(AGE_RAMP) - 1)]
    out["unknown"] = GREY
    return out


def color_map(dimension: str, values: list[str] | None = None) -> dict[str, str]:
    """The colour map for a grouping column (modality, approach, age_group); others get a cycle."""
    if dimension == "modality":
        return dict(MODALITY_COLORS)
    if dimension == "approach":
        return dict(APPROACH_COLORS)
    if dimension == "age_group":
        return age_colors(values or [])
    cycle = [BLUE, ORANGE, BLUISH_GREEN, REDDISH_PURPLE, VERMILLION, SKY_BLUE, BLACK, GREY]
    return {v: cycle[i % len(cycle)] for i, v in enumerate(values or [])}


def style(fig: go.Figure, title: str, x: str | None = None, y: str | None = None,
          height: int | None = None, legend_title: str | None = None) -> go.Figure:
    """Title, axis titles (with units), a plain white template and a readable hover label."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        template="plotly_white",
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        hoverlabel={"bgcolor": "white", "font_size": 13},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1,
                "title": {"text": legend_title or ""}},
        font={"size": 13},
    )
    if height:
        fig.update_layout(height=height)
    if x is not None:
        fig.update_xaxes(title_text=x)
    if y is not None:
        fig.update_yaxes(title_text=y)
    return fig
