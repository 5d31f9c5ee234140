"""What a page sends for a chart is what plotly's validation would have made of it.

``reports.theme.style`` sets plotly's ``plotly_white`` template without validating it again,
and ``dashboard.chart_box`` hands ``st.plotly_chart`` its figure without the validation that
Streamlit gives a dict (issue 14: 7-8 ms a chart each). Both skip work, never change the
figure: here every figure's dict equals the dict of the same figure built with full
validation, on real plotly figures of the kinds the pages draw (a scatter, a strip plot in
colour groups, facets, subplots, a heatmap, a box). No mocks.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio
import pytest
from plotly.subplots import make_subplots

from dashboard import chart_box
from dashboard.text import plotly_text
from reports import theme

FRAME = pd.DataFrame({"x": np.random.default_rng(3).random(60), "group": np.repeat(["a", "b", "c"], 20),
                      "colour": np.tile(["p", "q"], 30), "facet": np.tile(["u", "v", "w", "z"], 15)})
FIGURES = {
    "scatter": lambda: go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="<a href='x'>link</a>")),
    "strip": lambda: px.strip(FRAME, x="x", y="group", color="colour"),
    "facets": lambda: px.scatter(FRAME, x="x", y="x", facet_col="facet", facet_col_wrap=2),
    "subplots": lambda: make_subplots(rows=2, cols=2, subplot_titles=["one", "two", "three", "four"]),
    "heatmap": lambda: go.Figure(go.Heatmap(z=[[1, 2], [3, 4]], x=["m", "n"], y=["r", "s"])),
    "box": lambda: px.box(FRAME, x="group", y="x"),
    "dark": lambda: go.Figure().update_layout(template="plotly_dark"),
}
STYLES = [dict(title="t"), dict(title="a long title that wraps " * 4, x="X", y="Y", height=400, legend_title="L"),
          dict(title="t", x="", y=None), dict(title="two<br>lines", y="Y", legend_title="")]


def as_json(fig) -> dict:
    """A figure (or its dict) as the JSON the browser gets, parsed (numpy arrays included)."""
    return json.loads(pio.to_json(fig, validate=False))


def validated_style(fig: go.Figure, title: str, x: str | None = None, y: str | None = None,
                    height: int | None = None, legend_title: str | None = None) -> go.Figure:
    """``theme.style`` as it was before issue 14: every property validated by plotly."""
    text = theme.wrap_title(title)
    lines = text.count("<br>") + 1
    fig.update_layout(
        title={"text": text, "x": 0, "xanchor": "left", "font": {"size": 16, "color": theme.TEXT}},
        template="plotly_white", paper_bgcolor=theme.BACKGROUND, plot_bgcolor=theme.BACKGROUND,
        margin={"l": 10, "r": 10, "t": 40 + 20 * lines, "b": 10},
        hoverlabel={"bgcolor": "white", "font_size": 13, "font_color": theme.TEXT},
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "xanchor": "left", "x": 0,
                "title": {"text": legend_title or ""}, "font": {"color": theme.TEXT}},
        font={"size": 13, "color": theme.TEXT, "family": theme.FONT_FAMILY})
    axis = {"tickfont": {"color": theme.AXIS_TEXT}, "title_font": {"color": theme.AXIS_TEXT},
            "gridcolor": theme.GRID, "zerolinecolor": theme.GRID}
    fig.update_xaxes(**axis, ticklabelstandoff=6)
    fig.update_yaxes(**axis)
    if height:
        fig.update_layout(height=height)
    if x is not None:
        fig.update_xaxes(title_text=x)
    if y is not None:
        fig.update_yaxes(title_text=y)
    return fig


@pytest.mark.parametrize("kind", FIGURES)
@pytest.mark.parametrize("args", STYLES, ids=range(len(STYLES)))
def test_style_gives_the_fully_validated_figure(kind, args):
    styled = theme.style(FIGURES[kind](), **args)
    assert as_json(styled) == as_json(validated_style(FIGURES[kind](), **args))
    assert styled.to_dict()["layout"]["template"] == pio.templates["plotly_white"].to_plotly_json()


def test_style_leaves_plotlys_registered_template_alone():
    before = pio.templates["plotly_white"].to_plotly_json()
    fig = theme.style(go.Figure(go.Bar(x=["a"], y=[1])), "t")
    fig.layout.template.layout.font.size = 40  # a change to one figure's template stays in that figure
    assert pio.templates["plotly_white"].to_plotly_json() == before
    assert theme.style(go.Figure(), "t").to_dict()["layout"]["template"] == before


@pytest.mark.parametrize("kind", FIGURES)
def test_a_chart_is_sent_as_streamlit_would_have_validated_it(kind):
    fig = theme.style(FIGURES[kind](), "title", x="X", y="Y", legend_title="L")
    streamlit_made = as_json(go.Figure(**plotly_text(fig.to_dict())))  # what st.plotly_chart did with a dict
    sent = as_json(chart_box._checked(fig))
    assert sent == streamlit_made
    if kind == "scatter":  # a link tag in a figure's text is sent as text
        assert sent["data"][0]["name"] == "&lt;a href='x'>link&lt;/a>"


# ----------------------------------------------------------------------------- kept figures

TRENDS = pd.DataFrame({"month_start": pd.to_datetime(["2026-07-01", "2026-08-01", "2026-09-01"]),
                       "mean_engagement": [3.1, 3.4, 3.2], "engagement_ci_lo": [2.9, 3.1, 3.0],
                       "engagement_ci_hi": [3.3, 3.6, 3.5], "n_rated": [120, 130, 140]})


def test_a_chart_of_the_same_data_is_built_once_and_of_other_data_again():
    from dashboard import charts

    first = charts.trend_line(TRENDS.copy(), "mean_engagement")
    assert charts.trend_line(TRENDS.copy(), "mean_engagement") is first  # equal frames: the kept figure
    other = TRENDS.assign(mean_engagement=[2.5, 2.6, 2.7])
    again = charts.trend_line(other, "mean_engagement")
    assert again is not first
    assert list(again.data[-1].y) == [2.5, 2.6, 2.7] and list(first.data[-1].y) == [3.1, 3.4, 3.2]
    # the kept figure is the one the builder makes
    assert as_json(first) == as_json(charts.trend_line.uncached(TRENDS.copy(), "mean_engagement"))


def test_a_kept_chart_is_built_again_under_other_settings(tmp_path, monkeypatch):
    from dashboard import charts
    from pipelines import settings

    first = charts.trend_line(TRENDS.copy(), "mean_engagement")
    assert "95% CI" in json.dumps(as_json(first))
    alt = tmp_path / "settings.toml"
    alt.write_text(settings.DEFAULT.read_text(encoding="utf-8").replace("confidence = 0.95", "confidence = 0.90"),
                   encoding="utf-8")
    monkeypatch.setenv("PIPELINES_SETTINGS", str(alt))
    again = charts.trend_line(TRENDS.copy(), "mean_engagement")  # the band's name comes from the settings
    assert again is not first
    assert "90% CI" in json.dumps(as_json(again)) and "95% CI" not in json.dumps(as_json(again))


def _total_chart(d: pd.DataFrame) -> go.Figure:
    """A chart of one number: the frame's total (a builder to keep, as the pages' are)."""
    return go.Figure(go.Bar(x=["total"], y=[float(d["v"].sum())]))


def test_big_frames_that_differ_in_one_row_get_their_own_charts():
    """Streamlit's own hash samples 10,000 of a frame's rows from 50,000 on: a figure of one
    selection must never be drawn for another that differs in a row outside the sample."""
    from dashboard.chart_cache import kept

    total_chart = kept(_total_chart)
    n = 60_000
    big = pd.DataFrame({"child_id": [f"C{i:05d}" for i in range(n)], "v": np.ones(n)})
    first = total_chart(big)
    assert list(first.data[0].y) == [n]
    for row in (0, n // 2, n - 1):
        other = big.copy()
        other.loc[row, "v"] = 2.0
        assert list(total_chart(other).data[0].y) == [n + 1]
    assert total_chart(big.copy()) is first
