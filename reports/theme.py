"""Colours, symbols and chart layout: defined once, used by every page.

Colours come from the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"),
which stays distinguishable for the common forms of colour-vision deficiency. Modality and
approach never share a chart's colour channel, and each keeps its colour on every page.

Text on a chart (titles, axis ticks and titles, legends) is ``TEXT`` or ``AXIS_TEXT`` on
``BACKGROUND``: both at least ``MIN_CONTRAST`` (4.5:1, WCAG 2.2 AA for normal text) by
``contrast_ratio``. The legend sits under the plot area (``style``), so a legend that wraps
onto more lines grows downwards, never into the title; a long title wraps onto its own lines.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

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
# text and background of every chart (WCAG AA: at least MIN_CONTRAST against BACKGROUND)
BACKGROUND = "#FFFFFF"
TEXT = "#1F1F1F"          # titles, legend
AXIS_TEXT = "#474747"     # tick labels and axis titles
GRID = "#E5E5E5"
FONT_FAMILY = '"Source Sans", "Source Sans Pro", "Helvetica Neue", Arial, sans-serif'
MIN_CONTRAST = 4.5
TITLE_LINE_CHARS = 48     # a longer title wraps: a line fits a chart 400 px wide (16 px bold)

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


def _channel(c: float) -> float:
    c /= 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def rgb(color: str) -> tuple[float, float, float]:
    """``#RRGGBB`` (or ``#RGB``) as three 0-255 numbers."""
    h = color.strip().lstrip("#")
    if len(h) == 3:
        h = "".join(ch * 2 for ch in h)
    if len(h) != 6:
        raise ValueError(f"not a #RRGGBB colour: {color!r}")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def blend(color: str | tuple, opacity: float, background: str | tuple) -> tuple[float, float, float]:
    """The colour seen when ``color`` is drawn at ``opacity`` over ``background`` (alpha
    compositing, channel by channel): how a faded caption looks."""
    fg = rgb(color) if isinstance(color, str) else color
    bg = rgb(background) if isinstance(background, str) else background
    return tuple(opacity * f + (1 - opacity) * b for f, b in zip(fg, bg))  # type: ignore[return-value]


def luminance(color: str | tuple) -> float:
    """Relative luminance (WCAG 2.2, "relative luminance": sRGB channels linearised, then
    0.2126 R + 0.7152 G + 0.0722 B), 0 for black to 1 for white."""
    r, g, b = rgb(color) if isinstance(color, str) else color
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(fg: str | tuple, bg: str | tuple) -> float:
    """WCAG 2.2 contrast ratio (L1 + 0.05) / (L2 + 0.05), L1 the lighter; 1 to 21. Normal text
    needs at least 4.5 (success criterion 1.4.3, level AA)."""
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def wrap_title(title: str, width: int = TITLE_LINE_CHARS) -> str:
    """``title`` broken into lines of at most ``width`` characters at spaces (``<br>``): plotly
    never wraps a title itself and cuts it off at the chart's edge."""
    if len(title) <= width or "<br>" in title:
        return title
    lines: list[str] = []
    for word in title.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def _white(fig: go.Figure) -> None:
    """Plotly's own ``plotly_white`` template on ``fig``, not validated again: it was validated
    when plotly registered it, and validating a template (every trace type's defaults) costs
    7-8 ms a chart against 0.2 ms. Plotly sets a figure's default template the same way
    (``BaseFigure._initialize_layout_template``); the figure's dict is the same."""
    layout = fig.layout
    layout._validate = False
    try:
        layout.template = pio.templates["plotly_white"]
    finally:
        layout._validate = fig._validate


def merge(base: dict, *updates: dict) -> dict:
    """``base`` updated by each of ``updates`` in turn, as ``update_layout`` updates a layout: a
    dict merges into a dict key by key, at any depth; any other value replaces. Returns ``base``
    (changed in place; the updates are not changed)."""
    for update in updates:
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = _copy(value)
    return base


def _copy(value: object) -> object:
    """``value`` with its dicts copied (so that merging into it later changes no caller's dict)."""
    return {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else value


def layout(title: str, x: str | None = None, y: str | None = None, height: int | None = None,
           legend_title: str | None = None) -> dict:
    """The layout ``style`` gives a figure of one x and one y axis, as a dict (the template
    aside: ``figure`` sets it): merge a chart's own settings into it (``merge``) and build the
    figure once with ``figure``, which validates it in one pass; ``style``'s ``update_layout``
    and ``update_*axes`` calls cost 15-25 ms a chart (plotly's path parsing), the same
    layout given whole about 1.5 ms."""
    text = wrap_title(title)
    lines = text.count("<br>") + 1
    xaxis, yaxis = _axis(x), _axis(y)
    xaxis["ticklabelstandoff"] = 6  # the x labels clear the lowest y label in the corner
    return {
        "title": {"text": text, "x": 0, "xanchor": "left", "font": {"size": 16, "color": TEXT}},
        "paper_bgcolor": BACKGROUND, "plot_bgcolor": BACKGROUND,
        "margin": {"l": 10, "r": 10, "t": 40 + 20 * lines, "b": 10},
        "hoverlabel": {"bgcolor": "white", "font": {"size": 13, "color": TEXT}},
        "legend": {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "xanchor": "left", "x": 0,
                   "title": {"text": legend_title or ""}, "font": {"color": TEXT}},
        "font": {"size": 13, "color": TEXT, "family": FONT_FAMILY},
        **({"height": height} if height else {}),
        "xaxis": xaxis, "yaxis": yaxis,
    }


def _axis(title: str | None) -> dict:
    axis = {"tickfont": {"color": AXIS_TEXT}, "title": {"font": {"color": AXIS_TEXT}}, "gridcolor": GRID,
            "zerolinecolor": GRID}
    if title is not None:
        axis["title"]["text"] = title
    return axis


def on_axes(lay: dict, xaxes: list[str], yaxes: list[str]) -> dict:
    """``lay`` (a ``layout``) with its ``xaxis`` settings on each of ``xaxes`` and its ``yaxis``
    settings on each of ``yaxes`` (a figure of subplots: ``style``'s ``update_xaxes`` and
    ``update_yaxes`` set every axis)."""
    out = {k: v for k, v in lay.items() if k not in ("xaxis", "yaxis")}
    for names, axis in ((xaxes, lay["xaxis"]), (yaxes, lay["yaxis"])):
        for name in names:
            out[name] = _copy(axis)
    return out


def figure(data: list, layout: dict) -> go.Figure:
    """The figure of ``data`` (traces: dicts with their ``type``, or trace objects) and ``layout``
    (``layout`` with the chart's own settings merged in), built and validated once, with the
    ``plotly_white`` template (``_white``): the figure ``style`` and the ``add_*`` /
    ``update_*`` calls would build, at a fraction of their cost.

    ``layout["annotations"]`` (text beside each row: one per therapist, hundreds) is set as
    given, not validated (as ``_white`` sets the template): validating costs ~0.7 ms an
    annotation, and the builders make them of plain strings, numbers and dicts, which
    validation keeps as they are. Plotly builds the annotation objects when they are read."""
    annotations = layout.pop("annotations", None)
    fig = go.Figure(data=data, layout=layout)
    if annotations is not None:
        layout["annotations"] = annotations
        fig.layout._validate = False
        try:
            fig.layout.annotations = annotations
        finally:
            fig.layout._validate = fig._validate
    _white(fig)
    return fig


def vline(x: object, line: dict) -> dict:
    """The shape ``fig.add_vline(x=x, line=line)`` adds: a line across the plot's height at ``x``."""
    return {"type": "line", "x0": x, "x1": x, "xref": "x", "y0": 0, "y1": 1, "yref": "y domain", "line": line}


def hline(y: object, line: dict) -> dict:
    """The shape ``fig.add_hline(y=y, line=line)`` adds: a line across the plot's width at ``y``."""
    return {"type": "line", "x0": 0, "x1": 1, "xref": "x domain", "y0": y, "y1": y, "yref": "y", "line": line}


def style(fig: go.Figure, title: str, x: str | None = None, y: str | None = None,
          height: int | None = None, legend_title: str | None = None) -> go.Figure:
    """Title (wrapped when long, with a top margin of its own), axis titles (with units), a
    white background with text of at least 4.5:1 contrast, the legend under the plot area
    (it grows downwards, away from the title) and a readable hover label."""
    text = wrap_title(title)
    lines = text.count("<br>") + 1
    _white(fig)
    fig.update_layout(
        title={"text": text, "x": 0, "xanchor": "left", "font": {"size": 16, "color": TEXT}},
        paper_bgcolor=BACKGROUND, plot_bgcolor=BACKGROUND,
        margin={"l": 10, "r": 10, "t": 40 + 20 * lines, "b": 10},
        hoverlabel={"bgcolor": "white", "font_size": 13, "font_color": TEXT},
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "xanchor": "left", "x": 0,
                "title": {"text": legend_title or ""}, "font": {"color": TEXT}},
        font={"size": 13, "color": TEXT, "family": FONT_FAMILY},
        **({"height": height} if height else {}),
    )
    axis = {"tickfont": {"color": AXIS_TEXT}, "title_font": {"color": AXIS_TEXT}, "gridcolor": GRID,
            "zerolinecolor": GRID}
    # the x labels clear the lowest y label in the corner
    fig.update_xaxes(**axis, ticklabelstandoff=6, **({"title_text": x} if x is not None else {}))
    fig.update_yaxes(**axis, **({"title_text": y} if y is not None else {}))
    return fig
