"""Counts behind the grouped nonoverlap statistics (NAP, Tau-U, Tau-BC), vectorised over groups.

``other_below``: per point, the Mann-Whitney count against the other condition of its group
(Mann & Whitney 1947): the points of the other condition below it plus half those tied with it.
Summed over condition B it is U_B (NAP = U_B / (m n), Parker & Vannest 2009; S_AB = 2 U_B - m n,
Parker et al. 2011).
"""

from __future__ import annotations

import numpy as np

__all__ = ["other_below"]


def other_below(g: np.ndarray, is_b: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Per point: how many points of the other condition in its group are below it, plus half
    the number tied with it: (mid-rank among all its group's points) - (mid-rank among its own
    condition's), the Mann-Whitney count of the point, from one sort by (group, value) and
    cumulative counts of the runs of equal values (half-integers, so exact)."""
    if g.size == 0:
        return np.zeros(0)
    order = np.lexsort((v, g))
    gs, vs, bs = g[order], v[order], is_b[order]
    new_group = np.r_[True, gs[1:] != gs[:-1]]
    start = new_group | np.r_[True, vs[1:] != vs[:-1]]
    run = np.cumsum(start) - 1
    n_runs = int(run[-1]) + 1
    c_b = np.bincount(run, weights=bs.astype(float), minlength=n_runs)
    c_a = np.bincount(run, minlength=n_runs) - c_b
    first_run = np.maximum.accumulate(np.where(new_group[start], np.arange(n_runs), 0))  # group's first run
    cum_a, cum_b = np.cumsum(c_a) - c_a, np.cumsum(c_b) - c_b    # before the run, whole array
    a_before = cum_a - cum_a[first_run]
    b_before = cum_b - cum_b[first_run]
    per_run_a = a_before + 0.5 * c_a   # what a B point of the run counts
    per_run_b = b_before + 0.5 * c_b   # what an A point counts
    out = np.empty(g.size)
    out[order] = np.where(bs, per_run_a[run], per_run_b[run])
    return out
