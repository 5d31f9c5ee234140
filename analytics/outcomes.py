"""Outcomes on standardised measures: Jacobson & Truax (1991) reliable change per child."""

from __future__ import annotations

import pandas as pd

from analytics import _db
from analytics.filters import Filters
from analytics.freshness import stored_current
from pipelines import measures
from stats.rci import classify_change


def reliable_change_compute(con, f: Filters, child_id: str | None = None) -> pd.DataFrame:
    pairs = _db.query(con, "measure_pairs", {**f.params(), "child_id": child_id})
    ref = measures.rci_reference()
    cols = ["child_id", "measure", "n_administrations", "first_date", "first_score", "last_date", "last_score",
            "change", "s_diff", "reliable_change_threshold", "rci", "higher_is_better", "classification",
            "in_reference", "modality", "therapist_id", "team", "age_group"]
    if pairs.empty:
        return pd.DataFrame(columns=cols)
    res = classify_change(pairs, before="first_score", after="last_score", measure="measure", reference=ref)
    two = res["n_administrations"] >= 2
    res["in_reference"] = res["measure"].isin(ref["measure"])
    res["classification"] = res["rci_category"].astype(object).where(two & res["in_reference"], None)
    res.loc[~res["in_reference"], "classification"] = "measure not in reference"
    res.loc[res["in_reference"] & ~two, "classification"] = "one administration"
    for c in ("change", "rci"):
        res[c] = res[c].where(two)
    res["reliable_change_threshold"] = 1.96 * res["s_diff"]
    res["higher_is_better"] = res["higher_is_better"].astype(object)
    return res[cols]


def reliable_change(con, f: Filters = Filters(), measure: str | None = None) -> pd.DataFrame:
    """Jacobson & Truax (1991) reliable change per child per measure, first vs latest
    administration in the filter: child_id, measure, n_administrations, first/last
    date and score, change, s_diff (sqrt 2 SD sqrt(1 - r), SD and r from measures.toml),
    reliable_change_threshold (1.96 s_diff), rci, higher_is_better, classification
    ("reliably improved", "no reliable change", "reliably deteriorated", "one
    administration" or "measure not in reference"). ``measure`` (a catalogue id) keeps that
    measure's rows only. Approach filters do not apply."""
    if f.is_empty and _db.has_tables(con, "measure_change") and stored_current(con):
        df = _db.sql(con, "select * from measure_change order by child_id, measure")
    else:
        df = reliable_change_compute(con, f)
    if measure is not None:
        df = df[df["measure"] == measure].reset_index(drop=True)
    return df


OUTCOME_CLASSES = ("reliably improved", "no reliable change", "reliably deteriorated")


def outcome_shares(con, f: Filters = Filters(), by: str | None = "modality") -> pd.DataFrame:
    """Practice outcomes on standardised measures: one row per measure x group (``by``:
    modality, age_group, team, therapist_id, or None = all children) x class of
    ``OUTCOME_CLASSES``: measure, label (measures.toml), group, outcome, n_children (children
    with a first and a latest administration in the filter: the denominator), n_outcome,
    share, share_lo / share_hi (Wilson 1927 score interval at ``comparison.confidence``;
    children are independent units here, each counted once per measure). The class is
    ``reliable_change``'s (Jacobson & Truax 1991): the change beyond 1.96 standard errors of
    a difference, in the measure's direction."""
    from pipelines import settings
    from stats.proportion import wilson_interval

    cols = ["measure", "label", "group", "outcome", "n_children", "n_outcome", "share", "share_lo", "share_hi"]
    rc = reliable_change(con, f)
    rc = rc[rc["classification"].isin(OUTCOME_CLASSES)]
    if rc.empty:
        return pd.DataFrame(columns=cols)
    rc = rc.assign(group="all" if by is None else rc[by].astype(object).fillna("not recorded"))
    counts = (rc.groupby(["measure", "group", "classification"]).size()
              .unstack("classification").reindex(columns=list(OUTCOME_CLASSES)).fillna(0).astype("int64"))
    n = counts.sum(axis=1)
    out = (counts.stack().rename("n_outcome").reset_index().rename(columns={"classification": "outcome"}))
    out["n_children"] = out.set_index(["measure", "group"]).index.map(n).astype("int64")
    out["share"] = out["n_outcome"] / out["n_children"]
    lo, hi = wilson_interval(out["share"].to_numpy(float), out["n_children"].to_numpy(float),
                             settings.get().comparison.confidence)
    out["share_lo"], out["share_hi"] = lo, hi
    cat = measures.catalogue()
    out["label"] = out["measure"].map(lambda m: cat[m].label if m in cat else m)
    order = {c: i for i, c in enumerate(OUTCOME_CLASSES)}
    out = out.assign(_o=out["outcome"].map(order)).sort_values(["measure", "group", "_o"], kind="stable")
    return out[cols].reset_index(drop=True)
