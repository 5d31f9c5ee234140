"""A chart's figures as a table: the text alternative shown under every dashboard chart.

A chart builder hands over the rows it plotted (``attach``: the frame, and per column a
label and a format kind of ``reports.formats.cell``). Any other figure (a meeting-pack
figure, a figure read back from a cache, which keeps no Python attributes) gets a table
read from its traces (``from_traces``): one row per point (series, x, y; an interval band
as its low and high), a heatmap as its grid of cell texts, a box as its summary (n, median,
quartiles). ``table(fig)`` returns the one or the other, every cell text.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from reports.formats import cell, day, is_missing, month

ATTR = "_figure_table"   # where ``attach`` keeps the table on the figure object
SERIES = "Series"
_TAG = re.compile(r"<[^>]+>")
_MARKUP = re.compile(r"<|\s\s|[^\S ]|^\s|\s$")  # what ``plain`` would change: a tag, a run of spaces, a tab, an edge


def plain(text: Any) -> str:
    """Chart text without its markup: ``<br>`` becomes a space, other tags go."""
    text = str(text)
    if not _MARKUP.search(text):  # a number, a date, an id: nothing to take out (one search, not three passes)
        return text
    return re.sub(r"\s+", " ", _TAG.sub(" ", text.replace("<br>", " "))).strip()


def attach(fig: go.Figure, frame: pd.DataFrame, columns: Sequence[tuple[str, str, str]]) -> go.Figure:
    """Keep ``frame``'s ``columns`` (name, label, kind) as the figure's table, as text.

    ``kind`` is a ``reports.formats.cell`` kind (``int``, ``pct``, ``num2``, ``month``,
    ``date``, ``id``, ...), ``text`` for text as it is. Returns ``fig``."""
    out = pd.DataFrame({label: [plain(cell(v, kind)) if kind != "text" else ("–" if is_missing(v) else plain(v))
                                for v in frame[name]] if name in frame.columns else ["–"] * len(frame)
                        for name, label, kind in columns})
    setattr(fig, ATTR, out.reset_index(drop=True))
    return fig


def table(fig: go.Figure) -> pd.DataFrame:
    """The figure's table: the one its builder attached, else one read from its traces."""
    attached = getattr(fig, ATTR, None)
    return attached if isinstance(attached, pd.DataFrame) else from_traces(fig)


# ----------------------------------------------------------------------------- from the traces

def _title(axis: Any) -> str:
    try:
        return plain(axis.title.text or "")
    except AttributeError:
        return ""


def _value(v: Any, share: bool = False, is_month: bool = False) -> str:
    if is_missing(v):
        return "–"
    if isinstance(v, (dt.date, dt.datetime, pd.Timestamp, np.datetime64)):
        ts = pd.Timestamp(v)
        return month(ts) if is_month else day(ts)
    if isinstance(v, str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}([ T].*)?", v):
            return _value(pd.Timestamp(v), share, is_month)
        return plain(v)
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    x = float(v)
    if share:
        return f"{100 * x:.1f}%"
    return f"{x:,.0f}" if x.is_integer() and abs(x) >= 100 else f"{x:.2f}"


def _as_list(values: Any) -> list:
    if values is None:
        return []
    if isinstance(values, (str, bytes)):
        return [values]
    return list(np.asarray(values, dtype=object).ravel()) if not isinstance(values, list) else values


def _heatmap(t: Any, x_title: str, y_title: str) -> pd.DataFrame:
    xs, ys = _as_list(t.x), _as_list(t.y)
    grid = t.text if t.text is not None else t.z
    rows = []
    for i, ylab in enumerate(ys):
        row = {y_title or "Row": plain(ylab)}
        for j, xlab in enumerate(xs):
            try:
                v = grid[i][j]
            except (IndexError, TypeError):
                v = None
            row[plain(xlab)] = _value(v)
        rows.append(row)
    return pd.DataFrame(rows)


def _box(t: Any, value_title: str) -> dict[str, str]:
    y = pd.to_numeric(pd.Series(_as_list(t.y if t.y is not None else t.x)), errors="coerce").dropna()
    q = y.quantile([0.0, 0.25, 0.5, 0.75, 1.0]) if len(y) else pd.Series([np.nan] * 5, index=[0, .25, .5, .75, 1])
    return {SERIES: plain(t.name or ""), "n": f"{len(y):,}", f"median {value_title}".strip(): _value(q[0.5]),
            "lower quartile": _value(q[0.25]), "upper quartile": _value(q[0.75]), "lowest": _value(q[0.0]),
            "highest": _value(q[1.0])}


def from_traces(fig: go.Figure) -> pd.DataFrame:
    """A table read from the figure's traces (see the module doc); empty when it has no data."""
    lay = fig.layout
    x_title, y_title = _title(lay.xaxis) or "x", _title(lay.yaxis) or "value"
    x_month = "M1" in str(lay.xaxis.dtick or "") or "%b %Y" == str(lay.xaxis.tickformat or "")
    y_share = "%" in str(lay.yaxis.tickformat or "")
    heat = [t for t in fig.data if t.type == "heatmap" and t.z is not None]
    if heat:
        return _heatmap(heat[-1], x_title, y_title)
    boxes = [t for t in fig.data if t.type == "box"]
    if boxes:
        return pd.DataFrame([_box(t, y_title) for t in boxes])
    rows: list[dict[str, str]] = []
    for t in fig.data:
        if t.type not in ("scatter", "scattergl", "bar"):
            continue
        xs, ys = _as_list(t.x), _as_list(t.y)
        name = plain(t.name or "")
        if getattr(t, "fill", None) == "toself" and len(xs) == len(ys) and len(xs) % 2 == 0:
            n = len(xs) // 2  # an interval band: the upper bound forwards, then the lower one back
            for x, hi, lo in zip(xs[:n], ys[:n], ys[n:][::-1]):
                rows.append({SERIES: name, x_title: _value(x, is_month=x_month), "low": _value(lo, y_share),
                             "high": _value(hi, y_share)})
            continue
        if t.hoverinfo == "skip":  # a connecting line drawn under markers: its points are in another trace
            continue
        horizontal = getattr(t, "orientation", None) == "h"
        for x, y in zip(xs, ys):
            rows.append({SERIES: name, x_title: _value(x, is_month=x_month and not horizontal),
                         y_title: _value(y, y_share)})
    frame = pd.DataFrame(rows)
    if not frame.empty and frame[SERIES].nunique() <= 1 and frame[SERIES].iloc[0] == "":
        frame = frame.drop(columns=[SERIES])
    return frame.fillna("")

