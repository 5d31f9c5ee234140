"""Goals and their GAS ratings: each child's 2-4 goals (start, baseline, final level, pace,
area, weight), the sessions that rate goals, and the level each active goal is rated at.

Goal Attainment Scaling (Kiresuk & Sherman 1968): -2 much less than expected (the usual
baseline), -1 somewhat less, 0 the expected outcome, +1/+2 somewhat/much more; -3 (worse than
baseline) is the common extension. A goal climbs one level every 5-9 weeks from its baseline
to its final level, and is rated until it first reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import cumcount, starts
from .constants import DISCHARGED, DOMAINS, DROPOUT, GAP, MODALITY_DOMAINS, STALL
from .people import Tenure, Window
from .sessions import Sessions


@dataclass(frozen=True)
class Goals:
    """One entry per goal (goals of a child are consecutive), plus per-child gap and stall dates."""
    ng: np.ndarray            # goals per child
    gc: np.ndarray            # child index of each goal
    goff: np.ndarray          # index of each child's first goal
    gj: np.ndarray            # goal number within the child, from 0
    L0: np.ndarray            # baseline level (-2 or -1)
    F: np.ndarray             # final level (0, 1 or 2)
    gs: np.ndarray            # start (day number, float)
    step_days: np.ndarray     # days per GAS level
    stalled_goal: np.ndarray  # planted stall (bool)
    stall_from: np.ndarray    # per child: day number from which a stalled goal stays flat
    gap_cut: np.ndarray       # per child: day number after which a rating-gap child is not rated
    domain: np.ndarray        # goal area code (constants.DOMAINS)
    weight: np.ndarray        # goal weight 1-3

    @property
    def count(self) -> int:
        return len(self.gc)


@dataclass(frozen=True)
class Ratings:
    """One entry per (rating session, active goal) pair, in session order."""
    p_sess: np.ndarray    # session index
    p_goal: np.ndarray    # goal index
    t: np.ndarray         # session date (day number)
    lvl: np.ndarray       # GAS level
    freeze: np.ndarray    # per goal: day number a stalled goal froze (inf for the others)


def plan_goals(rng: np.random.Generator, win: Window, grp: np.ndarray, mod: np.ndarray, ten: Tenure) -> Goals:
    """Each child's goals.

    Baseline -2 (75%) or -1, final level 0/+1/+2 (30/45/25%). Goals of children seen before
    the window started may have started before it; the last goal starts so it is 75-95% of
    the way at the end (105-130% for the discharged, who achieve every goal before leaving).
    Rating-gap children's last goal starts 6+ weeks before their ratings stop; a stalled
    goal (the last, and half of the time the first too) starts below expected and stops
    moving 16-22 weeks before the end. The area follows the modality
    (constants.MODALITY_DOMAINS); weights 1/2/3 (75/18/7%).
    """
    ws, end_d = win.ws, win.end_d
    N = len(grp)
    cstart, ce, disc = ten.cstart, ten.ce, ten.disc
    ng = rng.choice([2, 3, 4], size=N, p=[0.35, 0.4, 0.25])
    G = int(ng.sum())
    gc = np.repeat(np.arange(N), ng)
    goff = np.concatenate([[0], np.cumsum(ng)[:-1]])
    gj = np.arange(G) - goff[gc]
    is_last = gj == ng[gc] - 1
    L0 = np.where(rng.random(G) < 0.75, -2, -1)
    F = rng.choice([0, 1, 2], size=G, p=[0.3, 0.45, 0.25])
    steps = F - L0
    step_days = rng.uniform(35, 63, G)             # one GAS level per 5-9 weeks
    g_dur = steps * step_days
    gs = np.where(cstart[gc] < ws, np.maximum(cstart[gc], ws - rng.uniform(0, 0.6, G) * g_dur), cstart[gc])
    progress = np.where(disc[gc], rng.uniform(1.05, 1.3, G), rng.uniform(0.75, 0.95, G))
    gs_last = np.maximum(cstart[gc], ce[gc] - g_dur * progress)
    # rating-gap children: the last goal is set 6+ weeks before the ratings stop (so it is
    # rated a few times) and still open when they stop
    gap_cut = end_d - rng.integers(65, 96, N)
    gl = (grp[gc] == GAP) & is_last
    L0[gl] = -2
    steps = F - L0
    g_dur = steps * step_days
    gs_last[gl] = np.maximum(cstart[gc][gl], gap_cut[gc][gl] - np.maximum(g_dur[gl] * rng.uniform(0.6, 0.85, gl.sum()), 42))
    gs = np.where(is_last, gs_last, gs).astype(float)
    # discharged children achieve all their goals before leaving
    fix = disc[gc] & ~is_last & (gs + g_dur > ce[gc] - 7)
    step_days[fix] = np.maximum(14, (ce[gc][fix] - 7 - gs[fix]) / steps[fix] * rng.uniform(0.8, 0.95, fix.sum()))
    # stalled goals: no change from their last rating before `stall_from` (16-22 weeks before
    # the end) on, while still being rated (the freeze date is set once ratings are known)
    stall_from = end_d - rng.integers(16 * 7, 22 * 7 + 1, N)
    stall_last = (grp[gc] == STALL) & is_last
    stall_first = (grp[gc] == STALL) & (gj == 0) & ~is_last & (rng.random(G) < 0.5)
    stalled_goal = stall_last | stall_first
    # a stall is a concern: frozen below the expected level (at -2 or -1)
    L0[stalled_goal] = -2
    gs[stalled_goal] = np.maximum(cstart[gc][stalled_goal],
                                  stall_from[gc][stalled_goal] - rng.uniform(0.3, 1.9, stalled_goal.sum()) * step_days[stalled_goal])
    domain, weight = goal_areas(rng, mod, gc)
    return Goals(ng=ng, gc=gc, goff=goff, gj=gj, L0=L0, F=F, gs=gs, step_days=step_days,
                 stalled_goal=stalled_goal, stall_from=stall_from, gap_cut=gap_cut,
                 domain=domain, weight=weight)


def goal_areas(rng: np.random.Generator, mod: np.ndarray, gc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(area code into constants.DOMAINS, weight 1-3) of each goal; gc is each goal's child."""
    G = len(gc)
    g_domain = np.zeros(G, np.int64)
    for m, (names, p) in MODALITY_DOMAINS.items():
        sel = np.flatnonzero(mod[gc] == m)
        g_domain[sel] = np.array([DOMAINS.index(x) for x in names])[rng.choice(len(names), size=len(sel), p=p)]
    return g_domain, rng.choice([1, 2, 3], size=G, p=[0.75, 0.18, 0.07])


def rating_sessions(rng: np.random.Generator, win: Window, grp: np.ndarray, ten: Tenure, ses: Sessions,
                    att: np.ndarray, gap_cut: np.ndarray) -> np.ndarray:
    """Which sessions rate the goals (bool per session): every 2nd-4th attended session
    (weekly children) or 2nd-3rd (fortnightly; every 2nd for stalls and gaps), never after a
    rating-gap child's cut-off, and always a child's last attended session when its last
    rating is over 3 weeks old or it left (drop-outs, discharged)."""
    N, end_d, ci, sd = len(grp), win.end_d, ses.ci, ses.sd
    k_weekly = rng.choice([2, 3, 4], size=N, p=[0.35, 0.4, 0.25])
    k_fort = rng.choice([2, 3], size=N, p=[0.6, 0.4])
    k = np.where(ten.weekly, k_weekly, k_fort)
    k[np.isin(grp, (STALL, GAP))] = 2
    # attended index within child: cumulative count of attended rows minus those before the child
    cs = np.cumsum(att)
    a_idx = cs - (cs[starts(ci)] - att[starts(ci)]) - 1
    rating = att & (a_idx % k[ci] == 0)
    rating &= ~((ses.g_s == GAP) & (sd > gap_cut[ci]))
    att_rows = np.flatnonzero(att)
    last_att = np.full(N, -1, np.int64)
    last_att[ci[att_rows]] = att_rows              # last write wins: rows are in time order
    last_rating = np.full(N, -1, np.int64)
    r_rows = np.flatnonzero(rating)
    last_rating[ci[r_rows]] = sd[r_rows]
    force = (grp != GAP) & (last_att >= 0) & (
        (last_rating < end_d - 21) | np.isin(grp, (DROPOUT, DISCHARGED)))
    rating[last_att[force]] = True
    return rating


def goal_ratings(rng: np.random.Generator, win: Window, goals: Goals, ses: Sessions, rating: np.ndarray) -> Ratings:
    """The GAS level of each active goal at each rating session.

    level = baseline + whole steps since the goal started, capped at the final level; a
    stalled goal stays at its level of the last rating before its stall date. A goal is
    rated until its first rating at the final level (achieved, then closed). 4% of baseline
    ratings long before the end (and never on stalled goals) dip to -3.
    """
    end_d, ci, sd = win.end_d, ses.ci, ses.sd
    G, stalled_goal = goals.count, goals.stalled_goal
    gs, step_days, F = goals.gs, goals.step_days, goals.F
    r_rows = np.flatnonzero(rating)
    p_sess = np.repeat(r_rows, goals.ng[ci[r_rows]])
    p_goal = goals.goff[ci[p_sess]] + cumcount(p_sess)
    t = sd[p_sess]
    keep = t >= gs[p_goal]
    p_sess, p_goal, t = p_sess[keep], p_goal[keep], t[keep]
    sg = stalled_goal[p_goal]
    before = sg & (t <= goals.stall_from[goals.gc[p_goal]])
    latest = np.full(G, -np.inf)
    np.maximum.at(latest, p_goal[before], t[before])
    earliest = np.full(G, np.inf)
    np.minimum.at(earliest, p_goal[sg], t[sg])
    freeze = np.full(G, np.inf)
    freeze[stalled_goal] = np.where(np.isfinite(latest), latest, earliest)[stalled_goal]
    lvl = goals.L0[p_goal] + np.floor((np.minimum(t, freeze[p_goal]) - gs[p_goal]) / step_days[p_goal]).astype(np.int64)
    lvl = np.minimum(lvl, F[p_goal])
    # a goal is rated until the first rating at its final level (achieved, then closed)
    first_at_F = np.full(G, np.iinfo(np.int64).max)
    at_F = lvl == F[p_goal]
    np.minimum.at(first_at_F, p_goal[at_F], t[at_F])
    keep = t <= first_at_F[p_goal]
    p_sess, p_goal, t, lvl = p_sess[keep], p_goal[keep], t[keep], lvl[keep]
    # occasional deterioration below baseline (-3), long before the end, never on stalled goals
    dip = (lvl == -2) & (t < end_d - 140) & ~stalled_goal[p_goal] & (rng.random(len(lvl)) < 0.04)
    return Ratings(p_sess=p_sess, p_goal=p_goal, t=t, lvl=np.where(dip, -3, lvl), freeze=freeze)
