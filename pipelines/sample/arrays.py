"""Vectorised helpers of the practice model: day numbers, grouped counts and ranks over sorted
keys, categorical draws per row, and arrow columns built from numpy indices."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_EPOCH = np.datetime64("1970-01-01", "D")


def days(d: dt.date) -> int:
    """The date as a day number (days since 1970-01-01)."""
    return int((np.datetime64(d, "D") - _EPOCH).astype(np.int64))


def iso(day: int) -> str:
    """A day number as an ISO date string."""
    return str(_EPOCH + np.timedelta64(int(day), "D"))


def month_start(end: dt.date, months: int) -> dt.date:
    """The first day of the first of ``months`` months ending with ``end``'s month."""
    idx = end.year * 12 + (end.month - 1) - (months - 1)
    return dt.date(idx // 12, idx % 12 + 1, 1)


def month_end(first: dt.date) -> dt.date:
    """The last day of ``first``'s month."""
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def month_day(day_numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(month 1-12, day of month 1-31) of each day number."""
    d = day_numbers.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    return m.astype(np.int64) % 12 + 1, (d - m.astype("datetime64[D]")).astype(np.int64) + 1


def choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix: column indices."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def starts(keys: np.ndarray) -> np.ndarray:
    """Index of the first element of each element's run (keys sorted)."""
    n = len(keys)
    first = np.ones(n, bool)
    first[1:] = keys[1:] != keys[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n), 0))


def cumcount(keys: np.ndarray) -> np.ndarray:
    """Each element's position within its run of equal keys (keys sorted), from 0."""
    return np.arange(len(keys)) - starts(keys)


def group_last(keys: np.ndarray) -> np.ndarray:
    """True for the last element of each run of equal keys (keys sorted)."""
    n = len(keys)
    last = np.ones(n, bool)
    last[:-1] = keys[1:] != keys[:-1]
    return last


def rand_rank(rng: np.random.Generator, idx: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """idx shuffled within groups of keys[idx] (grouped by key) and each element's rank there."""
    order = np.lexsort((rng.random(len(idx)), keys[idx]))
    s = idx[order]
    return s, cumcount(keys[s])


def ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Text ids: prefix + the number zero-padded to width ("C0001")."""
    txt = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, txt, "")


def take(values, idx: np.ndarray) -> pa.Array:
    """values[idx] as an arrow array; idx < 0 gives null."""
    arr = values if isinstance(values, pa.Array) else pa.array(values)
    mask = idx < 0
    return arr.take(pa.array(np.where(mask, 0, idx), mask=mask))


def int_col(values: np.ndarray, null: np.ndarray) -> pa.Array:
    """An int64 arrow column, null where ``null`` is True."""
    return pa.array(values.astype(np.int64), pa.int64(), mask=null)
