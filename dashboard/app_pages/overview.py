"""Practice overview (clinical leads): headline figures, monthly trends, small multiples."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, data, layout, periods, ui, uptake_charts
from access.practice import previous_whole_months
from pipelines import settings
from reports.formats import cell

st.title("Practice overview", anchor=False)
f = ui.require_data()
practice = ui.practice_view()
if practice:
    f = ui.practice_filters(f)
ui.caption_filters(f)

measure = ui.measure()                       # the outcome measure of the filter bar
meta = ui.measure_meta(measure)
pf = previous_whole_months(f) if practice else (ui.comparison() or f.previous_period())
if practice:
    k = ui.fetch_aggregate(practice, "kpis", f, measure=measure)
else:
    k = ui.fetch("kpis", f, previous=pf, measure=measure)
cur, prev = k.get("current") or {}, k.get("previous") or {}
if practice and cur.get("suppressed"):
    ui.empty(f"The practice's sessions in this selection belong to groups of fewer than {data.small_cell_min()} "
             "children, so no figure is shown. Widen the period or clear a filter in the sidebar.")
    st.stop()
if not cur.get("sessions"):
    ui.empty("No sessions match these filters. Widen the period or clear a filter in the sidebar.")
    st.stop()

has_prev = bool(prev.get("sessions"))
against = "the whole months just before" if practice else ui.comparison_words()
st.caption(
    f"Change is against {ui.day(pf.date_from)} – {ui.day(pf.date_to)} ({against})"
    + ("" if has_prev else ": no sessions then, so no change is shown"))


def delta(key: str, kind: str) -> str | None:
    """The change shown under a key number, or None (no arrow) when there is nothing to compare or
    the change rounds to zero at the precision shown."""
    a, b = cur.get(key), prev.get(key)
    if not has_prev or ui.is_missing(a) or ui.is_missing(b):
        return None
    d = float(a) - float(b)
    text = (f"{100 * d:+.1f} pp" if kind == "pct" else f"{int(round(d)):+,}" if kind == "int"
            else f"{d:+.1f}" if kind == "num1" else f"{d:+.2f}")   # num1: at the key number's own precision
    return None if text.lstrip("+-").split(" ")[0].strip("0.") == "" else text


has_gas = bool(cur.get("n_goals"))
METRICS = [
    ("Active children", ui.count(cur.get("active_children")), delta("active_children", "int"), "off",
     "Children with at least one attended session in the period.", "children with an attended session"),
    ("Sessions", ui.count(cur.get("sessions")), delta("sessions", "int"), "off",
     "Scheduled sessions in the period, attended or not.", "scheduled sessions"),
    ("Attendance rate", ui.pct(cur.get("attendance_rate"), 1), delta("attendance_rate", "pct"), "normal",
     "Attended sessions as a share of scheduled sessions.", f"n = {ui.count(cur.get('sessions'))} scheduled sessions"),
    ("Mean engagement (1–5)", ui.num(cur.get("mean_engagement"), 2), delta("mean_engagement", "num"), "normal",
     "Therapist-rated engagement of attended sessions.", f"n = {ui.count(cur.get('n_rated'))} rated sessions")
    if measure == "engagement" else
    (f"Mean {meta.label.lower()} ({meta.unit})", ui.num(cur.get("mean_value"), 2), delta("mean_value", "num"),
     "normal" if meta.higher_is_better else "inverse",
     f"{meta.label} of attended sessions, in {meta.unit}; {meta.direction} is better.",
     f"n = {ui.count(cur.get('n_values'))} sessions with a value"),
    ("Goals at or above expected", ui.pct(cur.get("share_goals_at_expected"), 0) if has_gas else "–",
     delta("share_goals_at_expected", "pct") if has_gas else None, "normal",
     f"Share of the goals rated in the period whose latest GAS level is {cell(settings.get().gas.expected_level, 'level')} "
     "(expected) or above, as of the period's end. The monthly chart counts the same way as of each month's end "
     "(a goal counts from its first rating on, at its latest rating so far), so its last point is this figure.",
     f"n = {ui.count(cur.get('n_goals'))} goals" if has_gas else "no GAS ratings in this selection"),
    ("Mean GAS T-score", ui.num(cur.get("mean_gas_t"), 1) if has_gas else "–",
     delta("mean_gas_t", "num1") if has_gas else None, "normal",
     "Mean of the children's GAS T-scores (Kiresuk & Sherman 1968), each child once, from each goal's latest "
     "rating in the period; 50 = goals met as expected on average, 10 points = one SD. The interval is "
     "mean ± t · SD / √n over children.",
     (f"{ui.num(cur.get('gas_t_ci_lo'), 1)}–{ui.num(cur.get('gas_t_ci_hi'), 1)} (95% CI), "
      f"median {ui.num(cur.get('median_gas_t'), 1)}, n = {ui.count(cur.get('n_children_gas'))} children")
     if has_gas else "no GAS ratings in this selection"),
]
with layout.metric_row("overview"):  # wraps onto more rows on a narrow page: no label or value is cut
    for label, value, d, color, helptext, n_text in METRICS:
        layout.metric_card(label, value, d, delta_color=color, help=helptext, note=n_text)
if not practice:  # episodes of care that ended in the period (children mart), planned and not apart
    planned, dropped, other = (int(cur.get(k_) or 0) for k_ in ("discharged_planned", "discharged_dropped_out",
                                                                  "discharged_other"))
    st.caption(f"Discharges in the period: {planned} planned, {dropped} dropped out"
               + (f", {other} other" if other else "") + " (children seen in the period whose episode of care ended "
               "in it; a discharged child is never flagged as a possible drop-out).")

st.subheader("Monthly trends", anchor=False)
trends = ui.fetch_aggregate(practice, "monthly_trends", f, measure=measure)
spec = None if measure == "engagement" else charts.measure_spec(meta.label, meta.unit)
outcome_metric = "mean_engagement" if measure == "engagement" else "mean_value"
if trends is not None:
    if trends.empty:
        ui.empty("No months to show for these filters.")
    else:
        trends = trends.assign(partial=periods.partial_months(trends["month_start"], f.date_from, f.date_to))
        if trends["partial"].any():
            st.caption("Hollow points are months the period covers only in part (fewer sessions, so a wider spread); "
                       "each point's n is in its hover and in the chart's table.")
        with layout.chart_grid("trends") as grid:  # two a row where each gets 22rem, else one a row
            ui.chart(charts.sessions_bar(trends), key="t_sessions", where=grid)
            ui.chart(charts.trend_line(trends, "attendance_rate"), key="t_att", where=grid)
            ui.chart(charts.trend_line(trends, outcome_metric, spec), key="t_eng", where=grid)
            if trends["n_goals"].fillna(0).sum() > 0:
                ui.chart(charts.trend_line(trends, "share_goals_at_expected"), key="t_gas", where=grid)
            if not practice:  # the child-led share per month (the Child-led vs directed page has its detail)
                uptake = ui.fetch("child_led_uptake", f)
                if not uptake.empty:
                    ui.chart(uptake_charts.uptake_chart(uptake, None), key="t_uptake", where=grid)
        if not trends["n_goals"].fillna(0).sum() > 0:
            st.info("No GAS ratings in this selection, so the goal-attainment trend is not shown.")

st.subheader("By modality and by age group", anchor=False)
metric = st.segmented_control(
    "Measure", list(charts.TREND_METRICS), default="mean_engagement", key="ov_metric",
    format_func=lambda m: (spec or charts.TREND_METRICS[m])[0] if m == "mean_engagement" else charts.TREND_METRICS[m][0])
metric = metric or "mean_engagement"
for by, label in (("modality", "modality"), ("age_group", "age group")):
    t = ui.fetch_aggregate(practice, "monthly_trends", f, by=by, measure=measure)
    if t.empty:
        ui.empty(f"No data by {label} for these filters.")
        continue
    order = None if by == "modality" else list((ui.options()).get("age_groups") or [])
    if metric == "mean_engagement":  # the outcome measure's mean
        ui.chart(charts.small_multiples(t, by, outcome_metric, order, spec), key=f"sm_{by}")
    else:
        ui.chart(charts.small_multiples(t, by, metric, order), key=f"sm_{by}")

st.markdown("**Look closer at a group** (opens *Modalities and age groups* with that filter):")
opts = ui.options()
with st.container(horizontal=True, key="group_links"):  # wraps: every link keeps its whole label
    for m in opts.get("modalities") or []:
        st.page_link(ui.PAGE_FILES["groups"], label=ui.md_escape(m), icon=":material/arrow_forward:",
                     query_params=ui.url_params(modality=[m]), width="content")
    for a in opts.get("age_groups") or []:
        st.page_link(ui.PAGE_FILES["groups"], label=f"age {ui.md_escape(a)}", icon=":material/arrow_forward:",
                     query_params=ui.url_params(age=[a]), width="content")
