"""The report's content, in order and independent of the file format (``document``): a cover,
then sections of paragraphs, lists, one table, goal blocks (heading, sentence, level
descriptions, chart), typed text and the methods. ``html_page`` and ``docx_doc`` lay it out."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from analytics import child_story as cs
from reports.child_report import figures, words
from reports.child_report.model import ChildReport
from reports.formats import day, is_missing

STATUS_CLASS = {cs.MET: "met", cs.MASTERED: "mastered", cs.STALLED: "stalled", cs.NO_RECENT: "norecent",
                cs.NO_RATING: "norecent", cs.STOPPED: "stopped", cs.IN_PROGRESS: "progress"}


@dataclass
class Cover:
    kicker: str
    title: str
    facts: list[tuple[str, str]]


@dataclass
class GoalBlock:
    heading: str
    sentence: str
    details: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    figure: go.Figure | None = None
    status_words: str = ""
    status_class: str = ""


@dataclass
class Section:
    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    table: tuple[list[str], list[list[str]]] | None = None
    goals: list[GoalBlock] = field(default_factory=list)
    typed: str | None = None          # None: no typed part; "": a blank to fill in
    methods: list[tuple[str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Document:
    cover: Cover
    sections: list[Section]
    footer: str


def _clean(text: str | None) -> str:
    return "" if text is None else str(text).strip()


def _episode(report: ChildReport) -> str:
    r = report.record
    if is_missing(r.get("referral_date")) and is_missing(r.get("episode_id")):
        return "no episode of care in the loaded data (first session " + day(r.get("first_session")) + ")"
    out = f"referred {day(r.get('referral_date'))}"
    if not is_missing(r.get("discharge_date")):
        why = r.get("discharge_reason") or r.get("discharge_kind")
        out += f"; discharged {day(r.get('discharge_date'))}" + (f" ({why})" if not is_missing(why) else "")
    else:
        out += "; not discharged"
    return out


def _attendance(report: ChildReport, parent: bool, who: str) -> str:
    a = report.attendance
    if not a["scheduled"]:
        return "No sessions in this period."
    if parent:
        return f"{who} came to {a['attended']} of {a['scheduled']} planned sessions."
    return (f"{a['attended']} of {a['scheduled']} scheduled sessions attended ({a['rate']:.0%}); "
            f"{a['cancelled']} cancelled, {a['no_show']} no-show.")


def document(report: ChildReport, *, parent: bool = False, display_name: str | None = None,
             narrative: str | None = None, plan: str | None = None) -> Document:
    """The report's content for the therapist (``parent=False``) or the family."""
    name = _clean(display_name)
    who = name or ("your child" if parent else "the child")
    Who = who[:1].upper() + who[1:]
    x_range = None
    if report.attendance.get("first"):
        lo = pd.Timestamp(report.date_from or report.attendance["first"]) - pd.Timedelta(days=7)
        hi = pd.Timestamp(report.date_to or report.attendance["last"]) + pd.Timedelta(days=7)
        x_range = [lo, hi]
    therapists = ", ".join(report.therapists) or "–"
    if parent:
        cover = Cover("Progress report for the family", f"How {who} is doing" if name else "How your child is doing",
                      [("Period", report.period_text), ("Therapy", str(report.record.get("modality") or "–")),
                       ("Therapist", therapists)]
                      + [("Reference", report.child_id)])
    else:
        title = f"Progress report: {name} ({report.child_id})" if name else f"Progress report: {report.child_id}"
        eng = report.engagement
        cover = Cover("Progress report for reviews and payers", title, [
            ("Child (pseudonymous id)", report.child_id), ("Period", report.period_text),
            ("Modality", str(report.record.get("modality") or "–")), ("Age group", report.age_group or "–"),
            ("Therapist(s)", therapists), ("Team", str(report.record.get("team") or "–")),
            ("Episode of care", _episode(report)), ("Attendance", _attendance(report, False, who)),
            ("Engagement (1-5)", "–" if eng["mean"] is None else f"mean {eng['mean']:.2f} (n = {eng['n']} rated sessions)"),
            ("Made on", day(report.made_on))])
    secs = _parent_sections(report, who, Who, x_range, narrative, plan) if parent else \
        _therapist_sections(report, who, x_range, narrative, plan)
    footer = ("Made from the practice's records. " if parent else
              "Pseudonymous ids only; a name shown was typed at download and is stored nowhere. Figures from the "
              "practice warehouse through the analytics layer; thresholds in settings.toml. ") + \
        "Made on " + day(report.made_on) + "."
    return Document(cover, secs, footer)


def _goal_details(g: pd.Series, report: ChildReport) -> tuple[list[str], list[str]]:
    details = [f"Trend: {words.trend_text(g, report.confidence)}.", f"Status: {g['status_reason']}."]
    if not is_missing(g.get("baseline_text")) or not is_missing(g.get("target")):
        details.insert(0, "; ".join(x for x in (
            f"Baseline (goal plan): {g['baseline_text']}" if not is_missing(g.get("baseline_text")) else "",
            f"Target: {g['target']}" if not is_missing(g.get("target")) else "") if x))
    levels = []
    if g["kind"] != "trials":
        if g["has_text"]:
            levels = [f"{v:+d}: {g[c]}".replace("+0", "0") for c, v in cs.LEVELS if not is_missing(g.get(c))]
        else:
            details.append("The goals source gives no goal text or level descriptions for this goal, so it is shown by "
                           "its id and domain, with the usual meaning of each GAS level.")
    return details, levels


def _therapist_sections(report: ChildReport, who: str, x_range, narrative, plan) -> list[Section]:
    out = []
    g = report.goals
    summary = Section("summary", "Goals at a glance")
    if g.empty:
        summary.paragraphs.append("No goals for this child in the loaded data.")
    else:
        rows = []
        for _, r in g.iterrows():
            trials = r["kind"] == "trials"
            fmt = (lambda v: "–" if is_missing(v) else f"{float(v):.0f}%") if trials else \
                (lambda v: "–" if is_missing(v) else f"{int(v):+d}".replace("+0", "0"))
            rows.append([str(r["goal_id"]), str(r["domain"] or "–"),
                         str(r["goal_text"]) if not is_missing(r.get("goal_text")) else "(no text in the goals source)",
                         fmt(r["baseline"]), fmt(r["current"]), words.trend_text(r, report.confidence),
                         words.STATUS_WORDS.get(r["status"], str(r["status"]))])
        summary.table = (["Goal", "Domain", "Goal text", "Baseline", "Current", "Trend", "Status"], rows)
        summary.notes.append(f"Baseline and current: the first and latest rating in the period (GAS level, expected "
                             f"level {report.expected_level:+d}, or percent correct). Trend: Theil-Sen slope with its "
                             f"{report.confidence:.0%} interval.".replace("+0", "0"))
    out.append(summary)
    goals = Section("goals", "Goals")
    for _, r in g.iterrows():
        details, levels = _goal_details(r, report)
        goals.goals.append(GoalBlock(
            words.goal_title(r), words.goal_sentence(r, report.expected_level, titled=False), details, levels,
            None if is_missing(r.get("current")) else
            figures.goal_figure(r, report.observations, report.phases, report.expected_level, x_range=x_range,
                                width=680, titled=False),
            words.STATUS_WORDS.get(r["status"], ""), STATUS_CLASS.get(r["status"], "")))
    if not g.empty:
        goals.notes.append("On each chart: the dashed line is the expected level (or the mastery line); dotted lines "
                           "mark where the approach changed or a goal started, was met or stopped; the ringed point "
                           "is the goal's status. Point colour: child-led (vermillion), directed (blue), mixed (grey).")
        out.append(goals)
    comp = Section("approach", "Child-led and directed sessions")
    s = words.comparison_sentence(report.comparison, who)
    comp.paragraphs.append(s or words.comparison_detail(report.comparison, report.confidence))
    if s:
        comp.notes.append(words.comparison_detail(report.comparison, report.confidence))
    out.append(comp)
    att = Section("attendance", "Attendance")
    att.paragraphs.append(_attendance(report, False, who))
    out.append(att)
    rc = Section("outcomes", "Standardised measures (reliable change)")
    m = report.reliable_change
    if m.empty:
        rc.paragraphs.append("No standardised measure was given in this period.")
    else:
        rows = []
        for _, r in m.iterrows():
            rows.append([str(r["measure"]), f"{day(r['first_date'])}: {r['first_score']:.1f}",
                         f"{day(r['last_date'])}: {r['last_score']:.1f}",
                         "–" if is_missing(r["change"]) else f"{r['change']:+.1f}",
                         "–" if is_missing(r["reliable_change_threshold"]) else f"±{r['reliable_change_threshold']:.1f}",
                         str(r["classification"])])
        rc.table = (["Measure", "First", "Latest", "Change", "Reliable change beyond", "Reading"], rows)
        rc.notes.append("Jacobson & Truax (1991): a change beyond the threshold (1.96 standard errors of a difference) "
                        "is unlikely to be measurement error alone.")
    out.append(rc)
    out.append(Section("narrative", "Therapist's narrative", typed=_clean(narrative)))
    out.append(Section("plan", "Plan", typed=_clean(plan)))
    out.append(Section("methods", "How this is computed", methods=list(words.METHODS), notes=[
        "Statistics come from the project's stats layer (stats/), through the analytics layer; nothing is computed "
        "in the report itself. Small-cell rules do not apply: this report is about one child, for the people around "
        "that child."]))
    return out


def _parent_sections(report: ChildReport, who: str, Who: str, x_range, narrative, plan) -> list[Section]:
    out = []
    goals = Section("goals", "Goals")
    g = report.goals
    if g.empty:
        goals.paragraphs.append("There are no goals in this report yet.")
    for _, r in g.iterrows():
        goals.goals.append(GoalBlock(
            str(r["goal_text"]) if not is_missing(r.get("goal_text")) else f"Goal {r['goal_id']}",
            words.parent_goal_sentence(r, who),
            figure=None if is_missing(r.get("current")) else
            figures.goal_figure(r, report.observations, report.phases, report.expected_level,
                                x_range=x_range, parent=True, width=680, titled=False)))
    out.append(goals)
    well = Section("going-well", "What is going well", bullets=words.going_well(g, Who) if len(g) else [])
    a = report.attendance
    if a["scheduled"]:
        well.bullets.append(_attendance(report, True, Who))
    sent = words.parent_comparison(report.comparison, Who)
    if sent:
        well.bullets.append(sent)
    if not well.bullets:
        well.paragraphs.append("We will talk about this together.")
    out.append(well)
    nxt = Section("next", "What we will work on next", bullets=words.next_steps(g) if len(g) else [])
    if _clean(plan):
        nxt.typed = _clean(plan)
    elif not nxt.bullets:
        nxt.paragraphs.append("We will plan the next steps together.")
    out.append(nxt)
    if _clean(narrative):
        out.append(Section("narrative", "A note from the therapist", typed=_clean(narrative)))
    return out
