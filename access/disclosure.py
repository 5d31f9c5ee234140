"""Small-cell rules: the one place that decides which figures rest on too few children to show.

``k`` is ``[privacy] small_cell_min`` of settings.toml (``pipelines.settings``). Three rules, used by the
de-identified practice view (``access.practice.practice_aggregate``) and by the meeting pack
shared beyond the team (``reports.meeting_pack``, ``suppress_small_cells=True``):

1. **Primary suppression** (``is_small``, ``small_mask``, ``suppress_small_cells``): a count
   of 1 to k-1 children, and every figure resting on it, is hidden. Zero discloses nobody and
   stays. A figure rests on the children it is computed from: a group's sessions and
   attendance on its children, its engagement on the children with a rated session, its goal
   figures on the children whose goals were rated.

2. **Complementary suppression** (``complementary``, ``secondary_suppression``): a breakdown
   shown next to its total gives its hidden rows back by subtraction (total minus the rows
   shown). So within every breakdown that has a hidden row, while the hidden rows together
   rest on fewer than k children (counted row by row), the row with the fewest children that
   is still shown is hidden too; when no row is left to hide, the total is hidden. "Total
   minus the rows shown" is then always a figure about at least k children, never one row
   (Hundepool et al., *Statistical Disclosure Control*, Wiley 2012, ch. 4: complementary
   suppression; the "suppressed total at least the threshold" check).

3. **Practice cells** (``practice_cells``): the practice view answers any combination of
   modalities, age groups and whole calendar months, so a supervisor can subtract two
   selections that differ by one group ("modality m, all ages" minus "modality m, every age
   but a") -- and breakdowns beside totals are only one of many such pairs. Its figures are
   therefore built from cells of modality x age group x calendar month, and a cell whose
   sessions belong to 1 to k-1 children is **left out of every practice figure**: headline
   figures, trends, the grid, its margins and every breakdown are sums over the cells shown.
   Any two practice figures then differ by cells that are shown (each with at least k
   children): no subtraction, and no combination of subtractions, brings a left-out cell
   back. Within a cell that is kept, the values of each session measure (engagement, time on
   task, protests, ...) are left out when they belong to 1 to k-1 children -- per measure:
   a cell's engagement may be shown while its on-task values are left out -- and its goal
   ratings when those do. Practice totals are therefore those
   of the groups shown, a little below the practice's own.

What rule 3 does not cover: counts of distinct children (a child seen in two months or two
age groups) and figures of the latest rating of each goal are not sums of cells, so the
difference of two overlapping selections can describe a small set of children or goals
(e.g. how many children were seen in January but not later) without saying which. Rule 2
counts children row by row, so a child in two hidden rows counts twice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines import settings

# a group's figures and the count of children each rests on (columns of the analytics frames)
ENGAGEMENT_COLS = ("mean_engagement", "engagement_se", "engagement_ci_lo", "engagement_ci_hi",
                   "share_high_engagement", "n_rated", "n_rated_high")
GAS_COLS = ("median_gas_t", "mean_gas_t", "gas_t_ci_lo", "gas_t_ci_hi")
GOAL_COLS = ("n_goals", "goals_at_expected", "share_goals_at_expected")
# the figures of the chosen measure (analytics' generic columns; for engagement both names are present)
VALUE_COLS = ("mean_value", "value_se", "value_ci_lo", "value_ci_hi", "share_good", "n_values", "n_good")
FAMILIES = (("n_children_rated", ENGAGEMENT_COLS), ("n_children_values", VALUE_COLS), ("n_children_gas", GAS_COLS),
            ("n_children_goals", GOAL_COLS))


def small_cell_min() -> int:
    """``[privacy] small_cell_min`` of settings.toml: the fewest children a shown figure rests on."""
    return settings.get().privacy.small_cell_min


def is_small(n: Any, k: int | None = None) -> bool:
    """True for a count of children to hide: 1 to k-1 (zero and a missing count are not)."""
    k = small_cell_min() if k is None else int(k)
    if n is None or isinstance(n, str):
        return False
    try:
        if np.isnan(n):
            return False
    except TypeError:
        pass
    return 0 < int(n) < k


def small_mask(n: Any, k: int | None = None) -> np.ndarray:
    """``is_small`` of each count (a Series, list or array) as a boolean array."""
    k = small_cell_min() if k is None else int(k)
    values = n if isinstance(n, pd.Series) else pd.Series(list(n), dtype="object")
    v = pd.to_numeric(values, errors="coerce").astype("float64").fillna(0.0).to_numpy()
    return (v > 0) & (v < k)


def _numeric(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]


def suppress_small_cells(df: pd.DataFrame, k: int | None = None) -> pd.DataFrame:
    """``df`` (one row per group) with figures resting on 1 to k-1 children hidden (rule 1).

    A row whose ``n_children`` (or ``n_children_considered``, the children a paired
    comparison looked at) is small loses every number, counts included, and gets
    ``suppressed = True``; otherwise engagement figures are hidden when
    ``n_children_rated`` is small, goal figures when ``n_children_goals`` is, the median
    GAS T-score when ``n_children_gas`` is. Hidden values are NaN.
    """
    k = small_cell_min() if k is None else int(k)
    out = df.copy()
    small = np.zeros(len(out), bool)
    for counter in ("n_children", "n_children_considered"):
        if counter in out:
            small |= small_mask(out[counter], k)
    for c in _numeric(out):
        out[c] = out[c].astype("float64").mask(small)
    for counter, cols in FAMILIES:
        if counter in out:
            few = small_mask(df[counter], k)
            for c in cols:
                if c in out:
                    out[c] = out[c].astype("float64").mask(few)
            out[counter] = out[counter].astype("float64").mask(few | small)
    out["suppressed"] = small
    return out


def complementary(n: Any, hidden: np.ndarray, groups: list[np.ndarray], k: int | None = None,
                  totals: list[int | None] | None = None) -> np.ndarray:
    """Rule 2 on positions: ``hidden`` grown until no breakdown gives a small figure back.

    ``n``: the children of each row; ``hidden``: rows hidden already (primary); ``groups``:
    the row positions of each breakdown (rows that add up to a total shown beside them);
    ``totals``: per group, the position of its total row (or None when it has none). Within
    a group with hidden rows whose children sum to fewer than ``k``, the shown row with the
    fewest children (more than zero) is hidden, until the sum reaches ``k``; with no such row
    left the group's total is hidden. Repeated over all groups until nothing changes.
    Returns the new mask (a copy).
    """
    k = small_cell_min() if k is None else int(k)
    size = np.nan_to_num(pd.to_numeric(pd.Series(list(n)), errors="coerce").to_numpy(dtype="float64"), nan=0.0)
    out = np.asarray(hidden, bool).copy()
    totals = totals or [None] * len(groups)
    changed = True
    while changed:
        changed = False
        for idx, total in zip(groups, totals):
            idx = np.asarray(idx, int)
            h = idx[out[idx]]
            if not len(h) or size[h].sum() >= k:
                continue
            shown = idx[~out[idx] & (size[idx] > 0)]
            if len(shown):
                out[shown[np.argmin(size[shown])]] = True
                changed = True
            elif total is not None and not out[total]:
                out[total] = True
                changed = True
    return out


def secondary_suppression(df: pd.DataFrame, partitions: list[list[str]], k: int | None = None,
                          n_col: str = "n_children") -> pd.DataFrame:
    """Rule 2 on a frame already through ``suppress_small_cells``.

    Each partition names the columns whose values make one breakdown (``["month_start"]``:
    the groups of each month; ``[]``: all rows are one breakdown); the rows of a breakdown
    add up to a total shown elsewhere. Newly hidden rows lose every number and get
    ``suppressed = True``.
    """
    out = df.copy()
    if "suppressed" not in out or out.empty:
        return out
    groups = []
    for cols in partitions:
        keys = out[cols].astype(str).agg("\x1f".join, axis=1) if cols else pd.Series("all", index=out.index)
        groups += [g.to_numpy() for _, g in pd.Series(np.arange(len(out)), index=out.index).groupby(keys.to_numpy())]
    before = out["suppressed"].to_numpy().astype(bool)
    hidden = complementary(df[n_col], before, groups, k)
    newly = hidden & ~before
    for c in _numeric(out):
        out[c] = out[c].astype("float64").mask(newly)
    out["suppressed"] = hidden
    return out


def practice_cells(cells: pd.DataFrame, k: int | None = None) -> pd.DataFrame:
    """Rule 3: which cells enter the practice figures. ``cells`` has one row per modality x
    age group x month x session measure (``measure``; missing for a cell with no value of
    any measure), with ``n_children`` (the cell's), ``n_children_values`` (those with a value
    of the measure) and ``n_children_goals`` (the cell's, with a goal rating).

    Adds ``keep_sessions`` (the cell's children are not small), ``keep_values`` (and its
    children with a value of the measure are not small) and ``keep_goals`` (and the
    children with a goal rating are not small).
    """
    k = small_cell_min() if k is None else int(k)
    out = cells.copy()
    out["keep_sessions"] = ~small_mask(out["n_children"], k)
    out["keep_values"] = (out["keep_sessions"] & out["measure"].notna().to_numpy()
                          & ~small_mask(out["n_children_values"], k))
    out["keep_goals"] = out["keep_sessions"] & ~small_mask(out["n_children_goals"], k)
    return out
