"""Longer than 500 lines because each builder states its figure whole, its traces and layout as
dicts built and validated once (``reports.theme.figure``, issue 14), rather than in ``add_*`` and
``update_*`` calls; splitting the builders would part the page charts that share these helpers.

Chart builders shared by the pages: plotly figures with titles, units, n in the hover."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.chart_cache import kept
from pipelines import settings
from reports import figure_table, theme
from reports.figures_common import ci_band, ci_name
from reports.formats import cell

# metric -> (label, axis title with unit, n column, is a share)
TREND_METRICS: dict[str, tuple[str, str, str, bool]] = {
    "mean_engagement": ("Mean engagement", "Mean engagement (1–5)", "n_rated", False),
    "attendance_rate": ("Attendance rate", "Attendance rate (% of scheduled)", "sessions", True),
    "share_goals_at_expected": ("Goals at/above expected", "Goals at or above expected (%)", "n_goals", True),
    "sessions": ("Sessions", "Scheduled sessions (count)", "n_children", False),
}
N_LABEL = {"n_rated": "rated sessions", "sessions": "scheduled sessions", "n_goals": "goals",
           "n_children": "children", "n_values": "sessions with a value"}
# the CI columns of a mean: engagement's names, and those of any other measure (analytics' generic ones)
CI_COLUMNS = {"mean_engagement": ("engagement_ci_lo", "engagement_ci_hi"), "mean_value": ("value_ci_lo", "value_ci_hi")}


def measure_spec(label: str, unit: str) -> tuple[str, str, str, bool]:
    """A ``TREND_METRICS`` entry for the mean of any measure (column mean_value), from the catalogue."""
    return (f"Mean {label.lower()}", f"{label} ({unit})", "n_values", False)
ENGAGEMENT_RANGE = [0.8, 5.2]  # the 1-5 scale with room below 1, so the "1" clears the month labels
GROUP_LABEL = {"modality": "Modality", "age_group": "Age group", "approach": "Approach",
               "therapist_id": "Therapist", "team": "Team"}


def _present(values: pd.Series) -> set:
    """The distinct values of a column, once (not a ``set()`` per item of a comprehension)."""
    return set(values.unique())


def _order(values: pd.Series, groups: list[str]) -> list:
    """The ``groups`` that occur in ``values``, in that order, then any other values as text, sorted."""
    present = _present(values)
    return [g for g in groups if g in present] + sorted({str(v) for v in present} - set(groups))


# layout settings merged into ``theme.layout`` (``theme.merge``): a month x axis, a share y axis
MONTH_AXIS = {"xaxis": {"dtick": "M1", "tickformat": "%b %Y", "title": {"text": "Month"}}}
SHARE_AXIS = {"yaxis": {"tickformat": ".0%", "rangemode": "tozero"}}


def _rebuilt(fig: go.Figure | dict, hovertemplate: str, *updates: dict, marker: dict | None = None) -> go.Figure:
    """A ``plotly.express`` figure (or its ``to_dict()``) built again once (``theme.figure``)
    with every trace's ``hovertemplate`` (and ``marker`` settings) and the layout ``updates``
    merged in, in order: what ``update_traces`` and ``theme.style`` / ``update_*`` calls on it
    would give, without their cost (plotly's path parsing, 15-25 ms a call on a figure of subplots)."""
    base = fig if isinstance(fig, dict) else fig.to_dict()
    for trace in base["data"]:
        trace["hovertemplate"] = hovertemplate
        if marker is not None:
            theme.merge(trace.setdefault("marker", {}), marker)
    lay = base["layout"]
    lay.pop("template", None)
    return theme.figure(base["data"], theme.merge(lay, *updates))


_FACETS: dict[tuple, tuple[list[dict], dict, list[str]]] = {}  # small_multiples' px skeletons, by structure
MAX_FACETS = 64


def _facets(d: pd.DataFrame, by: str, metric: str, axis: str, groups: list[str]) -> tuple[list[dict], dict, list[str]]:
    """The traces (without their points), layout and first-column y axes ``px.line`` makes
    for ``small_multiples``: made once per structure (the groups, labels, colours and column
    types; not the points, which plotly express only copies into the traces) from one row of
    each group, and kept (``MAX_FACETS``); a copy is returned. Plotly express's facet grid
    costs ~100 ms a chart at any size."""
    cmap = theme.color_map(by, groups)
    key = (by, metric, axis, tuple(groups), tuple(cmap.items()),
           tuple(str(d[c].dtype) for c in ("month_start", metric, by, "n_label")))
    if key not in _FACETS:
        import plotly.express as px  # facets: only this chart, so the other pages do not import it

        # two panels a row: four a row leave a panel about 100 px at 800 px, where the month labels collide
        fig = px.line(d.drop_duplicates(by), x="month_start", y=metric, color=by, facet_col=by, facet_col_wrap=2,
                      markers=True, facet_col_spacing=0.08, facet_row_spacing=0.12,
                      category_orders={by: groups}, color_discrete_map=cmap,
                      custom_data=["n_label"], labels={by: GROUP_LABEL.get(by, by), metric: axis})
        base = fig.to_dict()
        if len(_FACETS) >= MAX_FACETS:
            _FACETS.clear()
        _FACETS[key] = (base["data"], base["layout"], [a.plotly_name for a in fig.select_yaxes(col=1)])
    return copy.deepcopy(_FACETS[key])


def _axes(lay: dict, kind: str) -> list[str]:
    """The names of a layout's axes of ``kind`` (``xaxis``: xaxis, xaxis2, ...)."""
    return [k for k in lay if k == kind or (k.startswith(kind) and k[len(kind):].isdigit())]


def _kind(share: bool) -> str:
    """The table format of a metric's value: a share as a percentage, else two decimals."""
    return "pct" if share else "num2"


def _table(fig: go.Figure, d: pd.DataFrame, columns: list[tuple[str, str, str]]) -> go.Figure:
    """The rows the chart plots, as its text alternative (``reports.figure_table.attach``)."""
    return figure_table.attach(fig, d, columns)


def sessions_bar(t: pd.DataFrame) -> go.Figure:
    d = t.sort_values("month_start")
    not_att = d["sessions"] - d["attended"]
    data = [
        {"type": "bar", "x": d["month_start"], "y": d["attended"], "name": "attended", "marker": {"color": theme.BLUE},
         "customdata": d[["sessions", "n_children"]],
         "hovertemplate": "%{x|%b %Y}<br>attended: %{y:,}<br>scheduled: %{customdata[0]:,}"
                          "<br>n children: %{customdata[1]:,}<extra></extra>"},
        {"type": "bar", "x": d["month_start"], "y": not_att, "name": "not attended",
         "marker": {"color": theme.LIGHT_GREY}, "customdata": d[["sessions"]],
         "hovertemplate": "%{x|%b %Y}<br>not attended: %{y:,}<br>scheduled: %{customdata[0]:,}<extra></extra>"}]
    fig = theme.figure(data, theme.merge(theme.layout("Sessions per month", y="Sessions (count)", height=320),
                                         {"barmode": "stack"}, MONTH_AXIS))
    d = d.assign(not_attended=not_att)
    return _table(fig, d, [("month_start", "Month", "month"), ("sessions", "Scheduled sessions", "int"),
                           ("attended", "Attended", "int"), ("not_attended", "Not attended", "int"),
                           ("n_children", "Children", "int")])


def trend_line(t: pd.DataFrame, metric: str, spec: tuple[str, str, str, bool] | None = None) -> go.Figure:
    """One metric per month (``spec``: its labels when it is not one of ``TREND_METRICS``, e.g.
    ``measure_spec`` for mean_value)."""
    label, axis, ncol, share = spec or TREND_METRICS[metric]
    d = t.sort_values("month_start")
    data = []
    ci_cols = CI_COLUMNS.get(metric)
    if ci_cols and set(ci_cols) <= set(d.columns):
        data.append(ci_band(d["month_start"], d[ci_cols[0]], d[ci_cols[1]],
                            name=ci_name(settings.get().comparison.confidence)))
    fmt = ".1%" if share else ".2f"
    partial = d["partial"].fillna(False).astype(bool) if "partial" in d.columns else pd.Series(False, index=d.index)
    data.append({"type": "scatter", "x": d["month_start"], "y": d[metric], "mode": "lines+markers", "name": label,
                 "line": {"color": theme.BLUE, "width": 2}, "customdata": d[[ncol]],
                 "marker": {"symbol": ["circle-open" if p else "circle" for p in partial], "size": 8},
                 "hovertemplate": f"%{{x|%b %Y}}<br>{label}: %{{y:{fmt}}}<br>n = %{{customdata[0]:,}} "
                                  f"{N_LABEL[ncol]}<extra></extra>"})
    lay = theme.layout(f"{label} per month", y=axis, height=320)
    if share:
        theme.merge(lay, SHARE_AXIS)
    elif metric == "mean_engagement":
        theme.merge(lay, {"yaxis": {"range": ENGAGEMENT_RANGE}})
    fig = theme.figure(data, theme.merge(lay, {"showlegend": metric in CI_COLUMNS}, MONTH_AXIS))
    cols = [("month_start", "Month", "month"), (metric, label, _kind(share))]
    if ci_cols and set(ci_cols) <= set(d.columns):
        ci = ci_name(settings.get().comparison.confidence)
        cols += [(ci_cols[0], f"{ci} low", "num2"), (ci_cols[1], f"{ci} high", "num2")]
    cols += [(ncol, f"n ({N_LABEL[ncol]})", "int")]
    if partial.any():  # a month the period covers only in part: hollow, and said in the table
        d = d.assign(partial_text=partial.map({True: "yes", False: ""}))
        cols += [("partial_text", "Partial month", "text")]
    return _table(fig, d, cols)


def small_multiples(t: pd.DataFrame, by: str, metric: str, order: list[str] | None = None,
                    spec: tuple[str, str, str, bool] | None = None) -> go.Figure:
    label, axis, ncol, share = spec or TREND_METRICS[metric]
    d = t.dropna(subset=[by]).sort_values([by, "month_start"]).copy()
    present = _present(d[by])
    groups = [g for g in (order or (theme.MODALITY_ORDER if by == "modality" else [])) if g in present]
    groups += sorted(g for g in d[by].astype(str).unique() if g not in groups)
    d["n_label"] = d[ncol].fillna(0).astype(int).map(lambda n: f"{n:,} {N_LABEL[ncol]}")
    data, lay, first_col = _facets(d, by, metric, axis, groups)
    key = d[by].astype(str).to_numpy()
    for trace in data:  # the points of each group, as plotly express copies them
        sub = d[key == trace["legendgroup"]]
        trace.update(x=sub["month_start"].to_numpy(), y=sub[metric].to_numpy(), customdata=sub[["n_label"]].to_numpy())
    fmt = ".1%" if share else ".2f"
    xs, ys = _axes(lay, "xaxis"), _axes(lay, "yaxis")
    n_rows = (len(groups) + 1) // 2
    x_upd = {"tickformat": "%b %y", "dtick": "M1" if d["month_start"].nunique() <= 6 else "M3", "title": {"text": ""}}
    y_upd = {"tickformat": ".0%"} if share else {"range": ENGAGEMENT_RANGE} if metric == "mean_engagement" else {}
    fig = _rebuilt(
        {"data": data, "layout": lay}, f"%{{x|%b %Y}}<br>{label}: %{{y:{fmt}}}<br>n = %{{customdata[0]}}<extra></extra>",
        {"annotations": [{**a, "text": a["text"].split("=")[-1]} for a in lay.get("annotations", [])]},
        theme.on_axes(theme.layout(f"{label} per month, by {GROUP_LABEL.get(by, by).lower()}",
                                   height=220 * max(n_rows, 1) + 80), xs, ys),
        {"showlegend": False}, dict.fromkeys(xs, x_upd), dict.fromkeys(ys, {"title": {"text": ""}}),
        dict.fromkeys(first_col, {"title": {"text": axis}}), dict.fromkeys(ys, y_upd))
    d[by] = pd.Categorical(d[by].astype(str), categories=groups, ordered=True)
    return _table(fig, d.sort_values([by, "month_start"]),
                  [(by, GROUP_LABEL.get(by, by), "text"), ("month_start", "Month", "month"),
                   (metric, label, _kind(share)), (ncol, f"n ({N_LABEL[ncol]})", "int")])


GRID_METRICS: dict[str, tuple[str, str, bool]] = {
    "mean_engagement": ("Mean engagement", "engagement (1–5)", False),
    "share_goals_at_expected": ("Goals at/above expected", "share of goals", True),
    "attendance_rate": ("Attendance rate", "share of scheduled sessions", True),
}


def grid_heatmap(g: pd.DataFrame, metric: str, modalities: list[str], ages: list[str],
                 min_n: int | None = None, spec: tuple[str, str, bool] | None = None) -> go.Figure:
    """Modality x age group heatmap of one metric; each cell shows its value and n children.

    Cells under the minimum n are drawn grey with their n (not hidden): too few children
    to read a figure from them. ``spec`` (label, unit, is a share): a metric not in ``GRID_METRICS``.
    """
    label, unit, share = spec or GRID_METRICS[metric]
    mods_present, ages_present = _present(g["modality"]), _present(g["age_group"])
    rows = [m for m in modalities if m in mods_present] or sorted(g["modality"].unique())
    cols = [a for a in ages if a in ages_present]
    cols += sorted(a for a in g["age_group"].unique() if a not in cols)
    idx = g.set_index(["modality", "age_group"])
    z, zgrey, text, hover = [], [], [], []
    for m in rows:
        zr, gr, tr, hr = [], [], [], []
        for a in cols:
            if (m, a) not in idx.index:
                zr.append(None), gr.append(1), tr.append("no sessions"), hr.append(f"{m}, age {a}: no sessions")
                continue
            r = idx.loc[(m, a)]
            v = r.get(metric)
            n_raw = r.get("n_children")
            hidden = bool(r.get("suppressed", False))  # de-identified practice figures: a small cell
            n = 0 if n_raw is None or pd.isna(n_raw) else int(n_raw)
            low = bool(r.get("below_min_n"))
            vtxt = "–" if v is None or pd.isna(v) else (f"{100 * v:.0f}%" if share else f"{v:.2f}")
            extra = ""
            if metric == "share_goals_at_expected" and "n_goals" in r.index and not pd.isna(r.get("n_goals")):
                extra = f"<br>{int(r['n_goals'])} goals"
            if hidden:
                zr.append(None), gr.append(1)
                tr.append("hidden")
                hr.append(f"{m}, age {a}<br>too few children to show without identifying them")
            elif low:
                zr.append(None), gr.append(1)
                tr.append(f"n={n}<br>(too few)")
                hr.append(f"{m}, age {a}<br>{n} children: below the minimum"
                          f"{f' of {min_n}' if min_n else ''}, not estimated")
            else:
                zr.append(None if vtxt == "–" else float(v)), gr.append(None)
                tr.append(f"{vtxt}<br>n={n}")
                sess = r.get("n_sessions")
                hr.append(f"{m}, age {a}<br>{label}: {vtxt}<br>n = {n} children, "
                          f"{0 if sess is None or pd.isna(sess) else int(sess):,} sessions{extra}")
        z.append(zr), zgrey.append(gr), text.append(tr), hover.append(hr)
    data = [{"type": "heatmap", "z": zgrey, "x": cols, "y": rows,
             "colorscale": [[0, theme.BELOW_MIN_N_COLOR], [1, theme.BELOW_MIN_N_COLOR]],
             "showscale": False, "text": text, "texttemplate": "%{text}", "hovertext": hover,
             "hovertemplate": "%{hovertext}<extra></extra>", "xgap": 3, "ygap": 3,
             "textfont": {"color": "#555555", "size": 12}}]
    # the colour spans the cells' own range so differences show (at least 0.5 points or 10
    # percentage points, so near-equal cells do not look far apart); every cell prints its value
    vals = [v for r in z for v in r if v is not None]
    zmin, zmax = (min(vals), max(vals)) if vals else (0.0, 1.0)
    min_span = 0.10 if share else 0.5
    if zmax - zmin < min_span:
        mid = (zmax + zmin) / 2
        zmin, zmax = mid - min_span / 2, mid + min_span / 2
    data.append({"type": "heatmap", "z": z, "x": cols, "y": rows, "colorscale": theme.SEQUENTIAL, "zmin": zmin,
                 "zmax": zmax, "text": text, "texttemplate": "%{text}", "hovertext": hover,
                 "hovertemplate": "%{hovertext}<extra></extra>", "textfont": {"size": 12}, "xgap": 3, "ygap": 3,
                 "colorbar": {"title": {"text": unit}, "tickformat": ".0%" if share else ".2f", "nticks": 5}})
    fig = theme.figure(data, theme.merge(
        theme.layout(f"{label} by modality and age group", x="Age group (years)", y="Modality",
                     height=110 + 70 * len(rows)),
        {"xaxis": {"type": "category", "side": "bottom", "showgrid": False},
         "yaxis": {"type": "category", "autorange": "reversed", "showgrid": False}}))
    grid = pd.DataFrame([[c.replace("<br>", " · ") for c in tr] for tr in text], columns=cols)
    grid.insert(0, "_modality", rows)
    return _table(fig, grid, [("_modality", "Modality", "text")] + [(a, f"Age {a}", "text") for a in cols])


def group_trends(t: pd.DataFrame, by: str, metric: str, groups: list[str],
                 spec: tuple[str, str, str, bool] | None = None) -> go.Figure:
    """One line per group over months (colours as everywhere)."""
    label, axis, ncol, share = spec or TREND_METRICS[metric]
    d = t.dropna(subset=[by]).sort_values("month_start").copy()
    d["n_label"] = d[ncol].fillna(0).astype(int).map(lambda n: f"{n:,} {N_LABEL[ncol]}")
    present = _present(d[by])
    order = [g for g in groups if g in present] + sorted(present - set(groups))
    cmap = theme.color_map(by, order)
    fmt = ".1%" if share else ".2f"
    hover = f"%{{customdata[1]}} · %{{x|%b %Y}}<br>{label}: %{{y:{fmt}}}<br>n = %{{customdata[0]}}<extra></extra>"
    updates = (theme.layout(f"{label} per month by {GROUP_LABEL.get(by, by).lower()}", y=axis, height=360,
                            legend_title=GROUP_LABEL.get(by, by)),
               MONTH_AXIS, SHARE_AXIS if share else
               {"yaxis": {"range": ENGAGEMENT_RANGE}} if metric == "mean_engagement" else {})
    if all(g in cmap for g in order):
        # the traces and layout px.line(color=by, markers=True, ...) makes, built directly
        key = d[by].to_numpy()
        data = []
        for g in order:
            sub = d[key == g]
            data.append({"type": "scatter", "customdata": sub[["n_label", by]].to_numpy(), "hovertemplate": hover,
                         "legendgroup": g, "line": {"color": cmap[g], "dash": "solid"}, "marker": {"symbol": "circle"},
                         "mode": "lines+markers", "name": g, "orientation": "v", "showlegend": True,
                         "x": sub["month_start"].to_numpy(), "xaxis": "x", "y": sub[metric].to_numpy(), "yaxis": "y"})
        fig = theme.figure(data, theme.merge(
            {"xaxis": {"anchor": "y", "domain": [0.0, 1.0], "title": {"text": "month_start"}},
             "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "title": {"text": metric}},
             "legend": {"title": {"text": by}, "tracegroupgap": 0}, "margin": {"t": 60}}, *updates))
    else:  # a group without a colour of its own: plotly express's colour cycle
        import plotly.express as px

        fig = _rebuilt(px.line(d, x="month_start", y=metric, color=by, markers=True, category_orders={by: order},
                               color_discrete_map=cmap, custom_data=["n_label", by]), hover, *updates)
    d[by] = pd.Categorical(d[by].astype(str), categories=[str(g) for g in order], ordered=True)
    return _table(fig, d.sort_values([by, "month_start"]),
                  [(by, GROUP_LABEL.get(by, by), "text"), ("month_start", "Month", "month"),
                   (metric, label, _kind(share)), (ncol, f"n ({N_LABEL[ncol]})", "int")])


MAX_BOX_POINTS = 3000


def box_stats(values: np.ndarray) -> dict[str, float]:
    """What plotly.js draws for a box of ``values`` (its default ``quartilemethod="linear"``):
    the quartiles by linear interpolation at rank ``n p - 0.5`` (0-based, clipped to the ends;
    Hyndman & Fan 1996 type 5, numpy's ``method="hazen"``, plotly.js ``Lib.interp``), the
    whiskers at the furthest values within 1.5 IQR of the box (Tukey 1977), never inside it.
    Values beyond the whiskers are the outliers plotly draws as points."""
    v = np.sort(np.asarray(values, dtype=float))
    v = v[~np.isnan(v)]
    if not len(v):
        return dict.fromkeys(("q1", "median", "q3", "lowerfence", "upperfence"), np.nan)
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75], method="hazen")
    inside_lo, inside_hi = v[v >= q1 - 1.5 * (q3 - q1)], v[v <= q3 + 1.5 * (q3 - q1)]
    lf = min(q1, inside_lo[0]) if len(inside_lo) else q1
    uf = max(q3, inside_hi[-1]) if len(inside_hi) else q3
    return {"q1": float(q1), "median": float(med), "q3": float(q3), "lowerfence": float(lf), "upperfence": float(uf)}


def distribution_box(d: pd.DataFrame, value: str, by: str, groups: list[str], title: str, axis: str,
                     hover_cols: list[str]) -> go.Figure:
    """A box per group, every point shown (one per child or goal) while there are at most
    ``MAX_BOX_POINTS`` in all; above that each box drawn from its summary (``box_stats``, what
    plotly.js computes from the points) with only the outliers sent, as ``boxpoints="outliers"``
    shows them: the same picture without tens of thousands of points. n in the labels."""
    order = _order(d[by], groups)
    counts = d.groupby(by)[value].count()
    data = []
    cmap = theme.color_map(by, order)
    template = ("<br>".join(f"{c}: %{{customdata[{i}]}}" for i, c in enumerate(hover_cols))
                + f"<br>{axis}: %{{y}}")
    if len(d) <= MAX_BOX_POINTS:
        for g in order:
            sub = d[d[by] == g]
            n = int(counts.get(g, 0))
            data.append({"type": "box", "y": sub[value], "name": f"{g}<br>n={n}",
                         "marker": {"color": cmap.get(g, theme.GREY)}, "boxpoints": "all", "jitter": 0.4,
                         "pointpos": 0, "customdata": sub[hover_cols], "line": {"width": 1.5},
                         "hovertemplate": template + f"<extra>{g}, n={n}</extra>"})
    else:
        key = d[by].astype(str).to_numpy()
        vals = pd.to_numeric(d[value], errors="coerce").to_numpy(dtype=float)
        for g in order:
            n = int(counts.get(g, 0))
            mask = key == str(g)
            st, v = box_stats(vals[mask]), vals[mask]
            out = d[mask][(v < st["lowerfence"]) | (v > st["upperfence"])]
            hover = ["<br>".join(f"{c}: {x}" for c, x in zip(hover_cols, r)) for r in out[hover_cols].to_numpy()]
            name = f"{g}<br>n={n}"
            data.append({"type": "box", "x": [name], "name": name, "q1": [st["q1"]], "median": [st["median"]],
                         "q3": [st["q3"]], "lowerfence": [st["lowerfence"]], "upperfence": [st["upperfence"]],
                         "y": [out[value].tolist()], "hovertext": [hover], "marker": {"color": cmap.get(g, theme.GREY)},
                         "boxpoints": "all", "jitter": 0.4, "pointpos": 0, "line": {"width": 1.5},
                         "hovertemplate": f"%{{hovertext}}<br>{axis}: %{{y}}<extra>{g}, n={n}</extra>"})
    fig = theme.figure(data, theme.merge(theme.layout(title, x=GROUP_LABEL.get(by, by), y=axis, height=380),
                                         {"showlegend": False}))
    # the table summarises each box (every point is one child or goal: the points stay in the chart)
    v = d.assign(_g=d[by].astype(str)).groupby("_g")[value]
    summary = pd.DataFrame({"n": v.count(), "median": v.median(), "q1": v.quantile(0.25), "q3": v.quantile(0.75),
                            "lo": v.min(), "hi": v.max()}).reindex([str(g) for g in order]).reset_index(names="_g")
    return _table(fig, summary, [("_g", GROUP_LABEL.get(by, by), "text"), ("n", "n", "int"),
                                 ("median", f"Median {axis}", "num2"), ("q1", "Lower quartile", "num2"),
                                 ("q3", "Upper quartile", "num2"), ("lo", "Lowest", "num2"), ("hi", "Highest", "num2")])


def gas_level_bars(d: pd.DataFrame, by: str, groups: list[str], level_col: str = "last_level") -> go.Figure:
    """Share of goals at each latest GAS level, one stacked bar per group (n goals in the labels)."""
    order = _order(d[by], groups)
    counts = d.groupby([by, level_col]).size().rename("n").reset_index()
    totals = d.groupby(by).size()
    data = []
    for level in sorted(theme.GAS_LEVEL_COLORS):
        sub = counts[counts[level_col] == level].set_index(by)
        n = [int(sub["n"].get(g, 0)) for g in order]
        share = [k / totals.get(g, 1) for k, g in zip(n, order)]
        if not any(n):
            continue
        data.append({"type": "bar", "x": [f"{g}<br>n={int(totals.get(g, 0))}" for g in order], "y": share,
                     "name": theme.GAS_LEVEL_LABELS[level], "marker": {"color": theme.GAS_LEVEL_COLORS[level]},
                     "customdata": list(zip(n, [int(totals.get(g, 0)) for g in order])),
                     "hovertemplate": f"{theme.GAS_LEVEL_LABELS[level]}<br>%{{y:.0%}} of goals "
                                      "(%{customdata[0]} of %{customdata[1]})<extra></extra>"})
    fig = theme.figure(data, theme.merge(
        {"barmode": "stack"},
        theme.layout(f"Latest GAS level of each goal, by {GROUP_LABEL.get(by, by).lower()}",
                     x=GROUP_LABEL.get(by, by), y="Share of goals (%)", height=400, legend_title="GAS level"),
        {"yaxis": {"tickformat": ".0%", "range": [0, 1]}}))
    wide = counts.pivot_table(index=by, columns=level_col, values="n", aggfunc="sum", fill_value=0)
    tbl = pd.DataFrame({"_g": [str(g) for g in order], "_n": [int(totals.get(g, 0)) for g in order]})
    cols = [("_g", GROUP_LABEL.get(by, by), "text"), ("_n", "Goals", "int")]
    for level in sorted(theme.GAS_LEVEL_COLORS):
        if level in wide.columns and wide[level].sum():
            k = [int(wide[level].get(g, 0)) for g in order]
            tbl[f"_l{level}"] = [f"{cell(n / t if t else float('nan'), 'pct')} ({n})" for n, t in zip(k, tbl["_n"])]
            cols.append((f"_l{level}", theme.GAS_LEVEL_LABELS[level], "text"))
    return _table(fig, tbl, cols)


def forest(rows: pd.DataFrame, x_title: str, title: str, confidence: float) -> go.Figure:
    """Forest plot: one row per group (label), estimate with its ``confidence`` interval, n at the right.

    ``rows`` has label, section, mean_diff, ci_lo, ci_hi, n_children, n_sessions, estimated,
    reason, color. Groups that were not estimated are listed with their n and the reason.
    """
    d = rows.reset_index(drop=True)
    labels = list(d["label"])
    data = []
    est = d[d["estimated"].astype(bool) & d["mean_diff"].notna()]
    if not est.empty:
        data.append({
            "type": "scatter", "x": est["mean_diff"], "y": est["label"], "mode": "markers",
            "marker": {"size": 11, "color": list(est["color"]), "symbol": "square",
                       "line": {"width": 1, "color": "white"}},
            "error_x": {"type": "data", "symmetric": False, "array": est["ci_hi"] - est["mean_diff"],
                        "arrayminus": est["mean_diff"] - est["ci_lo"], "color": "#444444", "thickness": 1.5,
                        "width": 5},
            "customdata": est[["ci_lo", "ci_hi", "n_children", "n_sessions"]],
            "hovertemplate": "%{y}<br>difference %{x:+.2f} (" + ci_name(confidence)
                             + " %{customdata[0]:+.2f} to %{customdata[1]:+.2f})"
                             "<br>n = %{customdata[2]} children, %{customdata[3]} sessions<extra></extra>",
            "showlegend": False})
    not_est = d[~d.index.isin(est.index)]
    if not not_est.empty:
        data.append({"type": "scatter", "x": [0] * len(not_est), "y": not_est["label"], "mode": "markers",
                     "showlegend": False, "marker": {"size": 9, "color": theme.LIGHT_GREY, "symbol": "circle-open"},
                     "customdata": not_est[["n_children", "reason"]],
                     "hovertemplate": "%{y}<br>not estimated: %{customdata[1]}<br>n = %{customdata[0]} children"
                                      "<extra></extra>"})
    shown = d["estimated"].astype(bool) & d["mean_diff"].notna()
    n_txt = "n=" + d["n_children"].astype(int).astype(str) + np.where(shown, "", " · not estimated")
    fig = theme.figure(data, theme.merge(
        {"annotations": [{"x": 1.0, "xref": "paper", "xanchor": "left", "y": lab, "text": txt, "showarrow": False,
                          "font": {"size": 11, "color": "#333333"}} for lab, txt in zip(d["label"], n_txt)],
         "shapes": [theme.vline(0, {"color": theme.BLACK, "width": 1, "dash": "dot"})]},
        theme.layout(title, x=x_title, height=90 + 30 * len(labels)),
        {"yaxis": {"type": "category", "categoryorder": "array", "categoryarray": labels[::-1],
                   "title": {"text": ""}, "showgrid": True, "gridcolor": "#F0F0F0"},
         "margin": {"r": 130}}))  # room for the n at the right; the top margin is the title's (theme.layout)
    ci = ci_name(confidence)
    tbl = d.assign(_note=np.where(shown, "", "not estimated: " + d["reason"].fillna("").astype(str)),
                   mean_diff=d["mean_diff"].where(shown), ci_lo=d["ci_lo"].where(shown), ci_hi=d["ci_hi"].where(shown))
    return _table(fig, tbl, [("label", "Group", "text"), ("mean_diff", x_title, "signed2"),
                             ("ci_lo", f"{ci} low", "signed2"), ("ci_hi", f"{ci} high", "signed2"),
                             ("n_children", "n children", "int"), ("n_sessions", "n sessions", "int"),
                             ("_note", "Note", "text")])


def paired_differences(p: pd.DataFrame, by: str, groups: list[str], x_title: str) -> go.Figure:
    """One point per child: its child-led minus directed difference, by group (colour = modality)."""
    d = p.dropna(subset=["diff"]).copy()
    order = _order(d[by], groups)
    mods_present = _present(d["modality"])
    mods = [m for m in theme.MODALITY_ORDER if m in mods_present] + sorted(mods_present - set(theme.MODALITY_ORDER))
    counts = d.groupby(by).size()
    d["group_label"] = d[by].map(lambda g: f"{g} (n={int(counts.get(g, 0))})")
    cols = ["child_id", "n_child_led", "n_directed", "mean_child_led", "mean_directed"] + \
        (["nap"] if "nap" in d.columns else [])
    labels = [f"{g} (n={int(counts.get(g, 0))})" for g in order]
    hover = ("%{customdata[0]}: %{x:+.2f}<br>child-led mean %{customdata[3]:.2f} (n=%{customdata[1]})"
             "<br>directed mean %{customdata[4]:.2f} (n=%{customdata[2]})")
    if "nap" in d.columns:
        hover += "<br>NAP %{customdata[5]:.2f}"
    hover += "<extra></extra>"
    updates = ({"shapes": [theme.vline(0, {"color": theme.BLACK, "width": 1, "dash": "dot"})]},
               theme.layout(f"Each child's difference, child-led − directed (n = {len(d)} children)", x=x_title,
                            y=GROUP_LABEL.get(by, by), height=140 + 60 * len(order), legend_title="Modality"))
    marker = {"size": 8, "opacity": 0.8}
    if all(m in theme.MODALITY_COLORS for m in mods) and set(d["group_label"]) <= set(labels):
        # the traces and layout px.strip(color="modality", stripmode="overlay", ...) makes, built directly
        key = d["modality"].to_numpy()
        data = []
        for m in mods:
            sub = d[key == m]
            data.append({"type": "box", "alignmentgroup": "True", "boxpoints": "all",
                         "customdata": sub[cols].to_numpy(), "fillcolor": "rgba(255,255,255,0)", "hoveron": "points",
                         "hovertemplate": hover, "legendgroup": m, "line": {"color": "rgba(255,255,255,0)"},
                         "marker": {"color": theme.MODALITY_COLORS[m], **marker}, "name": m, "offsetgroup": m,
                         "orientation": "h", "pointpos": 0, "showlegend": True, "x": sub["diff"].to_numpy(),
                         "x0": " ", "xaxis": "x", "y": sub["group_label"].to_numpy(), "y0": " ", "yaxis": "y"})
        fig = theme.figure(data, theme.merge(
            {"xaxis": {"anchor": "y", "domain": [0.0, 1.0], "title": {"text": "diff"}},
             "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "title": {"text": "group_label"},
                       "categoryorder": "array", "categoryarray": labels[::-1]},
             "legend": {"title": {"text": "modality"}, "tracegroupgap": 0}, "margin": {"t": 60},
             "boxmode": "overlay"}, *updates))
    else:  # a modality without a colour of its own: plotly express's colour cycle
        import plotly.express as px

        fig = _rebuilt(px.strip(d, x="diff", y="group_label", color="modality", custom_data=cols,
                                category_orders={"group_label": labels, "modality": mods},
                                color_discrete_map=theme.MODALITY_COLORS, stripmode="overlay"),
                       hover, *updates, marker=marker)
    d[by] = pd.Categorical(d[by].astype(str), categories=[str(g) for g in order], ordered=True)
    cols_t = [(by, GROUP_LABEL.get(by, by), "text"), ("child_id", "Child", "id"), ("modality", "Modality", "text"),
              ("diff", x_title, "signed2"), ("mean_child_led", "Child-led mean", "num2"),
              ("n_child_led", "n child-led", "int"), ("mean_directed", "Directed mean", "num2"),
              ("n_directed", "n directed", "int")] + ([("nap", "NAP", "num2")] if "nap" in d.columns else [])
    return _table(fig, d.sort_values([by, "diff"]), cols_t)


def child_timeline(t: pd.DataFrame, child_id: str) -> go.Figure:
    """Engagement of each attended session (colour = approach); sessions that did not happen as
    markers along the bottom (symbol = reason)."""
    d = t.sort_values("session_date")
    att = d[d["attended"].astype(bool)]
    data = []
    rated = att.dropna(subset=["engagement"])
    if not rated.empty:
        data.append({"type": "scatter", "x": rated["session_date"], "y": rated["engagement"], "mode": "lines",
                     "showlegend": False, "line": {"color": theme.LIGHT_GREY, "width": 1}, "hoverinfo": "skip"})
    for ap in theme.APPROACH_ORDER + sorted(set(att["approach"]) - set(theme.APPROACH_ORDER)):
        sub = rated[rated["approach"] == ap]
        if sub.empty:
            continue
        data.append({"type": "scatter", "x": sub["session_date"], "y": sub["engagement"], "mode": "markers",
                     "name": f"{ap} (n={len(sub)})",
                     "marker": {"color": theme.APPROACH_COLORS.get(ap, theme.GREY), "size": 10,
                                "line": {"width": 1, "color": "white"}},
                     "customdata": sub[["approach", "therapist_id", "modality"]],
                     "hovertemplate": "%{x|%a %d %b %Y}<br>engagement %{y} (1–5)<br>%{customdata[0]} · "
                                      "%{customdata[2]} · %{customdata[1]}<extra></extra>"})
    missed = d[~d["attended"].astype(bool)]
    for kind in list(theme.ATTENDANCE_SYMBOLS) + sorted(set(missed["attendance"]) - set(theme.ATTENDANCE_SYMBOLS)):
        sub = missed[missed["attendance"] == kind]
        if sub.empty:
            continue
        data.append({"type": "scatter", "x": sub["session_date"], "y": [0.45] * len(sub), "mode": "markers",
                     "name": f"{kind} (n={len(sub)})",
                     "marker": {"symbol": theme.ATTENDANCE_SYMBOLS.get(kind, "circle-open"), "size": 10,
                                "color": theme.ATTENDANCE_COLOR, "line": {"width": 1.5}},
                     "customdata": sub[["attendance"]],
                     "hovertemplate": "%{x|%a %d %b %Y}<br>%{customdata[0]}: not attended<extra></extra>"})
    n_att, n_all = len(att), len(d)
    fig = theme.figure(data, theme.merge(
        theme.layout(f"{child_id}: engagement per session ({n_att} attended of {n_all} scheduled)",
                     x="Session date", y="Engagement (1–5)", height=360, legend_title=""),
        {"yaxis": {"range": [0.2, 5.3], "tickvals": [0.45, 1, 2, 3, 4, 5],
                   "ticktext": ["not attended", "1", "2", "3", "4", "5"]},
         "height": 400}))
    cols = [("session_date", "Session date", "date"), ("attendance", "Attendance", "text"),
            ("approach", "Approach", "text"), ("engagement", "Engagement (1–5)", "int"),
            ("therapist_id", "Therapist", "id"), ("modality", "Modality", "text")]
    return _table(fig, d, [c for c in cols if c[0] in d.columns])


def gas_t_chart(t: pd.DataFrame, child_id: str) -> go.Figure:
    d = t.sort_values(t.columns[0])
    xcol = "review_month" if "review_month" in d.columns else d.columns[0]
    fig = go.Figure()
    fig.add_hline(y=50, line={"color": theme.EXPECTED_LINE, "width": 1.2, "dash": "dash"},
                  annotation_text="50 = goals met as expected", annotation_position="bottom right",
                  annotation_font={"size": 11})
    extra = d[["n_goals"]].copy()
    extra["chg"] = d["change_from_first"] if "change_from_first" in d else float("nan")
    fig.add_scatter(x=d[xcol], y=d["t_score"], mode="lines+markers", line={"color": theme.BLUE, "width": 2},
                    marker={"size": 8}, customdata=extra, showlegend=False,
                    hovertemplate="%{x|%b %Y}<br>GAS T-score %{y:.1f}<br>n = %{customdata[0]} goals"
                                  "<br>change from first: %{customdata[1]:+.1f}<extra></extra>")
    theme.style(fig, f"{child_id}: GAS T-score by review month", x="Review month", y="GAS T-score", height=300)
    lo, hi = float(d["t_score"].min()), float(d["t_score"].max())
    fig.update_yaxes(range=[min(25.0, lo - 3), max(75.0, hi + 3)])
    fig.update_xaxes(tickformat="%b %Y")
    return _table(fig, d.assign(_chg=extra["chg"]),
                  [(xcol, "Review month", "month"), ("t_score", "GAS T-score", "num1"), ("n_goals", "n goals", "int"),
                   ("_chg", "Change from first", "signed2")])

# the figures of these builders are kept between reruns (dashboard.chart_cache): no page changes one after it is built
(sessions_bar, trend_line, small_multiples, grid_heatmap, group_trends, distribution_box, gas_level_bars, forest,
 paired_differences, child_timeline) = (kept(b) for b in (sessions_bar, trend_line, small_multiples, grid_heatmap,
                                                          group_trends, distribution_box, gas_level_bars, forest,
                                                          paired_differences, child_timeline))
