"""Issue 14: the paired statistics made faster give the numbers they gave before.

* the d_z interval of ``stats.paired_groups`` (now a bracketed root finder) against the
  bisection it replaced (kept here as the reference), against ``stats.paired``'s Brent
  solver, on a table of cases, to 1e-9; and on published worked examples;
* the bootstrap (now int32 indices gathered by ``np.take``) against the int64 draws it
  replaced, bit for bit, for one group and many.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from stats.paired import _d_z_ci, d_z, paired_by_group, paired_summary
from stats.paired_groups import d_z_ci_grouped, paired_summary_grouped


def _bisection_reference(dz: np.ndarray, n: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """The vectorised bisection (50 steps from t +- 10, widened by 10) that d_z_ci_grouped used."""
    ok = np.isfinite(dz) & (n >= 2)
    lo_out, hi_out = np.full(dz.shape, np.nan), np.full(dz.shape, np.nan)
    t_obs, df = dz[ok] * np.sqrt(n[ok]), n[ok] - 1
    alpha = 1.0 - confidence

    def solve(target: float) -> np.ndarray:
        def f(ncp):
            c = sps.nct.cdf(t_obs, df, ncp)
            return np.where(np.isnan(c), (ncp < t_obs).astype(float), c) - target
        lo, hi = t_obs - 10.0, t_obs + 10.0
        for _ in range(100):
            bad = f(lo) < 0
            if not bad.any():
                break
            lo = np.where(bad, lo - 10.0, lo)
        for _ in range(100):
            bad = f(hi) > 0
            if not bad.any():
                break
            hi = np.where(bad, hi + 10.0, hi)
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            pos = f(mid) > 0
            lo, hi = np.where(pos, mid, lo), np.where(pos, hi, mid)
        return 0.5 * (lo + hi)

    lo_out[ok] = solve(1 - alpha / 2) / np.sqrt(n[ok])
    hi_out[ok] = solve(alpha / 2) / np.sqrt(n[ok])
    return lo_out, hi_out


# a table of cases: d_z from -3 to 3 at small n, the tail where scipy's nct.cdf is NaN
# (d_z 1.004, n 20), zero and near-zero effects, two children, and practice-sized groups
rng = np.random.default_rng(14)
CASES_DZ = np.r_[np.linspace(-3, 3, 25), 1.004, 0.0, 1e-9, -2.5, rng.normal(0, 0.8, 60), 0.15, -0.05]
CASES_N = np.r_[np.full(25, 8), 20, 5, 6, 2, rng.integers(3, 400, 60), 8605, 25_000].astype(float)


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_d_z_interval_is_the_bisection_and_brent_result(confidence):
    lo, hi = d_z_ci_grouped(CASES_DZ, CASES_N, confidence)
    ref_lo, ref_hi = _bisection_reference(CASES_DZ, CASES_N, confidence)
    assert np.isfinite(lo).all() and np.isfinite(hi).all()
    assert np.max(np.abs(lo - ref_lo)) < 1e-9 and np.max(np.abs(hi - ref_hi)) < 1e-9
    for i in range(0, len(CASES_DZ), 7):  # stats.paired: scipy.optimize.brentq on nct.cdf
        b_lo, b_hi = _d_z_ci(float(CASES_DZ[i]), int(CASES_N[i]), confidence)
        assert abs(lo[i] - b_lo) < 1e-9 and abs(hi[i] - b_hi) < 1e-9, i


def test_d_z_interval_keeps_nan_where_nothing_is_estimated():
    lo, hi = d_z_ci_grouped(np.array([np.nan, 0.5, 0.5]), np.array([10.0, 1.0, 10.0]), 0.95)
    assert math.isnan(lo[0]) and math.isnan(hi[1]) and lo[2] < 0.5 < hi[2]


# Lakens (2013), Frontiers in Psychology 4:863, Table 1: ten people rate two movies
# (within subjects); reported t(9) = 4.74 and Cohen's d_z = 1.50.
LAKENS_MOVIE_1 = [9, 7, 8, 9, 8, 9, 9, 10, 9, 9]
LAKENS_MOVIE_2 = [9, 6, 7, 8, 7, 9, 8, 8, 8, 7]
# Student (1908), the sleep data (R's datasets::sleep, extra hours of sleep with drug 1 and
# drug 2 in the same ten patients); R's documented example t.test(extra ~ group, paired =
# TRUE) prints t = -4.0621, df = 9.
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]


@pytest.mark.parametrize("x, y, t_published, dz_published, dp", [
    (LAKENS_MOVIE_1, LAKENS_MOVIE_2, 4.74, 1.50, 2),
    (SLEEP_1, SLEEP_2, -4.0621, None, 4),
])
def test_d_z_interval_on_published_examples(x, y, t_published, dz_published, dp):
    n = len(x)
    dz = d_z(x, y)
    assert round(dz * math.sqrt(n), dp) == t_published
    if dz_published is not None:
        assert round(dz, 2) == dz_published
    lo, hi = d_z_ci_grouped(np.array([dz]), np.array([float(n)]), 0.95)
    # the limits are the noncentralities at which the observed t is the 97.5th / 2.5th percentile
    t = dz * math.sqrt(n)
    assert sps.nct.cdf(t, n - 1, lo[0] * math.sqrt(n)) == pytest.approx(0.975, abs=1e-10)
    assert sps.nct.cdf(t, n - 1, hi[0] * math.sqrt(n)) == pytest.approx(0.025, abs=1e-10)
    assert (lo[0], hi[0]) == pytest.approx(_d_z_ci(dz, n, 0.95), abs=1e-9)
    summary = paired_summary(np.asarray(x, float) - np.asarray(y, float))
    assert (summary.d_z_lo, summary.d_z_hi) == pytest.approx((lo[0], hi[0]), abs=1e-9)


def _bootstrap_int64(d: np.ndarray, resamples: int, seed: int, block_elements: int = 2_000_000) -> np.ndarray:
    """The bootstrap means as drawn before (int64 indices, fancy indexing)."""
    rng = np.random.default_rng(seed)
    n = d.size
    block = max(1, block_elements // n)
    out = np.empty(resamples)
    for start in range(0, resamples, block):
        k = min(block, resamples - start)
        idx = rng.integers(0, n, size=(k, n))
        out[start:start + k] = d[idx].mean(axis=1)
    return out


@pytest.mark.parametrize("n, resamples, seed", [(5, 2000, 20261122), (37, 999, 1), (2500, 2000, 20261122),
                                                (9000, 300, 7)])
def test_bootstrap_interval_is_bit_for_bit_the_int64_one(n, resamples, seed):
    d = np.random.default_rng(n).normal(0.3, 1.0, size=n)
    means = _bootstrap_int64(d, resamples, seed)
    alpha = 1.0 - 0.95  # as paired_summary computes it (not the literal 0.025)
    want = tuple(float(q) for q in np.quantile(means, [alpha / 2, 1 - alpha / 2]))
    got = paired_summary(d, resamples=resamples, seed=seed)
    assert (got.ci_lo, got.ci_hi) == want  # exactly
    grouped = paired_summary_grouped(pd.DataFrame({"g": "all", "d": d}), "g", "d", resamples=resamples, seed=seed)
    assert (grouped["ci_lo"].iloc[0], grouped["ci_hi"].iloc[0]) == want


def test_grouped_bootstrap_and_d_z_equal_the_loop_over_groups():
    rng = np.random.default_rng(5)
    sizes = {"A": 3, "B": 5, "C": 12, "D": 12, "E": 40, "F": 400}
    df = pd.DataFrame({"g": np.repeat(list(sizes), list(sizes.values()))})
    df["d"] = rng.normal(0.2, 1, size=len(df)).round(1)  # ties: Wilcoxon's other branch too
    a = paired_summary_grouped(df, "g", "d", resamples=700, seed=3)
    b = paired_by_group(df, "g", "d", resamples=700, seed=3)
    for col in ("n", "ci_lo", "ci_hi"):  # the same resamples: the same intervals, exactly
        assert np.array_equal(a[col].to_numpy(float), b[col].to_numpy(float), equal_nan=True), col
    for col in ("mean_diff", "d_z", "d_z_lo", "d_z_hi"):  # a mean by bincount vs np.mean: last digits
        assert np.allclose(a[col].to_numpy(float), b[col].to_numpy(float), atol=1e-9, equal_nan=True), col


@pytest.mark.parametrize("n", [63, 64, 1001, 8417, 70_001])
def test_bootstrap_of_equal_groups_is_bit_for_bit_each_groups_own(n):
    """The groups of one size share the draws (gathered one group at a time in cache-sized
    blocks from n = 64 on, in one 3-D gather below): each group's interval is exactly the one
    its own int64 draws give, whatever the block size."""
    from stats.paired_groups import _bootstrap_ci_same_size

    mat = np.random.default_rng(n).normal(0.1, 1.0, size=(3, n)).round(2)
    resamples = 2000 if n < 10_000 else 40
    lo, hi = _bootstrap_ci_same_size(mat, resamples, 20261122, 0.95)
    alpha = 1.0 - 0.95
    for r in range(3):
        means = _bootstrap_int64(mat[r], resamples, 20261122)
        assert (lo[r], hi[r]) == tuple(np.quantile(means, [alpha / 2, 1 - alpha / 2])), r
