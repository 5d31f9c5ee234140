"""Longer than 500 lines because the five non-overlap measures share their pair counts, the
Newcombe interval and its grouped (every child at once) form; split, each would import the others.

Single-case (within-child) non-overlap effect sizes for two conditions A and B.

A is the baseline / comparison condition (here: therapist-directed sessions) and B the
intervention condition (here: child-led sessions). With ``increase=True`` (default) a
higher score in B counts as improvement; with ``increase=False`` a lower one does.

Methods
-------
* NAP, Non-overlap of All Pairs (Parker, R. I., & Vannest, K. J. (2009). An improved
  effect size for single-case research: Nonoverlap of all pairs. *Behavior Therapy,
  40*(4), 357-367): NAP = (#pairs B > A + 0.5 #ties) / (m n), i.e. the Mann-Whitney
  U of B over A divided by m n.
  - Standard error: the "exactly unbiased" estimator of Sen (1967) and Mee (1990), with
    NAP truncated to [0.5/(mn), 1 - 0.5/(mn)] inside the variance, as in the R package
    SingleCaseES (Pustejovsky, Chen, Swan & Grekov; ``NAP(SE = "unbiased")``); the
    Hanley & McNeil (1982) estimator is available with ``se_method="hanley"``.
  - Confidence interval: Newcombe's (2006, *Statistics in Medicine 25*, 559-573)
    symmetrised score-inversion interval ("Method 5"), the SingleCaseES default: the
    bounds are the roots in [0, NAP] and [NAP, 1] of
        m n (NAP - x)^2 (2 - x)(1 + x) - z^2 x (1 - x) (2 + h + (1 + 2h) x (1 - x)),
    h = (m + n)/2 - 1, solved here to ~1e-14. Checked against the SingleCaseES
    vignette output (A = 20,20,26,25,22,23; B = 28,25,24,27,30,30,29: NAP 0.9166667,
    SE 0.06900656, 95% CI 0.5973406-0.9860176; also 90%, 99%, decrease, and a second
    example): our bounds differ from the printed ones by <= 2.5e-5 because R's
    ``uniroot`` stops at its default tolerance (2^-13); solving the same polynomial
    with that tolerance reproduces every printed digit (see the tests). At NAP = 1
    (or 0) we return the non-trivial root as the lower (upper) bound; SingleCaseES's
    ``uniroot`` call returns the degenerate interval [1, 1] there because x = 1 is
    also a root of the polynomial.
* Tau (non-overlap) = (#B > A - #B < A)/(m n) = 2 NAP - 1 (Parker, Vannest, Davis &
  Sauber 2011); SE and CI are the NAP ones mapped by 2x - 1 (as in SingleCaseES).
* Tau-U, the "A vs. B - trend A" variant of Parker, R. I., Vannest, K. J., Davis, J. L.,
  & Sauber, S. B. (2011). Combining nonoverlap and trend for single-case research:
  Tau-U. *Behavior Therapy, 42*(2), 284-299:  (S_AB - S_AA)/(m n), with S_AB Kendall's S
  of B over A and S_AA Kendall's S of the A series against time. No CI: this variant
  has no established sampling distribution (its range is not even [-1, 1]).
* Tau-BC, baseline-corrected Tau (Tarlow, K. R. (2017). An improved rank correlation
  effect size statistic for single-case designs: Baseline corrected Tau. *Behavior
  Modification, 41*(4), 427-467): test the A-phase trend with Kendall's tau (alpha
  0.05); if significant, remove the Theil-Sen A-phase line (slope = median pairwise
  slope, intercept = median(a - slope t)) from both phases; then Tau-BC is Kendall's
  tau-b between the phase dummy and the (corrected) scores, with Tarlow's
  SE = sqrt(2 (1 - tau^2) / (m + n)) and a normal CI (clipped to [-1, 1]).
* PND, Percentage of Non-overlapping Data (Scruggs, Mastropieri & Casto 1987): share
  of B points above the highest A point (below the lowest when ``increase=False``).

Missing values (NaN) are dropped. A phase with no data gives NaN estimates, with the
counts ``n_a`` / ``n_b`` always reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stats._scipy import lazy, norm_ppf
from stats.counts import other_below

optimize, stats = lazy("scipy.optimize"), lazy("scipy.stats")  # imported when first used

__all__ = [
    "OverlapResult",
    "TauBCResult",
    "nap",
    "tau",
    "tau_u",
    "tau_bc",
    "pnd",
    "nap_grouped",
]

SEMethod = Literal["unbiased", "hanley"]
Num = float | np.ndarray
_NAN = float("nan")


@dataclass(frozen=True)
class OverlapResult:
    """One non-overlap effect size with its phase sizes and (where defined) SE and CI."""

    measure: str
    estimate: float
    n_a: int
    n_b: int
    se: float = _NAN
    ci_lo: float = _NAN
    ci_hi: float = _NAN
    confidence: float | None = None


@dataclass(frozen=True)
class TauBCResult:
    """Baseline-corrected Tau (Tarlow 2017) and the baseline-trend decision behind it."""

    estimate: float  # Kendall tau-b between phase and (corrected) scores
    p_value: float  # Kendall test of that tau-b (scipy.stats.kendalltau)
    corrected: bool  # True when the baseline trend was significant and removed
    trend_tau: float  # Kendall tau of the A series against time
    trend_p: float  # its two-sided p-value (the test deciding `corrected`)
    slope: float  # Theil-Sen baseline slope (per unit of time)
    intercept: float  # median(a - slope * t_a)
    n_a: int
    n_b: int
    se: float = _NAN
    ci_lo: float = _NAN
    ci_hi: float = _NAN
    confidence: float | None = None
    alpha: float = 0.05


# ----------------------------------------------------------------------------- helpers


def _clean(x: ArrayLike) -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")


def _z(confidence: float) -> float:
    return float(norm_ppf(1.0 - (1.0 - confidence) / 2.0))


def _score_poly(x: Num, nap_: Num, mn: Num, z2: float, h: Num) -> Num:
    """Newcombe (2006) Method 5 polynomial; its roots are the CI bounds."""
    return mn * (nap_ - x) ** 2 * (2 - x) * (1 + x) - z2 * x * (1 - x) * (2 + h + (1 + 2 * h) * x * (1 - x))


def _score_poly_lo_at_one(x: Num, mn: Num, z2: float, h: Num) -> Num:
    """Polynomial / (1 - x) when NAP = 1 (removes the trivial root x = 1)."""
    return mn * (1 - x) * (2 - x) * (1 + x) - z2 * x * (2 + h + (1 + 2 * h) * x * (1 - x))


def _score_poly_hi_at_zero(x: Num, mn: Num, z2: float, h: Num) -> Num:
    """Polynomial / x when NAP = 0 (removes the trivial root x = 0)."""
    return mn * x * (2 - x) * (1 + x) - z2 * (1 - x) * (2 + h + (1 + 2 * h) * x * (1 - x))


def _newcombe_ci_scalar(
    nap_: float, m: int, n: int, confidence: float, xtol: float = 1e-14
) -> tuple[float, float]:
    """Newcombe Method 5 bounds by Brent's method.

    ``xtol=2**-13`` (R's ``uniroot`` default tolerance, with rtol 4 eps) reproduces
    SingleCaseES's printed bounds digit for digit; the default solves to ~1e-14.
    """
    mn, z2, h = m * n, _z(confidence) ** 2, (m + n) / 2 - 1
    tol = dict(xtol=xtol, rtol=4 * np.finfo(float).eps)
    if nap_ >= 1.0:
        lo = optimize.brentq(_score_poly_lo_at_one, 0.0, 1.0, args=(mn, z2, h), **tol)
    elif nap_ <= 0.0:
        lo = 0.0
    else:
        lo = optimize.brentq(_score_poly, 0.0, nap_, args=(nap_, mn, z2, h), **tol)
    if nap_ <= 0.0:
        hi = optimize.brentq(_score_poly_hi_at_zero, 0.0, 1.0, args=(mn, z2, h), **tol)
    elif nap_ >= 1.0:
        hi = 1.0
    else:
        hi = optimize.brentq(_score_poly, nap_, 1.0, args=(nap_, mn, z2, h), **tol)
    return float(lo), float(hi)


def _newcombe_ci_vec(
    nap_: np.ndarray, m: np.ndarray, n: np.ndarray, confidence: float, iters: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised bisection for the Newcombe Method 5 bounds (one array op per step)."""
    mn = (m * n).astype(float)
    z2 = _z(confidence) ** 2
    h = (m + n) / 2.0 - 1.0
    valid = (m > 0) & (n > 0) & np.isfinite(nap_)
    p = np.where(valid, nap_, 0.5)
    mn = np.where(valid, mn, 1.0)
    one, zero = p >= 1.0, p <= 0.0

    # lower bound: sign(+) at lo, sign(<=0) at hi
    a, b = np.zeros_like(p), np.where(one, 1.0, p)
    for _ in range(iters):
        x = 0.5 * (a + b)
        v = np.where(one, _score_poly_lo_at_one(x, mn, z2, h), _score_poly(x, p, mn, z2, h))
        pos = v > 0
        a, b = np.where(pos, x, a), np.where(pos, b, x)
    lower = np.where(zero, 0.0, 0.5 * (a + b))

    # upper bound: sign(<=0) at lo, sign(+) at hi
    a, b = np.where(zero, 0.0, p), np.ones_like(p)
    for _ in range(iters):
        x = 0.5 * (a + b)
        v = np.where(zero, _score_poly_hi_at_zero(x, mn, z2, h), _score_poly(x, p, mn, z2, h))
        pos = v > 0
        a, b = np.where(pos, a, x), np.where(pos, x, b)
    upper = np.where(one, 1.0, 0.5 * (a + b))
    return np.where(valid, lower, np.nan), np.where(valid, upper, np.nan)


def _nap_variance(nap_: Num, m: Num, n: Num, q1: Num, q2: Num, x: Num, se_method: SEMethod) -> np.ndarray:
    """Sen (1967)/Mee (1990) unbiased or Hanley-McNeil (1982) variance of NAP.

    q1 = sum_i (row_i - n NAP)^2 / (m n^2), q2 = sum_j (col_j - m NAP)^2 / (m^2 n),
    x = sum_ij (Q_ij - NAP)^2 / (m n); NAP truncated to [0.5/mn, 1 - 0.5/mn] as in
    SingleCaseES >= 0.7.
    """
    m = np.asarray(m, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        trunc = 0.5 / (m * n)
        nt = np.clip(nap_, trunc, 1 - trunc)
        if se_method == "unbiased":
            v = (nt * (1 - nt) + n * q1 + m * q2 - 2 * x) / ((m - 1) * (n - 1))
        elif se_method == "hanley":
            v = (nt * (1 - nt) + (n - 1) * q1 + (m - 1) * q2) / (m * n)
        else:
            raise ValueError(f"se_method must be 'unbiased' or 'hanley'; got {se_method!r}")
        v = np.where(np.isfinite(v), np.maximum(v, 0.0), np.nan)
    return v


# ----------------------------------------------------------------------------- NAP & Tau


def nap(
    a: ArrayLike,
    b: ArrayLike,
    confidence: float = 0.95,
    increase: bool = True,
    se_method: SEMethod = "unbiased",
) -> OverlapResult:
    """Non-overlap of All Pairs (Parker & Vannest 2009) with SE and Newcombe CI.

    Returns an ``OverlapResult`` with ``measure="NAP"``, the estimate
    (#B > A + 0.5 #ties)/(m n), the Sen/Mee unbiased SE (or Hanley-McNeil with
    ``se_method="hanley"``; NaN when a phase has < 2 points) and Newcombe's (2006)
    Method 5 score-inversion CI (see module doc; matches SingleCaseES).

    >>> r = nap([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29])
    >>> round(r.estimate, 7), round(r.se, 8), round(r.ci_lo, 4), round(r.ci_hi, 4)
    (0.9166667, 0.06900656, 0.5973, 0.986)
    """
    _check_confidence(confidence)
    xa, xb = _clean(a), _clean(b)
    if not increase:
        xa, xb = -xa, -xb
    m, n = xa.size, xb.size
    if m == 0 or n == 0:
        return OverlapResult("NAP", _NAN, m, n, confidence=confidence)
    q = (xb[None, :] > xa[:, None]) + 0.5 * (xb[None, :] == xa[:, None])  # m x n
    est = float(q.mean())
    q1 = float(np.sum((q.sum(axis=1) - n * est) ** 2) / (m * n**2))
    q2 = float(np.sum((q.sum(axis=0) - m * est) ** 2) / (m**2 * n))
    x = float(np.sum((q - est) ** 2) / (m * n))
    se = float(np.sqrt(_nap_variance(est, m, n, q1, q2, x, se_method)))
    lo, hi = _newcombe_ci_scalar(est, m, n, confidence)
    return OverlapResult("NAP", est, m, n, se, lo, hi, confidence)


def tau(a: ArrayLike, b: ArrayLike, confidence: float = 0.95, increase: bool = True) -> OverlapResult:
    """Tau (non-overlap) = (#B > A - #B < A)/(m n) = 2 NAP - 1 (Parker et al. 2011).

    SE and CI are NAP's mapped through 2x - 1 (as SingleCaseES's ``Tau``).

    >>> tau([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29]).estimate * 42
    35.0
    """
    r = nap(a, b, confidence=confidence, increase=increase)
    return OverlapResult(
        "Tau", 2 * r.estimate - 1, r.n_a, r.n_b, 2 * r.se, 2 * r.ci_lo - 1, 2 * r.ci_hi - 1, confidence
    )


def _kendall_s_vs_order(values: np.ndarray, times: np.ndarray) -> float:
    """Kendall's S of values against time: sum_{i<j} sign(t_j - t_i) sign(v_j - v_i)."""
    dv = np.sign(values[None, :] - values[:, None])
    dt = np.sign(times[None, :] - times[:, None])
    return float(np.sum(dv * dt) / 2)


def tau_u(a: ArrayLike, b: ArrayLike, increase: bool = True, t_a: ArrayLike | None = None) -> OverlapResult:
    """Tau-U, "A vs. B - trend A" (Parker, Vannest, Davis & Sauber 2011).

    (S_AB - S_AA) / (m n): S_AB = sum sign(b_j - a_i) over all A-B pairs and S_AA is
    Kendall's S of the A series against time. ``a`` must be in session order, or pass
    its session times as ``t_a``. Returns ``OverlapResult(measure="Tau-U")`` without
    SE/CI (none is established for this variant). Matches SingleCaseES ``Tau_U``.

    >>> tau_u([3, 3, 4, 5], [4, 5, 6, 7, 7]).estimate
    0.55
    """
    arr_a = np.asarray(a, dtype=float).ravel()
    times = np.arange(arr_a.size, dtype=float) if t_a is None else np.asarray(t_a, dtype=float).ravel()
    if times.shape != arr_a.shape:
        raise ValueError("a and t_a differ in length")
    keep = ~np.isnan(arr_a) & ~np.isnan(times)
    xa, ta = arr_a[keep], times[keep]
    xb = _clean(b)
    if not increase:
        xa, xb = -xa, -xb
    m, n = xa.size, xb.size
    if m == 0 or n == 0:
        return OverlapResult("Tau-U", _NAN, m, n)
    s_ab = float(np.sum(np.sign(xb[None, :] - xa[:, None])))
    s_aa = _kendall_s_vs_order(xa, ta)
    return OverlapResult("Tau-U", (s_ab - s_aa) / (m * n), m, n)


def tau_bc(
    a: ArrayLike,
    b: ArrayLike,
    alpha: float = 0.05,
    increase: bool = True,
    confidence: float = 0.95,
    t_a: ArrayLike | None = None,
    t_b: ArrayLike | None = None,
) -> TauBCResult:
    """Baseline-corrected Tau (Tarlow 2017).

    1. Test the A-series trend: Kendall's tau of a against time (``scipy.stats.kendalltau``,
       exact p for tie-free n <= 33); corrected when p <= ``alpha``.
    2. If so, subtract the Theil-Sen A line (slope = median pairwise slope over A,
       intercept = median(a - slope t_a), Tarlow's choice) from A and B. Corrected scores
       are rounded to 10 decimals so that floating-point noise cannot create order.
    3. Tau-BC = Kendall's tau-b between the phase dummy (A = 0, B = 1) and the scores
       (0 when all scores are tied, as in SingleCaseES), its Kendall-test p-value,
       Tarlow's SE = sqrt(2 (1 - tau^2)/(m + n)) and a normal CI clipped to [-1, 1].

    Times default to 1..m for A and m+1..m+n for B (an AB design); pass ``t_a``/``t_b``
    for interleaved conditions. Returns a ``TauBCResult`` (estimate, p_value, corrected,
    trend_tau, trend_p, slope, intercept, n_a, n_b, se, ci_lo, ci_hi).
    """
    _check_confidence(confidence)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}")
    ya = np.asarray(a, dtype=float).ravel()
    yb = np.asarray(b, dtype=float).ravel()
    ta = np.arange(1, ya.size + 1, dtype=float) if t_a is None else np.asarray(t_a, dtype=float).ravel()
    tb = (
        np.arange(ya.size + 1, ya.size + yb.size + 1, dtype=float)
        if t_b is None
        else np.asarray(t_b, dtype=float).ravel()
    )
    if ta.shape != ya.shape or tb.shape != yb.shape:
        raise ValueError("times and values differ in length")
    ka, kb = ~np.isnan(ya) & ~np.isnan(ta), ~np.isnan(yb) & ~np.isnan(tb)
    ya, ta, yb, tb = ya[ka], ta[ka], yb[kb], tb[kb]
    m, n = ya.size, yb.size
    if m == 0 or n == 0:
        return TauBCResult(_NAN, _NAN, False, _NAN, _NAN, _NAN, _NAN, m, n, confidence=confidence, alpha=alpha)

    trend_tau, trend_p = _NAN, _NAN
    if m >= 2:
        kt = stats.kendalltau(ta, ya)
        trend_tau, trend_p = float(kt.statistic), float(kt.pvalue)
    slope, intercept = _NAN, _NAN
    dt = ta[None, :] - ta[:, None]
    if m >= 2 and np.any(dt > 0):
        slope = float(np.median((ya[None, :] - ya[:, None])[dt > 0] / dt[dt > 0]))
        intercept = float(np.median(ya - slope * ta))
    corrected = bool(np.isfinite(trend_p) and trend_p <= alpha and np.isfinite(slope))
    if corrected:
        ya = np.round(ya - intercept - slope * ta, 10)
        yb = np.round(yb - intercept - slope * tb, 10)
    if not increase:
        ya, yb = -ya, -yb

    scores = np.concatenate([ya, yb])
    phase = np.r_[np.zeros(m), np.ones(n)]
    if np.all(scores == scores[0]):
        est, p = 0.0, 1.0
    else:
        kt = stats.kendalltau(phase, scores)
        est, p = float(kt.statistic), float(kt.pvalue)
    se = float(np.sqrt(2.0 * (1.0 - est**2) / (m + n)))
    half = _z(confidence) * se
    return TauBCResult(
        est, p, corrected, trend_tau, trend_p, slope, intercept, m, n,
        se, max(-1.0, est - half), min(1.0, est + half), confidence, alpha,
    )


def pnd(a: ArrayLike, b: ArrayLike, increase: bool = True) -> OverlapResult:
    """Percentage of Non-overlapping Data (Scruggs, Mastropieri & Casto 1987), as a share.

    Share of B points strictly above max(A) (strictly below min(A) when
    ``increase=False``). Returns ``OverlapResult(measure="PND")``; no CI (PND has no
    known sampling distribution).

    >>> pnd([20, 20, 26, 25, 22, 23], [28, 25, 24, 27, 30, 30, 29]).estimate * 7
    5.0
    """
    xa, xb = _clean(a), _clean(b)
    m, n = xa.size, xb.size
    if m == 0 or n == 0:
        return OverlapResult("PND", _NAN, m, n)
    share = np.mean(xb > xa.max()) if increase else np.mean(xb < xa.min())
    return OverlapResult("PND", float(share), m, n)


# ----------------------------------------------------------------------------- grouped NAP


def nap_grouped(
    df: pd.DataFrame,
    by: str | Sequence[str],
    condition: str,
    value: str,
    a_label: object,
    b_label: object,
    confidence: float = 0.95,
    increase: bool = True,
    se_method: SEMethod = "unbiased",
    interval: bool = True,
) -> pd.DataFrame:
    """NAP (Parker & Vannest 2009) of B over A per group, vectorised.

    Uses the Mann-Whitney relation with mid-ranks computed per group by
    ``groupby().rank(method="average")``: for a B point, (rank among A and B) - (rank
    among B) = #A below it + 0.5 #A tied with it, and NAP = sum of that over B / (m n).
    The same ranks give the row/column sums needed for the Sen/Mee unbiased (or
    Hanley-McNeil) SE, and the Newcombe (2006) Method 5 CI is found by vectorised
    bisection; results equal the scalar ``nap`` (see module doc for the methods).

    Parameters
    ----------
    df : long data, one row per observation (e.g. per session).
    by : grouping column(s), e.g. ``"child_id"``.
    condition : column holding the condition label; rows with other labels are ignored.
    value : outcome column; NaN rows are ignored.
    a_label, b_label : the labels of condition A (baseline) and B (intervention).
    confidence : CI level. increase : whether higher values in B are improvement.
    se_method : "unbiased" (default) or "hanley".
    interval : False leaves nap_lo / nap_hi / tau_lo / tau_hi NaN (no Newcombe root finding),
        for a caller that reads only the point estimates.

    Returns
    -------
    DataFrame with columns ``by...``, ``n_a``, ``n_b``, ``nap``, ``nap_se``, ``nap_lo``,
    ``nap_hi``, ``tau``, ``tau_lo``, ``tau_hi`` (tau = 2 NAP - 1); one row per group in
    ``df``, NaN estimates where a condition has no data.
    """
    _check_confidence(confidence)
    keys = [by] if isinstance(by, str) else list(by)
    grouped = df.groupby(keys, sort=True, dropna=False)
    out = grouped.size().index.to_frame(index=False)
    n_groups = len(out)
    gid_all = grouped.ngroup().to_numpy()

    cond = df[condition]
    is_a_all = (cond == a_label).to_numpy(dtype=bool, na_value=False)
    is_b_all = (cond == b_label).to_numpy(dtype=bool, na_value=False)
    v_all = pd.to_numeric(df[value], errors="raise").astype(float).to_numpy()
    keep = (is_a_all | is_b_all) & ~np.isnan(v_all)
    g = gid_all[keep]
    is_b = is_b_all[keep]
    v = v_all[keep] if increase else -v_all[keep]

    m = np.bincount(g[~is_b], minlength=n_groups).astype(float)
    n = np.bincount(g[is_b], minlength=n_groups).astype(float)

    below = other_below(g, is_b, v)  # #other-condition points below + 0.5 #tied with it
    u = np.bincount(g[is_b], weights=below[is_b], minlength=n_groups)  # Mann-Whitney U of B
    mn = m * n
    with np.errstate(invalid="ignore", divide="ignore"):
        est = np.where(mn > 0, u / mn, np.nan)

    # ties between A and B values: T = sum_v count_A(v) count_B(v)
    order = np.lexsort((v, g))
    gs, vv, bs = g[order], v[order], is_b[order]
    start = np.r_[True, (gs[1:] != gs[:-1]) | (vv[1:] != vv[:-1])] if gs.size else np.zeros(0, bool)
    run = np.cumsum(start) - 1
    n_runs = int(start.sum())
    c_b = np.bincount(run, weights=bs.astype(float), minlength=n_runs)
    c_all = np.bincount(run, minlength=n_runs).astype(float)
    ties = np.bincount(gs[start], weights=(c_all - c_b) * c_b, minlength=n_groups)

    # row sums (A points) and column sums (B points) of the pair matrix Q
    est_obs = est[g]
    col = below[is_b] - m[g[is_b]] * est_obs[is_b]
    row = (n[g[~is_b]] - below[~is_b]) - n[g[~is_b]] * est_obs[~is_b]
    with np.errstate(invalid="ignore", divide="ignore"):
        q1 = np.bincount(g[~is_b], weights=row**2, minlength=n_groups) / (m * n**2)
        q2 = np.bincount(g[is_b], weights=col**2, minlength=n_groups) / (m**2 * n)
        x = (u - 0.25 * ties) / mn - est**2  # sum (Q - NAP)^2 / mn, Q in {0, .5, 1}
    var = _nap_variance(est, m, n, q1, q2, x, se_method)
    if interval:
        lo, hi = _newcombe_ci_vec(est, m, n, confidence)
    else:
        lo = hi = np.full(n_groups, np.nan)

    out["n_a"] = m.astype(np.int64)
    out["n_b"] = n.astype(np.int64)
    out["nap"] = est
    out["nap_se"] = np.sqrt(var)
    out["nap_lo"] = lo
    out["nap_hi"] = hi
    out["tau"] = 2 * est - 1
    out["tau_lo"] = 2 * lo - 1
    out["tau_hi"] = 2 * hi - 1
    return out
