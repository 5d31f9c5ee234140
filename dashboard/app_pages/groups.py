"""Modalities and age groups: the modality x age group grid, distributions, trends per group."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, layout, outcomes_section, ranking, ui
from pipelines import settings
from reports import theme

st.title("Modalities and age groups", anchor=False)
f = ui.require_data()
practice = ui.practice_view()
if practice:
    f = ui.practice_filters(f)
ui.caption_filters(f)

opts = ui.options()
modalities = [m for m in theme.MODALITY_ORDER if m in (opts.get("modalities") or [])] + \
    [m for m in opts.get("modalities") or [] if m not in theme.MODALITY_ORDER]
ages = list(opts.get("age_groups") or [])
min_n = settings.get().comparison.min_children

measure = ui.measure()                       # the outcome measure of the filter bar
meta = ui.measure_meta(measure)
other = measure != "engagement"
trend_spec = charts.measure_spec(meta.label, meta.unit) if other else None
outcome = "mean_value" if other else "mean_engagement"    # the column of the measure's mean
grid = ui.fetch_aggregate(practice, "group_grid", f, measure=measure)
if grid.empty:
    ui.empty("No sessions match these filters. Widen the period or clear a filter in the sidebar.")
    st.stop()

st.subheader("Which group is worst?", anchor=False)
st.caption(f"Mean {meta.label.lower()} ({meta.unit}; {meta.direction} is better) per group in this selection, best "
           "first, with its 95% interval (child-clustered) and n. The worst is named only when its interval does not "
           f"overlap the best one's; groups with fewer than {min_n} children with a value are left out.")
for r_by, r_label, r_plural in (("modality", "modality", "modalities"), ("age_group", "age group", "age groups")):
    r_df = ui.fetch_aggregate(practice, "kpis_by", f, by=r_by, measure=measure)
    rk = ranking.rank_groups(r_df, r_by, r_label, r_plural, higher_is_better=meta.higher_is_better, min_children=min_n)
    left = f" Left out (too few children): {', '.join(rk.left_out)}." if rk.left_out else ""
    st.markdown(f"**By {r_label}:** {ui.md_escape(rk.line)}  \n{ui.md_escape(rk.verdict + left)}")

st.subheader("Modality × age group", anchor=False)
n_low = int(grid["below_min_n"].fillna(False).sum()) if "below_min_n" in grid else 0
n_hidden = int(grid["suppressed"].sum()) if "suppressed" in grid else 0
if practice:
    why = (f"{n_hidden} cell{'s are' if n_hidden != 1 else ' is'} hidden to protect the children in them: fewer "
           f"than {data.small_cell_min()} children in each month. Such groups are left out of every practice "
           "figure, totals included, so they cannot be worked out from the others." if n_hidden
           else "No cell needed hiding.")
    n_low -= n_hidden
    if n_low > 0:
        why += (f" {n_low} more grey cell{'s' if n_low != 1 else ''} rest on fewer than {min_n} children: too few "
                "for a reliable figure.")
else:
    why = (f"{n_low} grey cell{'s' if n_low != 1 else ''} rest on fewer than {min_n} "
           "children: the figure is not shown because it would not be reliable." if n_low else
           "Every cell has enough children to show its figure.")
st.caption("Each cell shows its figure and the number of children (n); the colour spans the range of the cells "
           "shown, so read the numbers before the shades. " + why)
# the outcome tab shows the chosen measure (engagement: as before)
GRID = {(outcome if m == "mean_engagement" else m): (trend_spec[0], meta.unit, False)
        if (m == "mean_engagement" and other) else spec for m, spec in charts.GRID_METRICS.items()}
tabs = st.tabs([GRID[m][0] for m in GRID])
for tab, metric in zip(tabs, GRID):
    with tab:
        if metric not in grid.columns:
            st.info(f"{GRID[metric][0]} is not in the grid data.")
        elif grid[metric].notna().sum() == 0:
            why = "no GAS ratings" if metric == "share_goals_at_expected" else "no sessions with a value"
            st.info(f"{GRID[metric][0]} is not shown: this selection has {why}.")
        else:
            ui.chart(charts.grid_heatmap(grid, metric, modalities, ages, min_n, GRID[metric]),
                     key=f"grid_{metric}")
with st.expander("The grid as a table"):
    table = grid.drop(columns=["suppressed"], errors="ignore").astype(object)
    if n_hidden:  # hidden cells say so, not "None"
        table.loc[grid["suppressed"].to_numpy(), [c for c in table.columns if c not in ("modality", "age_group")]] = \
            "hidden"
    st.dataframe(table, hide_index=True, width="stretch")

st.subheader("Distributions", anchor=False)
by = st.segmented_control("Group by", ["modality", "age_group"], default="modality", key="grp_dist_by",
                          format_func=lambda b: charts.GROUP_LABEL[b]) or "modality"
groups = modalities if by == "modality" else ages
if practice:  # de-identified practice figures: no per-child distributions
    st.caption("Per-child distributions are shown for your own children only (switch to *My children*).")
    children = goals = None
else:
    children = ui.fetch("child_list", f, measure=measure)
    goals = ui.fetch("goal_summary", f)
no_gas = "No GAS ratings in this selection, so the distribution of goal levels is not shown."
with layout.chart_grid("distributions") as grid:  # two a row where each gets 22rem, else one a row
    if children is not None and not children.empty:
        ui.chart(charts.distribution_box(
            children, "sessions", by, groups, f"Scheduled sessions per child, by {charts.GROUP_LABEL[by].lower()}",
            "Sessions per child (count)", ["child_id", "therapist_id"]), key="dist_sessions", where=grid)
        if outcome in children.columns and children[outcome].notna().any():
            title, axis = (trend_spec[0], trend_spec[1]) if other else ("Mean engagement", "Mean engagement (1–5)")
            ui.chart(charts.distribution_box(
                children.dropna(subset=[outcome]), outcome, by, groups,
                f"{title} per child, by {charts.GROUP_LABEL[by].lower()}", axis,
                ["child_id", "sessions"]), key="dist_eng", where=grid)
    if children is None:
        pass
    elif goals.empty or children.empty:
        st.info(no_gas)
    else:
        keep = [c for c in goals.columns if c not in ("modality", "age_group")]
        g = goals[keep].merge(children[["child_id", "modality", "age_group"]], on="child_id", how="inner")
        if g.empty or "last_level" not in g.columns:
            st.info(no_gas)
        else:
            ui.chart(charts.gas_level_bars(g.dropna(subset=["last_level"]), by, groups), key="dist_gas", where=grid)

st.subheader("Trends per group", anchor=False)
t_by = st.segmented_control("Lines for each", ["modality", "age_group"], default="modality", key="grp_trend_by",
                             format_func=lambda b: charts.GROUP_LABEL[b]) or "modality"
t_metric = st.segmented_control("Measure", list(charts.TREND_METRICS), default="mean_engagement",
                                 key="grp_trend_metric",
                                 format_func=lambda m: (trend_spec or charts.TREND_METRICS[m])[0]
                                 if m == "mean_engagement" else charts.TREND_METRICS[m][0]) or "mean_engagement"
t = ui.fetch_aggregate(practice, "monthly_trends", f, by=t_by, measure=measure)
if t is not None:
    if t.empty:
        ui.empty("No months to show for these filters.")
    elif t_metric == "share_goals_at_expected" and t["n_goals"].fillna(0).sum() == 0:
        st.info("No GAS ratings in this selection, so the goal-attainment trend is not shown.")
    else:
        outcome_chosen = t_metric == "mean_engagement"
        ui.chart(charts.group_trends(t, t_by, outcome if outcome_chosen else t_metric,
                                     modalities if t_by == "modality" else ages,
                                     trend_spec if outcome_chosen else None), key="grp_trend")

outcomes_section.draw(f, practice)
