"""Child progress (therapists): one child's sessions, goals, GAS T-score, approach comparison, flags."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import auth, charts, data, layout, ui
from pipelines import settings
from reports import theme
from reports.formats import cell
from stats import wording

st.title("Child progress", anchor=False)
cfg = settings.get()
expected = cfg.gas.expected_level
conf = cfg.comparison.confidence
f = ui.require_data()
Filters = data.Filters

children = ui.fetch("child_list", f)
opts = ui.options()
all_children = [str(c) for c in opts.get("children") or []]
options = [str(c) for c in children["child_id"]] if not children.empty else []

# ?child=C0042 picks the child; a new value in the address (a link, a bookmark) wins once
url_child = st.query_params.get("child")
if url_child and url_child not in all_children:
    # the same words whether the child does not exist or is outside the viewer's scope, and nothing
    # else on the page: another child's record under this warning would read as the linked child's
    if url_child != st.session_state.get("_child_url_seen"):
        st.session_state["_child_url_seen"] = url_child
        auth.log("view", page="Child progress", child_id=url_child[:64], detail={"shown": False})
    st.warning(f"Child {ui.md_escape(url_child)} from the link is not among the children you can see.",
               icon=":material/link_off:")

    def _drop_link() -> None:
        del st.query_params["child"]
    st.button("Choose one of your children", on_click=_drop_link, icon=":material/child_care:")
    st.stop()
if url_child and url_child != st.session_state.get("_child_url_seen"):
    st.session_state["_child_url_seen"] = url_child
    st.session_state["child_pick"] = url_child
current = st.session_state.get("child_pick")
outside = bool(current and current not in options and current in all_children)
if outside:
    options = [current] + options
if not options:
    ui.empty("No children match these filters. Widen the period or clear a filter in the sidebar.")
    st.stop()
if current not in options:
    st.session_state["child_pick"] = options[0]


def _labels(children: pd.DataFrame) -> dict[str, str]:
    """Picker labels for every listed child, built column-wise (the list can hold thousands)."""
    if children.empty:
        return {}
    n_flags = pd.to_numeric(children.get("n_flags", 0), errors="coerce").fillna(0).astype(int)
    flag = n_flags.map(lambda n: f" · ⚑ {n} flag{'s' if n != 1 else ''}" if n else "")
    text = (children["child_id"].astype(str) + " · " + children["modality"].astype(str) + " · "
            + children["therapist_id"].astype(str) + " · age " + children["age_group"].astype(str) + flag)
    return dict(zip(children["child_id"].astype(str), text))


labels = _labels(children)


def label(c: str) -> str:
    return labels.get(c, f"{c} (outside the current filters)")


# recorded before anything about a child is drawn (the picker's value is decided above)
auth.log_view("Child progress", child_id=st.session_state["child_pick"])
pick_row = st.container(horizontal=True, vertical_alignment="bottom")  # wraps: the toggle keeps its label
child = pick_row.selectbox(f"Child (pseudonymous id; {len(options)} in the current filters, type to search)",
                           options, key="child_pick", format_func=label, width=420)
whole = pick_row.toggle("Whole history (ignore the period)", value=True, key="child_whole",
                        help="Off: only sessions in the period chosen in the sidebar. The other sidebar filters "
                             "choose which children are listed, not which of this child's sessions are shown.")
if st.query_params.get("child") != child:
    st.query_params["child"] = child
st.session_state["_child_url_seen"] = child
if outside:
    st.caption(f"{ui.md_escape(child)} is outside the current sidebar filters and is shown because the link named "
               "them.")

fc = Filters() if whole else Filters(date_from=f.date_from, date_to=f.date_to)
st.caption("Whole history" if whole else f"Sessions from {ui.day(f.date_from)} to {ui.day(f.date_to)}")

timeline = ui.fetch("child_timeline", child, fc)
if timeline.empty:
    ui.empty(f"{ui.md_escape(child)} has no sessions in this period. Switch on *Whole history* to see all of them.")
    st.stop()

n_sched = len(timeline)
n_att = int(timeline["attended"].astype(bool).sum())
with layout.metric_row("child"):
    layout.metric_card("Sessions scheduled", f"{n_sched:,}")
    layout.metric_card("Attended", f"{n_att:,} ({n_att / n_sched:.0%})")
    layout.metric_card("Mean engagement (1–5)", ui.num(timeline["engagement"].mean(), 2),
                       help=f"n = {int(timeline['engagement'].notna().sum())} rated sessions")
    layout.metric_card("Last session", ui.day(timeline["session_date"].max()))

ui.chart(charts.child_timeline(timeline, child), key="child_timeline")

# --- goals ------------------------------------------------------------------------------------
st.subheader("Goals (GAS levels over time)", anchor=False)
ratings = ui.fetch("child_goal_ratings", child, fc)
if ratings is not None:
    if ratings.empty:
        st.info(f"No GAS ratings for {ui.md_escape(child)} in the loaded data, so goal charts and the GAS T-score "
                "are not shown.")
    else:
        st.caption(f"Dashed line: the expected level ({cell(expected, 'level')}). Point colour: the approach of the "
                   "session "
                   + ", ".join(f"{a}" for a in theme.APPROACH_ORDER) + " (as in the timeline).")
        goal_ids = list(dict.fromkeys(ratings.sort_values(["goal_id", "session_date"])["goal_id"]))
        lo_d = pd.Timestamp(timeline["session_date"].min()) - pd.Timedelta(days=7)
        hi_d = pd.Timestamp(timeline["session_date"].max()) + pd.Timedelta(days=7)
        with layout.chart_grid("goals") as grid:  # two a row where each gets 22rem, else one a row
            for i, gid in enumerate(goal_ids):
                g = ratings[ratings["goal_id"] == gid]
                domain = g["goal_domain"].dropna().iloc[0] if g["goal_domain"].notna().any() else None
                ui.chart(charts.goal_chart(g, str(gid), domain, [lo_d, hi_d], expected_level=expected),
                         key=f"goal_{i}", where=grid)
        gas_t = ui.fetch("child_gas_t", child)
        if not gas_t.empty:
            ui.chart(charts.gas_t_chart(gas_t, child), key="gas_t")

# --- approach comparison ----------------------------------------------------------------------
st.subheader("Child-led vs directed, for this child", anchor=False)
comp = ui.fetch("child_comparison", child, fc)
if comp is not None:
    n_cl, n_dir = int(comp.get("n_child_led") or 0), int(comp.get("n_directed") or 0)
    if not n_cl or not n_dir or ui.is_missing(comp.get("nap")):
        st.info(f"{ui.md_escape(child)} has {n_cl} rated child-led and {n_dir} rated directed sessions: both are "
                "needed to "
                "compare engagement between the approaches.")
    else:
        nap, lo, hi = comp.get("nap"), comp.get("nap_lo"), comp.get("nap_hi")
        mdiff = comp.get("mean_difference", comp.get("mean_diff"))
        cards = [
            ("NAP", ui.num(nap, 2), f"{conf:.0%} interval {ui.num(lo, 2)} – {ui.num(hi, 2)} (Newcombe)",
             "Non-overlap of all pairs (Parker & Vannest 2009): the share of (child-led, directed) session pairs "
             "in which the child-led session had the higher engagement (ties count half). 0.5 = no difference."),
            ("Sessions compared", f"{n_cl} · {n_dir}", "child-led · directed (rated)",
             "Attended sessions with an engagement rating, by approach."),
            ("Mean difference", "–" if ui.is_missing(mdiff) else f"{float(mdiff):+.2f}",
             "engagement points (1–5), child-led − directed", None),
            ("Tau-U", ui.num(comp.get("tau_u"), 2), "(S_AB − S_AA)/(m·n), Parker et al. 2011",
             "Non-overlap corrected for a trend in the directed sessions. No interval: this variant has no "
             "established one, and its range is not limited to −1..1."),
        ]
        with layout.metric_row("child_approach"):
            for lab, val, cap, helptext in cards:
                layout.metric_card(lab, val, help=helptext, note=cap)
        share = float(nap)
        reading = wording.difference(nap, lo, hi, null=0.5, test=None, who="this child's sessions")
        st.markdown(
            f"In **{share:.0%}** of the pairs of one child-led and one directed session, {ui.md_escape(child)}'s "
            "engagement was "
            f"higher in the child-led one (NAP {share:.2f}, {conf:.0%} interval {ui.num(lo, 2)} to {ui.num(hi, 2)}; "
            f"{n_cl} child-led and {n_dir} directed sessions). "
            + (reading.sentence if reading.kind != wording.TOO_FEW else "")
            + f"  \nTau = {ui.num(comp.get('tau'), 2)}; Tau-U \"(S_AB − S_AA)/(m·n), Parker et al. 2011\" = "
              f"{ui.num(comp.get('tau_u'), 2)}; PND = {ui.pct(comp.get('pnd'))}. "
              "Observational: the approach was chosen by the therapist, so this is not a causal effect.")

# --- flags and reliable change ------------------------------------------------------------------
st.subheader("Flags", anchor=False)
fl = ui.fetch("flags", Filters())
if fl is not None:
    mine = fl[fl["child_id"] == child] if not fl.empty else fl
    if mine.empty:
        st.success(f"No needs-attention flags for {ui.md_escape(child)}.", icon=":material/check_circle:")
    else:
        for _, r in mine.iterrows():
            sev = str(r.get("severity_label", r.get("severity", "")))
            title = r.get("title", r["flag"])
            since = f", since {ui.day(r['since'])}" if "since" in r.index and not ui.is_missing(r["since"]) else ""
            (st.error if sev == "high" else st.warning)(
                f"**{ui.md_escape(title)}** ({ui.md_escape(sev)} priority{since}): {ui.md_escape(r['reason'])}",
                icon=":material/flag:")

rc = ui.fetch("reliable_change", Filters())
if rc is not None:
    mine = rc[rc["child_id"] == child] if not rc.empty else rc
    st.subheader("Outcome measures (reliable change)", anchor=False)
    if rc.empty:
        st.caption("No standardised outcome measures in the loaded data, so reliable change is not shown.")
    elif mine.empty:
        st.caption(f"{ui.md_escape(child)} has no outcome measure given twice, so reliable change is not shown.")
    else:
        show = [c for c in ("measure", "first_date", "first_score", "last_date", "last_score", "change", "rci",
                            "reliable_change_threshold", "classification", "n_administrations") if c in mine.columns]
        st.caption("Jacobson & Truax reliable change: first against latest administration. A change larger than "
                   "the threshold (1.96 × the standard error of the difference) is unlikely to be measurement error.")
        st.dataframe(mine[show], hide_index=True, width="stretch", column_config={
            "first_date": st.column_config.DateColumn("first given", format="YYYY-MM-DD"),
            "last_date": st.column_config.DateColumn("latest", format="YYYY-MM-DD"),
            "first_score": st.column_config.NumberColumn("first score", format="%.1f"),
            "last_score": st.column_config.NumberColumn("latest score", format="%.1f"),
            "change": st.column_config.NumberColumn(format="%+.1f"),
            "rci": st.column_config.NumberColumn("RCI", format="%+.2f"),
            "reliable_change_threshold": st.column_config.NumberColumn("threshold (±)", format="%.1f"),
            "n_administrations": st.column_config.NumberColumn("n given", format="%d")})
