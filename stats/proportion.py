"""Intervals for a share of sessions when sessions are clustered within children.

A rate such as "no-shows per scheduled session" is a ratio of sums over children,
r = sum_i y_i / sum_i m_i (y_i sessions with the outcome, m_i scheduled sessions of child i).
Its variance is the linearised ratio-estimator variance with the CR1 factor,
V(r) = G / (G - 1) * sum_i (y_i - r m_i)^2 / (sum_i m_i)^2 (Cochran 1977, section 6.9;
Cameron & Miller 2015 for the G / (G - 1) factor); it is computed in
``queries/analysis/attendance_rates.sql``. The interval is Wilson's score interval
(Wilson 1927) on the effective sample size n_eff = r (1 - r) / V(r) (Kish 1965's design
effect; Korn & Graubard 1998 for complex samples), with a t(G - 1) quantile: unlike r -+ t
sqrt(V) it stays inside 0-1 and does not collapse to a point when no session had the outcome.
"""

from __future__ import annotations

import numpy as np

from stats._scipy import lazy

sps = lazy("scipy.stats")  # imported when first used


def wilson_interval(p, n, confidence: float = 0.95, df=None) -> tuple[np.ndarray, np.ndarray]:
    """Wilson's score interval for a proportion ``p`` on ``n`` trials; returns (low, high).

    (p + z^2 / 2n -+ z sqrt(p (1 - p) / n + z^2 / 4n^2)) / (1 + z^2 / n), z the normal
    quantile, or the t quantile on ``df`` degrees of freedom when given (Wilson 1927;
    Newcombe 1998, method 3). Arrays broadcast; n <= 0 or a missing p gives NaN.
    """
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    alpha = 1 - confidence
    if df is None:
        z = np.full(np.broadcast(p, n).shape, sps.norm.ppf(1 - alpha / 2))
    else:
        d = np.asarray(df, dtype=float)
        with np.errstate(invalid="ignore"):
            z = np.where(d >= 1, sps.t.ppf(1 - alpha / 2, np.where(d >= 1, d, 1)), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        z2 = z * z
        denom = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
        ok = (n > 0) & np.isfinite(p)
        lo = np.where(ok, np.clip(centre - half, 0.0, 1.0), np.nan)
        hi = np.where(ok, np.clip(centre + half, 0.0, 1.0), np.nan)
    return lo, hi


def effective_n(p, var, n) -> np.ndarray:
    """The effective sample size r (1 - r) / V of a clustered proportion (Kish 1965), at most
    ``n``; where it cannot be estimated (V = 0 or missing, r = 0 or 1) it is ``n`` itself."""
    p = np.asarray(p, dtype=float)
    var = np.asarray(var, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        est = p * (1 - p) / var
    usable = np.isfinite(est) & (var > 0) & (p > 0) & (p < 1)
    return np.where(usable, np.minimum(est, n), n)


def clustered_rate_interval(rate, var, scheduled, n_children, confidence: float = 0.95
                            ) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) of a rate of sessions clustered within ``n_children`` children: Wilson's
    interval on ``effective_n`` with t(G - 1); NaN for a single child (no between-child spread)."""
    g = np.asarray(n_children, dtype=float)
    lo, hi = wilson_interval(rate, effective_n(rate, var, scheduled), confidence, df=g - 1)
    single = g < 2
    return np.where(single, np.nan, lo), np.where(single, np.nan, hi)
