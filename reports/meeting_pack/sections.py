"""What each section of the pack shows: its summary sentences, tables (with n, intervals and the
previous period) and notes, in the order of ``SECTION_KEYS``."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from pipelines.settings import Settings
from reports.formats import day, is_missing, month, plural
from reports.meeting_pack.model import HIDDEN_TEXT, Col, MeetingPack, Section, Table
from reports.meeting_pack.suppress import small_count
from stats import wording


def _effect_sentence(e: pd.DataFrame, cfg: Settings, first_month: dt.date, d_to: dt.date) -> str:
    """The within-child comparison in one paragraph; what it means comes from ``stats.wording``."""
    if e.empty:
        return "No child had both child-led and directed sessions rated."
    r = e.iloc[0]
    span = f"{month(first_month)} – {day(d_to)}"
    if isinstance(r["n_children"], str):
        return (f"Within-child comparison, {span}: fewer than {r['n_children'][1:]} children had enough sessions "
                "of both approaches; suppressed.")
    n, reading, interval = comparison_reading(
        r, cfg, criterion=f"at least {cfg.comparison.min_sessions_per_approach} rated sessions of each approach")
    if reading.kind == wording.TOO_FEW:
        return f"Within-child comparison, {span}: {reading.sentence}"
    return (f"Within-child comparison, {span}: engagement in child-led sessions was on average "
            f"{r['mean_diff']:+.2f} points against the same children's directed sessions ({interval}), "
            f"n = {n:,} children, {int(r['n_sessions']):,} sessions. {reading.sentence} Observational: therapists "
            "chose the approach, so this is not evidence that the approach causes the difference.")


def comparison_reading(r: pd.Series, cfg: Settings, *, criterion: str,
                       higher_is_better: bool = True) -> tuple[int, wording.Reading, str]:
    """One pooled within-child comparison row (``mean_diff``, ``ci_lo``/``ci_hi``, ``wilcoxon_p``,
    ``n_children``, ``estimated``): its n of children, its reading in words
    (``wording.difference``) and the "95% CI a to b; Wilcoxon p" text."""
    c = cfg.comparison
    n = int(r["n_children"])
    reading = wording.difference(r["mean_diff"], r["ci_lo"], r["ci_hi"], p=r["wilcoxon_p"], alpha=1 - c.confidence,
                                 n=n, min_n=c.min_children, estimated=bool(r["estimated"]),
                                 higher_is_better=higher_is_better, criterion=criterion)
    p_txt = wording.p_value(r["wilcoxon_p"])
    interval = f"{c.confidence:.0%} CI {r['ci_lo']:+.2f} to {r['ci_hi']:+.2f}{'; Wilcoxon ' + p_txt if p_txt else ''}"
    return n, reading, interval


def _approach_wide(t: pd.DataFrame) -> pd.DataFrame:
    """Monthly child-led and directed engagement side by side (one row per month)."""
    cols = ["month_start"] + [f"{p}_{c}" for p in ("child_led", "directed")
                              for c in ("mean", "lo", "hi", "n", "children")]
    if t.empty:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame({"month_start": sorted(t["month_start"].unique())})
    for ap, pre in (("child-led", "child_led"), ("directed", "directed")):
        d = t[t["approach"] == ap].set_index("month_start")
        for src, dst in (("mean_engagement", "mean"), ("engagement_ci_lo", "lo"), ("engagement_ci_hi", "hi"),
                         ("n_rated", "n"), ("n_children_rated", "children")):
            out[f"{pre}_{dst}"] = out["month_start"].map(d[src]) if len(d) else np.nan
    return out[cols]


def attention_section(p: MeetingPack, cfg: Settings, flags: pd.DataFrame) -> Section:
    """Section 1, Needs attention: from ``p``'s attention frames, scope, dates and suppression
    only (the page draws it before the rest of the pack is built: ``build.pack_start``)."""
    small = p.small_cell_min
    sup = p.suppress_small_cells
    fl = cfg.flags
    sec = Section("attention", "Needs attention")
    n_children = flags["child_id"].nunique() if len(flags) else 0
    sev = flags["severity_label"].value_counts() if len(flags) else pd.Series(dtype=int)
    if sup:
        sec.summary.append(f"Children flagged as of {day(min(p.date_to, p.as_of))}: {small_count(n_children, small)}. "
                           "Child-level rows are left out of this shared pack.")
        sec.tables.append(Table("attention_counts", "Children flagged, by flag", p.attention, [
            Col("title", "Flag"), Col("severity_label", "Severity"), Col("children", "Children", "int")]))
    else:
        if n_children:
            parts = ", ".join(f"{int(sev[k]):,} {k}" for k in ("high", "medium", "low") if k in sev)
            sec.summary.append(
                f"{plural(n_children, 'child', 'children')} flagged ({plural(len(flags), 'flag')}: {parts} "
                f"severity), as of {day(min(p.date_to, p.as_of))}, most urgent first.")
        else:
            sec.summary.append(f"No child in this scope is flagged as of {day(min(p.date_to, p.as_of))}.")
        sec.tables.append(Table("attention_children", "Flagged children", p.attention_children, [
            Col("child_id", "Child"), Col("severity_label", "Severity"), Col("flags", "Flags"),
            Col("therapist_id", "Therapist"), Col("modality", "Modality"), Col("age_group", "Age group"),
            Col("sessions", "Sessions in period", "int"), Col("attended", "Attended", "int"),
            Col("mean_engagement", "Mean engagement", "num2", n="n_rated", n_label="rated"),
            Col("last_session", "Last session", "date")], empty="No child flagged."))
        sec.tables.append(Table("attention_flags", "Flags and reasons", p.attention, [
            Col("child_id", "Child"), Col("severity_label", "Severity"), Col("title", "Flag"), Col("reason", "Why"),
            Col("since", "Since", "date"), Col("n", "n", "int"), Col("value", "Value", "num2"),
            Col("threshold", "Threshold", "num2"), Col("therapist_id", "Therapist")], empty="No flags."))
    sec.notes.append(
        f"Flags are worked out as of the period's end by the practice rules in settings.toml: engagement falling "
        f"over the last {fl.engagement_window_weeks} weeks (Mann-Kendall), no GAS improvement for "
        f"{fl.gas_stall_weeks}+ weeks, attendance under {fl.attendance_min_rate:.0%}, no attended session for "
        f"{fl.dropout_days} days, no goal rating for {fl.rating_gap_days} days, "
        "reliable deterioration on a standardised measure.")
    return sec


def pack_sections(p: MeetingPack, cfg: Settings, flags: pd.DataFrame, trend_from: dt.date) -> list[Section]:
    small = p.small_cell_min
    sup = p.suppress_small_cells
    lt = f"<{small}"
    fl, conf = cfg.flags, cfg.comparison.confidence
    sections: list[Section] = [attention_section(p, cfg, flags)]

    # 2. wins
    sec = Section("wins", "Wins")
    weeks = (p.date_to - trend_from).days // 7 + 1
    if sup:
        sec.summary.append("Counts of children; child-level rows are left out of this shared pack.")
        for key, title, frame in (("goals", "Goals newly met or exceeded", p.goals_met),
                                  ("reliable", "Reliable improvements on a measure", p.reliable_improvements),
                                  ("engagement", "Engagement rose", p.engagement_rises)):
            sec.tables.append(Table(f"wins_{key}_counts", title, frame, [
                Col("kind", "Kind"), Col("children", "Children", "int"), Col("rows", "Goals or measures", "int")]))
    else:
        n_g, n_r, n_e = len(p.goals_met), len(p.reliable_improvements), len(p.engagement_rises)
        sec.summary.append(
            f"{plural(n_g, 'goal')} newly met or exceeded, {plural(n_r, 'reliable improvement')} on a "
            f"standardised measure and {plural(n_e, 'child', 'children')} whose engagement rose, {p.period}.")
        sec.tables.append(Table("wins_goals", "Goals newly met or exceeded", p.goals_met, [
            Col("child_id", "Child", "id"), Col("goal_id", "Goal", "id"), Col("domain", "Domain"),
            Col("therapist_id", "Therapist", "id"), Col("win", "Win (best level)", "id"),
            Col("best_before", "Best before", "level"), Col("last_level", "Latest", "level"),
            Col("last_date", "Latest rating", "date"), Col("weeks_to_met", "Weeks to met", "num1"),
            Col("n_ratings", "Ratings", "int")],
            note=f"Met = rated at or above the expected GAS level ({cfg.gas.expected_level:+d}) for the first time in "
                 "the period; exceeded = rated above it for the first time. Best before = best level before the "
                 "period (– = not rated before); weeks to met = from the goal's first rating."))
        sec.tables.append(Table("wins_reliable", "Reliable improvements on a standardised measure",
                                p.reliable_improvements, [
            Col("child_id", "Child", "id"), Col("measure", "Measure", "id"), Col("therapist_id", "Therapist", "id"),
            Col("first_date", "First", "date"), Col("first_score", "First score", "num1"),
            Col("last_date", "Latest", "date"), Col("last_score", "Latest score", "num1"),
            Col("change", "Change", "signed2"), Col("rci", "RCI", "signed2"),
            Col("n_administrations", "Administrations", "int"), Col("new", "New this period", "bool")],
            note="Jacobson & Truax reliable change, first vs latest administration; the latest is in the period. "
                 "|RCI| > 1.96 is reliable; the direction that counts as better comes from the measures catalogue "
                 "(measures.toml)."))
        sec.tables.append(Table("wins_engagement", "Children whose engagement rose", p.engagement_rises, [
            Col("child_id", "Child", "id"), Col("therapist_id", "Therapist", "id"), Col("evidence", "Evidence"),
            Col("trend_slope_per_week", "Trend (points/week)", "signed2", n="trend_n", n_label="rated",
                ci=("trend_slope_lo", "trend_slope_hi")),
            Col("trend_p", "Trend p", "p"),
            Col("mean_prev", "Mean before", "num2", n="n_rated_prev", n_label="rated"),
            Col("mean_now", "Mean now", "num2", n="n_rated_now", n_label="rated"),
            Col("change", "Change", "signed2")],
            note=f"Significant upward trend: Mann-Kendall tau > 0 with p < {fl.engagement_trend_alpha:g} and a "
                 f"Theil-Sen slope above 0 over {day(trend_from)} – {day(p.date_to)} ({weeks} weeks), at least "
                 f"{fl.engagement_min_sessions} rated sessions; the slope is shown with its {conf:.0%} CI. Clear rise: "
                 f"the period's mean engagement at least {cfg.meeting_pack.rise_min_points:g} point(s) above the "
                 f"previous period's ({day(p.prev_from)} – {day(p.prev_to)}), each mean resting on at least "
                 f"{cfg.meeting_pack.rise_min_rated} rated sessions."))
    sections.append(sec)

    # 3. caseload
    sec = Section("caseload", "Caseload by therapist")
    sec.summary.append(f"{p.period} against the previous period of the same length, "
                       f"{day(p.prev_from)} – {day(p.prev_to)} (shown as \u201cprev\u201d under each figure).")
    sec.tables.append(Table("caseload", "Caseload by therapist", p.caseload, [
        Col("therapist_id", "Therapist", "id"),
        Col("n_children", "Children", "int", prev="n_children_prev"),
        Col("sessions", "Sessions", "int", prev="sessions_prev"),
        Col("attendance_rate", "Attendance", "pct", n="sessions", n_label="sched.", prev="attendance_rate_prev"),
        Col("mean_engagement", "Mean engagement (1–5)", "num2", n="n_rated", n_label="rated",
            ci=("engagement_ci_lo", "engagement_ci_hi"), prev="mean_engagement_prev"),
        Col("child_led_share", "Child-led share", "pct", n="attended", n_label="attended",
            prev="child_led_share_prev"),
        Col("share_goals_at_expected", "Goals at/above expected", "pct", n="n_goals", n_label="goals",
            prev="share_goals_at_expected_prev")],
        note="Children: with a scheduled session. Attendance: attended of scheduled sessions. Child-led share: of "
             f"attended sessions. Goals: latest rating in the period at or above the expected level (per month: as of the month's end). "
             f"{conf:.0%} CI of mean engagement with child-clustered standard errors. \u201cAll\u201d "
             "is the whole scope."))
    if "caseload_engagement" in p.figures:
        sec.figures.append(("caseload_engagement", p.figures["caseload_engagement"]))
    sections.append(sec)

    # 4. trends
    sec = Section("trends", "Team trends" if p.team else "Trends")
    sec.summary.append(f"Per month, {month(p.trend_from)} – {day(p.date_to)} (the last month may be partial).")
    sec.summary.append(_effect_sentence(p.approach_effect, cfg, p.trend_from, p.date_to))
    for key in ("trend_engagement", "trend_goals", "trend_approach"):
        if key in p.figures:
            sec.figures.append((key, p.figures[key]))
    sec.tables.append(Table("trends_monthly", "Per month", p.trends, [
        Col("month_start", "Month", "month"), Col("n_children", "Children", "int"),
        Col("sessions", "Sessions", "int"), Col("attendance_rate", "Attendance", "pct"),
        Col("mean_engagement", "Mean engagement", "num2", n="n_rated", n_label="rated",
            ci=("engagement_ci_lo", "engagement_ci_hi")),
        Col("share_goals_at_expected", "Goals at/above expected", "pct", n="n_goals", n_label="goals")],
        empty="No sessions in these months."))
    sec.tables.append(Table("trends_approach", "Engagement in child-led and directed sessions per month",
                            _approach_wide(p.trends_by_approach), [
        Col("month_start", "Month", "month"),
        Col("child_led_mean", "Child-led mean (1–5)", "num2", n="child_led_n", n_label="rated",
            ci=("child_led_lo", "child_led_hi")),
        Col("child_led_children", "Child-led: children", "int"),
        Col("directed_mean", "Directed mean (1–5)", "num2", n="directed_n", n_label="rated",
            ci=("directed_lo", "directed_hi")),
        Col("directed_children", "Directed: children", "int")],
        note=f"Means of session ratings with {conf:.0%} CIs (child-clustered standard errors). Between-session "
             "comparison: different children can be in each column; the within-child difference is below.",
        empty="No child-led or directed sessions in these months."))
    sec.tables.append(Table("trends_effect", "Within-child difference, child-led − directed", p.approach_effect, [
        Col("n_children", "Children compared", "int"), Col("n_children_considered", "Children considered", "int"),
        Col("n_sessions", "Sessions", "int"),
        Col("mean_diff", "Mean difference (points)", "signed2", ci=("ci_lo", "ci_hi")),
        Col("wilcoxon_p", "Wilcoxon p", "p"), Col("d_z", "d_z", "signed2"), Col("reason", "Not estimated because")],
        note="Each child with enough rated sessions of both approaches gives one difference (mean child-led minus "
             f"mean directed engagement); bootstrap {conf:.0%} CI. Practice data, not a trial.",
        empty="No child had both approaches rated."))
    if sup:
        sec.notes.append(f"Figures resting on fewer than {small} children show as {lt} and are left out of the charts; "
                         f"\u201c{HIDDEN_TEXT}\u201d: hidden so that a {lt} figure cannot be worked out from a total.")
    sections.append(sec)
    return sections
