"""Child-led vs directed: per child (single-case effects: NAP, Tau, Tau-U, Tau-BC, PND) and
across children (paired differences with bootstrap CI, Wilcoxon, d_z), for engagement and
for GAS levels. Observational: therapists choose the approach."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from analytics import _db
from analytics.filters import Filters, age_rank, check_by
from analytics.freshness import stored_current
from pipelines import settings
from stats.paired_groups import paired_summaries_grouped
from stats.single_case import nap_grouped
from stats.single_case_groups import pnd_grouped, tau_bc_grouped, tau_u_grouped

A_LABEL, B_LABEL = "directed", "child-led"   # single-case condition A (comparison) and B
_PAIR_BY = ("modality", "age_group", "team", "therapist_id")
_PAIR_COLUMNS = ["child_id", "measure", "modality", "age_group", "therapist_id", "team", "n_child_led",
                 "n_directed", "mean_child_led", "mean_directed", "diff", "better", "nap", "nap_se", "nap_lo",
                 "nap_hi", "tau", "tau_lo", "tau_hi", "tau_u", "tau_bc", "tau_bc_p", "tau_bc_corrected", "pnd",
                 "eligible"]
_CONTEXT = ("child_id", "measure", "modality", "age_group", "therapist_id", "team")
EFFECT_COLUMNS = ["child_id", "measure", "n_child_led", "n_directed", "nap", "nap_lo", "nap_hi", "tau", "tau_u",
                  "pnd", "tau_bc"]


def single_case_effects(s: pd.DataFrame, min_sessions: int, confidence: float, full: bool = True) -> pd.DataFrame:
    """Per child per measure, child-led (B) vs directed (A), vectorised over children and measures.

    ``s`` holds rows of ``approach_sessions`` (child_id, measure, approach, value, sign,
    session_order, ...). The effect sizes are oriented by the measure's direction: they are
    computed on ``sign * value`` (sign +1 where higher is better, -1 where lower is), so NAP
    is the probability that a child-led session is better than a directed one (ties 1/2) and
    a positive Tau, Tau-U, Tau-BC means child-led better; PND is the share of child-led
    sessions better than every directed one. Negating the values is exactly the
    ``increase=False`` form of each definition in ``stats.single_case`` (Parker & Vannest
    2009; Parker et al. 2011; Scruggs et al. 1987; Tarlow 2017), so the formulas stay there.
    mean_child_led / mean_directed and diff (child-led minus directed) are in the measure's
    own units; better = diff * sign (positive = child-led better). With ``full=False`` only what
    the across-children summary uses (n, means, diff, better, NAP with its CI, tau, eligible):
    tau_u, tau_bc, tau_bc_p, tau_bc_corrected and pnd are left NaN.
    """
    if s.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _PAIR_COLUMNS})
    key = ["child_id", "measure"]
    grouped = s.groupby(key, sort=True, dropna=False)
    keys = grouped[["modality", "age_group", "therapist_id", "team", "sign"]].first().reset_index()
    cond = s["approach"]
    rows = {"g": grouped.ngroup().to_numpy(),
            "child_led": np.where(cond == B_LABEL, 1, np.where(cond == A_LABEL, 0, -1)),
            "value": s["value"].to_numpy(dtype=float), "sign": s["sign"].to_numpy(dtype=float),
            "session_order": s["session_order"].to_numpy()}
    return single_case_effects_coded(rows, keys, min_sessions, confidence, full)


def single_case_effects_coded(rows: dict, keys: pd.DataFrame, min_sessions: int, confidence: float,
                              full: bool = True, interval: bool = True) -> pd.DataFrame:
    """``single_case_effects`` from integer-coded rows: ``rows`` holds numpy columns ``g`` (the
    row's child x measure, its position in ``keys``), ``child_led`` (1 child-led, 0 directed,
    other values ignored), ``value``, ``sign`` and ``session_order``; ``keys`` has one row per
    child x measure in (child_id, measure) order with modality, age_group, therapist_id, team
    and sign. Grouping by an integer instead of two string columns is what makes the stored
    build fast (``approach_effect_rows``); the formulas are those of ``single_case_effects``.
    ``interval=False``: NAP's and tau's intervals left NaN (for a summary that reads only
    n, diff, NAP and eligible: the quarters of ``approach_effects_in``).
    """
    if not len(keys):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _PAIR_COLUMNS})
    s = pd.DataFrame({"g": np.asarray(rows["g"], dtype=np.int64), "approach": np.asarray(rows["child_led"]),
                      "value": np.asarray(rows["value"], dtype=float),
                      "session_order": np.asarray(rows["session_order"])})
    s["_oriented"] = s["value"] * np.asarray(rows["sign"], dtype=float)
    a, b = 0, 1
    nap = nap_grouped(s, "g", "approach", "_oriented", a, b, confidence=confidence, interval=interval)
    if full:
        tu = tau_u_grouped(s, "g", "approach", "_oriented", "session_order", a, b)
        tb = tau_bc_grouped(s, "g", "approach", "_oriented", "session_order", a, b,
                            alpha=0.05, confidence=confidence)
        pn = pnd_grouped(s, "g", "approach", "_oriented", a, b)
    means = s.groupby(["g", "approach"])["value"].mean().unstack()
    out = keys[["child_id", "measure", "modality", "age_group", "therapist_id", "team", "sign"]].reset_index(drop=True)
    idx = pd.RangeIndex(len(out))
    nan = np.full(len(out), np.nan)
    # every column built first and joined once (inserting 20 columns one by one costs ~1 ms each)
    col = {"n_child_led": nap["n_b"].to_numpy(), "n_directed": nap["n_a"].to_numpy(),
           "mean_child_led": means[b].reindex(idx).to_numpy() if b in means else nan,
           "mean_directed": means[a].reindex(idx).to_numpy() if a in means else nan}
    col["diff"] = col["mean_child_led"] - col["mean_directed"]
    col["better"] = col["diff"] * out["sign"].astype(float).to_numpy()
    for c in ("nap", "nap_se", "nap_lo", "nap_hi", "tau", "tau_lo", "tau_hi"):
        col[c] = nap[c].to_numpy()
    if full:
        col["tau_u"] = tu["tau_u"].to_numpy()
        col["tau_bc"] = tb["tau_bc"].to_numpy()
        col["tau_bc_p"] = tb["tau_bc_p"].to_numpy()
        col["tau_bc_corrected"] = tb["tau_bc_corrected"].to_numpy()
        col["pnd"] = pn["pnd"].to_numpy()
    else:
        for c in ("tau_u", "tau_bc", "tau_bc_p", "tau_bc_corrected", "pnd"):
            col[c] = nan
    col["eligible"] = (col["n_child_led"] >= min_sessions) & (col["n_directed"] >= min_sessions)
    out = pd.concat([out, pd.DataFrame(col, index=out.index)], axis=1)
    return out[_PAIR_COLUMNS]


_KEY_COLUMNS = ("modality", "age_group", "therapist_id", "team")


@dataclass(frozen=True)
class CodedSessions:
    """The rows of ``approach_sessions`` as numpy columns, grouped by child x measure.

    ``rows``: ``g`` (the row's child x measure, its place in ``keys``), ``child_led`` (1
    child-led, 0 directed), ``value``, ``sign`` and ``session_order`` (1, 2, ... within its
    g, in session date then session id order), what ``single_case_effects_coded`` reads;
    ``keys``: one row per child x measure in (child_id, measure) order with modality,
    age_group, therapist_id, team (the child's latest among those sessions) and sign;
    ``session_date``: each row's date (datetime64[D]), for a split by period."""

    rows: dict
    keys: pd.DataFrame
    session_date: np.ndarray

    def __len__(self) -> int:
        return len(self.rows["g"])

    def within(self, lo, hi) -> "CodedSessions":
        """The rows dated ``lo``..``hi`` (inclusive), their child x measures coded afresh
        (the same (child_id, measure) order; keys keep the period's latest context)."""
        d = self.session_date
        mask = (d >= np.datetime64(lo, "D")) & (d <= np.datetime64(hi, "D"))
        present, g = np.unique(self.rows["g"][mask], return_inverse=True)
        rows = {k: (g.astype(np.int64) if k == "g" else v[mask]) for k, v in self.rows.items()}
        return CodedSessions(rows, self.keys.iloc[present].reset_index(drop=True), d[mask])

    def of_keys(self, keep: np.ndarray) -> "CodedSessions":
        """The rows of the child x measures where ``keep`` (a bool per row of ``keys``) holds,
        coded afresh (the same order: e.g. one measure's rows, as a query of that measure gives)."""
        mask = keep[self.rows["g"]]
        present, g = np.unique(self.rows["g"][mask], return_inverse=True)
        rows = {k: (g.astype(np.int64) if k == "g" else v[mask]) for k, v in self.rows.items()}
        return CodedSessions(rows, self.keys.iloc[present].reset_index(drop=True), self.session_date[mask])


def coded_sessions(con, f: Filters = Filters(), measure: str | None = None) -> CodedSessions:
    """``approach_sessions`` of ``f`` and ``measure`` (one catalogue id; None = every
    session-level measure but the standardised ones) as ``CodedSessions``: the same rows in
    the same order, read as Arrow from ``approach_session_rows`` (no per-session Python
    strings, no per-child window in SQL). The child's context is approach_sessions'
    ``arg_max(column, order_key)`` over its rows (DuckDB's arg_max skips NULL values: so does
    this, per column)."""
    import pyarrow.compute as pc

    from pipelines import queries, warehouse

    cur = warehouse.cursor(con)
    try:
        t = cur.sql(queries.sql("approach_session_rows"),
                    params=queries.bind("approach_session_rows", {**f.params(), "measure": measure})).to_arrow_table()
    finally:
        cur.close()
    n = t.num_rows
    if n == 0:
        keys = pd.DataFrame({c: pd.Series(dtype="str") for c in ("child_id", "measure", *_KEY_COLUMNS)})
        keys["sign"] = pd.Series(dtype=float)
        empty = np.zeros(0, np.int64)
        return CodedSessions({"g": empty, "child_led": empty, "value": np.zeros(0), "sign": np.zeros(0),
                              "session_order": empty}, keys, np.zeros(0, "datetime64[D]"))
    child, meas = t.column("child_id").combine_chunks(), t.column("measure").combine_chunks()
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = (pc.not_equal(child[1:], child[:-1]).to_numpy(zero_copy_only=False)
                   | pc.not_equal(meas[1:], meas[:-1]).to_numpy(zero_copy_only=False))
    g = np.cumsum(new) - 1
    first = np.flatnonzero(new)
    sizes = np.diff(np.r_[first, n])
    session_order = np.arange(1, n + 1) - np.repeat(first, sizes)
    order_key = t.column("order_key").to_numpy()
    by_latest = np.lexsort((order_key, g))        # each g's rows, latest last
    keys = pd.DataFrame({"child_id": t.column("child_id").take(first).to_pandas(),
                         "measure": t.column("measure").take(first).to_pandas()})
    for c in _KEY_COLUMNS:
        col = t.column(c)
        valid = ~col.is_null().to_numpy(zero_copy_only=False)
        sel = by_latest[valid[by_latest]]
        last = np.full(len(first), -1, dtype=np.int64)
        gs = g[sel]
        ends = np.r_[gs[1:] != gs[:-1], True] if sel.size else np.zeros(0, bool)
        last[gs[ends]] = sel[ends]
        picked = col.take(pa_indices(last)).to_pandas()
        keys[c] = picked
    keys["sign"] = t.column("sign").to_numpy()[first]
    rows = {"g": g.astype(np.int64), "child_led": t.column("child_led").to_numpy().astype(np.int64),
            "value": t.column("value").to_numpy(), "sign": t.column("sign").to_numpy(),
            "session_order": session_order.astype(np.int64)}
    return CodedSessions(rows, keys, t.column("session_date").to_numpy())


def pa_indices(idx: np.ndarray):
    """``idx`` as Arrow take indices, -1 as null (a null result)."""
    import pyarrow as pa

    return pa.array(idx, mask=idx < 0)


def pairs_coded(cs: CodedSessions, full: bool = True, interval: bool = True) -> pd.DataFrame:
    """``single_case_effects`` of the ``approach_sessions`` rows that ``cs`` codes (settings'
    min_sessions_per_approach and confidence): one row per child x measure
    (``single_case_effects_coded``'s ``full`` and ``interval``)."""
    c = settings.get().comparison
    return single_case_effects_coded(cs.rows, cs.keys, c.min_sessions_per_approach, c.confidence, full, interval)


def all_pairs(con, f: Filters = Filters(), measure: str | None = None) -> pd.DataFrame:
    """``approach_pairs`` for one measure, or for every session-level measure but the
    standardised ones (``None``; their change is the reliable change): one row per child per
    measure (the stored table when the filter is empty)."""
    # the stored table holds the measures of measure=None only: a standardised one asked for by
    # name is computed (it had no pairs at all when read from the table)
    standardised = measure is not None and _standardised(measure)
    if f.is_empty and not standardised and _db.has_tables(con, "child_approach_effects") and stored_current(con):
        if measure is None:
            return _db.sql(con, "select * from child_approach_effects order by child_id, measure")
        return _db.sql(con, "select * from child_approach_effects where measure = $m order by child_id",
                       {"m": measure})
    return pairs_of(_db.query(con, "approach_sessions", {**f.params(), "measure": measure}))


def _standardised(measure: str) -> bool:
    """Whether the catalogue gives ``measure`` a norm SD (a standardised measure: not in the stored
    ``child_approach_effects``, whose rows are those of ``approach_sessions`` with no measure)."""
    from pipelines.measures import catalogue

    m = catalogue().get(measure)
    return m is not None and m.sd is not None


def pairs_of(s: pd.DataFrame) -> pd.DataFrame:
    """``approach_pairs`` rows of the ``approach_sessions`` rows ``s`` (every effect size)."""
    c = settings.get().comparison
    return single_case_effects(s, c.min_sessions_per_approach, c.confidence)


def approach_pairs(con, f: Filters = Filters(), measure: str = "engagement") -> pd.DataFrame:
    """One row per child with child-led or directed sessions with a value of ``measure`` (a
    catalogue id) in the filter (the approach filter is ignored: the comparison needs both).

    child_id, measure, modality, age_group, therapist_id, team (latest among those
    sessions), n_child_led, n_directed, mean_child_led, mean_directed, diff (child-led
    minus directed mean, in the measure's units), better (diff oriented: positive =
    child-led better in the measure's direction), nap with nap_se / nap_lo / nap_hi (NAP
    of child-led over directed in the measure's direction, Parker & Vannest 2009; Newcombe
    2006 CI), tau (= 2 NAP - 1) with CI, tau_u (Parker et al. 2011, A vs B - trend A),
    tau_bc / tau_bc_p / tau_bc_corrected (Tarlow 2017), pnd (Scruggs et al. 1987),
    eligible (at least ``min_sessions_per_approach`` sessions with a value of each approach).
    """
    return all_pairs(con, f, measure)


def effects(con, measure: str | None = None) -> pd.DataFrame:
    """The ``effects`` command's rows: one per child per session-level measure (the
    standardised ones only when asked for by ``measure``), child-led = B, directed = A, oriented by the measure's direction: child_id,
    measure, n_child_led, n_directed, nap, nap_lo, nap_hi, tau, tau_u, pnd, tau_bc."""
    p = all_pairs(con, Filters(), measure)
    return p[EFFECT_COLUMNS].sort_values(["child_id", "measure"]).reset_index(drop=True)


def child_comparison(con, child_id: str, f: Filters = Filters(), measure: str = "engagement") -> dict:
    """Child-led vs directed ``measure`` of one child: n_child_led, n_directed,
    mean_child_led, mean_directed, mean_difference, better, nap, nap_lo, nap_hi, tau, tau_lo,
    tau_hi, tau_u, tau_bc, tau_bc_p, tau_bc_corrected, pnd, eligible, reason."""
    c = settings.get().comparison
    s = _db.query(con, "approach_sessions", {**f.params(), "child_id": child_id, "measure": measure})
    res = single_case_effects(s, c.min_sessions_per_approach, c.confidence)
    if res.empty:
        out = {k: float("nan") for k in _PAIR_COLUMNS if k not in _CONTEXT}
        out.update(n_child_led=0, n_directed=0, eligible=False, tau_bc_corrected=False)
    else:
        r = res.iloc[0]
        out = {k: r[k] for k in _PAIR_COLUMNS if k not in _CONTEXT}
        out = {k: (v.item() if hasattr(v, "item") else v) for k, v in out.items()}
    out["mean_difference"] = out.pop("diff")
    out["child_id"] = child_id
    out["measure"] = measure
    out["reason"] = None if out["eligible"] else (
        f"fewer than {c.min_sessions_per_approach} sessions with a value of each approach "
        f"({out['n_child_led']} child-led, {out['n_directed']} directed)")
    return out


def _summarise_pairs(pairs: pd.DataFrame, by: str | None, diff_col: str, with_nap: bool) -> pd.DataFrame:
    """Across-children paired summary per group, with n (children, sessions) in every row."""
    c = settings.get().comparison
    unit = f"children with at least {c.min_sessions_per_approach} rated sessions of each approach"
    key = by or "group"
    # only what is read below (a copy of every column, strings and all, per breakdown is not free)
    p = pairs[[col for col in dict.fromkeys([*([by] if by else []), "n_child_led", "n_directed", "eligible", diff_col,
                                          *(["nap"] if with_nap else [])])]].copy()
    if by is None:
        p["group"] = "all"
    p[key] = p[key].fillna("unknown")
    p["_sessions"] = p["n_child_led"].fillna(0) + p["n_directed"].fillna(0)
    universe = p.groupby(key, sort=True).size().rename("n_children_considered").reset_index()
    if by is None and universe.empty:
        universe = pd.DataFrame({"group": ["all"], "n_children_considered": [0]})
    elig = p[p["eligible"].astype(bool) & p[diff_col].notna()]
    kwargs = dict(min_n=c.min_children, confidence=c.confidence, resamples=c.bootstrap_resamples,
                  seed=c.bootstrap_seed, unit=unit)
    if with_nap:  # one bootstrap draw for both (same children, same group sizes)
        elig = elig.assign(_nap_d=elig["nap"] - 0.5)
        both = paired_summaries_grouped(elig, key, [diff_col, "_nap_d"], d_z_interval=[diff_col], **kwargs)
        res, rn = both[diff_col], both["_nap_d"]
    else:
        res = paired_summaries_grouped(elig, key, [diff_col], **kwargs)[diff_col]
    sessions = elig.groupby(key)["_sessions"].sum().rename("n_sessions")
    out = universe.merge(res, on=key, how="left").merge(sessions, left_on=key, right_index=True, how="left")
    out["n_children"] = out["n"].fillna(0).astype("int64")
    out["n_sessions"] = out["n_sessions"].fillna(0).astype("int64")
    out["reason"] = out["reason"].where(out["n"].notna(), f"fewer than {c.min_children} {unit}")
    out["reason"] = out["reason"].astype(object).where(out["reason"].notna(), None)
    cols = [key] if by is None else [by]
    if by is not None:
        out["group"] = out[by]
        cols = [by, "group"]
    cols += ["n_children", "n_sessions", "n_children_considered", "mean_diff", "ci_lo", "ci_hi",
             "wilcoxon_stat", "wilcoxon_p", "d_z", "d_z_lo", "d_z_hi"]
    if with_nap:
        rn = rn[[key, "mean_diff", "ci_lo", "ci_hi", "wilcoxon_p"]].rename(columns={
            "mean_diff": "mean_nap", "ci_lo": "nap_ci_lo", "ci_hi": "nap_ci_hi", "wilcoxon_p": "nap_wilcoxon_p"})
        for col in ("mean_nap", "nap_ci_lo", "nap_ci_hi"):
            rn[col] = rn[col] + 0.5
        out = out.merge(rn, on=key, how="left")
        cols += ["mean_nap", "nap_ci_lo", "nap_ci_hi", "nap_wilcoxon_p"]
    out["estimated"] = out["reason"].isna() & out["mean_diff"].notna()
    cols += ["estimated", "reason"]
    out = out[cols]
    if by == "age_group":
        out = out.assign(_r=age_rank(out["age_group"])).sort_values("_r").drop(columns="_r")
    return out.reset_index(drop=True)


def approach_effects(con, f: Filters = Filters(), by: str | None = None, measure: str = "engagement") -> pd.DataFrame:
    """Child-led vs directed ``measure`` (a catalogue id) across children (paired within child).

    Each child with at least ``min_sessions_per_approach`` sessions with a value of each
    approach gives one difference (mean child-led minus mean directed, in the measure's
    units) and one NAP (in the measure's direction): each child once per measure. The
    rows carry ``measure`` and ``sign`` (+1 higher is better, -1 lower): mean_diff * sign > 0
    means child-led better.
    Per group (``by`` = modality, age_group, team or therapist_id; None = all children;
    a child counts in the group of its latest session): n_children, n_sessions,
    n_children_considered (with any such session), mean_diff with a bootstrap percentile
    CI (ci_lo, ci_hi; Efron & Tibshirani 1993; resamples and seed from settings),
    wilcoxon_stat / wilcoxon_p (signed-rank, Wilcoxon 1945), d_z with d_z_lo/hi (Cohen
    1988; noncentral-t CI), mean_nap with nap_ci_lo/hi (bootstrap) and nap_wilcoxon_p
    (H0: NAP = 0.5), estimated and reason. Below ``min_children`` eligible children the
    row keeps its n and reason and every estimate is NaN.
    """
    check_by(by, _PAIR_BY)
    return _with_measure(_summarise_pairs(_summary_pairs(con, f, measure), by, "diff", with_nap=True), measure)


def _summary_pairs(con, f: Filters, measure: str) -> pd.DataFrame:
    """What ``_summarise_pairs`` reads of ``approach_pairs`` (``single_case_effects(full=False)``:
    the same n, diff, NAP and eligibility, without Tau-U, Tau-BC and PND): the stored table
    when the filter is empty."""
    if f.is_empty:
        return approach_pairs(con, f, measure)
    c = settings.get().comparison
    s = _db.query(con, "approach_sessions", {**f.params(), "measure": measure})
    return single_case_effects(s, c.min_sessions_per_approach, c.confidence, full=False)


def approach_effects_in(con, f: Filters, spans: list[tuple], measure: str = "engagement",
                        sessions: pd.DataFrame | None = None, coded: CodedSessions | None = None) -> list[pd.DataFrame]:
    """``approach_effects(con, replace(f, date_from=lo, date_to=hi), measure=measure)`` for each
    ``(lo, hi)`` of ``spans`` (dates within ``f``'s, which must be given), from one query of
    ``f``'s sessions split by date: a pairing needs only its own span's sessions. ``sessions``:
    that query's rows (``approach_sessions`` of ``f`` from the first span's start to the last
    one's end) when the caller has them already; ``coded``: the same as ``CodedSessions``."""
    if not spans:
        return []
    c = settings.get().comparison
    if coded is not None and sessions is None:
        # the summary reads n, diff, NAP and eligible of each child: no Tau-U, Tau-BC, PND or NAP interval
        return [_with_measure(_summarise_pairs(pairs_coded(coded.within(lo, hi), full=False, interval=False), None,
                                               "diff", with_nap=True), measure) for lo, hi in spans]
    lo_all, hi_all = min(lo for lo, _ in spans), max(hi for _, hi in spans)
    s = sessions if sessions is not None else _db.query(
        con, "approach_sessions", {**replace(f, date_from=lo_all, date_to=hi_all).params(), "measure": measure})
    out = []
    for lo, hi in spans:
        part = s[(s["session_date"] >= pd.Timestamp(lo)) & (s["session_date"] <= pd.Timestamp(hi))]
        pairs = single_case_effects(part.reset_index(drop=True), c.min_sessions_per_approach, c.confidence,
                                    full=False)
        out.append(_with_measure(_summarise_pairs(pairs, None, "diff", with_nap=True), measure))
    return out


def approach_effects_measures(con, f: Filters, measures: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """``approach_effects(con, f, measure=m)`` for each ``m`` of ``measures`` (by None), from one
    read of every session-level measure but the standardised ones (``coded_sessions``: the
    ``approach_sessions`` rows as Arrow/numpy), split by measure (each measure's pairing reads
    only its own rows, in the same order: the same children, the same numbers). A measure the
    read has no row of (standardised, not in the warehouse) is asked for on its own."""
    if f.is_empty:
        return {m: approach_effects(con, f, measure=m) for m in measures}
    cs = coded_sessions(con, f, None)
    key_measure = cs.keys["measure"].to_numpy(dtype=object)
    present = set(key_measure)
    out: dict[str, pd.DataFrame] = {}
    for m in measures:
        if m not in present:
            out[m] = approach_effects(con, f, measure=m)
            continue
        pairs = pairs_coded(cs.of_keys(key_measure == m), full=False)
        out[m] = _with_measure(_summarise_pairs(pairs, None, "diff", with_nap=True), m)
    return out


def _with_measure(df: pd.DataFrame, measure: str) -> pd.DataFrame:
    """``df`` with the columns measure and sign (+1 higher is better, -1 lower) in front."""
    from pipelines.measures import catalogue

    m = catalogue().get(measure)
    df = df.copy()
    df.insert(0, "measure", measure)
    df.insert(1, "sign", m.sign if m is not None else 1)
    return df


def approach_gas_pairs(con, f: Filters = Filters()) -> pd.DataFrame:
    """One row per child with GAS ratings in child-led or directed sessions: n_child_led /
    n_directed (rated sessions), n_ratings_*, mean_child_led / mean_directed (mean GAS
    level of the ratings given in each approach), diff, eligible."""
    return _db.query(con, "approach_gas_children",
                     {**f.params(), "min_sessions": settings.get().comparison.min_sessions_per_approach})


def approach_gas(con, f: Filters = Filters(), by: str | None = None) -> pd.DataFrame:
    """As ``approach_effects`` for goal progress: the within-child difference in mean GAS
    level of ratings given in child-led vs directed sessions (children with at least
    ``min_sessions_per_approach`` rated sessions of each). Observational: if one approach
    is used more later in therapy, when levels are higher, the difference carries that."""
    check_by(by, _PAIR_BY)
    return _summarise_pairs(approach_gas_pairs(con, f), by, "diff", with_nap=False)


def approach_breakdowns(con, f: Filters = Filters(), outcome: str = "engagement",
                        by: tuple[str | None, ...] = (None, "modality", "age_group", "therapist_id"),
                        measure: str | None = None) -> dict:
    """``approach_effects`` (outcome = a session-level measure of the catalogue, default
    "engagement"; ``measure`` says the same) or ``approach_gas`` (outcome "gas") for several
    breakdowns at once, from one pairing of the children: ``{by: DataFrame}``."""
    from pipelines.measures import catalogue

    for b in by:
        check_by(b, _PAIR_BY)
    outcome = measure or outcome
    if outcome == "gas":
        return approach_summaries(approach_gas_pairs(con, f), "gas", by)
    m = catalogue().get(outcome)
    if m is None or m.level != "session":
        raise ValueError(f"outcome must be 'gas' or a session-level measure of the catalogue; got {outcome!r}")
    return approach_summaries(approach_pairs(con, f, outcome), outcome, by)


def approach_summaries(pairs: pd.DataFrame, outcome: str = "engagement",
                       by: tuple[str | None, ...] = (None, "modality", "age_group", "therapist_id")) -> dict:
    """What ``approach_breakdowns`` returns, from children's pairs already fetched
    (``approach_pairs`` for a session measure ``outcome``, ``approach_gas_pairs`` for "gas"):
    ``{by: DataFrame}``, so a page that also draws the pairs pairs the children once."""
    for b in by:
        check_by(b, _PAIR_BY)
    if outcome == "gas":
        return {b: _summarise_pairs(pairs, b, "diff", with_nap=False) for b in by}
    return {b: _with_measure(_summarise_pairs(pairs, b, "diff", with_nap=True), outcome) for b in by}
