"""Paired comparison across children for many breakdown groups at once (vectorised).

``stats.paired.paired_by_group`` loops over groups and calls ``paired_summary``
(about 10 ms a group, much more when a group's differences have ties), which is fine for
four modalities but not for a breakdown by therapist in a practice of 10,000 children
(800+ therapists). ``paired_summary_grouped`` returns the same columns and the same
numbers, computed per group *size* instead of per group:

* Mean difference with a bootstrap percentile CI (Efron, B., & Tibshirani, R. J. (1993).
  *An Introduction to the Bootstrap*, ch. 13). ``paired_summary`` seeds a fresh
  ``numpy.random.default_rng(seed)`` for every group and draws the resample indices in
  blocks that depend only on the group size n, so every group of size n uses the same
  index matrix; we draw it once per n and average all those groups' differences through
  it. Identical intervals to ``paired_by_group``.
* Wilcoxon signed-rank test (Wilcoxon 1945) following ``scipy.stats.wilcoxon``'s default
  rule (zero differences dropped, "wilcox"; no continuity correction): for a group of
  n <= 50 differences without ties or zeros the exact null distribution of R+ (number of
  subsets of 1..n with each sum, by dynamic programming); with ties or zeros and
  n <= 13 the exact sign-flip permutation distribution (all 2^n flips, which is what
  scipy's ``PermutationMethod`` enumerates); otherwise the normal approximation with
  the tie-corrected variance. The statistic is min(R+, R-).
* d_z = mean(d) / sd(d) (ddof 1) (Cohen 1988; Lakens 2013) and its CI by inverting the
  noncentral t with n - 1 df (Steiger & Fouladi 1997), solved for all groups at once by
  Chandrupatla's bracketed root finder from a normal-approximation bracket.

Below ``min_n`` children nothing is estimated (NaN, with ``reason``), as in
``paired_summary``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from stats._scipy import lazy, norm_ppf, norm_sf
from stats.paired import DEFAULT_SEED, PairedSummary, index_dtype

optimize, stats = lazy("scipy.optimize"), lazy("scipy.stats")  # imported when first used

__all__ = ["paired_summary_grouped", "wilcoxon_grouped", "d_z_ci_grouped"]

_BLOCK_ELEMENTS = 2_000_000  # as stats.paired: resample indices per block
_WORK_ELEMENTS = 8_000_000   # groups x resamples x n handled per numpy step
_ROW_BY_ROW_ELEMENTS = 65_536  # indices per block (512 KB as intp) for groups gathered one by one
_ROW_BY_ROW_MIN_N = 64         # from this group size on
_EXACT_MAX_N = 50            # scipy.stats.wilcoxon: exact (no ties/zeros) up to here
_PERMUTATION_MAX_N = 13      # scipy.stats.wilcoxon: full sign-flip enumeration up to here


# ----------------------------------------------------------------------------- Wilcoxon


@functools.cache
def _signed_rank_pmf(n: int) -> np.ndarray:
    """Null distribution of R+ for ranks 1..n (no ties): P(R+ = k), k = 0..n(n+1)/2."""
    counts = np.zeros(n * (n + 1) // 2 + 1)
    counts[0] = 1.0
    top = 0
    for r in range(1, n + 1):
        counts[r : top + r + 1] += counts[: top + 1].copy()
        top += r
    return counts / 2.0**n


@functools.cache
def _flip_matrix(n: int) -> np.ndarray:
    """All 2^n sign patterns (1 = positive) as an (n, 2^n) 0/1 matrix."""
    codes = np.arange(2**n, dtype=np.int64)
    return ((codes[None, :] >> np.arange(n)[:, None]) & 1).astype(float)


def wilcoxon_grouped(d: np.ndarray, gid: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Wilcoxon signed-rank statistic min(R+, R-) and two-sided p per group (scipy's rule).

    ``d`` differences (no NaN), ``gid`` group index 0..n_groups-1 of each. NaN where a
    group has no non-zero difference.
    """
    d = np.asarray(d, dtype=float)
    gid = np.asarray(gid, dtype=np.int64)
    size = np.bincount(gid, minlength=n_groups)
    nz = d != 0
    n_zero = np.bincount(gid[~nz], minlength=n_groups)
    count = size - n_zero
    # mid-ranks of |d| among the non-zero differences of each group
    dd, gg = d[nz], gid[nz]
    absd = np.abs(dd)
    rank = pd.Series(absd).groupby(gg).rank(method="average").to_numpy()
    r_plus = np.bincount(gg[dd > 0], weights=rank[dd > 0], minlength=n_groups)
    r_minus = np.bincount(gg[dd < 0], weights=rank[dd < 0], minlength=n_groups)
    # ties among |d|: sum over tie runs of t^3 - t
    order = np.lexsort((absd, gg))
    ga, va = gg[order], absd[order]
    start = np.r_[True, (ga[1:] != ga[:-1]) | (va[1:] != va[:-1])] if ga.size else np.zeros(0, bool)
    run = np.cumsum(start) - 1
    t = np.bincount(run, minlength=int(start.sum())).astype(float)
    tie_sum = np.bincount(ga[start], weights=t**3 - t, minlength=n_groups)
    has_ties = tie_sum > 0

    cnt = count.astype(float)
    mean = cnt * (cnt + 1) / 4
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt((cnt * (cnt + 1) * (2 * cnt + 1) - tie_sum / 2) / 24)
        z = (r_plus - mean) / se
    p = 2.0 * norm_sf(np.abs(z))

    exact = (size <= _EXACT_MAX_N) & ~has_ties & (n_zero == 0) & (count > 0)
    for n in np.unique(count[exact]):
        sel = exact & (count == n)
        pmf = _signed_rank_pmf(int(n))
        cdf = np.cumsum(pmf)
        sf = np.cumsum(pmf[::-1])[::-1]
        k = r_plus[sel]
        p[sel] = np.clip(2 * np.minimum(sf[np.floor(k).astype(int)], cdf[np.ceil(k).astype(int)]), 0, 1)

    perm = (size <= _PERMUTATION_MAX_N) & (has_ties | (n_zero > 0)) & (count > 0)
    if perm.any():
        ranks_full = np.zeros(d.size)
        ranks_full[nz] = rank
        order_g = np.argsort(gid, kind="stable")
        pos = np.empty(d.size, np.int64)
        starts = np.cumsum(size) - size
        pos[order_g] = np.arange(d.size) - np.repeat(starts, size)
        for n in np.unique(size[perm]):
            groups = np.flatnonzero(perm & (size == n))
            rows = np.isin(gid, groups)
            mat = np.zeros((groups.size, int(n)))
            local = np.searchsorted(groups, gid[rows])
            mat[local, pos[rows]] = ranks_full[rows]  # zeros carry rank 0: flipping them changes nothing
            null = mat @ _flip_matrix(int(n))          # R+ under every sign flip
            obs = r_plus[groups][:, None]
            gamma = np.abs(obs) * np.finfo(float).eps * 100  # scipy.stats.permutation_test's tolerance
            less = (null <= obs + gamma).mean(axis=1)
            greater = (null >= obs - gamma).mean(axis=1)
            p[groups] = np.clip(2 * np.minimum(less, greater), 0, 1)

    stat = np.minimum(r_plus, r_minus)
    none = count == 0
    stat = np.where(none, np.nan, stat)
    p = np.where(none, np.nan, p)
    return stat, p


# ----------------------------------------------------------------------------- d_z CI


def _nct_cdf(ncp: np.ndarray, t_obs: np.ndarray, df: np.ndarray) -> np.ndarray:
    """``scipy.stats.nct.cdf(t_obs, df, ncp)``, with the limit where scipy returns NaN far in
    the tails (e.g. t = 4.5, df = 19, ncp = -5.5, where the cdf is 1 to 10 digits)."""
    c = stats.nct.cdf(t_obs, df, ncp)
    return np.where(np.isnan(c), (ncp < t_obs).astype(float), c)


def _ncp_for(target: float, t_obs: np.ndarray, df: np.ndarray, xatol: float) -> np.ndarray:
    """The noncentrality ``ncp`` with ``nct.cdf(t_obs; df, ncp) = target`` per element.

    The cdf falls as ncp grows. Bracket: around the normal approximation of the noncentral
    t (mean ncp, variance 1 + ncp^2 / (2 df); Johnson, Kotz & Balakrishnan 1995, ch. 31),
    ncp ~ t - z_target sqrt(1 + t^2 / (2 df)), widened where it does not bracket; then
    Chandrupatla's method (Chandrupatla 1997, *Advances in Engineering Software* 28(3),
    145-149; ``scipy.optimize.elementwise.find_root``), vectorised over the groups: a dozen
    cdf evaluations per limit instead of fifty-odd for bisection."""
    f = lambda x, t, d: _nct_cdf(x, t, d) - target  # noqa: E731 (decreasing in x)
    guess = t_obs - norm_ppf(target) * np.sqrt(1.0 + t_obs**2 / (2.0 * df))
    width = 0.25 + 0.1 * np.abs(guess) / np.sqrt(df)
    lo, hi = guess - width, guess + width
    for step in (1.0, 4.0, 10.0, 10.0, 20.0):  # widen only the elements the bracket misses
        f_lo, f_hi = f(lo, t_obs, df), f(hi, t_obs, df)
        bad_lo, bad_hi = f_lo < 0, f_hi > 0
        if not (bad_lo.any() or bad_hi.any()):
            break
        lo, hi = np.where(bad_lo, lo - step * (1 + width), lo), np.where(bad_hi, hi + step * (1 + width), hi)
    for _ in range(100):  # as before: widen by 10 until it brackets (never needed in practice)
        bad_lo, bad_hi = f(lo, t_obs, df) < 0, f(hi, t_obs, df) > 0
        if not (bad_lo.any() or bad_hi.any()):
            break
        lo, hi = np.where(bad_lo, lo - 10.0, lo), np.where(bad_hi, hi + 10.0, hi)
    res = optimize.elementwise.find_root(f, (lo, hi), args=(t_obs, df),
                                         tolerances={"xatol": xatol, "xrtol": 0.0, "fatol": 0.0, "frtol": 0.0})
    return res.x


def d_z_ci_grouped(dz: np.ndarray, n: np.ndarray, confidence: float, iters: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """CI of d_z per group by inverting the noncentral t (Steiger & Fouladi 1997; Cumming &
    Finch 2001): with t = d_z sqrt(n) and df = n - 1, the limits are lambda_L / sqrt(n) and
    lambda_U / sqrt(n) where ``nct.cdf(t; df, lambda_L) = 1 - alpha / 2`` and
    ``nct.cdf(t; df, lambda_U) = alpha / 2``.

    Solved for all groups at once by a bracketed root finder (``_ncp_for``: Chandrupatla's
    method on ``scipy.stats.nct.cdf``) to ``2^-iters`` of a 20-wide bracket in the
    noncentrality (about 2e-14 for the default 50, what the 50 bisection steps this
    replaces reached), so the limits agree with those of bisection and with
    ``stats.paired`` (Brent's method) to about 1e-12.
    """
    dz = np.asarray(dz, dtype=float)
    n = np.asarray(n, dtype=float)
    ok = np.isfinite(dz) & (n >= 2)
    lo_out = np.full(dz.shape, np.nan)
    hi_out = np.full(dz.shape, np.nan)
    if not ok.any():
        return lo_out, hi_out
    t_obs = dz[ok] * np.sqrt(n[ok])
    df = n[ok] - 1
    alpha = 1.0 - confidence
    xatol = 20.0 / 2.0**iters
    lo_out[ok] = _ncp_for(1 - alpha / 2, t_obs, df, xatol) / np.sqrt(n[ok])
    hi_out[ok] = _ncp_for(alpha / 2, t_obs, df, xatol) / np.sqrt(n[ok])
    return lo_out, hi_out


# ----------------------------------------------------------------------------- bootstrap


def _bootstrap_ci_same_size(mat: np.ndarray, resamples: int, seed: int | None, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile CI of the mean for each row of ``mat`` (groups of equal size n), drawing
    the resample indices exactly as ``stats.paired`` does for one group of size n (int32
    indices: the same numbers as int64, ``index_dtype``; ``np.take`` gathers them).

    The draws are one stream whatever the block size (tested), so groups of at least
    ``_ROW_BY_ROW_MIN_N`` are done in cache-sized blocks of ``_ROW_BY_ROW_ELEMENTS`` native
    (intp) indices, one 1-D gather and mean per group: each mean is the same reduction of the
    same n values in the same order (pairwise summation along the contiguous axis), so the
    same bits as the one 3-D gather below, in about 60 % of the time at n = 8,000."""
    g, n = mat.shape
    rng = np.random.default_rng(seed)
    means = np.empty((g, resamples))
    if n >= _ROW_BY_ROW_MIN_N:
        block = max(1, _ROW_BY_ROW_ELEMENTS // n)
        for start in range(0, resamples, block):
            k = min(block, resamples - start)
            idx = rng.integers(0, n, size=(k, n), dtype=index_dtype(n)).astype(np.intp)
            for r in range(g):
                means[r, start : start + k] = np.take(mat[r], idx).mean(axis=1)
    else:
        block = max(1, _BLOCK_ELEMENTS // n)
        for start in range(0, resamples, block):
            k = min(block, resamples - start)
            idx = rng.integers(0, n, size=(k, n), dtype=index_dtype(n))
            step = max(1, _WORK_ELEMENTS // max(1, k * n))
            for a in range(0, g, step):
                means[a : a + step, start : start + k] = np.take(mat[a : a + step], idx, axis=1).mean(axis=2)
    alpha = 1.0 - confidence
    q = np.quantile(means, [alpha / 2, 1 - alpha / 2], axis=1)
    return q[0], q[1]


# ----------------------------------------------------------------------------- summary


def paired_summary_grouped(
    df: pd.DataFrame,
    by: str | Sequence[str],
    diff_col: str,
    min_n: int = 5,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int | None = DEFAULT_SEED,
    unit: str = "children",
) -> pd.DataFrame:
    """``stats.paired_by_group`` without the loop over groups (same columns, same numbers).

    One row per group (sorted by the keys) with ``by...``, n, mean_diff, ci_lo, ci_hi,
    wilcoxon_stat, wilcoxon_p, d_z, d_z_lo, d_z_hi, confidence, resamples, reason.
    Rows with a NaN difference are dropped first (a group with none left has n = 0).
    """
    return paired_summaries_grouped(df, by, [diff_col], min_n=min_n, confidence=confidence, resamples=resamples,
                                    seed=seed, unit=unit)[diff_col]


def paired_summaries_grouped(
    df: pd.DataFrame,
    by: str | Sequence[str],
    diff_cols: Sequence[str],
    min_n: int = 5,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int | None = DEFAULT_SEED,
    unit: str = "children",
    d_z_interval: Sequence[str] | None = None,
) -> dict[str, pd.DataFrame]:
    """``paired_summary_grouped`` of each column of ``diff_cols`` over the same groups:
    ``{column: DataFrame}``, each exactly what ``paired_summary_grouped`` gives for it
    (``d_z_interval``: the columns whose d_z interval is wanted, None = all; the others'
    d_z_lo / d_z_hi are NaN, which saves the noncentral-t root finding).

    Columns with the same missing values have groups of the same sizes, so their bootstrap
    draws the same resample indices (one seed per group size): those are drawn once and
    gathered for all of them (one ``_bootstrap_ci_same_size`` call per size, the columns'
    groups as more rows), which is where the time goes.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    if resamples < 1:
        raise ValueError("resamples must be >= 1")
    keys = [by] if isinstance(by, str) else list(by)
    cols = keys + list(PairedSummary.__dataclass_fields__)
    if df.empty:
        return {c: pd.DataFrame(columns=cols) for c in diff_cols}
    grouped = df.groupby(keys, sort=True, dropna=False)
    groups_frame = grouped.size().index.to_frame(index=False)
    n_groups = len(groups_frame)
    gid_all = grouped.ngroup().to_numpy()
    parts = {}
    for c in diff_cols:
        d_all = pd.to_numeric(df[c], errors="raise").astype(float).to_numpy()
        keep = ~np.isnan(d_all)
        gid, d = gid_all[keep], d_all[keep]
        n = np.bincount(gid, minlength=n_groups)
        estimate = (n >= min_n) & (n >= 2)
        order = np.argsort(gid, kind="stable")
        parts[c] = {"keep": keep, "gid": gid, "d": d, "n": n, "estimate": estimate, "ds": d[order],
                    "ci_lo": np.full(n_groups, np.nan), "ci_hi": np.full(n_groups, np.nan)}
    # the bootstrap: columns with the same rows kept share their groups' sizes, hence their indices
    done: set[str] = set()
    for c in diff_cols:
        if c in done:
            continue
        same = [o for o in diff_cols if o not in done and np.array_equal(parts[o]["keep"], parts[c]["keep"])]
        done.update(same)
        n, estimate = parts[c]["n"], parts[c]["estimate"]
        starts = np.cumsum(n) - n
        for size in np.unique(n[estimate]):
            groups = np.flatnonzero(estimate & (n == size))
            idx = starts[groups][:, None] + np.arange(size)[None, :]
            mat = np.concatenate([parts[o]["ds"][idx] for o in same]) if len(same) > 1 else parts[c]["ds"][idx]
            lo, hi = _bootstrap_ci_same_size(mat, resamples, seed, confidence)
            for j, o in enumerate(same):
                rows = slice(j * len(groups), (j + 1) * len(groups))
                parts[o]["ci_lo"][groups], parts[o]["ci_hi"][groups] = lo[rows], hi[rows]
    return {c: _summary_frame(groups_frame.copy(), cols, parts[c], n_groups, min_n, confidence, resamples, unit,
                              d_z_interval is None or c in d_z_interval)
            for c in diff_cols}


def _summary_frame(out: pd.DataFrame, cols: list[str], part: dict, n_groups: int, min_n: int, confidence: float,
                   resamples: int, unit: str, with_d_z_interval: bool = True) -> pd.DataFrame:
    """One column's ``paired_summary_grouped`` rows, its bootstrap limits already in ``part``
    (d_z_lo / d_z_hi NaN without ``with_d_z_interval``)."""
    gid, d, n, estimate = part["gid"], part["d"], part["n"], part["estimate"]
    ci_lo, ci_hi = part["ci_lo"], part["ci_hi"]
    total = np.bincount(gid, weights=d, minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / n
        ss = np.bincount(gid, weights=(d - mean[gid]) ** 2, minlength=n_groups)
        sd = np.sqrt(ss / (n - 1))
        dz = np.where((n >= 2) & (sd > 0), mean / sd, np.nan)

    reason = np.where(n < min_n, f"fewer than {min_n} {unit}",
                      np.where(n < 2, f"fewer than 2 {unit}", None)).astype(object)
    reason[estimate] = None

    sel = estimate[gid]
    w_stat = np.full(n_groups, np.nan)
    w_p = np.full(n_groups, np.nan)
    if sel.any():
        est_groups = np.flatnonzero(estimate)
        remap = np.full(n_groups, -1)
        remap[est_groups] = np.arange(est_groups.size)
        s, p = wilcoxon_grouped(d[sel], remap[gid[sel]], est_groups.size)
        w_stat[est_groups], w_p[est_groups] = s, p
    if with_d_z_interval:
        dz_lo, dz_hi = d_z_ci_grouped(np.where(estimate, dz, np.nan), n, confidence)
    else:
        dz_lo = dz_hi = np.full(n_groups, np.nan)

    out["n"] = n.astype(np.int64)
    out["mean_diff"] = np.where(estimate, mean, np.nan)
    out["ci_lo"] = ci_lo
    out["ci_hi"] = ci_hi
    out["wilcoxon_stat"] = w_stat
    out["wilcoxon_p"] = w_p
    out["d_z"] = np.where(estimate, dz, np.nan)
    out["d_z_lo"] = dz_lo
    out["d_z_hi"] = dz_hi
    out["confidence"] = confidence
    out["resamples"] = resamples
    out["reason"] = pd.Series(list(reason), index=out.index, dtype=object)  # None, not NaN, when estimated
    return out[cols]
