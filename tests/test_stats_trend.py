"""Theil-Sen slope (Sen 1968) and Mann-Kendall / Kendall tau-b, scalar and grouped."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps
from scipy.stats._mstats_basic import _kendall_p_exact

import stats.trend as trend_mod
import stats
from stats.trend import kendall_exact_pvalue, mann_kendall, theil_sen, trends_grouped

# ------------------------------------------------------------------ worked checks

THEIL_SEN = [
    # (t, y, slope, slope_lo, slope_hi)
    ([1, 2, 3, 4, 5], [3, 5, 7, 9, 11], 2.0, 2.0, 2.0),  # exact line y = 2t + 1
    ([0, 1, 2, 3], [0, 0, 0, 0], 0.0, 0.0, 0.0),  # flat
    ([1, 2, 3], [1, 3, 2], 0.5, -1.0, 2.0),  # slopes {2, 0.5, -1}; n = 3 CI spans all
]


@pytest.mark.parametrize("t, y, slope, lo, hi", THEIL_SEN)
def test_theil_sen_worked(t, y, slope, lo, hi):
    r = theil_sen(t, y)
    assert (r.slope, r.slope_lo, r.slope_hi) == pytest.approx((slope, lo, hi))
    assert r.n == len(t)


MANN_KENDALL = [
    # (t, y, S, tau_b, var_S, p) -- perfect trend, n = 5: exact p = 2/5! ; var S = n(n-1)(2n+5)/18
    ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], 10, 1.0, 5 * 4 * 15 / 18, 2 / 120),
    ([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], -10, -1.0, 5 * 4 * 15 / 18, 2 / 120),
]


@pytest.mark.parametrize("t, y, s, tau_b, var_s, p", MANN_KENDALL)
def test_mann_kendall_worked(t, y, s, tau_b, var_s, p):
    r = mann_kendall(t, y)
    assert r.s == s and r.tau == pytest.approx(tau_b)
    assert r.var_s == pytest.approx(var_s) and r.p_value == pytest.approx(p)
    assert r.p_method == "exact" and r.n == 5


def test_kendall_1970_example_3_1_with_ties():
    # Kendall (1970) Example 3.1 (used in SingleCaseES's tests): S = 33, tau-b = 33 / sqrt(41 * 36) = .859
    x = [1, 2.5, 2.5, 4.5, 4.5, 6.5, 6.5, 8, 9.5, 9.5]
    y = [1, 2, 4.5, 4.5, 4.5, 4.5, 8, 8, 8, 10]
    r = mann_kendall(x, y)
    assert r.s == 33
    assert r.tau == pytest.approx(33 / math.sqrt(41 * 36))
    assert round(r.tau, 3) == 0.859
    assert r.p_method == "asymptotic"
    assert r.p_value == pytest.approx(2 * sps.norm.sf(abs(r.z)))
    assert r.p_value == pytest.approx(sps.kendalltau(x, y).pvalue)


def test_asymptotic_option_matches_scipy():
    t = np.arange(12)
    y = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8], dtype=float)
    r = mann_kendall(t, y, p_method="asymptotic")
    assert r.p_value == pytest.approx(sps.kendalltau(t, y, method="asymptotic").pvalue)
    assert r.p_value == pytest.approx(2 * sps.norm.sf(abs(r.z)))


def test_exact_pvalue_table_matches_scipy():
    for n in range(1, 34):
        tot = n * (n - 1) // 2
        for s in range(-tot, tot + 1, 2)[::5]:
            dis = (tot - s) // 2
            want = 1.0 if n == 1 else _kendall_p_exact(n, tot - dis, "two-sided")
            assert kendall_exact_pvalue(n, s)[()] == pytest.approx(want, rel=1e-9, abs=1e-300)
    # beyond n = 33 only the extreme cells are exact (as in scipy)
    assert kendall_exact_pvalue(40, 780)[()] == pytest.approx(_kendall_p_exact(40, 780, "two-sided"))
    assert kendall_exact_pvalue(40, 778)[()] == pytest.approx(_kendall_p_exact(40, 779, "two-sided"))
    assert math.isnan(kendall_exact_pvalue(40, 100)[()])


# ------------------------------------------------------------------ edge cases


def test_edge_cases():
    r = theil_sen([1], [2])
    assert math.isnan(r.slope) and r.n == 1
    r = theil_sen([], [])
    assert math.isnan(r.slope) and r.n == 0
    r = theil_sen([2, 2, 2], [1, 2, 3])  # all sessions at the same time
    assert math.isnan(r.slope)
    m = mann_kendall([1], [1])
    assert math.isnan(m.tau) and math.isnan(m.p_value) and m.n == 1
    m = mann_kendall([1, 2, 3], [4, 4, 4])  # all tied: tau undefined
    assert math.isnan(m.tau) and math.isnan(m.p_value)


def test_nans_dropped_and_datetimes_in_days():
    t = [1, 2, np.nan, 4, 5, 6]
    y = [2, 4, 100, np.nan, 10, 12]
    r = theil_sen(t, y)
    assert r.n == 4 and r.slope == pytest.approx(2.0)
    dates = pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"])
    r = theil_sen(dates, [1.0, 2.0, 3.0, 4.0])
    assert r.slope == pytest.approx(1 / 7)  # per day


# ------------------------------------------------------------------ grouped vs scipy


def _random_series(seed=11, n_groups=400):
    rng = np.random.default_rng(seed)
    frames = []
    for g in range(n_groups):
        n = int(rng.integers(0, 31))
        t = np.arange(n, dtype=float)
        if g % 4 == 0:
            t = rng.integers(0, max(1, n // 2) + 1, size=n).astype(float)  # tied session days
        if g % 2:
            y = rng.integers(1, 6, size=n).astype(float)  # 1-5 ratings: many ties
        else:
            y = rng.normal(size=n) + 0.05 * t
        if g % 17 == 0:
            y[:] = 3.0
        frames.append(pd.DataFrame({"child_id": f"C{g:04d}", "site": g % 2, "week": t, "engagement": y}))
    df = pd.concat(frames, ignore_index=True)
    df.loc[df.sample(frac=0.02, random_state=1).index, "engagement"] = np.nan
    return df


def _same(got, want, **tol):
    if math.isnan(want):
        return math.isnan(got)
    return got == pytest.approx(want, **tol)


def _check_against_scipy(df, res, p_method):
    res = res.set_index("child_id")
    checked = 0
    for child, sub in df.groupby("child_id"):
        sub = sub.dropna(subset=["week", "engagement"])
        row = res.loc[child]
        assert row["n"] == len(sub)
        if len(sub) >= 2 and sub["week"].nunique() > 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # scipy: sqrt of negative sigma^2
                ts = sps.theilslopes(sub["engagement"], sub["week"])
            assert _same(row["slope"], ts.slope, abs=1e-12)
            # NaN CI when the tie-corrected variance is negative (heavy ties), like scipy
            assert _same(row["slope_lo"], ts.low_slope, abs=1e-12)
            assert _same(row["slope_hi"], ts.high_slope, abs=1e-12)
            checked += 1
        else:
            assert math.isnan(row["slope"])
        # (scipy's asymptotic branch divides by n - 2, so n = 2 is left out there)
        if len(sub) >= (3 if p_method == "asymptotic" else 2):
            kt = sps.kendalltau(sub["week"], sub["engagement"], method=p_method)
            assert _same(row["kendall_tau"], kt.statistic, rel=1e-9, abs=1e-12)
            assert _same(row["p_value"], kt.pvalue, rel=1e-9, abs=1e-12)
    assert checked > 100


@pytest.mark.parametrize("p_method", ["auto", "asymptotic"])
def test_grouped_equals_scipy(p_method):
    df = _random_series()
    res = trends_grouped(df, "child_id", "week", "engagement", p_method=p_method)
    assert list(res.columns) == ["child_id", "n", "slope", "slope_lo", "slope_hi", "kendall_tau", "p_value"]
    _check_against_scipy(df, res, p_method)


def test_grouped_equals_scalar_functions():
    df = _random_series(seed=5, n_groups=60)
    res = stats.trends_grouped(df, ["site", "child_id"], "week", "engagement", confidence=0.9)
    for _, row in res.iterrows():
        sub = df[df.child_id == row["child_id"]]
        ts = theil_sen(sub["week"], sub["engagement"], confidence=0.9)
        mk = mann_kendall(sub["week"], sub["engagement"])
        for got, want in [
            (row["slope"], ts.slope),
            (row["slope_lo"], ts.slope_lo),
            (row["slope_hi"], ts.slope_hi),
            (row["kendall_tau"], mk.tau),
            (row["p_value"], mk.p_value),
        ]:
            assert (math.isnan(got) and math.isnan(want)) or got == pytest.approx(want, abs=1e-12)


def test_grouped_chunking_gives_same_result(monkeypatch):
    df = _random_series(seed=2, n_groups=80)
    full = trends_grouped(df, "child_id", "week", "engagement")
    monkeypatch.setattr(trend_mod, "_MAX_PAIRS_PER_CHUNK", 50)
    chunked = trends_grouped(df, "child_id", "week", "engagement")
    pd.testing.assert_frame_equal(full, chunked)


def test_grouped_datetimes_and_empty():
    df = pd.DataFrame(
        {
            "child_id": ["a"] * 4 + ["b"],
            "session_date": pd.to_datetime(["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26", "2026-01-05"]),
            "engagement": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    res = trends_grouped(df, "child_id", "session_date", "engagement").set_index("child_id")
    assert res.loc["a", "slope"] == pytest.approx(1 / 7)
    assert res.loc["a", "kendall_tau"] == pytest.approx(1.0)
    assert res.loc["b", "n"] == 1 and math.isnan(res.loc["b", "slope"]) and math.isnan(res.loc["b", "p_value"])
    empty = trends_grouped(df.iloc[:0], "child_id", "session_date", "engagement")
    assert len(empty) == 0 and "slope" in empty.columns
