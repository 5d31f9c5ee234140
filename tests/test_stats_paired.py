"""Paired comparison across children: bootstrap CI, Wilcoxon, d_z (Cohen 1988; Lakens 2013)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import stats
from stats.paired import PairedSummary, d_z, paired_by_group, paired_summary

X = [10, 12, 15, 8, 11]
Y = [14, 18, 16, 12, 13]

D_Z = [
    # (x, y, expected d_z, decimals)
    (X, Y, -1.744, 3),  # differences -4,-6,-1,-4,-2: mean -3.4, sd sqrt(3.8)
    (X, Y, -3.4 / math.sqrt(3.8), 12),
    ([1, 2, 3], [0, 0, 0], 2.0, 12),  # mean 2, sd 1
    ([3, 2, 1], [0, 0, 0], 2.0, 12),
]


@pytest.mark.parametrize("x, y, expected, dp", D_Z)
def test_d_z_worked(x, y, expected, dp):
    assert round(d_z(x, y), dp) == round(expected, dp)


def test_d_z_edge_cases():
    assert math.isnan(d_z([1], [0]))
    assert math.isnan(d_z([2, 2, 2], [1, 1, 1]))  # zero SD
    assert d_z([1, np.nan, 2, 3], [0, 5, 0, 0]) == pytest.approx(2.0)  # NaN pair dropped
    assert d_z(np.array(X) - np.array(Y)) == pytest.approx(d_z(X, Y))


def test_summary_worked_example():
    d = np.array(X) - np.array(Y)
    r = paired_summary(d, min_n=5)
    assert isinstance(r, PairedSummary) and r.reason is None
    assert r.n == 5 and r.mean_diff == pytest.approx(-3.4) and r.estimate == r.mean_diff
    assert round(r.d_z, 3) == -1.744
    w = sps.wilcoxon(d)
    assert (r.wilcoxon_stat, r.wilcoxon_p) == (pytest.approx(w.statistic), pytest.approx(w.pvalue))
    assert r.wilcoxon_p == pytest.approx(0.0625)  # exact: all 5 differences negative, 2 / 2^5
    assert d.min() <= r.ci_lo <= r.mean_diff <= r.ci_hi <= d.max()
    assert r.d_z_lo < r.d_z < r.d_z_hi


def test_d_z_ci_inverts_noncentral_t():
    d = np.random.default_rng(4).normal(0.5, 1, size=20)
    r = paired_summary(d, confidence=0.9)
    t_obs, n = r.d_z * math.sqrt(r.n), r.n
    assert sps.nct.cdf(t_obs, n - 1, r.d_z_lo * math.sqrt(n)) == pytest.approx(0.95, abs=1e-8)
    assert sps.nct.cdf(t_obs, n - 1, r.d_z_hi * math.sqrt(n)) == pytest.approx(0.05, abs=1e-8)


def test_bootstrap_is_seeded_and_close_to_normal_theory():
    d = np.random.default_rng(0).normal(1.0, 2.0, size=400)
    a, b = paired_summary(d, seed=1), paired_summary(d, seed=1)
    assert (a.ci_lo, a.ci_hi) == (b.ci_lo, b.ci_hi)
    c = paired_summary(d, seed=2)
    assert (a.ci_lo, a.ci_hi) != (c.ci_lo, c.ci_hi)
    half = 1.96 * d.std(ddof=1) / math.sqrt(d.size)
    assert a.ci_lo == pytest.approx(d.mean() - half, abs=0.05)
    assert a.ci_hi == pytest.approx(d.mean() + half, abs=0.05)


def test_bootstrap_blocks_do_not_change_the_answer(monkeypatch):
    import stats.paired as paired_mod

    d = np.random.default_rng(9).normal(size=50)
    whole = paired_summary(d, resamples=300, seed=5)
    monkeypatch.setattr(paired_mod, "_BLOCK_ELEMENTS", 120)  # 2 resamples per block
    blocked = paired_summary(d, resamples=300, seed=5)
    assert (whole.ci_lo, whole.ci_hi) == pytest.approx((blocked.ci_lo, blocked.ci_hi), abs=1e-12)


@pytest.mark.parametrize("diffs", [[], [1.0], [1, 2, 3, 4], [1, 2, np.nan, 3, 4]])
def test_below_min_n_gives_reason_not_numbers(diffs):
    r = paired_summary(diffs, min_n=5)
    assert r.reason == "fewer than 5 children"
    assert r.n == sum(not np.isnan(v) for v in diffs)
    assert all(math.isnan(v) for v in (r.mean_diff, r.ci_lo, r.ci_hi, r.wilcoxon_p, r.d_z))


def test_all_zero_differences():
    r = paired_summary([0.0] * 6)
    assert r.mean_diff == 0.0 and r.ci_lo == 0.0 and r.ci_hi == 0.0
    assert math.isnan(r.wilcoxon_p) and math.isnan(r.d_z)


def test_min_n_below_two_still_safe():
    r = paired_summary([1.0], min_n=1)
    assert r.reason == "fewer than 2 children" and math.isnan(r.mean_diff)


def test_by_group_rows_equal_scalar():
    rng = np.random.default_rng(3)
    df = pd.DataFrame(
        {
            "modality": ["OT"] * 12 + ["speech"] * 7 + ["CBT"] * 3,
            "diff": rng.normal(size=22),
        }
    )
    res = stats.paired_by_group(df, "modality", "diff", min_n=5, resamples=500, seed=8)
    assert res["modality"].tolist() == ["CBT", "OT", "speech"]
    assert list(res.columns)[:3] == ["modality", "n", "mean_diff"]
    cbt = res.iloc[0]
    assert cbt["n"] == 3 and cbt["reason"] == "fewer than 5 children" and math.isnan(cbt["mean_diff"])
    ot = res.iloc[1]
    want = paired_summary(df.loc[df.modality == "OT", "diff"], resamples=500, seed=8)
    assert ot["mean_diff"] == pytest.approx(want.mean_diff)
    assert (ot["ci_lo"], ot["ci_hi"]) == (pytest.approx(want.ci_lo), pytest.approx(want.ci_hi))
    assert ot["d_z"] == pytest.approx(want.d_z)


def test_by_group_multiple_keys_and_unit():
    df = pd.DataFrame({"age": ["3-5"] * 6, "therapist": ["T1"] * 3 + ["T2"] * 3, "d": [1.0, 2, 3, 4, 5, 6]})
    res = paired_by_group(df, ["age", "therapist"], "d", min_n=4, unit="therapists' children")
    assert res["reason"].tolist() == ["fewer than 4 therapists' children"] * 2


def test_d_z_interval_survives_scipy_nct_tail_nan():
    # scipy's nct.cdf returns NaN far in the tail (t=4.49, df=19, ncp=-5.5); the interval must still exist
    from stats.paired import _d_z_ci

    lo, hi = _d_z_ci(1.004, 20, 0.95)
    assert 0.4 < lo < 1.004 < hi < 1.7
