"""Single-case non-overlap measures: NAP, Tau, Tau-U, Tau-BC, PND, grouped NAP.

Published values come from the SingleCaseES documentation (Pustejovsky, Chen, Swan &
Grekov; vignette "Basic effect sizes calculations using SingleCaseES", and the package
tests test-parker-vannest-davis-2011.R and test-tarlow-2017.R), which use the
Parker, Vannest & Davis (2011) example A = 20,20,26,25,22,23, B = 28,25,24,27,30,30,29.
"""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import stats
from stats.single_case import (
    _newcombe_ci_scalar,
    _score_poly_lo_at_one,
    nap,
    nap_grouped,
    pnd,
    tau,
    tau_bc,
    tau_u,
)

A = [20, 20, 26, 25, 22, 23]
B = [28, 25, 24, 27, 30, 30, 29]
R_UNIROOT_XTOL = 2.0**-13  # .Machine$double.eps^0.25, R's uniroot() default tolerance

# ------------------------------------------------------------------ worked checks

WORKED = [
    # (function, a, b, expected estimate)
    (nap, A, B, 38.5 / 42),
    (tau, A, B, 35 / 42),
    (pnd, A, B, 5 / 7),
    (tau_u, A, B, 31 / 42),  # SingleCaseES vignette: Tau-U 0.7380952
    (tau, [3, 3, 4, 5], [4, 5, 6, 7, 7], 16 / 20),
    (tau_u, [3, 3, 4, 5], [4, 5, 6, 7, 7], 11 / 20),
    (tau, [1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 1.0),
    (tau_u, [1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 0.6),
    (nap, [1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 1.0),
    (pnd, [1, 2, 3, 4, 5], [6, 7, 8, 9, 10], 1.0),
]


@pytest.mark.parametrize("func, a, b, expected", WORKED)
def test_worked_estimates(func, a, b, expected):
    assert func(a, b).estimate == pytest.approx(expected, abs=1e-12)


# SingleCaseES vignette output for NAP(A, B, ...): (kwargs, Est, SE, CI_lower, CI_upper)
PUBLISHED_NAP = [
    (dict(), 0.9166667, 0.06900656, 0.5973406, 0.9860176),
    (dict(confidence=0.99), 0.9166667, 0.06900656, 0.4875014, 0.9907377),
    (dict(confidence=0.90), 0.9166667, 0.06900656, 0.6591091, 0.9822249),
    (dict(increase=False), 0.08333333, 0.06900656, 0.01398242, 0.4026594),
    (dict(se_method="hanley"), 0.9166667, 0.07739185, 0.5973406, 0.9860176),
]


@pytest.mark.parametrize("kwargs, est, se, lo, hi", PUBLISHED_NAP)
def test_nap_matches_singlecasees_vignette(kwargs, est, se, lo, hi):
    r = nap(A, B, **kwargs)
    assert r.estimate == pytest.approx(est, abs=5e-8)
    assert r.se == pytest.approx(se, abs=5e-9)
    # R's uniroot() stops within ~1.2e-4 of the root; we solve to ~1e-14
    assert r.ci_lo == pytest.approx(lo, abs=1.2e-4)
    assert r.ci_hi == pytest.approx(hi, abs=1.2e-4)
    assert (r.n_a, r.n_b) == (6, 7)


@pytest.mark.parametrize("kwargs, est, se, lo, hi", PUBLISHED_NAP)
def test_newcombe_polynomial_reproduces_published_digits(kwargs, est, se, lo, hi):
    """Solving the same polynomial with R's uniroot tolerance gives SingleCaseES's digits."""
    conf = kwargs.get("confidence", 0.95)
    p = 38.5 / 42 if kwargs.get("increase", True) else 3.5 / 42
    got_lo, got_hi = _newcombe_ci_scalar(p, 6, 7, conf, xtol=R_UNIROOT_XTOL)
    assert got_lo == pytest.approx(lo, abs=5e-8)
    assert got_hi == pytest.approx(hi, abs=5e-8)


def test_nap_second_vignette_example():
    # NAP(condition = c(A x5, B x5, C x3), outcome) -> A vs B: 0.78, SE 0.155, CI .4115567-.9423658
    a, b = [20, 20, 26, 25, 22], [23, 28, 25, 24, 27]
    r = nap(a, b)
    assert r.estimate == pytest.approx(0.78, abs=1e-12)
    assert r.se == pytest.approx(0.155, abs=1e-9)
    assert _newcombe_ci_scalar(0.78, 5, 5, 0.95, xtol=R_UNIROOT_XTOL) == pytest.approx(
        (0.4115567, 0.9423658), abs=5e-8
    )
    # A vs C has NAP = 1: published truncated-variance SE 0.06346478
    assert nap(a, [30, 30, 29]).se == pytest.approx(0.06346478, abs=5e-9)


def test_tau_matches_vignette():
    r = tau(A, B)
    assert r.estimate == pytest.approx(0.8333333, abs=5e-8)
    assert r.se == pytest.approx(0.1380131, abs=5e-8)
    assert r.ci_lo == pytest.approx(0.1946812, abs=2.5e-4)
    assert r.ci_hi == pytest.approx(0.9720352, abs=2.5e-4)


def test_nap_ci_brackets_estimate_and_widens_with_confidence():
    r90, r95, r99 = (nap(A, B, confidence=c) for c in (0.90, 0.95, 0.99))
    for r in (r90, r95, r99):
        assert r.ci_lo < r.estimate < r.ci_hi
    assert r99.ci_lo < r95.ci_lo < r90.ci_lo
    assert r90.ci_hi < r95.ci_hi < r99.ci_hi


def test_nap_at_boundary_has_nondegenerate_bound():
    r = nap([1, 2, 3], [4, 5, 6, 7])
    assert r.estimate == 1.0 and r.ci_hi == 1.0
    assert 0.0 < r.ci_lo < 1.0
    z2 = sps.norm.ppf(0.975) ** 2
    assert _score_poly_lo_at_one(r.ci_lo, 12, z2, 3.5 - 1) == pytest.approx(0.0, abs=1e-9)
    # mirror image at NAP = 0 (the score polynomial is symmetric under x -> 1 - x)
    r0 = nap([4, 5, 6, 7], [1, 2, 3])
    assert r0.estimate == 0.0 and r0.ci_lo == 0.0
    assert r0.ci_hi == pytest.approx(1 - r.ci_lo, abs=1e-12)


# ------------------------------------------------------------------ edge cases


def test_all_ties():
    r = nap([3, 3, 3], [3, 3])
    assert r.estimate == 0.5
    assert tau([3, 3, 3], [3, 3]).estimate == 0.0
    assert r.ci_lo < 0.5 < r.ci_hi
    assert pnd([3, 3, 3], [3, 3]).estimate == 0.0


@pytest.mark.parametrize("func", [nap, tau, tau_u, pnd])
def test_empty_phase_gives_nan_with_counts(func):
    r = func([], [1, 2, 3])
    assert math.isnan(r.estimate) and (r.n_a, r.n_b) == (0, 3)
    r = func([1, 2], [np.nan])
    assert math.isnan(r.estimate) and (r.n_a, r.n_b) == (2, 0)


def test_nans_are_dropped():
    assert nap(A + [np.nan], [np.nan] + B) == nap(A, B)
    assert tau_u(A + [np.nan], B).estimate == pytest.approx(31 / 42)


def test_single_point_phases():
    r = nap([1], [2])
    assert r.estimate == 1.0
    assert math.isnan(r.se)  # the unbiased variance needs >= 2 points per phase
    assert 0 < r.ci_lo < 1 and r.ci_hi == 1.0


def test_decrease_direction():
    assert nap(A, B, increase=False).estimate == pytest.approx(1 - 38.5 / 42)
    assert pnd([5, 6, 7], [4, 5, 3], increase=False).estimate == pytest.approx(2 / 3)
    assert tau_u([3, 3, 4, 5], [4, 5, 6, 7, 7], increase=False).estimate == pytest.approx(-11 / 20)


def test_tau_u_uses_session_times():
    # same baseline given out of order with its times gives the same Tau-U
    order = [3, 0, 5, 1, 4, 2]
    a = np.array(A)[order]
    assert tau_u(a, B, t_a=np.array(order)).estimate == pytest.approx(31 / 42)


# ------------------------------------------------------------------ Tau-BC (Tarlow 2017)


def test_tau_bc_not_corrected_equals_kendall_tau_b():
    r = tau_bc(A, B)
    assert not r.corrected and r.trend_p > 0.05
    # Kendall tau-b of phase vs score = S_AB / sqrt(m n (N(N-1)/2 - U)); U = 3 tied pairs
    assert r.estimate == pytest.approx(35 / math.sqrt(42 * (78 - 3)), abs=1e-12)
    assert r.se == pytest.approx(math.sqrt(2 * (1 - r.estimate**2) / 13))
    assert (r.n_a, r.n_b) == (6, 7)


def test_tau_bc_tarlow_example_is_zero_after_correction():
    # SingleCaseES test-tarlow-2017.R: A = 1..5, B = 6..10 -> Tau-BC = 0
    r = tau_bc([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    assert r.corrected and r.slope == 1.0 and r.intercept == 0.0
    assert r.trend_p == pytest.approx(2 / 120)  # exact Kendall p for a perfect trend, n = 5
    assert r.estimate == 0.0


def test_tau_bc_pretest_alpha_decides_correction():
    # SingleCaseES test: baseline trend p is between .01 and .05 for this series
    a, b = [1, 1, 3, 3, 5, 5], [5, 6, 4, 8, 9]
    r05, r01 = tau_bc(a, b, alpha=0.05), tau_bc(a, b, alpha=0.01)
    assert 0.01 < r05.trend_p < 0.05
    assert r05.corrected and not r01.corrected
    # corrected estimate by hand: Theil-Sen line (median residual intercept) then tau-b
    ts = sps.theilslopes(a, np.arange(1, 7), method="joint")
    ca = np.array(a) - ts.intercept - ts.slope * np.arange(1, 7)
    cb = np.array(b) - ts.intercept - ts.slope * np.arange(7, 12)
    expected = sps.kendalltau(np.r_[np.zeros(6), np.ones(5)], np.r_[ca, cb]).statistic
    assert r05.estimate == pytest.approx(expected, abs=1e-12)
    assert r01.estimate == pytest.approx(sps.kendalltau(np.r_[np.zeros(6), np.ones(5)], a + b).statistic)
    # direction flips the sign only
    assert tau_bc(a, b, alpha=0.01, increase=False).estimate == pytest.approx(-r01.estimate)
    assert tau_bc(a, b, increase=False).estimate == pytest.approx(-r05.estimate)


def test_tau_bc_edge_cases():
    r = tau_bc([], [1, 2])
    assert math.isnan(r.estimate) and not r.corrected
    r = tau_bc([4], [5, 6])  # one baseline point: no trend test, no correction
    assert not r.corrected and math.isnan(r.trend_p)
    assert r.estimate == pytest.approx(2 / math.sqrt(2 * 3))  # tau-b: S / sqrt(m n (N0 - U))
    r = tau_bc([2, 2, 2], [2, 2])  # all tied
    assert r.estimate == 0.0 and not r.corrected
    assert -1.0 <= r.ci_lo <= r.ci_hi <= 1.0


# ------------------------------------------------------------------ grouped NAP


def _random_sessions(seed=3, n_children=400):
    rng = np.random.default_rng(seed)
    frames = []
    for c in range(n_children):
        m, n = int(rng.integers(0, 14)), int(rng.integers(0, 14))
        if c % 2:
            vals = rng.integers(1, 6, size=m + n).astype(float)  # engagement 1-5: many ties
        else:
            vals = rng.normal(size=m + n) + np.r_[np.zeros(m), np.full(n, 0.5)]
        if c % 9 == 0:
            vals[:] = 3.0
        if c % 10 == 0 and m:
            vals[m:] = vals[:m].max() + 1 + np.arange(n)  # complete non-overlap
        frames.append(
            pd.DataFrame(
                {
                    "child_id": f"C{c:04d}",
                    "team": "N" if c % 3 else "S",
                    "approach": ["directed"] * m + ["child-led"] * n,
                    "engagement": vals,
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    extra = pd.DataFrame(
        {
            "child_id": ["C0000", "C0001", "C0002"],
            "team": ["S", "N", "N"],
            "approach": ["mixed", "directed", "child-led"],
            "engagement": [99.0, np.nan, np.nan],
        }
    )
    return pd.concat([df, extra], ignore_index=True)


@pytest.mark.parametrize("increase", [True, False])
@pytest.mark.parametrize("se_method", ["unbiased", "hanley"])
def test_nap_grouped_equals_scalar(increase, se_method):
    df = _random_sessions()
    res = nap_grouped(
        df, "child_id", "approach", "engagement", "directed", "child-led",
        increase=increase, se_method=se_method,
    ).set_index("child_id")
    assert len(res) == df["child_id"].nunique()
    for child, sub in df.groupby("child_id"):
        a = sub.loc[sub.approach == "directed", "engagement"]
        b = sub.loc[sub.approach == "child-led", "engagement"]
        r = nap(a, b, increase=increase, se_method=se_method)
        row = res.loc[child]
        assert (row["n_a"], row["n_b"]) == (r.n_a, r.n_b)
        for got, want in [
            (row["nap"], r.estimate),
            (row["nap_se"], r.se),
            (row["nap_lo"], r.ci_lo),
            (row["nap_hi"], r.ci_hi),
            (row["tau"], 2 * r.estimate - 1),
        ]:
            if math.isnan(want):
                assert math.isnan(got)
            else:
                assert got == pytest.approx(want, abs=1e-9)


def test_nap_grouped_columns_keys_and_worked_example():
    df = pd.DataFrame(
        {
            "child_id": ["x"] * 13 + ["y"] * 2,
            "modality": ["OT"] * 15,
            "approach": ["directed"] * 6 + ["child-led"] * 7 + ["child-led"] * 2,
            "engagement": A + B + [3, 4],
        }
    )
    res = stats.nap_grouped(df, ["child_id", "modality"], "approach", "engagement", "directed", "child-led")
    assert list(res.columns) == [
        "child_id", "modality", "n_a", "n_b", "nap", "nap_se", "nap_lo", "nap_hi", "tau", "tau_lo", "tau_hi",
    ]
    x = res.iloc[0]
    assert x["nap"] == pytest.approx(38.5 / 42)
    assert x["nap_se"] == pytest.approx(0.06900656, abs=5e-9)
    assert x["nap_lo"] == pytest.approx(0.5973406, abs=1.2e-4)
    assert x["tau"] == pytest.approx(35 / 42)
    y = res.iloc[1]
    assert (y["n_a"], y["n_b"]) == (0, 2) and math.isnan(y["nap"]) and math.isnan(y["nap_lo"])


def test_nap_grouped_empty_frame():
    df = pd.DataFrame({"child_id": [], "approach": [], "engagement": []})
    res = nap_grouped(df, "child_id", "approach", "engagement", "directed", "child-led")
    assert len(res) == 0 and "nap" in res.columns
