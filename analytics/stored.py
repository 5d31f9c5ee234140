"""Practice-wide per-child results, computed once per load into tables (``build_tables``).

Run by the load, inside the writer and before the swap, when the entry point passes
``after_build=analytics.stored.STEPS`` (the CLI, the dashboard's uploads and first-start
load, the benchmarks and the test fixtures). A load without it is valid: these tables are a
cache, and every query recomputes when they are absent or stale (``freshness``).

=========================  ==================================================================
``child_flags``            needs-attention flags as of the latest session date
``child_trends``           per child: engagement trend (all sessions and the recent window),
                           attendance and engagement summary
``child_approach_effects`` per child: child-led vs directed engagement (means, NAP with CI,
                           Tau, Tau-U, Tau-BC, PND, eligibility)
``gas_reviews``            per child per monthly review point: GAS T-score, change from first
``goal_progress``          per goal: first/latest level, met, weeks to met
``measure_change``         per child per measure: first vs latest score, Jacobson-Truax RCI
``analytics_meta``         as_of date, build time and the settings the tables were built with
=========================  ==================================================================
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

import duckdb
import numpy as np
import pandas as pd

from analytics import _db
from analytics.approach import single_case_effects_coded
from analytics.attention import flags_with_inputs
from stats.gas import gas_t_scores
from analytics.filters import Filters, as_of
from analytics.freshness import data_version, settings_key, stored_meta
from analytics.outcomes import reliable_change_compute
from analytics.trends import TREND_COLUMNS, child_trends_all, trend_measures
from pipelines import incremental, settings, warehouse

TABLES = ("child_flags", "child_trends", "child_approach_effects", "gas_reviews", "goal_progress",
          "measure_change", "analytics_meta")


def _write_table(con, name: str, df: pd.DataFrame) -> None:
    """Create or replace table ``name`` (one of ours) from a DataFrame; datetimes become DATE."""
    if name not in TABLES:
        raise ValueError(f"not an analytics table: {name}")
    view = f"_analytics_{name}"
    select = ", ".join(
        f'cast("{c}" as date) as "{c}"' if pd.api.types.is_datetime64_any_dtype(df[c]) else f'"{c}"'
        for c in df.columns)
    con.register(view, df)
    try:
        con.execute(f"create or replace table {name} as select {select} from {view}")  # our names only
    finally:
        con.unregister(view)


# rows of approach_effect_rows per call of single_case_effects_coded in the stored build: its
# per-group frames (NAP, Tau-U, Tau-BC, PND) take ~480 bytes a row, so the whole practice at
# once held 483 MB at 1M export rows (1.5 GB at 3M, the load's peak); batches of whole groups
# bound that to ~100 MB whatever the size, with the same rows (each row depends on its group only)
EFFECT_BATCH_ROWS = 200_000


def _approach_effects(con, min_sessions: int, confidence: float) -> pd.DataFrame:
    """``child_approach_effects``: ``single_case_effects`` of every child x measure (the rows of
    ``approach_sessions``), from the narrow integer-coded ``approach_effect_rows`` (numpy
    columns) and one row per child x measure (``approach_effect_children``), computed in
    batches of whole child x measure groups of about ``EFFECT_BATCH_ROWS`` rows."""
    params = Filters().params()
    keys = _db.query(con, "approach_effect_children", params)
    rows = {k: np.asarray(v) for k, v in _db.columns(con, "approach_effect_rows", params).items()}
    g = rows["g"].astype(np.int64)
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if g.size else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, g.size])
    rows["session_order"] = np.arange(g.size) - np.repeat(starts, sizes) + 1   # row_number within g
    if g.size <= EFFECT_BATCH_ROWS:
        return single_case_effects_coded(rows, keys, min_sessions, confidence)
    # batch bounds: group starts (rows come in g order, g = 0..len(keys)-1), one per ~EFFECT_BATCH_ROWS rows
    cuts = np.unique(np.searchsorted(g, g[np.minimum(np.arange(0, g.size, EFFECT_BATCH_ROWS), g.size - 1)]))
    bounds = np.r_[cuts, g.size]
    parts, g0 = [], 0
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        g1 = int(g[hi]) if hi < g.size else len(keys)   # the next batch's first group
        part = {k: v[lo:hi] for k, v in rows.items()}
        part["g"] = g[lo:hi] - g0
        parts.append(single_case_effects_coded(part, keys.iloc[g0:g1], min_sessions, confidence))
        g0 = g1
    return pd.concat(parts, ignore_index=True)


def _gas_reviews(con) -> pd.DataFrame:
    """``gas_reviews`` of every child (``analytics.children.gas_reviews_compute`` with no child):
    the same rows (``gas_review_goals``' five columns it needs, numpy columns), grouped by an integer review point
    (child, month) instead of three key columns; the same sums (``stats.gas.gas_t_scores``)."""
    cols = ["child_id", "review_month", "month_end", "t_score", "n_goals", "n_goals_at_expected",
            "first_t_score", "change_from_first"]
    r = _db.columns(con, "gas_review_goals", {"child_id": None},
                    keep=["child_id", "review_month", "month_end", "gas_level", "goal_weight"])
    ids = np.asarray(r["child_id"], dtype=object)
    if not ids.size:
        return pd.DataFrame(columns=cols)
    child, _ = pd.factorize(ids)   # rows come in (child, month, goal) order
    month = np.asarray(r["review_month"])
    start = np.r_[True, (child[1:] != child[:-1]) | (month[1:] != month[:-1])]
    k = np.cumsum(start) - 1
    first = np.flatnonzero(start)
    level = np.ma.filled(np.ma.asarray(r["gas_level"]).astype(float), np.nan)
    weight = np.ma.filled(np.ma.asarray(r["goal_weight"]).astype(float), np.nan)
    gas = settings.get().gas
    t = gas_t_scores(pd.DataFrame({"k": k, "gas_level": level, "goal_weight": weight}), "k",
                     level="gas_level", weight="goal_weight", rho=gas.rho)
    out = pd.DataFrame({"child_id": pd.Series(ids[first], dtype="str"),
                        "review_month": month[first], "month_end": np.asarray(r["month_end"])[first]})
    out["t_score"] = t["t_score"].to_numpy()
    out["n_goals"] = t["n_goals"].to_numpy()
    out["n_goals_at_expected"] = np.bincount(k, weights=(level >= gas.expected_level), minlength=first.size
                                             ).astype("int64")
    out["first_t_score"] = out["t_score"].groupby(child[first]).transform("first").to_numpy()
    out["change_from_first"] = out["t_score"] - out["first_t_score"]
    return out[cols]


def compute_tables(con) -> dict[str, pd.DataFrame]:
    """The per-child tables of ``TABLES`` (all but ``analytics_meta``), computed from ``con``'s marts.

    Each row depends only on its own child's rows and the practice's as-of date (``as_of``:
    practice-wide also on a connection carrying ``practice_facts``), so the Spark engine runs
    this same function per group of children (``spark_engine.stored``).
    """
    when = as_of(con)
    empty = Filters()
    cfg = settings.get()
    cmp_ = cfg.comparison
    goals = _db.query(con, "goal_summary", {"expected_level": cfg.gas.expected_level,
                                            "stall_days": 7 * cfg.flags.gas_stall_weeks})
    rc = reliable_change_compute(con, empty)
    trends = child_trends_all(con, when)
    recent = trends.loc[trends["recent_n"] > 0, ["child_id", "recent_n", "recent_slope_per_week", "recent_slope_lo",
                                                 "recent_slope_hi", "recent_kendall_tau", "recent_p_value", "measure"]]
    recent.columns = TREND_COLUMNS + ["measure"]
    return {
        # everything is up to the latest session, so the whole-history inputs are the as-of ones
        "child_flags": flags_with_inputs(con, when, goals=goals, rc=rc, recent=recent),
        "child_trends": trends,
        "child_approach_effects": _approach_effects(con, cmp_.min_sessions_per_approach, cmp_.confidence),
        "gas_reviews": _gas_reviews(con),
        "goal_progress": goals,
        "measure_change": rc,
    }


def meta_table(con) -> pd.DataFrame:
    """The ``analytics_meta`` row: as-of date, build time, settings key, the data version."""
    when = as_of(con)
    counts = data_version(con)
    meta = pd.DataFrame({
        "as_of": [pd.Timestamp(when) if when else pd.NaT],
        "built_at": [pd.Timestamp(dt.datetime.now())],
        "settings_key": [settings_key()],
        "settings_json": [json.dumps(settings.get().as_dict(), sort_keys=True, default=str)],
        "sessions": [counts["sessions"]],
        "max_load_seq": [counts["max_load_seq"]],
    })
    meta["as_of"] = meta["as_of"].astype("datetime64[us]")
    return meta


# how the last ``build_tables`` of this process went (the tests and the benchmark read it)
LAST_BUILD: dict[str, bool] = {"incremental": False}


class _TouchedConnection(warehouse.SameConnection):
    """The writer's connection while its marts are shadowed by the touched children's rows,
    carrying the practice's facts (its as-of date)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, facts: dict) -> None:
        super().__init__(con)
        self.practice_facts = facts


def _incremental(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether only the touched children's rows need computing: the build was incremental (the
    writer has ``touched_children``, ``pipelines.incremental``), every table exists, and they
    were computed with these settings and code (``settings_key``) as of the same date. Every row
    depends only on its child's rows and the as-of date (``compute_tables``), so a load that
    moves the as-of date (a new month) recomputes every child."""
    touched = con.execute("select count(*) from duckdb_tables() where temporary and table_name = $t",
                          {"t": incremental.TOUCHED}).fetchall()[0][0]
    c = warehouse.SameConnection(con)
    if not touched or not _db.has_tables(c, *TABLES):
        return False
    meta = stored_meta(c)
    return meta is not None and meta["settings_key"] == settings_key() and meta["as_of"] == as_of(c)


def _update_touched(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Recompute the touched children's rows of each table (``_incremental``): ``compute_tables``
    on the marts shadowed by temp views of those children's rows, then their rows replaced."""
    c = warehouse.SameConnection(con)
    facts = {**data_version(c), "trend_measures": trend_measures(c)}  # practice-wide, before the shadows
    home = f'"{con.execute("select current_database()").fetchall()[0][0]}".main'
    marts = [r[0] for r in con.execute(
        "select distinct table_name from duckdb_columns() where column_name = 'child_id' and not internal "
        "and database_name = current_database() and schema_name = 'main' and table_name not in "
        f"({', '.join('?' * len(TABLES))}) and table_name not like 'src_%'", list(TABLES)).fetchall()]
    for m in marts:  # our mart names
        con.execute(f"create or replace temp view {m} as select * from {home}.{m} "
                    f"where child_id in (select child_id from {incremental.TOUCHED})")
    try:
        tables = compute_tables(_TouchedConnection(con, facts))
    finally:
        for m in marts:
            con.execute(f"drop view if exists temp.{m}")
    for name, df in tables.items():
        view = f"_analytics_{name}"
        select = ", ".join(
            f'cast("{col}" as date) as "{col}"' if pd.api.types.is_datetime64_any_dtype(df[col]) else f'"{col}"'
            for col in df.columns)
        con.execute(f"delete from {name} where child_id in (select child_id from {incremental.TOUCHED})")
        if len(df):
            con.register(view, df)
            try:
                con.execute(f"insert into {name} by name select {select} from {view}")  # our names only
            finally:
                con.unregister(view)
    return list(tables)


def build_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Compute the practice-wide analytics tables (one of ``STEPS``, run by the load); after an
    incremental build at the same as-of date, only the touched children's rows (``_incremental``).

    Runs on ``con`` itself (the writer during a load, possibly inside a transaction, where a
    new cursor would not see uncommitted tables). Returns the tables written.
    """
    c = warehouse.SameConnection(con)
    LAST_BUILD["incremental"] = _incremental(con)
    if LAST_BUILD["incremental"]:
        names = _update_touched(con)
    else:
        tables = compute_tables(c)
        for name, df in tables.items():
            _write_table(c, name, df)
        names = list(tables)
    _write_table(c, "analytics_meta", meta_table(c))
    return names + ["analytics_meta"]


# What an entry point passes to ``pipelines.load.load(..., after_build=STEPS)`` (and ``rebuild``):
# the steps that run inside the writer after the SQL models, before the swap.
STEPS: tuple[Callable[[duckdb.DuckDBPyConnection], object], ...] = (build_tables,)
