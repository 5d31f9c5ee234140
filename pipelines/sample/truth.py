"""The truth file: what was planted, so tests and demos can check that the analytics find it
(and nothing else). The writers add the exports, overlap, corrections and malformed rows."""

from __future__ import annotations

import numpy as np

from .arrays import iso
from .constants import (CHILD_LED_EFFECT_MEAN, CHILD_LED_EFFECT_SD, DECLINE, DISCHARGED, DROPOUT, GAP,
                        LOWATT, TEAMS)
from .engagement import Engagement
from .goals import Goals, Ratings
from .measures import Measures
from .people import Children, Window


def stalled(win: Window, goals: Goals, ratings: Ratings, cid: list[str], gid: list[str]
            ) -> tuple[dict[str, list[str]], dict[str, int]]:
    """({child id: its stalled goal ids}, {child id: day number its earliest stall began}).

    A planted stall counts when the goal stayed flat for 12+ weeks over 3+ ratings and was
    still rated in the last 8 weeks."""
    p_goal, t, freeze = ratings.p_goal, ratings.t, ratings.freeze
    after = goals.stalled_goal[p_goal] & (t >= freeze[p_goal])
    n_after = np.bincount(p_goal[after], minlength=goals.count)
    last_t = np.full(goals.count, -np.inf)
    np.maximum.at(last_t, p_goal[after], t[after])
    stall_ok = goals.stalled_goal & (n_after >= 3) & (last_t >= win.end_d - 56) & (last_t - freeze >= 84)
    stalled_goals: dict[str, list[str]] = {}
    stalled_since: dict[str, int] = {}
    for g in np.flatnonzero(stall_ok):
        c = cid[goals.gc[g]]
        stalled_goals.setdefault(c, []).append(gid[g])
        stalled_since[c] = min(stalled_since.get(c, int(freeze[g])), int(freeze[g]))
    return stalled_goals, stalled_since


def reliable_change(n_children: int, meas: Measures) -> tuple[np.ndarray, np.ndarray]:
    """(reliable deterioration, reliable improvement) per child: first to last score beyond
    the measure's threshold in the worse (better) direction; children measured twice or more."""
    mc = np.maximum(meas.m_code, 0)
    m_change = np.full(n_children, np.nan)
    first_score = np.full(n_children, np.nan)
    last_score = np.full(n_children, np.nan)
    first_score[meas.mchild[::-1]] = meas.score[::-1]
    last_score[meas.mchild] = meas.score
    two = meas.m_count >= 2
    m_change[two] = (last_score[two] - first_score[two]) * meas.bad_sign[mc[two]]   # > 0 = worse
    return two & (m_change > meas.rci[mc]), two & (m_change < -meas.rci[mc])


def planted_truth(seed: int, win: Window, kids: Children, grp: np.ndarray, has_rows: np.ndarray,
                  rows: int, sessions: int, eng: Engagement, goals: Goals, ratings: Ratings,
                  meas: Measures, cid: list[str], gid: list[str]) -> dict:
    """The truth dict (the keys of truth.json, in order): the practice's size and period, the
    child-led effect, each planted group's children (only children with sessions), stalled
    goals, reliable change, the measures used, and empty slots the writers fill."""
    N = kids.n

    def ids(mask: np.ndarray) -> list[str]:
        return [cid[i] for i in np.flatnonzero(mask & has_rows)]

    stalled_goals, stalled_since = stalled(win, goals, ratings, cid, gid)
    rel_det, rel_imp = reliable_change(N, meas)
    effect = eng.effect
    return {
        "seed": int(seed),
        "children": N,
        "months": win.months,
        "start": win.start.isoformat(),
        "end": win.end.isoformat(),
        "rows": rows,
        "sessions": sessions,
        "children_with_sessions": int(has_rows.sum()),
        "therapists": kids.n_ther,
        "teams": list(TEAMS),
        "child_led_effect_mean": CHILD_LED_EFFECT_MEAN,
        "child_led_effect_sd": CHILD_LED_EFFECT_SD,
        "child_led_effect_sample_mean": round(float(effect[has_rows].mean()), 4),
        "child_led_effect": {cid[i]: round(float(effect[i]), 4) for i in np.flatnonzero(has_rows)},
        "declining": ids(grp == DECLINE),
        "declining_since": {cid[i]: iso(eng.decline_from[i]) for i in np.flatnonzero((grp == DECLINE) & has_rows)},
        "stalled": sorted(stalled_goals),
        "stalled_goals": {c: stalled_goals[c] for c in sorted(stalled_goals)},
        "stalled_since": {c: iso(stalled_since[c]) for c in sorted(stalled_goals)},
        "dropped_out": ids(grp == DROPOUT),
        "low_attendance": ids(grp == LOWATT),
        "rating_gap": ids(grp == GAP),
        "discharged": ids(grp == DISCHARGED),
        "reliable_deterioration": ids(rel_det),
        "reliable_improvement": ids(rel_imp),
        "measures": {s.name: {"sd": s.sd, "reliability": s.reliability, "higher_is_better": s.higher_is_better,
                              "rci_threshold": round(float(meas.rci[i]), 4)} for i, s in enumerate(meas.specs)},
        "spelling_variants": {},
        "exports": [],
        "overlap": None,
        "corrections": [],
        "n_corrected_rows": 0,
        "malformed": [],
        "n_malformed_rows": 0,
        "formula_cells": [],
    }
