"""Child progress (therapists): one child's story (issue 15). A header (modality, age group,
therapists, episode of care, attendance), one panel per goal in plain words first with its
chart (the expected level or mastery line, phase lines, met / stalled / no recent rating
marked on it), the child-led vs directed comparison in one sentence with the methods behind
"How this is computed", flags, reliable change, and the progress report download.

The period follows the sidebar unless "Whole history" is switched on. A display name,
narrative and plan typed for the report go into the downloaded file only: the file is built
when a download button is clicked (``reports.child_report``), never cached, stored or logged
(the audit event says whether a name was typed, never the name)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from access import scope as scope_mod
from analytics import child_story as cs
from dashboard import auth, charts, data, layout, ui
from dashboard.chart_cache import kept
from pipelines import settings, warehouse
from reports import child_report as cr
from reports.child_report import figures as story_figures, words as story_words
from reports import theme
from reports.formats import cell
from stats import wording

goal_figure = kept(story_figures.goal_figure)  # the report's goal chart, kept between reruns (not changed after)

PAGE = "Child progress"
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
# the count is of the filtered children: a child linked from outside them is listed first but not counted
n_listed = len(options) - outside
child = pick_row.selectbox(f"Child (pseudonymous id; {n_listed:,} in the current filters, type to search)",
                           options, key="child_pick", format_func=label, width=420)
whole = pick_row.toggle("Whole history (ignore the period)", value=False, key="child_whole",
                        help="Off (the default): only sessions in the period chosen in the sidebar. The other sidebar "
                             "filters choose which children are listed, not which of this child's sessions are shown.")
if st.query_params.get("child") != child:
    st.query_params["child"] = child
st.session_state["_child_url_seen"] = child
if outside:
    st.caption(f"{ui.md_escape(child)} is outside the current sidebar filters and is shown because the link named "
               "them.")

fc = Filters() if whole else Filters(date_from=f.date_from, date_to=f.date_to)
shows = ("Showing the whole history (the sidebar's period is ignored)" if whole else
         f"Showing the sidebar's period: sessions from {ui.day(f.date_from)} to {ui.day(f.date_to)} "
         "(switch on *Whole history* for all of them)")
st.caption(shows + " · the progress report for reviews, payers and the family is at the end of this page")

timeline = ui.fetch("child_timeline", child, fc)
if timeline.empty:
    ui.empty(f"{ui.md_escape(child)} has no sessions in this period. Switch on *Whole history* to see all of them.")
    st.stop()

# --- header: who, the episode, attendance --------------------------------------------------------
record = ui.fetch("child_record", child)
tl = timeline.sort_values("session_date", kind="stable")
therapists = list(dict.fromkeys(reversed(tl["therapist_id"].dropna().astype(str).tolist())))
age = tl["age_group"].dropna().iloc[-1] if tl["age_group"].notna().any() else "–"
if record.get("referral_date") is not None:
    episode = f"referred {ui.day(record['referral_date'])}" + (
        f", discharged {ui.day(record['discharge_date'])}" + (f" ({ui.md_escape(record.get('discharge_reason'))})"
                                                               if record.get("discharge_reason") else "")
        if record.get("discharge_date") is not None else ", not discharged")
else:
    episode = "no episode of care in the loaded data"
st.markdown(f"**{ui.md_escape(record.get('modality') or '–')}** · age group **{ui.md_escape(age)}** · "
            f"therapist{'s' if len(therapists) > 1 else ''} **{ui.md_escape(', '.join(therapists) or '–')}** · "
            f"team {ui.md_escape(record.get('team') or '–')} · episode: {episode}")
n_sched = len(timeline)
n_att = int(timeline["attended"].astype(bool).sum())
with layout.metric_row("child"):
    layout.metric_card("Sessions scheduled", f"{n_sched:,}")
    layout.metric_card("Attended", f"{n_att:,} ({n_att / n_sched:.0%})")
    layout.metric_card("Mean engagement (1–5)", ui.num(timeline["engagement"].mean(), 2),
                       help=f"n = {int(timeline['engagement'].notna().sum())} rated sessions")
    layout.metric_card("Last session", ui.day(timeline["session_date"].max()))

ui.chart(charts.child_timeline(timeline, child), key="child_timeline")

# --- goals, each in plain words first, with its chart ---------------------------------------------
st.subheader("Goals", anchor=False)
goals = ui.fetch("child_goals", child, fc)
if goals.empty:
    st.info(f"No GAS ratings and no goals for {ui.md_escape(child)} in the loaded data, so goal charts and the GAS "
            "T-score are not "
            "shown.")
else:
    obs = ui.fetch("child_goal_observations", child, fc)
    phases = ui.fetch("child_phases", child, fc)
    lo_d = pd.Timestamp(timeline["session_date"].min()) - pd.Timedelta(days=7)
    hi_d = pd.Timestamp(timeline["session_date"].max()) + pd.Timedelta(days=7)
    st.caption("Each chart: the dashed line is the expected level (or the mastery line of a trial-based goal); "
               "dotted lines mark where the approach changed or a goal started, was met or stopped; the ringed "
               "point is the goal's status. Point colour: the session's approach (child-led vermillion, directed "
               "blue, mixed grey).")
    for i, (_, g) in enumerate(goals.iterrows()):
        with st.container(border=True, key=f"goal_panel_{i}"):
            status = story_words.STATUS_WORDS.get(g["status"], str(g["status"]))
            rated = not ui.is_missing(g.get("current"))
            st.markdown(f"**{ui.md_escape(story_words.goal_sentence(g, expected))}**"
                        + (f" · *{ui.md_escape(status)}*" if rated else ""))
            st.caption(ui.md_escape(f"Trend: {story_words.trend_text(g, conf)}. Status: {g['status_reason']}."))
            if g["kind"] != "trials":
                if g["has_text"]:
                    with st.expander("What each level means"):
                        for col, lvl in cs.LEVELS:
                            if g.get(col) is not None and not ui.is_missing(g.get(col)):
                                st.markdown(f"- **{lvl:+d}**: {ui.md_escape(g[col])}".replace("+0", "0"))
                else:
                    st.caption("The goals source gives no goal text or level descriptions for this goal, so it is "
                               "shown by its id and domain.")
            if not rated:
                st.caption("Not rated in this period, so there is no chart. Switch on *Whole history* to see its "
                           "ratings.")
            else:
                ui.chart(goal_figure(g, obs, phases, expected, x_range=[lo_d, hi_d]), key=f"goal_{i}")
    gas_t = ui.fetch("child_gas_t", child)
    if not whole and not gas_t.empty:     # the review months of the period shown, like every chart here
        month_end = pd.to_datetime(gas_t["month_end"])
        keep = pd.Series(True, index=gas_t.index)
        if f.date_from is not None:
            keep &= month_end >= pd.Timestamp(f.date_from)
        if f.date_to is not None:
            keep &= month_end <= pd.Timestamp(f.date_to) + pd.offsets.MonthEnd(0)
        gas_t = gas_t[keep]
    if not gas_t.empty:
        fig_t = charts.gas_t_chart(gas_t, child)
        months = pd.to_datetime(gas_t["review_month"].astype(str), errors="coerce")
        fig_t.update_xaxes(**story_figures.date_ticks([months.min(), months.max() + pd.Timedelta(days=27)]))
        ui.chart(fig_t, key="gas_t")

# --- approach comparison ----------------------------------------------------------------------
st.subheader("Child-led vs directed, for this child", anchor=False)
comp = ui.fetch("child_comparison", child, fc)
if comp is not None:
    n_cl, n_dir = int(comp.get("n_child_led") or 0), int(comp.get("n_directed") or 0)
    if not n_cl or not n_dir or ui.is_missing(comp.get("nap")):
        st.info(f"{ui.md_escape(child)} has {n_cl} rated child-led and {n_dir} rated directed sessions: both are "
                "needed to compare engagement between the approaches.")
    elif not story_words.comparable(comp):
        st.info(f"{ui.md_escape(child)} has {n_cl} rated child-led and {n_dir} rated directed sessions: too few to "
                f"compare (at least {cfg.comparison.min_sessions_per_approach} of each are needed, as on "
                "the Child-led vs directed page).")
    else:
        nap, lo, hi = comp.get("nap"), comp.get("nap_lo"), comp.get("nap_hi")
        st.markdown(f"**{ui.md_escape(story_words.comparison_sentence(comp, child))}** "
                    "(observational: the therapist chose the approach, so this is not a causal effect.)")
        reading = wording.difference(nap, lo, hi, null=0.5, test=None, who="this child's sessions")
        with st.expander("How this is computed"):
            mdiff = comp.get("mean_difference", comp.get("mean_diff"))
            with layout.metric_row("child_approach"):
                layout.metric_card("NAP", ui.num(nap, 2), note=f"{conf:.0%} interval {ui.num(lo, 2)} – {ui.num(hi, 2)}")
                layout.metric_card("Tau-U", ui.num(comp.get("tau_u"), 2), note="no established interval")
                layout.metric_card("PND", ui.pct(comp.get("pnd")))
                layout.metric_card("Mean difference", "–" if ui.is_missing(mdiff) else f"{float(mdiff):+.2f}",
                                   note="engagement points (1–5), child-led − directed")
            st.markdown(ui.md_escape(story_words.comparison_detail(comp, conf)))
            if reading.kind != wording.TOO_FEW:
                st.markdown(reading.sentence)
            for name, what, ref in story_words.METHODS[:3]:
                st.markdown(f"**{ui.md_escape(name)}**: {ui.md_escape(what)}  \n*{ui.md_escape(ref)}*")

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
            "first_date": st.column_config.DateColumn("first given", format="D MMM YYYY"),
            "last_date": st.column_config.DateColumn("latest", format="D MMM YYYY"),
            "first_score": st.column_config.NumberColumn("first score", format="%.1f"),
            "last_score": st.column_config.NumberColumn("latest score", format="%.1f"),
            "change": st.column_config.NumberColumn(format="%+.1f"),
            "rci": st.column_config.NumberColumn("RCI", format="%+.2f"),
            "reliable_change_threshold": st.column_config.NumberColumn("threshold (±)", format="%.1f"),
            "n_administrations": st.column_config.NumberColumn("n given", format="%d")})

# --- the progress report ------------------------------------------------------------------------
st.subheader("Progress report", anchor="progress-report")
st.caption("For reviews, payers and the family: the period shown above, as HTML (opens anywhere, no network), PDF or "
           "Word. What you type here goes into the file only: it is not saved, logged or kept after you leave "
           "the page.")
rep_row = st.container(horizontal=True)
version = rep_row.segmented_control("Version", ["therapist", "family"], default="therapist", key="cr_version",
                                    help="Family: plain words, larger type, no statistics.")
typed_name = st.text_input("Child's name for the file (optional; into the file only)", key="cr_name", max_chars=80)
typed_narrative = st.text_area("Narrative (optional; into the file only)", key="cr_narrative", height=90)
typed_plan = st.text_area("Plan (optional; into the file only)", key="cr_plan", height=70)
r_from, r_to = (None, None) if whole else (f.date_from, f.date_to)
_viewer = auth.viewer()
_db_file = data.db_path()


def _report_maker(fmt: str, parent: bool, name: str, narrative: str, plan: str):
    """The file of one format, made when its button is clicked (audited first; nothing kept)."""
    event = {"what": f"child progress report ({fmt}{', family' if parent else ''})", "from": str(r_from or ""),
             "to": str(r_to or ""), "display_name_typed": bool(name.strip()),
             "narrative_typed": bool(narrative.strip() or plan.strip())}

    def run() -> bytes:
        from access import audit

        audit.record("export", _viewer.email, role=_viewer.role, page=PAGE, child_id=child, detail=event)
        con = warehouse.connect_reader(_db_file)
        try:
            scon = scope_mod.scoped(con, _viewer.scope)
            try:
                report = cr.build_report(scon, child, r_from, r_to)
            finally:
                if scon is not con:
                    scon.close()
        finally:
            con.close()
        return cr.make_bytes(report, fmt, parent=parent, display_name=name or None, narrative=narrative or None,
                             plan=plan or None)
    # the makers of this run by format, so tests (AppTest has no media server) run the same code
    st.session_state.setdefault("_export_makers", {})[f"child report {fmt}"] = run
    return run


_parent = version == "family"
_stem = f"progress_{child}_{r_from or 'all'}_{r_to or 'all'}" + ("_family" if _parent else "")
downloads = st.container(horizontal=True)
for _fmt, _label, _icon in (("html", "Report (HTML)", ":material/download:"),
                            ("pdf", "Report (PDF)", ":material/picture_as_pdf:"),
                            ("docx", "Report (Word)", ":material/description:")):
    if _fmt == "pdf" and not cr.write.chromium_available():
        downloads.download_button("PDF needs Chromium", b"", file_name=f"{_stem}.pdf", disabled=True,
                                  key="cr_dl_pdf", icon=_icon, width="content")
        continue
    downloads.download_button(
        _label, _report_maker(_fmt, _parent, typed_name or "", typed_narrative or "", typed_plan or ""),
        file_name=f"{_stem}.{_fmt}", mime=cr.MIME[_fmt], icon=_icon, key=f"cr_dl_{_fmt}", on_click="ignore",
        width="content")
