"""Single-case effect sizes for every child at once: Tau-U, baseline-corrected Tau, PND.

``stats.single_case`` has the scalar definitions (``tau_u``, ``tau_bc``, ``pnd``)
and a vectorised NAP (``nap_grouped``); this module adds grouped versions of the other
three so that 10,000 children need no Python loop per child. Each returns exactly what
the scalar function returns for each group (checked in tests/test_analytics_effects.py).

Condition A is the baseline / comparison (directed sessions), B the intervention
(child-led sessions); ``time`` orders the sessions (session number within the child).

* Tau-U, "A vs. B - trend A" (Parker, R. I., Vannest, K. J., Davis, J. L., & Sauber,
  S. B. (2011). Combining nonoverlap and trend for single-case research: Tau-U.
  *Behavior Therapy, 42*(2), 284-299): (S_AB - S_AA) / (m n), S_AB = sum over A-B pairs of
  sign(b - a) and S_AA Kendall's S of the A series against time. Not bounded by [-1, 1].
* Tau-BC (Tarlow, K. R. (2017). An improved rank correlation effect size statistic for
  single-case designs: Baseline corrected Tau. *Behavior Modification, 41*(4), 427-467):
  Kendall test of the A-series trend; when p <= alpha, remove the Theil-Sen A line
  (median pairwise slope, intercept median(a - slope t)) from both conditions; Tau-BC is
  Kendall's tau-b between the condition dummy and the (corrected) scores, with its
  Kendall-test p-value, SE = sqrt(2 (1 - tau^2) / (m + n)) and a normal CI in [-1, 1].
  Kendall statistics come from ``stats.trend.trends_grouped`` (equal to
  ``scipy.stats.kendalltau`` per group).
* PND (Scruggs, T. E., Mastropieri, M. A., & Casto, G. (1987). The quantitative synthesis
  of single-subject research. *Remedial and Special Education, 8*(2), 24-33): share of B
  points above the highest A point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from stats._scipy import norm_ppf, norm_sf
from stats.counts import other_below
from stats.trend import trends_grouped

__all__ = ["pnd_grouped", "tau_u_grouped", "tau_bc_grouped"]


def _prepare(df: pd.DataFrame, by: str | Sequence[str], condition: str, value: str,
             a_label: object, b_label: object, increase: bool, time: str | None = None):
    keys = [by] if isinstance(by, str) else list(by)
    grouped = df.groupby(keys, sort=True, dropna=False)
    out = grouped.size().index.to_frame(index=False)
    gid_all = grouped.ngroup().to_numpy()
    cond = df[condition]
    is_a = (cond == a_label).to_numpy(dtype=bool, na_value=False)
    is_b = (cond == b_label).to_numpy(dtype=bool, na_value=False)
    v = pd.to_numeric(df[value], errors="raise").astype(float).to_numpy()
    keep = (is_a | is_b) & ~np.isnan(v)
    t = None
    if time is not None:
        t_all = pd.to_numeric(df[time], errors="raise").astype(float).to_numpy()
        keep &= ~np.isnan(t_all)
        t = t_all[keep]
    vals = v[keep] if increase else -v[keep]
    return out, gid_all[keep], is_b[keep], vals, t


def _kendall_s(sizes: np.ndarray, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's S = sum over i < j of sign(t_j - t_i) sign(y_j - y_i) per group, for points in
    contiguous groups of the given sizes: groups of similar size padded into 2-D rows, the pairs
    (i, i + d) as column slices (no pair index arrays); integer sums, so exact."""
    out = np.zeros(sizes.size)
    starts = np.cumsum(sizes) - sizes
    multi = np.flatnonzero(sizes >= 2)
    bucket = np.ceil(np.log(np.maximum(sizes[multi], 2)) / np.log(1.25)).astype(np.int64)
    for bk in np.unique(bucket):
        members = multi[bucket == bk]
        width = int(sizes[members].max())
        step = max(1, 4_000_000 // (width * (width - 1) // 2))
        for c0 in range(0, members.size, step):
            gi = members[c0:c0 + step]
            cols = np.arange(width)
            valid = cols[None, :] < sizes[gi][:, None]
            idx = np.minimum(starts[gi][:, None] + cols[None, :], t.size - 1)
            tm, ym = t[idx], y[idx]
            for d in range(1, width):
                w = width - d
                prod = np.sign(tm[:, d:] - tm[:, :w]) * np.sign(ym[:, d:] - ym[:, :w])
                out[gi] += np.where(valid[:, d:], prod, 0.0).sum(axis=1)
    return out


def _s_ab(gid: np.ndarray, is_b: np.ndarray, v: np.ndarray, n_groups: int) -> np.ndarray:
    """S_AB = #(B > A) - #(B < A) per group, from mid-ranks (Mann-Whitney U of B: S = 2U - mn)."""
    below = other_below(gid, is_b, v)
    u = np.bincount(gid[is_b], weights=below[is_b], minlength=n_groups)
    m = np.bincount(gid[~is_b], minlength=n_groups).astype(float)
    n = np.bincount(gid[is_b], minlength=n_groups).astype(float)
    return np.rint(2 * u - m * n)


def _phase_kendall(gid: np.ndarray, is_b: np.ndarray, score: np.ndarray, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Kendall's tau-b between the condition dummy (A = 0, B = 1) and the scores, per group,
    with the two-sided p-value of ``scipy.stats.kendalltau`` (Kendall 1970).

    The dummy is tied within each condition, so scipy uses the normal approximation with
    the tie-corrected variance of S except for two points (one per condition), where its
    exact p is 1. S = #(B > A) - #(B < A) comes from mid-ranks, so no pairs are formed:
    var S = [N(N-1)(2N+5) - sum_x t(t-1)(2t+5) - sum_y u(u-1)(2u+5)] / 18
            + [sum_x t(t-1)(t-2)][sum_y u(u-1)(u-2)] / (9 N(N-1)(N-2))
            + [sum_x t(t-1)][sum_y u(u-1)] / (2 N(N-1)),
    with x the dummy (tie groups of sizes m and n) and y the scores.
    """
    m = np.bincount(gid[~is_b], minlength=g).astype(float)
    n = np.bincount(gid[is_b], minlength=g).astype(float)
    big_n = m + n
    s = _s_ab(gid, is_b, score, g)
    # ties among the scores of each group
    order = np.lexsort((score, gid))
    gs, vs = gid[order], score[order]
    start = np.r_[True, (gs[1:] != gs[:-1]) | (vs[1:] != vs[:-1])] if gs.size else np.zeros(0, bool)
    run = np.cumsum(start) - 1
    t = np.bincount(run, minlength=int(start.sum())).astype(float)
    rg = gs[start]
    y0 = np.bincount(rg, weights=t * (t - 1) / 2, minlength=g)
    y1 = np.bincount(rg, weights=t * (t - 1) * (t - 2), minlength=g)
    y2 = np.bincount(rg, weights=t * (t - 1) * (2 * t + 5), minlength=g)
    x0 = m * (m - 1) / 2 + n * (n - 1) / 2
    x1 = m * (m - 1) * (m - 2) + n * (n - 1) * (n - 2)
    x2 = m * (m - 1) * (2 * m + 5) + n * (n - 1) * (2 * n + 5)
    tot = big_n * (big_n - 1) / 2
    mm = big_n * (big_n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.clip(s / np.sqrt(tot - x0) / np.sqrt(tot - y0), -1.0, 1.0)
        third = np.where(x1 * y1 > 0, x1 * y1 / (9 * mm * (big_n - 2)), 0.0)
        var = (mm * (2 * big_n + 5) - x2 - y2) / 18 + 2 * x0 * y0 / mm + third
        p = 2.0 * norm_sf(np.abs(s / np.sqrt(var)))
    p = np.where(big_n == 2, 1.0, p)   # one point per condition: scipy's exact p is 1
    bad = (m == 0) | (n == 0) | (tot == y0)
    return np.where(bad, np.nan, tau), np.where(bad, np.nan, p)


def pnd_grouped(df: pd.DataFrame, by: str | Sequence[str], condition: str, value: str,
                a_label: object, b_label: object, increase: bool = True) -> pd.DataFrame:
    """PND (Scruggs, Mastropieri & Casto 1987) per group, as a share: columns ``by...``,
    ``n_a``, ``n_b``, ``pnd`` (NaN when a condition has no data)."""
    out, gid, is_b, v, _ = _prepare(df, by, condition, value, a_label, b_label, increase)
    g = len(out)
    m = np.bincount(gid[~is_b], minlength=g)
    n = np.bincount(gid[is_b], minlength=g)
    top_a = np.full(g, -np.inf)
    np.maximum.at(top_a, gid[~is_b], v[~is_b])
    above = np.bincount(gid[is_b], weights=(v[is_b] > top_a[gid[is_b]]).astype(float), minlength=g)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where((m > 0) & (n > 0), above / n, np.nan)
    out["n_a"], out["n_b"], out["pnd"] = m, n, share
    return out


def tau_u_grouped(df: pd.DataFrame, by: str | Sequence[str], condition: str, value: str, time: str,
                  a_label: object, b_label: object, increase: bool = True) -> pd.DataFrame:
    """Tau-U "A vs. B - trend A" (Parker et al. 2011) per group: ``by...``, ``n_a``, ``n_b``,
    ``s_ab``, ``s_aa``, ``tau_u`` = (S_AB - S_AA)/(m n)."""
    out, gid, is_b, v, t = _prepare(df, by, condition, value, a_label, b_label, increase, time)
    g = len(out)
    m = np.bincount(gid[~is_b], minlength=g)
    n = np.bincount(gid[is_b], minlength=g)
    s_ab = _s_ab(gid, is_b, v, g)
    # Kendall's S of the A series against time, over all within-group pairs of A points
    ga, va, ta = gid[~is_b], v[~is_b], t[~is_b]
    order = np.lexsort((ta, ga))
    ga, va, ta = ga[order], va[order], ta[order]
    s_aa = _kendall_s(np.bincount(ga, minlength=g), ta, va)
    mn = (m * n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(mn > 0, (s_ab - s_aa) / mn, np.nan)
    out["n_a"], out["n_b"], out["s_ab"], out["s_aa"], out["tau_u"] = m, n, s_ab, s_aa, est
    return out


def tau_bc_grouped(df: pd.DataFrame, by: str | Sequence[str], condition: str, value: str, time: str,
                   a_label: object, b_label: object, alpha: float = 0.05, increase: bool = True,
                   confidence: float = 0.95) -> pd.DataFrame:
    """Baseline-corrected Tau (Tarlow 2017) per group, as ``stats.tau_bc`` with
    ``t_a``/``t_b`` = ``time``.

    Columns ``by...``, ``n_a``, ``n_b``, ``tau_bc``, ``tau_bc_p``, ``tau_bc_corrected``,
    ``trend_tau``, ``trend_p``, ``baseline_slope``, ``baseline_intercept``, ``tau_bc_se``,
    ``tau_bc_lo``, ``tau_bc_hi``.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}")
    # the scalar function corrects (and tests) on the raw scores, then flips the sign
    out, gid, is_b, v, t = _prepare(df, by, condition, value, a_label, b_label, True, time)
    g = len(out)
    m = np.bincount(gid[~is_b], minlength=g)
    n = np.bincount(gid[is_b], minlength=g)

    a = pd.DataFrame({"g": gid[~is_b], "t": t[~is_b], "y": v[~is_b]})
    trend = trends_grouped(a, "g", "t", "y") if len(a) else pd.DataFrame(
        columns=["g", "n", "slope", "slope_lo", "slope_hi", "kendall_tau", "p_value"])
    slope = np.full(g, np.nan)
    trend_tau = np.full(g, np.nan)
    trend_p = np.full(g, np.nan)
    gi = trend["g"].to_numpy(dtype=np.int64)
    slope[gi] = trend["slope"].to_numpy(dtype=float)
    trend_tau[gi] = trend["kendall_tau"].to_numpy(dtype=float)
    trend_p[gi] = trend["p_value"].to_numpy(dtype=float)
    intercept = np.full(g, np.nan)
    has_slope = np.isfinite(slope)
    if has_slope.any():
        sel = has_slope[a["g"].to_numpy()]
        resid = a["y"].to_numpy()[sel] - slope[a["g"].to_numpy()[sel]] * a["t"].to_numpy()[sel]
        med = pd.Series(resid).groupby(a["g"].to_numpy()[sel]).median()
        intercept[med.index.to_numpy()] = med.to_numpy()
    corrected = np.isfinite(trend_p) & (trend_p <= alpha) & has_slope

    score = np.where(corrected[gid], np.round(v - intercept[gid] - slope[gid] * t, 10), v)
    if not increase:
        score = -score
    est, p = _phase_kendall(gid, is_b, score, g)
    # all scores tied: tau-b is undefined; Tarlow / SingleCaseES report 0 (p = 1)
    lo_s = np.full(g, np.inf)
    hi_s = np.full(g, -np.inf)
    np.minimum.at(lo_s, gid, score)
    np.maximum.at(hi_s, gid, score)
    flat = (lo_s == hi_s) & (m > 0) & (n > 0)
    est[flat], p[flat] = 0.0, 1.0
    valid = (m > 0) & (n > 0)
    est[~valid], p[~valid] = np.nan, np.nan

    z = norm_ppf(1.0 - (1.0 - confidence) / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(2.0 * (1.0 - est**2) / (m + n))
    out["n_a"], out["n_b"] = m, n
    out["tau_bc"] = est
    out["tau_bc_p"] = p
    out["tau_bc_corrected"] = corrected & valid
    out["trend_tau"] = trend_tau
    out["trend_p"] = trend_p
    out["baseline_slope"] = slope
    out["baseline_intercept"] = intercept
    out["tau_bc_se"] = se
    out["tau_bc_lo"] = np.maximum(-1.0, est - z * se)
    out["tau_bc_hi"] = np.minimum(1.0, est + z * se)
    return out
