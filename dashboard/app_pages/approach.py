"""Child-led vs directed: within-child comparison by modality, age group and therapist."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import streamlit as st

import analytics
from dashboard import auth, charts, data, ui, uptake_section
from pipelines import settings
from reports import theme
from stats import wording

st.title("Child-led vs directed", anchor=False)
f = ui.require_data()
practice = ui.practice_view()
if practice:  # the practice comparison is the whole practice's, by modality and by age group
    f = replace(ui.practice_filters(f), modalities=(), age_groups=())
ui.caption_filters(f)
if practice:
    st.caption("The practice's within-child comparison covers the whole practice, by modality and by age group: "
               "the modality and age group filters do not apply to it.")

cfg = settings.get().comparison
min_sessions, min_children, conf = cfg.min_sessions_per_approach, cfg.min_children, cfg.confidence

session_measure = ui.measure()               # the outcome measure of the filter bar
meta = ui.measure_meta(session_measure)
MEASURES = {
    "engagement": ("Engagement", "Difference in mean engagement, child-led − directed (points, 1–5 scale)"),
    "gas": ("GAS level", "Difference in mean GAS level, child-led − directed (levels)"),
}
if session_measure != "engagement":  # labels and units from the catalogue, never "engagement points"
    MEASURES = {session_measure: (meta.label, f"Difference in mean {meta.label.lower()}, child-led − directed "
                                              f"({meta.unit}; {meta.direction} is better)"), "gas": MEASURES["gas"]}
if st.session_state.get("ap_measure") not in MEASURES:
    st.session_state["ap_measure"] = session_measure
measure = st.segmented_control("Outcome", list(MEASURES), key="ap_measure",  # its value: the session state above
                               format_func=lambda m: MEASURES[m][0]) or session_measure
m_label, x_title = MEASURES[measure]
UNITS = {"engagement": "points", "gas": "GAS levels"}

BY = [(None, "All children"), ("modality", "Modality"), ("age_group", "Age group"), ("therapist_id", "Therapist")]
if practice:  # de-identified practice figures: no breakdown by therapist
    BY = BY[:3]
MAX_FOREST_GROUPS = 25  # beyond this a breakdown is a sortable table, not rows of a plot
blocks = []
big_blocks = []
gap = None  # the uptake section's quarterly gap, when fetched with the pairing


@st.cache_data(show_spinner=False, max_entries=50, ttl=dt.timedelta(hours=6))
def _breakdowns(_pairs: pd.DataFrame, key: tuple, by: tuple, outcome: str) -> dict:
    """Every breakdown's within-child summary from the children's pairs fetched once
    (``key`` names them: warehouse version, settings, viewer, filters, outcome): what
    ``analytics.approach_breakdowns`` computes from its own pairing, without pairing the
    children a second time for the per-child chart below."""
    return analytics.approach_summaries(_pairs, outcome, by)


# every breakdown from one pairing of the children (one cached call), which the per-child chart reuses
if practice:
    by_group = ui.fetch_aggregate(practice, "approach_breakdowns", f, outcome=measure, by=tuple(b for b, _ in BY))
else:
    if measure == "gas":
        fetched = ui.fetch("approach_gas_pairs", f)
    elif measure == session_measure:  # the uptake section's quarterly gap is of this measure: both from one query
        both = ui.fetch("approach_pairs_and_gap", f, measure=measure)
        fetched, gap = both["pairs"], both["gap"]
    else:
        fetched = ui.fetch("approach_pairs", f, measure=measure)
    _r = data.reader()
    by_group = _breakdowns(fetched, (_r.db, _r.version, data.settings_key(), auth.scope(), f, measure),
                           tuple(b for b, _ in BY), measure)
for by, section in BY:
    res = by_group[by]
    if res.empty:
        continue
    d = res.copy()
    d["section"] = section
    d["group"] = d["group"].astype(str) if "group" in d.columns else section
    d["label"] = d["group"] if by is None else section + " · " + d["group"]
    if by is None:
        d["label"] = "All children"
    if by == "modality":
        d["color"] = d["group"].map(theme.MODALITY_COLORS).fillna(theme.BLACK)
    else:
        d["color"] = theme.BLACK
    (big_blocks if len(d) > MAX_FOREST_GROUPS else blocks).append(d)

if not blocks or sum(int(b["n_children"].fillna(0).sum()) for b in blocks[:1]) == 0:
    ui.empty(f"No child in this selection had at least {min_sessions} child-led and {min_sessions} directed "
             f"sessions with a {m_label.lower()} rating, so there is nothing to compare. Widen the period "
             "(e.g. *Last 12 months*) or clear a filter.")
    st.stop()

rows = pd.concat(blocks, ignore_index=True)
big = pd.concat(big_blocks, ignore_index=True) if big_blocks else None
for col in ("reason",):
    if col not in rows:
        rows[col] = ""
rows["reason"] = rows["reason"].fillna("")
overall = rows[rows["section"] == "All children"].iloc[0]

# the plain-language reading, from the overall row
st.subheader("What the data say", anchor=False)
n_ch = 0 if pd.isna(overall["n_children"]) else int(overall["n_children"])
n_se = 0 if pd.isna(overall.get("n_sessions")) else int(overall.get("n_sessions") or 0)
reading = wording.difference(overall["mean_diff"], overall["ci_lo"], overall["ci_hi"], p=overall.get("wilcoxon_p"),
                             alpha=1 - conf, n=n_ch, min_n=min_children, estimated=bool(overall["estimated"]),
                             criterion=f"at least {min_sessions} rated sessions of each approach")
if reading.kind != wording.TOO_FEW:
    diff, lo, hi = float(overall["mean_diff"]), float(overall["ci_lo"]), float(overall["ci_hi"])
    unit = UNITS.get(measure, meta.unit)
    direction = "higher" if diff > 0 else "lower"
    if measure not in UNITS:  # a measure of the catalogue: say which way is better
        better = (diff > 0) == meta.higher_is_better
        direction += f" ({'better' if better else 'worse'}: {meta.direction} is better)"
    p_txt = wording.p_value(overall.get("wilcoxon_p"))
    st.markdown(
        f"Across **{n_ch:,} children** ({n_se:,} sessions) who had at least {min_sessions} child-led and "
        f"{min_sessions} directed sessions, {m_label.lower()} in their child-led sessions was on average "
        f"**{abs(diff):.2f} {unit} {direction}** than in their own directed sessions "
        f"({conf:.0%} CI {lo:+.2f} to {hi:+.2f})" + (f" (Wilcoxon signed-rank {p_txt})" if p_txt else "")
        + f". {reading.sentence}")
else:
    st.markdown(f"{reading.sentence} Widen the period (e.g. *Last 12 months*) or clear a filter.")
st.info(
    "**How to read this.** Each child is compared with themselves: their child-led sessions against their own "
    "directed sessions, so differences between children (age, needs, therapist) do not enter the comparison. "
    "**What it cannot show:** this is observational practice data, not a trial. Therapists chose the approach "
    "session by session, often *because* of how the child was that day, so a difference may reflect that choice "
    "rather than an effect of the approach. It is not evidence that one approach causes better engagement or "
    "progress, and it says nothing about children with few sessions of either kind. Use it to ask questions "
    "in supervision, not to set policy.", icon=":material/info:")

st.subheader("Within-child difference by group", anchor=False)
st.caption(f"Square = mean of the children's differences with its {conf:.0%} interval; n = children "
           f"(each with ≥ {min_sessions} sessions of both approaches). Groups with fewer than {min_children} "
           "children are listed but not estimated. Right of the dotted line: higher with child-led.")
estimated = rows[rows["estimated"].astype(bool)]
if len(estimated):
    # groups not estimated are listed, not drawn: a marker at zero would read as "no difference"
    ui.chart(charts.forest(estimated, x_title, f"{m_label}: child-led − directed, within child", conf),
             key="forest")
skipped = rows[~rows["estimated"].astype(bool)]
if len(skipped):
    st.caption("Not estimated (fewer than " + str(min_children) + " children): "
               + "; ".join(f"{ui.md_escape(r['label'])} "
                           f"(n = {'hidden' if pd.isna(r['n_children']) else int(r['n_children'])})"
                           for _, r in skipped.iterrows()) + ".")
show = [c for c in ("section", "group", "n_children", "n_sessions", "n_children_considered", "mean_diff", "ci_lo",
                    "ci_hi", "wilcoxon_p", "d_z", "mean_nap", "nap_ci_lo", "nap_ci_hi", "estimated", "reason")
        if c in rows.columns]
TABLE_COLUMNS = {
    "section": st.column_config.TextColumn("Breakdown"), "group": st.column_config.TextColumn("Group"),
    "n_children": st.column_config.NumberColumn("Children"), "n_sessions": st.column_config.NumberColumn("Sessions"),
    "n_children_considered": st.column_config.NumberColumn("Children considered"),
    "mean_diff": st.column_config.NumberColumn("Mean difference", format="%+.2f"),
    "ci_lo": st.column_config.NumberColumn("CI low", format="%+.2f"),
    "ci_hi": st.column_config.NumberColumn("CI high", format="%+.2f"),
    "wilcoxon_p": st.column_config.NumberColumn("Wilcoxon p", format="%.3f"),
    "d_z": st.column_config.NumberColumn("Effect size d_z", format="%.2f"),
    "mean_nap": st.column_config.NumberColumn("Mean NAP", format="%.2f"),
    "nap_ci_lo": st.column_config.NumberColumn("NAP CI low", format="%.2f"),
    "nap_ci_hi": st.column_config.NumberColumn("NAP CI high", format="%.2f"),
    "estimated": st.column_config.CheckboxColumn("Estimated"), "reason": st.column_config.TextColumn("Why not")}
with st.expander("The figures as a table"):
    st.dataframe(rows[show], hide_index=True, width="stretch", column_config=TABLE_COLUMNS)
if big is not None:
    for section, d in big.groupby("section", sort=False):
        st.markdown(f"**By {section.lower()}** ({len(d):,} groups: too many to plot; sort the table by a column)")
        st.dataframe(d[[c for c in show if c in d.columns]], hide_index=True, width="stretch",
                     key=f"big_{section}", column_config=TABLE_COLUMNS)

if practice:
    st.caption("Each child's paired difference is shown for your own children only (switch to *My children*).")
elif measure != "gas":
    st.subheader("Each child's paired difference", anchor=False)
    pairs = fetched  # the pairing the breakdowns above come from (``approach_pairs`` of this measure)
    if pairs is not None:
        n_all = len(pairs)
        if "eligible" in pairs.columns:
            pairs = pairs[pairs["eligible"].astype(bool)]
        if n_all > len(pairs):
            st.caption(f"{len(pairs):,} children with at least {min_sessions} rated sessions of each approach; "
                       f"{n_all - len(pairs):,} more had some child-led or directed sessions but too few of one "
                       "kind to compare, and are left out.")
        if pairs.empty:
            ui.empty("No child in this selection has enough sessions of both approaches.")
        else:
            row_opts = ["modality", "age_group"] + (["therapist_id"] if pairs["therapist_id"].nunique() <= MAX_FOREST_GROUPS else [])
            by = st.segmented_control("Rows", row_opts, default="modality",
                                      key="ap_pairs_by", format_func=lambda b: charts.GROUP_LABEL[b]) or "modality"
            opts = ui.options()
            groups = {"modality": theme.MODALITY_ORDER, "age_group": list(opts.get("age_groups") or []),
                      "therapist_id": list(opts.get("therapists") or [])}[by]
            ui.chart(charts.paired_differences(pairs, by, groups, x_title), key="pairs")
            with st.expander("Children in the comparison"):
                tbl = pairs.copy()
                tbl.insert(0, "page", ui.child_urls(tbl["child_id"]))
                st.dataframe(tbl, hide_index=True, width="stretch", column_config={
                    "page": st.column_config.LinkColumn("Open", display_text="open ↗"),
                    "diff": st.column_config.NumberColumn("difference", format="%+.2f"),
                    "mean_child_led": st.column_config.NumberColumn(format="%.2f"),
                    "mean_directed": st.column_config.NumberColumn(format="%.2f"),
                    "nap": st.column_config.NumberColumn("NAP", format="%.2f")})

if practice:
    st.caption("Child-led uptake is shown for your own children only (switch to *My children*).")
else:
    uptake_section.draw(f, session_measure, gap=gap)
