"""Plain-language text helpers for the reasons and sentences analytics returns (vectorised)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def fmt(values: pd.Series, spec: str, missing: str = "n/a") -> pd.Series:
    """Numbers formatted for plain-language text (element-wise, vectorised over rows)."""
    return values.map(lambda v: missing if pd.isna(v) else format(v, spec)).astype(str)


def fmt_date(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").fillna("n/a")


def plural(n: pd.Series, word: str, plural: str | None = None) -> pd.Series:
    n = n.astype("int64")
    return n.astype(str) + " " + np.where(n == 1, word, plural or word + "s")


def join_per_group(keys: pd.Series, texts: pd.Series, sep: str) -> pd.Series:
    """``texts`` joined with ``sep`` per key, in their order; indexed by key (sorted).

    Vectorised over keys: one string operation per position within a key (a handful),
    not a Python call per key.
    """
    pos = keys.groupby(keys, sort=False).cumcount().to_numpy()
    wide = pd.DataFrame({"k": keys.to_numpy(), "p": pos, "t": texts.astype(str).to_numpy()}).pivot(
        index="k", columns="p", values="t")
    out = wide[0].astype(object)
    for c in wide.columns[1:]:
        nxt = wide[c]
        out = out.where(nxt.isna(), out + sep + nxt.astype(object))
    return out
