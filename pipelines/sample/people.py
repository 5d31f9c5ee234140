"""Who is in the practice: the period, the children (age, date of birth, modality), their
therapists and teams, the planted group of each child, and when each child starts and leaves.

Every function draws from the one generator it is given, in a fixed order (``model.build``
calls them in turn), so the same seed gives the same practice.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from .arrays import choice_rows, days, month_start
from .constants import DECLINE, DISCHARGED, DROPOUT, GAP, GROUP_SHARES, LOWATT, NONE, SPECS, STALL


@dataclass(frozen=True)
class Window:
    """The period: ``months`` calendar months ending on ``end``, as dates and day numbers."""
    start: dt.date
    end: dt.date
    months: int
    ws: int        # day number of start
    end_d: int     # day number of end

    @property
    def span(self) -> int:
        return self.end_d - self.ws + 1


@dataclass(frozen=True)
class Children:
    """One entry per child (index = child number - 1)."""
    n: int
    age: np.ndarray    # whole years at the window start
    dob: np.ndarray    # day numbers
    mod: np.ndarray    # modality code (constants.MODALITIES)
    ther: np.ndarray   # therapist index
    team: np.ndarray   # team index (constants.TEAMS)
    n_ther: int        # therapists in the practice
    t_width: int       # digits of a therapist id


@dataclass(frozen=True)
class Tenure:
    """When each child is seen: first and last day, weekly or fortnightly, which weekday."""
    cstart: np.ndarray     # day the child started (may be before the window)
    ce: np.ndarray         # last day the child may be seen
    disc: np.ndarray       # discharged (bool)
    drop: np.ndarray       # dropped out (bool)
    weekly: np.ndarray     # weekly, else fortnightly (bool)
    wday: np.ndarray       # weekday 0-4 of the usual session
    phase: np.ndarray      # fortnightly children: which week of two
    first_day: np.ndarray  # first day seen inside the window


def window(months: int, end: dt.date) -> Window:
    """The period of ``months`` months ending on ``end``."""
    start = month_start(end, months)
    return Window(start=start, end=end, months=int(months), ws=days(start), end_d=days(end))


def children(rng: np.random.Generator, n: int, win: Window) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(age in years, date of birth as day numbers, modality code) of each of n children.

    Ages 1-17 (most 4-9); the modality follows the age bracket (speech for the youngest, CBT
    for teenagers)."""
    age_w = np.array([3, 6, 8, 9, 9, 9, 8, 8, 7, 6, 6, 5, 5, 4, 3, 3, 2], float)
    age = rng.choice(np.arange(1, 18), size=n, p=age_w / age_w.sum())
    dob = win.ws - np.round((age + rng.uniform(0.03, 0.97, n)) * 365.25).astype(np.int64)
    bracket = np.select([age <= 3, age <= 7, age <= 12], [0, 1, 2], 3)
    mod_p = np.array([[0.00, 0.25, 0.60, 0.15],     # CBT, OT, speech, play by age bracket
                      [0.05, 0.30, 0.35, 0.30],
                      [0.45, 0.20, 0.12, 0.23],
                      [0.80, 0.10, 0.05, 0.05]])
    return age, dob, choice_rows(rng, mod_p[bracket])


def therapists(rng: np.random.Generator, mod: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(therapist index of each child, team index of each child, number of therapists, digits
    of a therapist id).

    One therapist per 12 children (at least 12), a third of them in each team, with the
    specialisms of ``constants.SPECS``; each child gets a therapist offering its modality."""
    n_ther = max(12, int(round(len(mod) / 12)))
    t_width = max(2, len(str(n_ther)))
    ther_team = (np.arange(n_ther) * 3) // n_ther
    ther_specs = [SPECS[i % len(SPECS)] for i in range(n_ther)]
    ther = np.zeros(len(mod), np.int64)
    for m in range(4):
        offering = np.array([i for i, sp in enumerate(ther_specs) if m in sp])
        sel = np.flatnonzero(mod == m)
        ther[sel] = offering[rng.integers(0, len(offering), len(sel))]
    return ther, ther_team[ther], n_ther, t_width


def planted_groups(rng: np.random.Generator, n: int) -> np.ndarray:
    """The planted group of each child (constants.NONE, DECLINE, ...): disjoint, each group's
    share of ``constants.GROUP_SHARES`` rounded half up, children picked at random."""
    grp = np.full(n, NONE)
    perm = rng.permutation(n)
    at = 0
    for g, share in GROUP_SHARES:
        k = min(int(math.floor(share * n + 0.5)), n - at)
        grp[perm[at:at + k]] = g
        at += k
    return grp


def tenure(rng: np.random.Generator, win: Window, grp: np.ndarray) -> Tenure:
    """When each child is seen.

    45% started before the window, the rest join during it; everyone stays to the end except
    the discharged (leave 16+ weeks in, 8+ weeks before the end) and the drop-outs (last seen
    5-9 weeks before the end). Planted children start early enough for their pattern to show
    (e.g. 20 weeks before the end for a decline). 70% are seen weekly (planted trends always)."""
    n = len(grp)
    ws, end_d, span = win.ws, win.end_d, win.span
    pre = rng.random(n) < 0.45
    cstart = np.where(pre, ws - rng.integers(7, 281, n),
                      ws + (rng.random(n) * max(span - 21, 1)).astype(np.int64))
    ce = np.full(n, end_d, np.int64)
    dlo, dhi = ws + 16 * 7, end_d - 8 * 7
    dlo = min(dlo, dhi)
    disc = grp == DISCHARGED
    ce[disc] = rng.integers(dlo, dhi + 1, disc.sum())
    drop = grp == DROPOUT
    ce[drop] = end_d - rng.integers(35, 61, drop.sum())
    limit = np.full(n, np.iinfo(np.int64).max)
    limit[np.isin(grp, (DECLINE, STALL, LOWATT))] = end_d - 20 * 7
    limit[grp == GAP] = end_d - 26 * 7
    limit[drop] = ce[drop] - 12 * 7
    limit[disc] = ce[disc] - 16 * 7
    late = cstart > limit
    cstart[late] = limit[late] - rng.integers(0, 57, late.sum())
    weekly = rng.random(n) < 0.7
    weekly[np.isin(grp, (DECLINE, STALL, LOWATT, GAP))] = True
    wday = rng.integers(0, 5, n)
    phase = rng.integers(0, 2, n)
    return Tenure(cstart=cstart, ce=ce, disc=disc, drop=drop, weekly=weekly, wday=wday,
                  phase=phase, first_day=np.maximum(cstart, ws))
