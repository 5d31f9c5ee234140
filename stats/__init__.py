"""Statistics for therapy progress analytics: small, tested, vectorised where grouped.

``import stats`` then ``stats.nap(a, b)`` etc. (layer 0: imports nothing of ours). Scalar
functions take array-likes and return frozen dataclasses (or floats); grouped functions take a long
DataFrame and return one row per group, computed without a Python loop per group
(except ``paired_by_group``, meant for a handful of breakdown groups). Every estimate
comes with its n and, where the method has one, a confidence interval.

Goal Attainment Scaling (``gas``)
    gas_t_score, gas_t_scores -- Kiresuk & Sherman (1968) T-score,
    T = 50 + 10 sum(w x) / sqrt((1 - rho) sum w^2 + rho (sum w)^2), rho = 0.3.

Single-case non-overlap, condition A (directed) vs B (child-led) (``single_case``)
    nap, nap_grouped -- Non-overlap of All Pairs (Parker & Vannest 2009); SE of Sen
        (1967) / Mee (1990) (or Hanley & McNeil 1982); CI by Newcombe's (2006) score
        inversion (Method 5), as in the R package SingleCaseES.
    tau -- Tau (non-overlap) = 2 NAP - 1 (Parker, Vannest, Davis & Sauber 2011).
    tau_u -- Tau-U "A vs. B - trend A" (Parker, Vannest, Davis & Sauber 2011).
    tau_bc -- baseline-corrected Tau (Tarlow 2017): Kendall trend test, Theil-Sen
        correction, Kendall tau-b.
    pnd -- Percentage of Non-overlapping Data (Scruggs, Mastropieri & Casto 1987).

Counts (``counts``)
    other_below -- per point, the Mann-Whitney count against the other condition of its
        group (Mann & Whitney 1947), behind nap_grouped, Tau-U and Tau-BC.

Trend (``trend``)
    theil_sen -- Theil (1950) / Sen (1968) slope with Sen's CI (scipy.stats.theilslopes).
    mann_kendall -- Mann (1945) / Kendall (1975) test, Kendall tau-b, tie-corrected var S.
    trends_grouped -- both per group, vectorised; equals scipy per group.

Paired comparison across children (``paired``)
    paired_summary, paired_by_group -- mean difference with bootstrap percentile CI
        (Efron & Tibshirani 1993), Wilcoxon (1945) signed-rank test, d_z (Cohen 1988;
        Lakens 2013) with noncentral-t CI (Steiger & Fouladi 1997); min-n guard.
    d_z -- mean(x - y) / sd(x - y).

Reliable change (``rci``)
    rci, classify_change, reliable_change_threshold, rci_category -- Jacobson & Truax
        (1991) RCI = (x2 - x1) / (sqrt 2 SD sqrt(1 - r)), |RCI| > 1.96.
    measure_reference -- checks the caller's table of sd, reliability and direction.

Statistics in words (``wording``, ``from stats import wording``)
    difference -- what a difference with its interval and test means ("likely higher",
        "compatible with no difference", "too few children to estimate", "the interval and
        the signed-rank test disagree"), for measures where higher or lower is better;
        p_value, precision, too_few -- the pieces pages and packs print.
"""

from __future__ import annotations

from .gas import gas_t_score, gas_t_scores
from .paired import PairedSummary, d_z, paired_by_group, paired_summary
from .rci import (
    DETERIORATED,
    IMPROVED,
    NO_CHANGE,
    classify_change,
    measure_reference,
    rci,
    rci_category,
    reliable_change_threshold,
    standard_error_of_difference,
    standard_error_of_measurement,
)
from .single_case import OverlapResult, TauBCResult, nap, nap_grouped, pnd, tau, tau_bc, tau_u
from .trend import MannKendallResult, TheilSenResult, mann_kendall, theil_sen, trends_grouped

__all__ = [
    # gas
    "gas_t_score",
    "gas_t_scores",
    # single case
    "OverlapResult",
    "TauBCResult",
    "nap",
    "nap_grouped",
    "tau",
    "tau_u",
    "tau_bc",
    "pnd",
    # trend
    "TheilSenResult",
    "MannKendallResult",
    "theil_sen",
    "mann_kendall",
    "trends_grouped",
    # paired
    "PairedSummary",
    "paired_summary",
    "paired_by_group",
    "d_z",
    # reliable change
    "IMPROVED",
    "NO_CHANGE",
    "DETERIORATED",
    "rci",
    "rci_category",
    "classify_change",
    "reliable_change_threshold",
    "standard_error_of_measurement",
    "standard_error_of_difference",
    "measure_reference",
]
