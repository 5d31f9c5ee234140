"""Paired comparison across children (e.g. child-led minus directed, one difference per child).

Methods
-------
* Mean difference with a bootstrap percentile confidence interval (Efron, B., &
  Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*, ch. 13): ``resamples``
  resamples of the children with replacement, drawn with numpy in blocks from a seeded
  ``numpy.random.default_rng``, so the interval is reproducible for a given seed.
* Wilcoxon signed-rank test (Wilcoxon 1945) via ``scipy.stats.wilcoxon`` with its
  defaults (zero differences dropped, "wilcox"; exact null distribution for small
  samples without ties/zeros, else normal approximation). NaN when every difference
  is zero.
* Standardised mean difference for paired data d_z = mean(d) / sd(d), sd with ddof = 1
  (Cohen, J. (1988). *Statistical Power Analysis*, 2nd ed.; Lakens, D. (2013).
  Calculating and reporting effect sizes... *Frontiers in Psychology, 4*, 863, eq. 7).
  Its CI inverts the noncentral t distribution of t = d_z sqrt(n) with n - 1 df
  (Steiger, J. H., & Fouladi, R. T. (1997); exact under normal differences).

Below ``min_n`` children no estimate is made: the result carries ``n``, NaN statistics
and a ``reason`` such as "fewer than 5 children".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stats._scipy import lazy

optimize, stats = lazy("scipy.optimize"), lazy("scipy.stats")  # imported when first used

__all__ = ["PairedSummary", "paired_summary", "paired_by_group", "d_z", "DEFAULT_SEED", "index_dtype"]

DEFAULT_SEED = 20261122  # settings.toml [comparison] bootstrap_seed
_BLOCK_ELEMENTS = 2_000_000  # resample indices generated per block (bounds memory)
_NAN = float("nan")


@dataclass(frozen=True)
class PairedSummary:
    """Summary of paired differences; statistics are NaN when ``reason`` is set."""

    n: int
    mean_diff: float
    ci_lo: float  # bootstrap percentile CI of the mean difference
    ci_hi: float
    wilcoxon_stat: float
    wilcoxon_p: float
    d_z: float
    d_z_lo: float  # noncentral-t CI of d_z
    d_z_hi: float
    confidence: float
    resamples: int
    reason: str | None = None

    @property
    def estimate(self) -> float:
        """The headline estimate (the mean difference); NaN when not estimated."""
        return self.mean_diff


def _clean(x: ArrayLike) -> np.ndarray:
    arr = np.asarray(x, dtype=float).ravel()
    return arr[~np.isnan(arr)]


def d_z(x: ArrayLike, y: ArrayLike | None = None) -> float:
    """Cohen's d_z = mean(x - y) / sd(x - y) (ddof = 1) (Cohen 1988; Lakens 2013).

    With ``y=None``, ``x`` holds the differences. Pairs with a NaN are dropped. NaN when
    fewer than 2 pairs remain or the differences have zero SD.

    >>> round(d_z([10, 12, 15, 8, 11], [14, 18, 16, 12, 13]), 3)
    -1.744
    """
    xx = np.asarray(x, dtype=float).ravel()
    d = xx if y is None else xx - np.asarray(y, dtype=float).ravel()
    d = d[~np.isnan(d)]
    if d.size < 2:
        return _NAN
    sd = float(np.std(d, ddof=1))
    return float(np.mean(d)) / sd if sd > 0 else _NAN


def _d_z_ci(dz: float, n: int, confidence: float) -> tuple[float, float]:
    """CI of d_z by inverting the noncentral t (df = n - 1, ncp = delta sqrt(n))."""
    if not np.isfinite(dz) or n < 2:
        return _NAN, _NAN
    t_obs, df, alpha = dz * np.sqrt(n), n - 1, 1.0 - confidence

    def cdf(ncp: float) -> float:
        p = stats.nct.cdf(t_obs, df, ncp)
        if np.isnan(p):  # scipy's nct loses precision far in the tail: use the limit there
            p = 1.0 if ncp < t_obs else 0.0
        return p

    def solve(target: float) -> float:
        f = lambda ncp: cdf(ncp) - target  # noqa: E731 (decreasing in ncp)
        lo, hi = t_obs - 10.0, t_obs + 10.0
        while f(lo) < 0:
            lo -= 10.0
        while f(hi) > 0:
            hi += 10.0
        return optimize.brentq(f, lo, hi, xtol=1e-12)

    return solve(1 - alpha / 2) / np.sqrt(n), solve(alpha / 2) / np.sqrt(n)


def index_dtype(n: int) -> type:
    """The dtype of resample indices below ``n``: int32 while n < 2^31. numpy's
    ``Generator.integers`` draws the same values for int32 as for int64 there (both use
    the buffered 32-bit bounded draw, Lemire 2019, for a range below 2^32), so the
    resamples, and every interval, are those of int64 indices, with half the memory
    traffic (tested in tests/test_stats_paired_speed.py)."""
    return np.int32 if n < 2**31 else np.int64


def _bootstrap_means(d: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The means of ``resamples`` resamples of ``d`` with replacement (Efron & Tibshirani
    1993), drawn in blocks of at most ``_BLOCK_ELEMENTS`` indices (the draws do not depend
    on the block size: one stream)."""
    n = d.size
    block = max(1, _BLOCK_ELEMENTS // n)
    out = np.empty(resamples)
    for start in range(0, resamples, block):
        k = min(block, resamples - start)
        idx = rng.integers(0, n, size=(k, n), dtype=index_dtype(n))
        out[start : start + k] = np.take(d, idx).mean(axis=1)
    return out


def paired_summary(
    diffs: ArrayLike,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int | None = DEFAULT_SEED,
    min_n: int = 5,
    unit: str = "children",
) -> PairedSummary:
    """n, mean difference (bootstrap percentile CI), Wilcoxon signed-rank and d_z (CI).

    Parameters
    ----------
    diffs : one paired difference per child (NaN dropped).
    confidence : CI level for the bootstrap and the d_z interval.
    resamples : bootstrap resamples. seed : seed of ``numpy.random.default_rng``.
    min_n : below this many children nothing is estimated (``reason`` says why).
    unit : noun used in ``reason`` ("fewer than 5 children").

    Returns
    -------
    PairedSummary
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    if resamples < 1:
        raise ValueError("resamples must be >= 1")
    d = _clean(diffs)
    n = int(d.size)

    def empty(reason: str) -> PairedSummary:
        return PairedSummary(n, *([_NAN] * 8), confidence, resamples, reason)

    if n < min_n:
        return empty(f"fewer than {min_n} {unit}")
    if n < 2:
        return empty(f"fewer than 2 {unit}")

    rng = np.random.default_rng(seed)
    means = _bootstrap_means(d, resamples, rng)
    alpha = 1.0 - confidence
    ci_lo, ci_hi = (float(q) for q in np.quantile(means, [alpha / 2, 1 - alpha / 2]))

    w_stat, w_p = _NAN, _NAN
    if np.any(d != 0):  # with every difference zero the signed-rank test is undefined
        w = stats.wilcoxon(d)
        w_stat, w_p = float(w.statistic), float(w.pvalue)

    dz = d_z(d)
    dz_lo, dz_hi = _d_z_ci(dz, n, confidence)
    return PairedSummary(
        n, float(d.mean()), ci_lo, ci_hi, w_stat, w_p, dz, float(dz_lo), float(dz_hi), confidence, resamples
    )


def paired_by_group(
    df: pd.DataFrame,
    by: str | Sequence[str],
    diff_col: str,
    min_n: int = 5,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int | None = DEFAULT_SEED,
    unit: str = "children",
) -> pd.DataFrame:
    """``paired_summary`` for each breakdown group (modality, age group, therapist ...).

    One row per group (sorted by the group keys) with columns ``by...`` and the fields
    of ``PairedSummary`` (n, mean_diff, ci_lo, ci_hi, wilcoxon_stat, wilcoxon_p, d_z,
    d_z_lo, d_z_hi, confidence, resamples, reason). Loops over groups, which is meant
    for a handful of breakdown groups; each group uses the same ``seed`` so a group's
    interval does not depend on which other groups are present.
    """
    keys = [by] if isinstance(by, str) else list(by)
    rows = []
    for key, sub in df.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        res = paired_summary(sub[diff_col], confidence, resamples, seed, min_n, unit)
        rows.append({**dict(zip(keys, key)), **asdict(res)})
    cols = keys + list(PairedSummary.__dataclass_fields__)
    return pd.DataFrame(rows, columns=cols)
