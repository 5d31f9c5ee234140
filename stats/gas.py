"""Goal Attainment Scaling (GAS) summary T-score.

Method
------
Kiresuk, T. J., & Sherman, R. E. (1968). Goal attainment scaling: a general method
for evaluating comprehensive community mental health programs. *Community Mental
Health Journal, 4*(6), 443-453.

For goals i = 1..k rated at attainment level x_i (-2 much less than expected,
-1 less, 0 expected, +1 more, +2 much more than expected; -3 is accepted for the
"deterioration below baseline" variant) with weights w_i (default 1):

    T = 50 + 10 * sum(w_i x_i) / sqrt((1 - rho) * sum(w_i^2) + rho * (sum w_i)^2)

rho is the assumed inter-goal correlation; Kiresuk & Sherman recommend 0.3. T has
mean 50 and SD 10 when the goals are met as expected on average. The statistic has
no sampling-based confidence interval, so none is reported; ``n_goals`` is always
reported with it.

Missing levels (NaN) are dropped together with their weights (the goal was not
rated). Levels must be integers in -3..+2 and weights must be finite and > 0. For one
child (``gas_t_score``) anything else raises ``ValueError`` rather than producing a
silently wrong score. The grouped ``gas_t_scores`` runs over a whole warehouse after the
files are committed: there a goal whose weight is not a finite positive number (stored by
a load before staging refused such weights) is left out of its group's score and counted
in ``n_goals_invalid_weight``, so one bad goal neither stops every child's statistics nor
changes a score unseen. Invalid levels still raise: staging stores only whole levels in
-3..+2, so one would be a defect, not data.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["gas_t_score", "gas_t_scores", "GAS_MIN_LEVEL", "GAS_MAX_LEVEL"]

GAS_MIN_LEVEL = -3
GAS_MAX_LEVEL = 2


def _check_levels(levels: np.ndarray) -> None:
    finite = levels[~np.isnan(levels)]
    bad = finite[(finite < GAS_MIN_LEVEL) | (finite > GAS_MAX_LEVEL) | (finite != np.round(finite))]
    if bad.size:
        raise ValueError(
            f"GAS levels must be integers in {GAS_MIN_LEVEL}..+{GAS_MAX_LEVEL}; got {bad[:5].tolist()}"
        )


def _check_weights(weights: np.ndarray) -> None:
    bad = weights[~np.isfinite(weights) | (weights <= 0)]
    if bad.size:
        raise ValueError(f"GAS weights must be finite and > 0; got {bad[:5].tolist()}")


def _check_rho(rho: float) -> None:
    if not 0.0 <= rho < 1.0:
        raise ValueError(f"rho must be in [0, 1); got {rho}")


def gas_t_score(levels: ArrayLike, weights: ArrayLike | None = None, rho: float = 0.3) -> float:
    """Kiresuk & Sherman (1968) GAS T-score of one child's set of goals.

    Parameters
    ----------
    levels : attainment levels, integers in -3..+2 (NaN = not rated, dropped).
    weights : goal weights (> 0); default 1 for every goal.
    rho : assumed inter-goal correlation (default 0.3, Kiresuk & Sherman).

    Returns
    -------
    float
        ``50 + 10 * sum(w x) / sqrt((1 - rho) sum(w^2) + rho (sum w)^2)``;
        NaN when no goal is rated.

    Examples
    --------
    >>> gas_t_score([-2, 0, -1, 2, 0, 1], [3, 5, 1, 4, 2, 6])
    55.0
    >>> round(gas_t_score([1, 1, 0]), 2)
    59.13
    """
    _check_rho(rho)
    x = np.asarray(levels, dtype=float).ravel()
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != x.shape:
        raise ValueError(f"levels and weights differ in length ({x.size} vs {w.size})")
    keep = ~np.isnan(x)
    x, w = x[keep], w[keep]
    _check_levels(x)
    _check_weights(w)
    if x.size == 0:
        return float("nan")
    num = float(np.sum(w * x))
    den = float(np.sqrt((1.0 - rho) * np.sum(w * w) + rho * np.sum(w) ** 2))
    return 50.0 + 10.0 * num / den


def gas_t_scores(
    df: pd.DataFrame,
    by: str | Sequence[str],
    level: str = "gas_level",
    weight: str | None = "goal_weight",
    rho: float = 0.3,
) -> pd.DataFrame:
    """GAS T-score per group (e.g. per child, or per child and review period), vectorised.

    Implemented with one pandas ``groupby().sum()`` over w*x, w^2 and w (no Python loop
    per group), using the Kiresuk & Sherman (1968) formula documented in this module.

    Parameters
    ----------
    df : one row per goal rating.
    by : grouping column(s).
    level : column of attainment levels (-3..+2; NaN = not rated, dropped).
    weight : column of weights; ``None`` or a missing column means every weight is 1;
        NaN weights in a present column are treated as the default weight 1; a rated goal
        whose weight is infinite or <= 0 is left out of the score (and counted).
    rho : inter-goal correlation (default 0.3).

    Returns
    -------
    DataFrame with columns ``by...``, ``t_score``, ``n_goals`` (rated goals in the score)
    and ``n_goals_invalid_weight`` (rated goals left out: weight not a finite number > 0);
    one row per group that has at least one row in ``df``; ``t_score`` is NaN when
    ``n_goals`` is 0.
    """
    _check_rho(rho)
    keys = [by] if isinstance(by, str) else list(by)
    x = pd.to_numeric(df[level], errors="raise").astype(float).to_numpy()
    if weight is not None and weight in df.columns:
        w = pd.to_numeric(df[weight], errors="raise").astype(float).fillna(1.0).to_numpy()
    else:
        w = np.ones_like(x)
    _check_levels(x)
    valid_w = np.isfinite(w) & (w > 0)
    rated = ~np.isnan(x)
    used = rated & valid_w

    xr = np.where(used, x, 0.0)
    wr = np.where(used, w, 0.0)
    work = df[keys].copy()
    work["_wx"] = wr * xr
    work["_w2"] = wr * wr
    work["_w"] = wr
    work["_n"] = used.astype(np.int64)
    work["_bad"] = (rated & ~valid_w).astype(np.int64)
    sums = work.groupby(keys, sort=True, dropna=False)[["_wx", "_w2", "_w", "_n", "_bad"]].sum()

    den = np.sqrt((1.0 - rho) * sums["_w2"].to_numpy() + rho * sums["_w"].to_numpy() ** 2)
    n = sums["_n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(n > 0, 50.0 + 10.0 * sums["_wx"].to_numpy() / den, np.nan)
    out = sums.index.to_frame(index=False)
    out["t_score"] = t
    out["n_goals"] = n.astype(np.int64)
    out["n_goals_invalid_weight"] = sums["_bad"].to_numpy().astype(np.int64)
    return out
