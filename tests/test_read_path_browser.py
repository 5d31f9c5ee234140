"""Issue 14, the read path, in a real browser: a box plot of many points drawn from its
summaries (``charts.distribution_box`` above ``MAX_BOX_POINTS``) is the box plotly.js draws
from the raw points: the same quartiles, median, whiskers and outlier points, read from
plotly.js's own ``calcdata`` in headless Chromium."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from browser_support import ARGS, CHROMIUM, sync_api
from dashboard import charts

sync = sync_api()


def _frame(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["OT", "SLP", "PT", "ABA"], size=n, p=[0.4, 0.3, 0.2, 0.1])
    v = rng.lognormal(2.5, 0.6, size=n)  # a long right tail: outliers above (no ties: the quartile rule shows)
    v[:5] = [0, 1, 250, 300, 2]                      # and a few far out on both sides
    return pd.DataFrame({"modality": g, "sessions": v, "child_id": [f"C{i:05d}" for i in range(n)],
                         "therapist_id": rng.choice(["T1", "T2"], size=n)})


def _raw_figure(d: pd.DataFrame, order: list[str]) -> go.Figure:
    """What the chart drew before: every point sent, plotly computes the box, shows outliers."""
    fig = go.Figure()
    for g in order:
        fig.add_box(y=d.loc[d["modality"] == g, "sessions"], name=g, boxpoints="outliers")
    return fig


def _calc(page, fig: go.Figure) -> list[dict]:
    page.evaluate("(f) => Plotly.newPlot(document.getElementById('c'), f.data, f.layout)",
                  json.loads(pio.to_json(fig, validate=False)))
    return page.evaluate("""() => document.getElementById('c').calcdata.map(c => {
        const b = c[0];
        const shown = b.pts.filter(p => p.v < b.lf || p.v > b.uf).map(p => p.v).sort((x, y) => x - y);
        return {q1: b.q1, med: b.med, q3: b.q3, lf: b.lf, uf: b.uf, outliers: shown};
    })""")


def test_box_from_summaries_is_the_box_plotly_draws_from_the_points():
    d = _frame(charts.MAX_BOX_POINTS * 3)
    order = ["OT", "SLP", "PT", "ABA"]
    new = charts.distribution_box(d, "sessions", "modality", order, "t", "Sessions", ["child_id", "therapist_id"])
    n_points = sum(len(np.asarray(t.y[0])) for t in new.data)
    assert n_points < len(d) / 10  # only the outliers are in the page
    with sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.set_content(f"<html><head><script>{get_plotlyjs()}</script></head><body><div id='c'></div></body>"
                             "</html>")
            want, got = _calc(page, _raw_figure(d, order)), _calc(page, new)
        finally:
            browser.close()
    assert len(got) == len(want) == 4
    for w, g in zip(want, got):
        for k in ("q1", "med", "q3", "lf", "uf"):
            assert abs(w[k] - g[k]) < 1e-9, (k, w, g)
        assert w["outliers"] == g["outliers"] and w["outliers"], (w, g)


def test_box_table_is_unchanged_by_the_summaries():
    """The chart-as-table rows (n, median, quartiles, lowest, highest) are those of all points."""
    d = _frame(charts.MAX_BOX_POINTS * 2)
    fig = charts.distribution_box(d, "sessions", "modality", ["OT", "SLP", "PT", "ABA"], "t", "Sessions",
                                  ["child_id"])
    t = charts.figure_table.table(fig)
    ot = d.loc[d["modality"] == "OT", "sessions"]
    row = t[t["Modality"] == "OT"].iloc[0]
    assert row["n"] == f"{len(ot):,}" and row["Median Sessions"] == f"{ot.median():.2f}"
    assert row["Lower quartile"] == f"{ot.quantile(0.25):.2f}" and row["Highest"] == f"{ot.max():.2f}"
