"""Engagement ratings (1-5) of attended sessions: each child's level, the planted child-led
effect, the planted decline, and the check that the decline (and only it) shows as a trend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .arrays import cumcount
from .constants import CHILD_LED_EFFECT_MEAN, CHILD_LED_EFFECT_SD, DECLINE
from .people import Tenure, Window
from .sessions import Sessions


@dataclass(frozen=True)
class Engagement:
    eng: np.ndarray           # rating of each session (meaningful where attended)
    effect: np.ndarray        # each child's child-led effect (rating points)
    decline_from: np.ndarray  # day number a decliner's fall starts (every child drawn)


def mann_kendall(child: np.ndarray, values: np.ndarray, day_numbers: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-child Mann-Kendall trend test, vectorised over children.

    Returns (children, n, Z without continuity correction, Z with it, Theil-Sen slope per
    day), arrays over the unique children. S = sum of sign(x_j - x_i) over pairs i < j,
    Var S = (n(n-1)(2n+5) - sum over ties t(t-1)(2t+5)) / 18, Z = S / sqrt(Var S) (corrected:
    (S - sign S) / sqrt(Var S)); Kendall 1975, Theil 1950, Sen 1968. ``child`` is sorted (rows
    in time order within child).
    """
    uniq, inv = np.unique(child, return_inverse=True)
    pos = cumcount(inv)
    k = int(pos.max()) + 1 if len(pos) else 1
    x = np.full((len(uniq), k), np.nan)
    x[inv, pos] = values
    d = np.zeros((len(uniq), k))
    d[inv, pos] = day_numbers
    valid = ~np.isnan(x)
    s = np.zeros(len(uniq))
    slopes = []
    for i in range(k):
        for j in range(i + 1, k):
            both = valid[:, i] & valid[:, j] & (d[:, j] != d[:, i])
            diff = np.nan_to_num(x[:, j] - x[:, i])
            s += np.where(both, np.sign(diff), 0.0)
            slopes.append(np.where(both, diff / np.where(both, d[:, j] - d[:, i], 1), np.nan))
    if slopes:
        sl = np.stack(slopes, axis=1)
        has = ~np.isnan(sl).all(axis=1)
        slope = np.zeros(len(uniq))
        slope[has] = np.nanmedian(sl[has], axis=1)
    else:
        slope = np.zeros(len(uniq))
    n = valid.sum(axis=1).astype(float)
    ties = np.zeros(len(uniq))
    for v in np.unique(values):
        c = (x == v).sum(axis=1).astype(float)
        ties += c * (c - 1) * (2 * c + 5)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    sd = np.sqrt(np.where(var > 0, var, np.inf))
    return uniq, n, s / sd, (s - np.sign(s)) / sd, slope


def engagement(rng: np.random.Generator, win: Window, grp: np.ndarray, ten: Tenure, ses: Sessions,
               att: np.ndarray, app: np.ndarray) -> Engagement:
    """Engagement of each session: the child's base level (about 3; decliners start near
    3.8), plus its child-led effect (normal, constants.CHILD_LED_EFFECT_MEAN/SD; half of it
    in mixed sessions), minus the decline (2.2-2.6 points over the last 8-10 weeks), plus
    noise, rounded and clipped to 1-5.

    The trend window is the last 8 weeks before ``end`` (or before the last session of a child
    who left). Decliners must show a significant fall (Mann-Kendall, continuity corrected,
    two-sided p < .05, Theil-Sen slope under -0.1 a week); nobody else may come near one
    (uncorrected z > -1.4). Noise is redrawn for the children that miss (up to 100 times),
    and as a last resort their window is sorted.
    """
    N, n, end_d = len(grp), ses.n, win.end_d
    ci, sd, g_s = ses.ci, ses.sd, ses.g_s
    declining = grp == DECLINE
    eng_base = np.clip(rng.normal(3.0, 0.35, N), 2.3, 3.6)
    eng_base[declining] = np.clip(rng.normal(3.8, 0.2, declining.sum()), 3.5, 4.1)
    effect = rng.normal(CHILD_LED_EFFECT_MEAN, CHILD_LED_EFFECT_SD, N)
    decline_from = end_d - rng.integers(56, 71, N)
    drop_size = rng.uniform(2.2, 2.6, N)
    frac = np.clip((sd - decline_from[ci]) / (end_d - decline_from[ci]), 0, 1)
    fixed = (eng_base[ci] + effect[ci] * ((app == 0) + 0.5 * (app == 2))
             - np.where(g_s == DECLINE, drop_size[ci] * frac, 0.0))
    noise = rng.normal(0, 0.45, n)
    eng = np.clip(np.rint(fixed + noise), 1, 5)
    last_sd = np.full(N, -1, np.int64)
    last_sd[ci[ses.last_row]] = sd[ses.last_row]
    anchor = np.where(ten.ce == end_d, end_d, last_sd)
    rows = np.flatnonzero((sd > anchor[ci] - 56) & att)
    for it in range(101):                          # after the first pass only misses are re-checked
        uniq, cnt, z, zcc, slope = mann_kendall(ci[rows], eng[rows], sd[rows])
        bad = np.where(declining[uniq], (cnt >= 5) & ((zcc > -1.96) | (slope * 7 > -0.1)),
                       (cnt >= 3) & (z < -1.4))
        if not bad.any():
            break
        redo = rows[np.isin(ci[rows], uniq[bad])]
        if it < 100:
            eng[redo] = np.clip(np.rint(fixed[redo] + rng.normal(0, 0.45, len(redo))), 1, 5)
        else:
            sign = np.where(declining[ci[redo]], -1, 1)
            o = np.lexsort((sign * eng[redo], ci[redo]))
            eng[redo] = eng[redo][o]
        rows = redo
    return Engagement(eng=eng, effect=effect, decline_from=decline_from)
