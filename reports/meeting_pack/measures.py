"""The pack per outcome measure: every session-level measure of the catalogue (``measures.toml``)
the scope's children have a value of in the period, each with its label, unit and direction.

``measure_frames`` asks the analytics layer (no SQL, no statistics here) for four frames, one
row per measure (or per measure and month): the period's mean with its interval and n beside
the previous period's (``analytics.measure_values``: every measure and both
periods from one query), the children whose recent trend is getting worse or better in the
measure's direction (``analytics.recent_trends_measures``, every measure from one query: the
Mann-Kendall test of the "getting worse" flag, the ``recent_*`` columns of ``child_trends``), the within-child child-led vs directed comparison pooled per measure, each child once
(``analytics.approach_effects_measures``: every measure from one query), and the mean per month
(``analytics.monthly_trends``). Standardised measures (with an sd: their change is the reliable
change of the Wins section) are left out. ``measures_section`` is the pack's section of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd

import analytics
from pipelines.measures import Measure, catalogue
from pipelines.settings import Settings
from reports.formats import day, month
from reports.meeting_pack.calls import Calls
from reports.meeting_pack.model import Col, MeetingPack, Section, Table
from reports.meeting_pack.sections import comparison_reading
from stats import wording

_VALUE_FIGURES = ("mean_value", "value_ci_lo", "value_ci_hi", "n_values", "n_children_values", "share_good")
TREND_KINDS = (("worse", "Getting worse"), ("better", "Getting better"), ("no_clear", "No clear trend"))


def better_text(m: Measure) -> str:
    return "higher is better" if m.sign > 0 else "lower is better"


def pack_measures(con) -> list[Measure]:
    """The session-level measures (not standardised) with a value in the warehouse, engagement
    first then in catalogue order; the caller keeps those with values in the period."""
    cat = catalogue()
    ids = [r["measure"] for r in analytics.measure_options(con)]
    return [cat[i] for i in ids if i in cat and cat[i].level == "session" and cat[i].sd is None
            and cat[i].kind != "trials"]


def team_effects(calls: Calls, tf: analytics.Filters) -> dict[str, pd.DataFrame]:
    """The within-child child-led vs directed comparison over ``tf`` of every pack measure (the
    engagement one is also the Team trends section's), from one query (``approach_effects_measures``)."""
    return calls(analytics.approach_effects_measures, tf, tuple(m.id for m in calls(pack_measures)))


def _label(df: pd.DataFrame, m: Measure) -> pd.DataFrame:
    df = df.copy()
    for col in ("measure", "label", "unit", "better"):
        if col in df.columns:
            df = df.drop(columns=col)
    df.insert(0, "better", better_text(m))
    df.insert(0, "unit", m.unit)
    df.insert(0, "label", m.label)
    df.insert(0, "measure", m.id)
    return df


def _summary_row(calls: Calls, f: analytics.Filters, prev: analytics.Filters, m: Measure) -> dict:
    k = calls(analytics.measure_values, f, prev, tuple(x.id for x in calls(pack_measures)))[m.id]
    cur, pv = k["current"], k["previous"]
    row = {"measure": m.id, "label": m.label, "unit": m.unit, "better": better_text(m)}
    for suffix, block in (("", cur), ("_prev", pv)):
        for c in _VALUE_FIGURES:
            row[c + suffix] = block.get(c, np.nan)
        # the children each figure rests on: those with a value of the measure
        row["n_children" + suffix] = block.get("n_children_values", 0) or 0
    return row


def _trend_row(t: pd.DataFrame, m: Measure, cfg: Settings) -> dict:
    """Children with enough values in the recent window, and those whose Mann-Kendall trend
    is significant against the measure's direction (worse) or with it (better)."""
    fl = cfg.flags
    enough = t["recent_n"].fillna(0) >= fl.engagement_min_sessions
    tau = pd.to_numeric(t["recent_kendall_tau"], errors="coerce") * m.sign
    sig = pd.to_numeric(t["recent_p_value"], errors="coerce") < fl.engagement_trend_alpha
    worse, better = enough & sig & (tau < 0), enough & sig & (tau > 0)
    return {"measure": m.id, "label": m.label, "unit": m.unit, "better": better_text(m),
            "worse": int(worse.sum()), "better_n": int(better.sum()),
            "no_clear": int((enough & ~worse & ~better).sum()), "n_children": int(enough.sum())}


def _reading(r: pd.Series, m: Measure, cfg: Settings) -> str:
    c = cfg.comparison
    rd = wording.difference(r["mean_diff"], r["ci_lo"], r["ci_hi"], p=r["wilcoxon_p"], alpha=1 - c.confidence,
                            n=r["n_children"], min_n=c.min_children, estimated=bool(r["estimated"]),
                            higher_is_better=m.sign > 0)
    if rd.favourable is None:
        return rd.words
    return f"{rd.words} in child-led ({'better' if rd.favourable else 'worse'})"


def measure_frames(con, f: analytics.Filters, prev: analytics.Filters, tf: analytics.Filters,
                   trend_from: dt.date, cfg: Settings) -> dict[str, pd.DataFrame]:
    """``summary`` (one row per measure with values in the period), ``trends`` (children
    getting worse / better over the recent window, per measure), ``effects`` (the pooled
    within-child comparison over the trend months ``tf``, per measure) and ``monthly`` (per
    measure and month over ``tf``); every row has measure, label, unit and better."""
    calls = con if isinstance(con, Calls) else Calls(con)
    measures = calls(pack_measures)
    per_effect = team_effects(calls, tf)
    per_trend = calls(analytics.recent_trends_measures, replace(f, date_from=trend_from),
                      tuple(m.id for m in measures))
    summary, trends, effects, monthly = [], [], [], []
    for m in measures:
        row = _summary_row(calls, f, prev, m)
        if not row["n_values"]:
            continue
        summary.append(row)
        t = per_trend[m.id]
        trends.append(_trend_row(t, m, cfg))
        e = per_effect[m.id]
        if len(e):
            e = _label(e, m)
            e["reading"] = [_reading(r, m, cfg) for _, r in e.iterrows()]
            effects.append(e)
        mt = calls(analytics.monthly_trends, tf, measure=m.id)
        if len(mt):
            monthly.append(_label(mt, m))
    return {
        "summary": pd.DataFrame(summary),
        "trends": pd.DataFrame(trends),
        "effects": pd.concat(effects, ignore_index=True) if effects else pd.DataFrame(),
        "monthly": pd.concat(monthly, ignore_index=True) if monthly else pd.DataFrame(),
    }


def _effect_line(r: pd.Series, cfg: Settings, span: str) -> str:
    """One measure's within-child comparison in a sentence, in its own unit and direction."""
    label = str(r["label"])
    if isinstance(r["n_children"], str):
        return (f"{label}, {span}: fewer than {r['n_children'][1:]} children had enough sessions of both "
                "approaches; suppressed.")
    m = catalogue().get(str(r["measure"]))
    n, rd, interval = comparison_reading(
        r, cfg, higher_is_better=(m.sign > 0) if m else True,
        criterion=f"at least {cfg.comparison.min_sessions_per_approach} sessions with a value of each approach")
    if rd.kind == wording.TOO_FEW:
        return f"{label}, {span}: {rd.sentence}"
    return (f"{label} ({r['unit']}, {r['better']}), {span}: child-led sessions {r['mean_diff']:+.2f} against the "
            f"same children's directed sessions ({interval}), n = {n} children. {rd.sentence}")


def measures_section(p: MeetingPack, cfg: Settings, trend_from: dt.date) -> Section:
    """Section 5: each outcome measure's figures, trends and child-led vs directed comparison."""
    conf, fl = cfg.comparison.confidence, cfg.flags
    sec = Section("measures", "Outcome measures")
    s = p.measure_summary
    if s.empty:
        sec.summary.append("No session measure has a value for this scope in the period.")
        return sec
    names = "; ".join(f"{r['label']} ({r['unit']}, {r['better']})" for _, r in s.iterrows())
    sec.summary.append(f"Session measures recorded in {p.period}: {names}. Each figure is in the measure's own "
                       "unit; \u201cbetter\u201d and \u201cworse\u201d follow its direction (measures.toml).")
    span = f"{month(p.trend_from)} – {day(p.date_to)}"
    for _, r in p.measure_effects.iterrows():
        sec.summary.append(_effect_line(r, cfg, span))
    sec.tables.append(Table("measures_summary", "Each measure in the period", s, [
        Col("label", "Measure"), Col("unit", "Unit"), Col("better", "Direction"),
        Col("mean_value", "Mean", "num2", n="n_values", n_label="values", ci=("value_ci_lo", "value_ci_hi"),
            prev="mean_value_prev"),
        Col("n_children_values", "Children with a value", "int", prev="n_children_values_prev"),
        Col("share_good", "Share good", "pct")],
        note=f"Mean of the session values with its {conf:.0%} CI (child-clustered standard errors); "
             f"\u201cprev\u201d: {day(p.prev_from)} – {day(p.prev_to)}. Share good: values at or beyond the "
             "catalogue's good value in the measure's direction (– where it sets none)."))
    sec.tables.append(Table("measures_trends", "Children's recent trend per measure", p.measure_trends, [
        Col("label", "Measure"), Col("better", "Direction"),
        Col("worse", "Getting worse", "int"), Col("better_n", "Getting better", "int"),
        Col("no_clear", "No clear trend", "int"), Col("n_children", "Children with a trend", "int")],
        note=f"Over the last {fl.engagement_window_weeks} weeks to {day(p.date_to)}, children with at least "
             f"{fl.engagement_min_sessions} sessions with a value: Mann-Kendall p < {fl.engagement_trend_alpha:g}; "
             "getting worse is against the measure's direction (a rising count where lower is better), the "
             "test of the \u201cgetting worse\u201d flag."))
    sec.tables.append(Table("measures_effects", "Within-child difference per measure, child-led − directed",
                            p.measure_effects, [
        Col("label", "Measure"),  # unit and direction: in the measures table above
        Col("n_children", "Children compared", "int"), Col("n_children_considered", "Children considered", "int"),
        Col("n_sessions", "Sessions", "int"),
        Col("mean_diff", "Mean difference", "signed2", ci=("ci_lo", "ci_hi")),
        Col("wilcoxon_p", "Wilcoxon p", "p"),
        Col("mean_nap", "NAP (child-led better)", "num2", ci=("nap_ci_lo", "nap_ci_hi")),
        Col("reading", "Reading"), Col("reason", "Not estimated because")],
        note=f"{span}. Each child with enough sessions of both approaches gives one difference per measure (mean "
             f"child-led minus mean directed, in the measure's unit, as in the table above) and one NAP in the measure's direction; "
             f"bootstrap {conf:.0%} CIs. Practice data, not a trial.",
        empty="No child had both approaches with a value."))
    sec.tables.append(Table("measures_monthly", "Each measure per month", p.measure_monthly, [
        Col("month_start", "Month", "month"), Col("label", "Measure"), Col("unit", "Unit"),
        Col("mean_value", "Mean", "num2", n="n_values", n_label="values", ci=("value_ci_lo", "value_ci_hi")),
        Col("n_children_values", "Children with a value", "int")],
        note=f"Means of the session values with {conf:.0%} CIs (child-clustered standard errors).",
        empty="No values in these months."))
    if p.suppress_small_cells:
        sec.notes.append(f"Figures resting on fewer than {p.small_cell_min} children with a value of the measure "
                         f"show as {p.small_text}, per measure.")
    return sec
