"""Reliable Change Index for standardised outcome measures (Jacobson & Truax 1991).

Method
------
Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to
defining meaningful change in psychotherapy research. *Journal of Consulting and
Clinical Psychology, 59*(1), 12-19 (with the sqrt(2) correction of Christensen &
Mendoza 1986):

    SE     = SD * sqrt(1 - r)          standard error of measurement
    S_diff = sqrt(2 * SE^2) = sqrt(2) * SE
    RCI    = (x2 - x1) / S_diff

SD is the measure's reference (norm or pre-treatment) standard deviation and r its
reliability (test-retest or internal consistency), both given by the caller (the
practice's measures catalogue, ``measures.toml``, read by ``pipelines.measures``: this
layer reads no file). |RCI| > 1.96 (two-sided 5%) is reliable change; its sign,
with the measure's direction (``higher_is_better``), makes it "reliably improved" or
"reliably deteriorated"; otherwise "no reliable change". The smallest raw change that
is reliable is 1.96 * S_diff (``reliable_change_threshold``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from stats._scipy import norm_ppf

__all__ = [
    "IMPROVED",
    "NO_CHANGE",
    "DETERIORATED",
    "standard_error_of_measurement",
    "standard_error_of_difference",
    "rci",
    "reliable_change_threshold",
    "rci_category",
    "classify_change",
    "measure_reference",
]

IMPROVED = "reliably improved"
NO_CHANGE = "no reliable change"
DETERIORATED = "reliably deteriorated"
CRITICAL_95 = 1.96


def _check(sd: ArrayLike, reliability: ArrayLike) -> None:
    sd_a, r_a = np.asarray(sd, dtype=float), np.asarray(reliability, dtype=float)
    if np.any(sd_a[np.isfinite(sd_a)] <= 0):
        raise ValueError("sd must be > 0")
    r_f = r_a[np.isfinite(r_a)]
    if np.any((r_f < 0) | (r_f >= 1)):
        raise ValueError("reliability must be in [0, 1)")


def standard_error_of_measurement(sd: ArrayLike, reliability: ArrayLike) -> float | np.ndarray:
    """SE = SD * sqrt(1 - r) (Jacobson & Truax 1991)."""
    _check(sd, reliability)
    out = np.asarray(sd, dtype=float) * np.sqrt(1.0 - np.asarray(reliability, dtype=float))
    return float(out) if out.ndim == 0 else out


def standard_error_of_difference(sd: ArrayLike, reliability: ArrayLike) -> float | np.ndarray:
    """S_diff = sqrt(2) * SD * sqrt(1 - r) (Jacobson & Truax 1991; Christensen & Mendoza 1986)."""
    out = np.sqrt(2.0) * np.asarray(standard_error_of_measurement(sd, reliability))
    return float(out) if out.ndim == 0 else out


def rci(x1: ArrayLike, x2: ArrayLike, sd: ArrayLike, reliability: ArrayLike) -> float | np.ndarray:
    """Reliable Change Index (x2 - x1) / S_diff (Jacobson & Truax 1991).

    Scalars give a float (arrays broadcast and give an array). NaN scores give NaN.

    >>> round(rci(30, 20, sd=7.5, reliability=0.88), 4)
    -2.7217
    """
    s_diff = np.asarray(standard_error_of_difference(sd, reliability))
    out = (np.asarray(x2, dtype=float) - np.asarray(x1, dtype=float)) / s_diff
    return float(out) if out.ndim == 0 else out


def reliable_change_threshold(sd: ArrayLike, reliability: ArrayLike, confidence: float = 0.95) -> float | np.ndarray:
    """Smallest raw change that is reliable: z_(1 - (1 - confidence)/2) * S_diff.

    >>> round(reliable_change_threshold(7.5, 0.8), 6)
    9.296925
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1); got {confidence}")
    z = norm_ppf(1.0 - (1.0 - confidence) / 2.0)
    out = z * np.asarray(standard_error_of_difference(sd, reliability))
    return float(out) if out.ndim == 0 else out


def rci_category(value: float, higher_is_better: bool = True, critical: float = CRITICAL_95) -> str | None:
    """Category of one RCI: "reliably improved", "no reliable change" or "reliably deteriorated".

    None for a missing (NaN) RCI.

    Reliable when |RCI| > ``critical`` (1.96); a rise is an improvement when
    ``higher_is_better`` and a deterioration otherwise.
    """
    if value is None or not np.isfinite(value):
        return None
    if abs(value) <= critical:
        return NO_CHANGE
    return IMPROVED if (value > 0) == bool(higher_is_better) else DETERIORATED


def _as_bool(s: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(s):
        return s
    mapping = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}
    out = s.astype(str).str.strip().str.lower().map(mapping)
    if out.isna().any():
        raise ValueError(f"higher_is_better must be true/false; got {s[out.isna()].unique().tolist()}")
    return out.astype(bool)


def measure_reference(ref: pd.DataFrame) -> pd.DataFrame:
    """The reference table of measures, checked: a copy of ``ref`` (columns measure, sd,
    reliability, higher_is_better; others such as full_name and source are kept) with sd a
    float > 0, reliability a float in [0, 1), higher_is_better bool, one row per measure.

    ``ValueError`` names the problem (missing columns, a bad value, a measure listed twice).
    """
    missing = {"measure", "sd", "reliability", "higher_is_better"} - set(ref.columns)
    if missing:
        raise ValueError(f"measure reference lacks columns {sorted(missing)}")
    ref = ref.copy()
    ref["measure"] = ref["measure"].astype(str).str.strip()
    ref["sd"] = pd.to_numeric(ref["sd"], errors="raise").astype(float)
    ref["reliability"] = pd.to_numeric(ref["reliability"], errors="raise").astype(float)
    ref["higher_is_better"] = _as_bool(ref["higher_is_better"])
    _check(ref["sd"].to_numpy(), ref["reliability"].to_numpy())
    dup = ref["measure"][ref["measure"].duplicated()]
    if len(dup):
        raise ValueError(f"measure reference lists {dup.tolist()} more than once")
    return ref


def classify_change(
    df: pd.DataFrame,
    reference: pd.DataFrame,
    before: str = "score_before",
    after: str = "score_after",
    measure: str = "measure",
    critical: float = CRITICAL_95,
) -> pd.DataFrame:
    """Jacobson & Truax RCI and category for every row (vectorised).

    ``sd``, ``reliability`` and ``higher_is_better`` are looked up by ``measure`` in
    ``reference`` (a table as ``measure_reference`` checks it; the caller gives it: the
    analytics pass the measures catalogue's standardised measures). Returns a copy of ``df`` (same
    index and row order) with added columns ``change`` (after - before), ``s_diff``,
    ``rci``, ``higher_is_better`` and ``rci_category`` ("reliably improved",
    "no reliable change", "reliably deteriorated"; missing when a score is missing or
    the measure is not in the reference). A measure not in the reference (or missing) gets
    no RCI: ``s_diff``, ``rci`` and ``higher_is_better`` are missing too, never an error.
    """
    ref = measure_reference(reference).drop_duplicates("measure", keep="last")
    out = df.copy()
    # Positional lookup in plain numpy: pandas 3 gives Arrow-backed columns, and a ``map``
    # where no measure is in the reference yields a null[pyarrow] column (fillna raised).
    key = out[measure].astype("string").str.strip().to_numpy(dtype=object, na_value=None)
    pos = pd.Index(ref["measure"].astype(str).to_numpy(dtype=object)).get_indexer(key)
    listed = pos >= 0
    take = np.where(listed, pos, 0)

    def looked_up(col: str, fill: float) -> np.ndarray:
        values = ref[col].to_numpy(dtype=float)
        return np.where(listed, values[take], fill) if len(values) else np.full(len(key), fill)

    sd = looked_up("sd", np.nan)
    rel = looked_up("reliability", np.nan)
    better = looked_up("higher_is_better", 1.0).astype(bool)
    x1 = pd.to_numeric(out[before], errors="raise").astype(float).to_numpy()
    x2 = pd.to_numeric(out[after], errors="raise").astype(float).to_numpy()
    _check(sd, rel)

    s_diff = np.sqrt(2.0) * sd * np.sqrt(1.0 - rel)
    value = (x2 - x1) / s_diff
    known = np.isfinite(value) & listed
    reliable = np.abs(value) > critical
    improved = np.where(better, value > 0, value < 0)
    cat = np.where(~reliable, NO_CHANGE, np.where(improved, IMPROVED, DETERIORATED)).astype(object)
    cat[~known] = None

    out["change"] = x2 - x1
    out["s_diff"] = s_diff
    out["rci"] = value
    out["higher_is_better"] = pd.arrays.BooleanArray(better, ~listed)  # missing when not in the reference
    out["rci_category"] = pd.Series(cat, index=out.index, dtype="string")
    return out
