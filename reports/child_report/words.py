"""The report's sentences: each goal in plain words, the child-led vs directed comparison in
one sentence, reliable change, and the parent version's words (no statistics vocabulary).

The therapist's version leads with plain words and names the methods after them ("how
this is computed"); the parent version says the same things without any statistic. What an
interval means comes from ``stats.wording`` (never decided here).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analytics import child_story as cs
from reports.formats import day, is_missing
from stats import wording

# the usual meaning of each GAS level (Kiresuk & Sherman 1968), when the goals source gives none
GAS_WORDS = {-3: "worse than at the start", -2: "much less than expected", -1: "somewhat less than expected",
             0: "the expected outcome", 1: "somewhat more than expected", 2: "much more than expected"}
LEVEL_COLUMNS = dict((lvl, col) for col, lvl in cs.LEVELS)

METHODS = [
    ("NAP, non-overlap of all pairs",
     "Every child-led session is paired with every directed one; NAP is the share of pairs in which the child-led "
     "session had the higher engagement (ties count half). 0.5 means no difference. Its interval is Newcombe's "
     "score interval.",
     "Parker, R. I., & Vannest, K. J. (2009). An improved effect size for single-case research: Nonoverlap of all "
     "pairs. Behavior Therapy, 40(4), 357-367. Newcombe, R. G. (2006). Statistics in Medicine, 25, 559-573."),
    ("Tau-U (A vs B, trend in A removed)",
     "Like NAP on a -1..1 scale, corrected for a trend in the directed sessions: (S_AB - S_AA) / (m n). This variant "
     "has no established interval.",
     "Parker, R. I., Vannest, K. J., Davis, J. L., & Sauber, S. B. (2011). Combining nonoverlap and trend for "
     "single-case research: Tau-U. Behavior Therapy, 42(2), 284-299."),
    ("PND, percentage of non-overlapping data",
     "The share of child-led sessions with engagement above the highest directed session.",
     "Scruggs, T. E., Mastropieri, M. A., & Casto, G. (1987). The quantitative synthesis of single-subject "
     "research. Remedial and Special Education, 8(2), 24-33."),
    ("Goal trend: Theil-Sen slope",
     "The median of the slopes between every two ratings of a goal, in levels (or percentage points) per week, with "
     "Sen's distribution-free interval; the Mann-Kendall test says whether the ratings trend.",
     "Theil, H. (1950); Sen, P. K. (1968). JASA, 63, 1379-1389; Mann, H. B. (1945). Econometrica, 13, 245-259."),
    ("Reliable change index",
     "The change from the first to the latest score divided by the standard error of a difference, sqrt(2) SD "
     "sqrt(1 - r); beyond 1.96 the change is unlikely to be measurement error alone.",
     "Jacobson, N. S., & Truax, P. (1991). Journal of Consulting and Clinical Psychology, 59(1), 12-19."),
]


def level_text(goal: pd.Series | dict, level: Any, *, plain: bool = False) -> str:
    """What ``level`` of this goal means: the goals source's description, else the usual GAS words.
    ``"+1 (names four animals)"``; with ``plain`` the description (or words) alone."""
    if is_missing(level):
        return "not rated"
    lv = int(round(float(level)))
    desc = goal.get(LEVEL_COLUMNS.get(lv, ""), None) if lv in LEVEL_COLUMNS else None
    words = str(desc) if not is_missing(desc) else GAS_WORDS.get(lv, "")
    return words if plain else f"{lv:+d} ({words})" if lv else f"0 ({words})"


def goal_title(goal: pd.Series | dict) -> str:
    """"Goal G0008-1, social: Takes turns in a 2-person game" (the text when the source gives it)."""
    head = f"Goal {goal['goal_id']}" + (f", {goal['domain']}" if not is_missing(goal.get("domain")) else "")
    text = goal.get("goal_text")
    return head + (f": {text}" if not is_missing(text) else "")


def _pct(v: Any) -> str:
    return "–" if is_missing(v) else f"{float(v):.0f}%"


def goal_sentence(goal: pd.Series | dict, expected: int, *, titled: bool = True) -> str:
    """The goal in plain words first: baseline, now, and the expected level or mastery
    ("Goal G0008-1, social: ... — baseline -1, now +1 (...)."; without ``titled``, from
    "Baseline" on, for a place whose heading names the goal already)."""
    def head(rest: str) -> str:
        return f"{goal_title(goal)} — {rest}" if titled else rest[:1].upper() + rest[1:]

    if is_missing(goal.get("current")):
        return head("not rated in this period.")
    if goal.get("kind") == "trials":
        crit = goal.get("mastery_criterion")
        tail = (f"; mastery: {crit}" if not is_missing(crit) else "")
        when = goal.get("first_met_date")
        met = (f" (mastery criterion met on {day(when)})" if goal.get("status") == cs.MASTERED and not is_missing(when)
               else "")
        return head(f"baseline {_pct(goal['baseline'])} correct, now {_pct(goal['current'])}{met}{tail}.")
    b, c = int(goal["baseline"]), int(goal["current"])
    when = goal.get("first_met_date")
    if goal.get("status") == cs.MET and not is_missing(when):
        tail = f" (expected level {expected:+d} met on {day(when)})" if expected else f" (expected level 0 met on {day(when)})"
    else:
        tail = f" (expected level {expected:+d})" if expected else " (expected level 0)"
    return head(f"baseline {b:+d}, now {c:+d}{tail}.".replace("+0", "0"))


# a goal's trend is told from this many ratings on: from two, Sen's interval is the one pairwise
# slope itself ("95% interval +0.26 to +0.26") and Mann-Kendall's p is 1, which reads as certainty
MIN_TREND_RATINGS = 3


def trend_text(goal: pd.Series | dict, confidence: float) -> str:
    """"+0.05 levels a week (95% interval 0.00 to +0.10; Mann-Kendall p = 0.046; n = 8 ratings)";
    "too few ratings for a trend" below ``MIN_TREND_RATINGS`` ratings (with their number)."""
    s = goal.get("slope_per_week")
    n = goal.get("n_ratings")
    if not is_missing(s) and not is_missing(n) and int(n) < MIN_TREND_RATINGS:
        return f"too few ratings for a trend ({int(n)}; a trend needs at least {MIN_TREND_RATINGS})"
    if is_missing(s):
        return "too few ratings for a trend"
    unit = "points a week" if goal.get("kind") == "trials" else "levels a week"
    lo, hi = goal.get("slope_lo"), goal.get("slope_hi")
    ci = ("" if is_missing(lo) or is_missing(hi)
          else f"; {confidence:.0%} interval {float(lo):+.2f} to {float(hi):+.2f}")
    p = wording.p_value(goal.get("trend_p"))
    return f"{float(s):+.2f} {unit}{ci}" + (f"; Mann-Kendall {p}" if p else "") + f"; n = {int(goal['n_ratings'])}"


STATUS_WORDS = {cs.MET: "met", cs.MASTERED: "mastered", cs.STALLED: "stalled", cs.NO_RECENT: "no recent rating",
                cs.NO_RATING: "not rated in this period", cs.STOPPED: "discontinued", cs.IN_PROGRESS: "in progress"}


def _times_in_10(nap: float) -> int:
    """NAP as "about k times in 10" (0-10): the share of child-led x directed comparisons won by the child-led session."""
    return int(round(nap * 10))


def _maybe_chance(comp: dict) -> bool:
    """Whether NAP's interval includes 0.5 (``stats.wording``: compatible with no difference)."""
    r = wording.difference(comp.get("nap"), comp.get("nap_lo"), comp.get("nap_hi"), null=0.5, test=None)
    return r.kind == wording.NO_DIFFERENCE


def comparable(comp: dict) -> bool:
    """Whether ``comp`` (``analytics.child_comparison``) may be told: it has a NAP and enough sessions of
    each approach (``eligible``: at least ``min_sessions_per_approach`` of each, the rule the Child-led vs
    directed page uses; a NAP from one child-led session is not told as "about 9 times in 10")."""
    return (wording.number(comp.get("nap")) is not None and bool(comp.get("n_child_led"))
            and bool(comp.get("n_directed")) and comp.get("eligible") is not False)


def comparison_sentence(comp: dict, who: str = "the child") -> str | None:
    """One sentence a parent could follow, saying what NAP is: "Comparing each child-led session
    with each directed one, engagement was higher in the child-led session about 9 times in 10
    (13 child-led and 36 directed sessions)." None when the comparison cannot be made."""
    nap = wording.number(comp.get("nap"))
    n_cl, n_d = int(comp.get("n_child_led") or 0), int(comp.get("n_directed") or 0)
    if not comparable(comp):
        return None
    k = _times_in_10(nap)
    counts = (f"({n_cl} child-led and {n_d} directed session{'s' if n_d != 1 else ''}"
              + ("; with this few sessions that could still be chance)" if k != 5 and _maybe_chance(comp) else ")"))
    if k == 5:
        return (f"Comparing each child-led session with each directed one, {who}'s engagement was higher in the "
                f"child-led session about as often as in the directed one {counts}.")
    if k > 5:
        return (f"Comparing each child-led session with each directed one, {who}'s engagement was higher in the "
                f"child-led session about {k} times in 10 {counts}.")
    return (f"Comparing each child-led session with each directed one, {who}'s engagement was higher in the "
            f"directed session about {10 - k} times in 10 {counts}.")


def comparison_detail(comp: dict, confidence: float) -> str:
    """The figures behind the sentence, for the "how this is computed" part."""
    nap, lo, hi = (wording.number(comp.get(k)) for k in ("nap", "nap_lo", "nap_hi"))
    n_cl, n_d = int(comp.get("n_child_led") or 0), int(comp.get("n_directed") or 0)
    if nap is None:
        return (f"{n_cl} rated child-led and {n_d} rated directed sessions: both approaches are needed to compare "
                "engagement.")
    if not comparable(comp):
        return (f"{n_cl} rated child-led and {n_d} rated directed sessions: too few to compare "
                f"({comp.get('reason') or 'too few sessions of one approach'}; the Child-led vs directed page uses "
                "the same rule).")
    reading = wording.difference(nap, lo, hi, null=0.5, test=None, who="this child's sessions")
    tau_u, pnd = wording.number(comp.get("tau_u")), wording.number(comp.get("pnd"))
    parts = [f"NAP {nap:.2f} ({confidence:.0%} interval {lo:.2f} to {hi:.2f}) from {n_cl} child-led and {n_d} "
             f"directed rated sessions ({n_cl * n_d} pairs)."]
    if reading.kind != wording.TOO_FEW:
        parts.append(reading.sentence)
    if tau_u is not None:
        parts.append(f"Tau-U {tau_u:+.2f}.")
    if pnd is not None:
        parts.append(f"PND {pnd:.0%}.")
    md = wording.number(comp.get("mean_difference"))
    if md is not None:  # a difference that rounds to 0.00 is neither higher nor lower
        parts.append("Mean engagement the same in child-led and directed sessions (difference 0.00 points, 1-5)."
                     if round(md, 2) == 0 else
                     f"Mean engagement {md:.2f} points (1-5) higher in child-led sessions." if md > 0 else
                     f"Mean engagement {-md:.2f} points (1-5) lower in child-led sessions.")
    parts.append("Observational: the therapist chose the approach, so this is not a causal effect.")
    return " ".join(parts)


# ------------------------------------------------------------------------------------ parent words

def parent_goal_sentence(goal: pd.Series | dict, who: str) -> str:
    """The goal in one sentence for a family: where it started, where it is, what that means."""
    what = goal.get("goal_text")
    what = str(what) if not is_missing(what) else f"the {goal.get('domain') or 'therapy'} goal ({goal['goal_id']})"
    status = goal.get("status")
    if is_missing(goal.get("current")):
        return f"{_cap(what)}: we did not check this goal in this period."
    if goal.get("kind") == "trials":
        b, c = goal["baseline"], goal["current"]
        got = (f"at first {who} got about {float(b) / 10:.0f} in 10 tries right, now about {float(c) / 10:.0f} "
               "in 10")
        end = ("; this goal is reached." if status == cs.MASTERED else "; we keep practising.")
        return f"{_cap(what)}: {got}{end}"
    start, now = level_text(goal, goal["baseline"], plain=True), level_text(goal, goal["current"], plain=True)
    if status == cs.MET:
        end = "we have reached what we aimed for."
    elif status == cs.STALLED:
        end = "progress has been slow lately, so we will look at how we work on it."
    elif status in (cs.NO_RECENT, cs.NO_RATING):
        end = "we have not checked this goal lately and will do so soon."
    elif status == cs.STOPPED:
        end = "we stopped working on this goal."
    elif float(goal["current"]) > float(goal["baseline"]):
        end = "this is moving in the right direction."
    else:
        end = "we are still working on it."
    if start == now:
        return f"{_cap(what)}: still at \u201c{now}\u201d; {end}"
    return f"{_cap(what)}: at first \u201c{start}\u201d, now \u201c{now}\u201d; {end}"


def parent_comparison(comp: dict, who: str) -> str | None:
    """The comparison for a family, without any statistic: how often a session where the child
    chose beat one where the therapist chose."""
    nap = wording.number(comp.get("nap"))
    if not comparable(comp):
        return None
    k = _times_in_10(nap)
    how = (f"comparing each session where {who} chose the activity with each one where the therapist chose"
           + ("; with this few sessions we cannot be sure yet" if k != 5 and _maybe_chance(comp) else ""))
    if k >= 6:
        return f"{who} was usually more engaged when choosing the activity (about {k} times in 10, {how})."
    if k <= 4:
        return (f"{who} was usually more engaged when the therapist chose the activity (about {10 - k} times in 10, "
                f"{how}).")
    return f"{who} was about as engaged whether they or the therapist chose the activity."


def going_well(goals: pd.DataFrame, who: str) -> list[str]:
    """Goals reached or moving up, in plain words."""
    out = []
    for _, g in goals.iterrows():
        if is_missing(g.get("current")):
            continue
        name = (f"the goal \u201c{_low(str(g['goal_text']))}\u201d" if not is_missing(g.get("goal_text"))
                else f"the {g.get('domain') or ''} goal".replace("  ", " "))
        if g["status"] in (cs.MET, cs.MASTERED):
            out.append(f"{who} reached {name}.")
        elif not is_missing(g.get("baseline")) and float(g["current"]) > float(g["baseline"]):
            out.append(f"{who} is making progress on {name}.")
    return out


def next_steps(goals: pd.DataFrame) -> list[str]:
    """What we will work on next: the goals not yet reached, stalled ones first."""
    order = {cs.STALLED: 0, cs.IN_PROGRESS: 1, cs.NO_RECENT: 2, cs.NO_RATING: 3}
    pending = goals[goals["status"].isin(order)].assign(_o=lambda d: d["status"].map(order)).sort_values("_o")
    out = []
    for _, g in pending.iterrows():
        name = g["goal_text"] if not is_missing(g.get("goal_text")) else f"the {g.get('domain') or ''} goal ({g['goal_id']})"
        if g["status"] == cs.STALLED:
            out.append(f"{_cap(str(name))}: we will try a different way of working on it.")
        else:
            out.append(f"{_cap(str(name))}: we will keep working on it.")
    return out


def _low(s: str) -> str:
    """A goal text inside a sentence: its first letter in lower case (unless it starts an acronym)."""
    return s[:1].lower() + s[1:] if s[:2] and not s[:2].isupper() else s


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def finite(v: Any) -> bool:
    return not is_missing(v) and not (isinstance(v, float) and math.isinf(v))
