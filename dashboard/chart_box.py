"""A chart on a page: the Plotly figure without toolbar or PNG download, and under it its
figures as a table (the chart's text alternative), in one box. Pages call it as ``ui.chart``."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.text import md_escape, plotly_text as _plotly_text
from reports import figure_table

# charts offer no "download as PNG" (every export goes through an audited download button) and no
# toolbar: its seven buttons per chart were seven tab stops each; zoom by dragging, double-click to reset
CHART_CONFIG = {"displayModeBar": False, "modeBarButtonsToRemove": ["toImage"], "displaylogo": False}
TABLE_ROWS = 500  # a chart's table shows at most this many rows (a box plot's table is its summary)


def chart(fig: Any, key: str, where: Any = None, **kwargs: Any) -> Any:
    """A Plotly chart in ``where`` (default the page) and under it its figures as a table
    (``chart_table``, the chart's text alternative), in one box that stays together in a
    ``chart_grid``. No toolbar and no PNG download (``CHART_CONFIG``); the chart's own colours
    (``theme=None``: ``reports.theme``, text of at least 4.5:1 contrast); its title as its
    accessible name; any link tag in its text shown as text (``_plotly_text``)."""
    box = (where or st).container(key=f"chartbox_{key}")
    title = figure_table.plain(fig.layout.title.text or "") or None
    out = box.plotly_chart(_checked(fig), key=key, config=CHART_CONFIG, theme=None, alt=title, **kwargs)
    chart_table(fig, box)
    return out


def _checked(fig: Any) -> go.Figure:
    """``fig`` with its link tags made text (``_plotly_text``), as a figure that is not validated
    again: ``st.plotly_chart`` validates a dict it is given property by property (building a
    new figure, its template included: 7-8 ms for a small chart, more per point), which this
    figure, already validated when it was built, does not need; a figure is sent as it is.
    Empty objects (an annotation's ``font: {}``) are left out, as that validation leaves them."""
    return go.Figure(_without_empty(_plotly_text(fig.to_dict())), _validate=False)


def _without_empty(value: Any) -> Any:
    """``value`` (a figure's dict) without keys whose value is an empty dict, at any depth."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _without_empty(v)
            if not (isinstance(v, dict) and not v):
                out[k] = v
        return out
    if isinstance(value, list):
        return [_without_empty(v) for v in value]
    return value


def chart_table(fig: Any, where: Any = None) -> None:
    """The figures of ``fig`` as a table (``reports.figure_table.table``) in a closed expander
    "Chart as a table": at most ``TABLE_ROWS`` rows, every cell text (``md_escape``)."""
    t = figure_table.table(fig)
    with (where or st).expander("Chart as a table"):
        if t is None or t.empty:
            st.caption("This chart has no figures to list.")
            return
        shown = t.head(TABLE_ROWS)
        st.table(pd.DataFrame({md_escape(c): [md_escape(v) for v in shown[c]] for c in shown.columns}),
                 hide_index=True)
        if len(t) > len(shown):
            st.caption(f"The first {len(shown):,} of {len(t):,} rows.")
