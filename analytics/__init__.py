"""The analytics layer the dashboard pages use (see docs/analytics_api.md).

Pages hold no SQL and no statistics: they call these functions with a DuckDB connection
and a ``Filters``. Every filter value reaches SQL as a bound ``$parameter`` (the SQL lives
in ``queries/analysis``); statistics come from ``stats`` (grouped versions in
``stats.single_case_groups`` and ``stats.paired_groups``). Nothing
loops over children in Python: per-child statistics are computed for all children at once
(pandas / numpy / SQL).

Practice-wide per-child results are computed once, when the marts are rebuilt, by
``build_tables(con)`` (a ``transform.POST_STEPS`` step) into these tables:

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

Query functions read those tables when the filter is empty (or, for flags, when the
as-of date and settings match) and otherwise compute the same thing for the filtered
data at query time, vectorised.

Methods (details and references in the docstrings below and in ``stats``):
GAS T-score (Kiresuk & Sherman 1968); Theil-Sen slope with Sen's CI and Mann-Kendall test
(Theil 1950; Sen 1968; Mann 1945; Kendall 1975); NAP with Newcombe CI (Parker & Vannest
2009; Newcombe 2006); Tau and Tau-U (Parker, Vannest, Davis & Sauber 2011); Tau-BC (Tarlow
2017); PND (Scruggs, Mastropieri & Casto 1987); paired differences with bootstrap
percentile CI (Efron & Tibshirani 1993), Wilcoxon signed-rank (Wilcoxon 1945) and d_z
(Cohen 1988; Lakens 2013); reliable change index (Jacobson & Truax 1991); means of
session ratings with a child-clustered (CR1) standard error (Liang & Zeger 1986; Cameron
& Miller 2015) because sessions of one child are not independent.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from scipy import stats as sps

from pipelines import queries, settings as settings_mod, warehouse
from access.scope import ScopedConnection
from stats.paired_groups import paired_summary_grouped
from stats.single_case_groups import pnd_grouped, tau_bc_grouped, tau_u_grouped
from stats.gas import gas_t_scores
from stats.rci import DETERIORATED, classify_change, load_measure_reference
from stats.single_case import nap_grouped
from stats.trend import trends_grouped

__all__ = [
    "Filters", "BY_OPTIONS", "FLAG_CODES",
    "filter_options", "as_of", "resolve", "kpis", "monthly_trends", "group_grid", "child_list",
    "child_timeline", "child_goal_ratings", "child_gas_t", "child_comparison", "child_periods",
    "child_trends", "approach_effects", "approach_pairs", "approach_gas", "approach_gas_pairs",
    "reliable_change", "flags", "goal_summary", "gas_reviews", "compute_flags", "build_tables", "rejects",
]

BY_OPTIONS = ("modality", "age_group", "team", "therapist_id", "approach")
_PAIR_BY = ("modality", "age_group", "team", "therapist_id")
A_LABEL, B_LABEL = "directed", "child-led"   # single-case condition A (comparison) and B
TABLES = ("child_flags", "child_trends", "child_approach_effects", "gas_reviews", "goal_progress",
          "measure_change", "analytics_meta")

# code -> (severity 3 high .. 1 low, priority within severity (1 first), short title)
FLAG_CODES: dict[str, tuple[int, int, str]] = {
    "reliable_deterioration": (3, 1, "Reliable deterioration on a measure"),
    "possible_dropout": (3, 2, "Possible drop-out"),
    "engagement_declining": (2, 3, "Engagement trending down"),
    "low_attendance": (2, 4, "Low attendance"),
    "gas_stalled": (2, 5, "No GAS improvement"),
    "rating_gap": (1, 6, "Goal ratings missing"),
}
_SEVERITY_LABEL = {3: "high", 2: "medium", 1: "low"}
FLAG_COLUMNS = ["child_id", "flag", "title", "severity", "severity_label", "priority", "reason", "value",
                "threshold", "since", "n", "p_value", "therapist_id", "team", "modality", "age_group", "as_of"]


# ----------------------------------------------------------------------------- filters


def _as_date(v: Any) -> dt.date | None:
    if v is None or v is pd.NaT or (isinstance(v, (float, np.floating)) and np.isnan(v)):
        return None
    if isinstance(v, np.datetime64):
        v = pd.Timestamp(v)
        if v is pd.NaT:
            return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        return dt.date.fromisoformat(v.strip()[:10])
    raise TypeError(f"not a date: {v!r}")


@dataclass(frozen=True)
class Filters:
    """What the pages filter on. Empty tuples mean "all"; dates are inclusive.

    Values are passed to SQL as bound parameters only (never formatted into the text),
    so any text (quotes, SQL) is just a value that matches nothing.
    """

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    modalities: tuple[str, ...] = ()
    age_groups: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    therapists: tuple[str, ...] = ()
    approaches: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "date_from", _as_date(self.date_from))
        object.__setattr__(self, "date_to", _as_date(self.date_to))
        for name in ("modalities", "age_groups", "teams", "therapists", "approaches"):
            v = getattr(self, name)
            if v is None:
                v = ()
            elif isinstance(v, str):
                v = (v,)
            object.__setattr__(self, name, tuple(str(x) for x in v))

    def params(self) -> dict:
        """Bound parameters: dates, and each list or None (= no filter)."""
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "modalities": list(self.modalities) or None,
            "age_groups": list(self.age_groups) or None,
            "teams": list(self.teams) or None,
            "therapists": list(self.therapists) or None,
            "approaches": list(self.approaches) or None,
        }

    @property
    def is_empty(self) -> bool:
        """True when nothing is filtered."""
        return self == Filters()

    @property
    def has_attribute_filters(self) -> bool:
        return bool(self.modalities or self.age_groups or self.teams or self.therapists or self.approaches)

    def previous_period(self) -> Filters:
        """The same filter over the period of the same length immediately before.

        Needs both dates (use ``resolve(con, f)`` to fill them from the data first).
        """
        if self.date_from is None or self.date_to is None:
            raise ValueError("previous_period needs date_from and date_to; use analytics.resolve(con, f) first")
        days = (self.date_to - self.date_from).days + 1
        prev_to = self.date_from - dt.timedelta(days=1)
        return replace(self, date_from=prev_to - dt.timedelta(days=days - 1), date_to=prev_to)


# ----------------------------------------------------------------------------- plumbing


class _SameConnection:
    """Runs every query on the given connection itself (``build_tables``: the writer,
    possibly inside a transaction, where a new cursor would not see uncommitted tables)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def cursor(self) -> _SameConnection:
        return self

    def execute(self, *args, **kwargs):
        return self._con.execute(*args, **kwargs)

    def register(self, *args, **kwargs):
        return self._con.register(*args, **kwargs)

    def unregister(self, *args, **kwargs):
        return self._con.unregister(*args, **kwargs)

    def close(self) -> None:
        pass


def _cursor(con):
    """A cursor of ``con`` that reads the warehouse (``warehouse.cursor``); the writer's own
    connection during ``build_tables`` is used as it is."""
    if isinstance(con, (_SameConnection, ScopedConnection)):
        return con.cursor()
    return warehouse.cursor(con)


def _query(con, name: str, params: dict | None = None) -> pd.DataFrame:
    """Run ``queries/analysis/<name>.sql`` with bound parameters on its own cursor."""
    cur = _cursor(con)
    try:
        return cur.execute(queries.sql(name), queries.bind(name, params)).df()
    finally:
        cur.close()


def _sql(con, text: str, params: dict | None = None) -> pd.DataFrame:
    cur = _cursor(con)
    try:
        return cur.execute(text, params or {}).df()
    finally:
        cur.close()


def _has_tables(con, *names: str) -> bool:
    cur = _cursor(con)
    try:
        found = {r[0] for r in cur.execute(
            "select table_name from duckdb_tables() where database_name = current_database() "
            "and schema_name = 'main'").fetchall()}
    finally:
        cur.close()
    return all(n in found for n in names)


def _cfg() -> dict:
    return settings_mod.load()


def _expected_level() -> int:
    return int(_cfg().get("gas", {}).get("expected_level", 0))


def _rho() -> float:
    return float(_cfg().get("gas", {}).get("rho", 0.3))


def _comparison() -> dict:
    c = dict(_cfg().get("comparison", {}))
    return {
        "min_sessions": int(c.get("min_sessions_per_approach", 3)),
        "min_children": int(c.get("min_children", 5)),
        "resamples": int(c.get("bootstrap_resamples", 2000)),
        "seed": int(c.get("bootstrap_seed", 20261122)),
        "confidence": float(c.get("confidence", 0.95)),
    }


def _flag_cfg() -> dict:
    f = dict(_cfg().get("flags", {}))
    return {
        "engagement_window_weeks": int(f.get("engagement_window_weeks", 8)),
        "engagement_trend_alpha": float(f.get("engagement_trend_alpha", 0.05)),
        "engagement_min_sessions": int(f.get("engagement_min_sessions", 5)),
        "gas_stall_weeks": int(f.get("gas_stall_weeks", 12)),
        "attendance_window_weeks": int(f.get("attendance_window_weeks", 8)),
        "attendance_min_rate": float(f.get("attendance_min_rate", 0.75)),
        "attendance_min_scheduled": int(f.get("attendance_min_scheduled", 4)),
        "dropout_days": int(f.get("dropout_days", 30)),
        # "active" before the gap: attended in the N days before the drop-out window
        "dropout_active_days": int(f.get("dropout_active_days", 90)),
        "rating_gap_days": int(f.get("rating_gap_days", 60)),
    }


# What the stored tables are computed by (globs under the project root): a change to any of
# these files, or a file added or removed, makes the stored tables stale.
CODE_DEPENDENCIES = ("analytics/*.py", "stats/*.py", "queries/analysis/*.sql",
                     "queries/intermediate/*.sql", "queries/marts/*.sql")
CODE_ROOT = warehouse.ROOT


def _code_files(root: Path) -> list[Path]:
    """Every file of ``CODE_DEPENDENCIES`` under ``root``, in a fixed order.

    Raises ``FileNotFoundError`` when a pattern matches nothing (a module or folder moved):
    the key must never silently leave out what the tables depend on.
    """
    files: list[Path] = []
    for pattern in CODE_DEPENDENCIES:
        found = sorted(p for p in Path(root).glob(pattern) if p.is_file())
        if not found:
            raise FileNotFoundError(f"{Path(root) / pattern}: no such file, but the stored tables depend on it "
                                    "(moved? update analytics.CODE_DEPENDENCIES)")
        files += found
    return files


def _code_key(root: Path | None = None) -> str:
    """Hash of the code and SQL behind the stored tables (``CODE_DEPENDENCIES`` under ``root``,
    default ``CODE_ROOT``, the project): a changed method invalidates them. Computed once per
    root and process (the running code does not change under a process)."""
    return _code_key_at(Path(root or CODE_ROOT).resolve())


@functools.cache
def _code_key_at(root: Path) -> str:
    h = hashlib.sha256()
    for p in _code_files(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _settings_key() -> str:
    """Hash of everything the stored tables depend on (settings, measure reference, code)."""
    ref = load_measure_reference()
    blob = json.dumps({"settings": _cfg(), "ref": ref.to_dict("list"), "code": _code_key()},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _check_by(by: str | None, allowed: tuple[str, ...] = BY_OPTIONS) -> None:
    if by is not None and by not in allowed:
        raise ValueError(f"by must be one of {', '.join(allowed)} or None; got {by!r}")


def _ts(d: dt.date) -> pd.Timestamp:
    return pd.Timestamp(d)


def _fmt(values: pd.Series, spec: str, missing: str = "n/a") -> pd.Series:
    """Numbers formatted for plain-language text (element-wise, vectorised over rows)."""
    return values.map(lambda v: missing if pd.isna(v) else format(v, spec)).astype(str)


def _fmt_date(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").fillna("n/a")


def _plural(n: pd.Series, word: str, plural: str | None = None) -> pd.Series:
    n = n.astype("int64")
    return n.astype(str) + " " + np.where(n == 1, word, plural or word + "s")


def _join_per_group(keys: pd.Series, texts: pd.Series, sep: str) -> pd.Series:
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


def _t_ci(mean: pd.Series, se: pd.Series, n_clusters: pd.Series, confidence: float) -> tuple[pd.Series, pd.Series]:
    """mean -+ t(G - 1) * se (CR1 cluster-robust interval with G clusters = children)."""
    g = n_clusters.astype(float)
    with np.errstate(invalid="ignore"):
        q = sps.t.ppf(1 - (1 - confidence) / 2, np.where(g > 1, g - 1, np.nan))
    half = q * se.astype(float)
    return mean - half, mean + half


# ----------------------------------------------------------------------------- basics


def as_of(con) -> dt.date | None:
    """The latest session date in the warehouse (flags and "last N weeks" are relative to it).

    Practice-wide also on a scoped connection (``access.scope``): a date, not child data.
    """
    if isinstance(con, ScopedConnection):
        return con.practice_facts["as_of"]
    v = _sql(con, "select max(session_date) as d from sessions")["d"].iloc[0]
    return None if pd.isna(v) else _as_date(v)


def _as_of_for(con, f: Filters) -> dt.date | None:
    """The as-of date of a filter: its date_to (not later than the data), else the latest session."""
    latest = as_of(con)
    if f.date_to is None or latest is None:
        return latest
    return min(f.date_to, latest)


def resolve(con, f: Filters) -> Filters:
    """``f`` with missing dates filled from the data (first and latest session dates)."""
    if f.date_from is not None and f.date_to is not None:
        return f
    r = _sql(con, "select min(session_date) as lo, max(session_date) as hi from sessions").iloc[0]
    return replace(f, date_from=f.date_from or _as_date(r["lo"]), date_to=f.date_to or _as_date(r["hi"]))


def filter_options(con) -> dict:
    """Values each filter can take: modalities, age_groups (band order), teams, therapists,
    approaches, children, and min_date / max_date of the sessions."""
    df = _query(con, "filter_options")
    if df.empty:
        return {k: [] for k in ("modalities", "age_groups", "teams", "therapists", "approaches", "children")} | {
            "min_date": None, "max_date": None}
    r = df.iloc[0]
    out = {k: list(r[k]) if isinstance(r[k], (list, tuple, np.ndarray)) else []
           for k in ("modalities", "age_groups", "teams", "therapists", "approaches", "children")}
    out["min_date"] = _as_date(r["min_date"]) if pd.notna(r["min_date"]) else None
    out["max_date"] = _as_date(r["max_date"]) if pd.notna(r["max_date"]) else None
    return out


def _metrics(con, f: Filters, period: str | None, by: str | None, by2: str | None) -> pd.DataFrame:
    cmp_ = _comparison()
    df = _query(con, "period_metrics", {**f.params(), "period": period, "by": by, "by2": by2,
                                        "expected_level": _expected_level()})
    int_cols = ["n_children", "active_children", "sessions", "attended", "cancelled", "no_show", "n_rated",
                "n_children_rated", "n_rated_high", "n_goals", "n_children_goals", "goals_at_expected"]
    for c in int_cols:
        df[c] = df[c].fillna(0).astype("int64")
    lo, hi = _t_ci(df["mean_engagement"], df["engagement_se"], df["n_children_rated"], cmp_["confidence"])
    lo, hi = lo.clip(lower=1.0), hi.clip(upper=5.0)  # the rating scale is 1-5
    df.insert(df.columns.get_loc("engagement_se") + 1, "engagement_ci_lo", lo)
    df.insert(df.columns.get_loc("engagement_ci_lo") + 1, "engagement_ci_hi", hi)
    return df


# ----------------------------------------------------------------------------- KPIs and trends


def _kpi_block(con, f: Filters) -> dict:
    m = _metrics(con, f, None, None, None)
    keys = ["active_children", "n_children", "sessions", "attended", "cancelled", "no_show", "attendance_rate",
            "cancellation_rate", "no_show_rate", "mean_engagement", "engagement_ci_lo", "engagement_ci_hi",
            "n_rated", "n_children_rated", "share_high_engagement", "share_goals_at_expected", "n_goals",
            "n_children_goals"]
    if m.empty:
        out = {k: (0 if k.startswith("n_") or k in ("active_children", "sessions", "attended", "cancelled",
                                                    "no_show") else float("nan")) for k in keys}
    else:
        r = m.iloc[0]
        out = {k: (int(r[k]) if isinstance(r[k], (np.integer, int)) else float(r[k])) for k in keys}
    goals = _query(con, "goal_latest", f.params())
    if goals.empty:
        out["median_gas_t"], out["n_children_gas"] = float("nan"), 0
    else:
        t = gas_t_scores(goals, "child_id", level="last_level", weight="goal_weight", rho=_rho())
        out["median_gas_t"] = float(t["t_score"].median())
        out["n_children_gas"] = int(t["t_score"].notna().sum())
    out["date_from"], out["date_to"] = f.date_from, f.date_to
    return out


def kpis_by(con, f: Filters, by: str) -> pd.DataFrame:
    """The ``kpis()`` figures of the filter's period for every value of ``by`` at once.

    One row per group (the ``by`` column, then the keys of a ``kpis()`` block): one query for
    all groups, so a caseload of hundreds of therapists costs what one does. The median GAS
    T-score of a group uses each goal's latest rating given within that group.
    """
    _check_by(by)
    rf = resolve(con, f)
    m = _rename_groups(_metrics(con, rf, None, by, None), by).drop(columns=["group", "period_start"],
                                                                     errors="ignore")
    goals = _query(con, "goal_latest", {**rf.params(), "by": by})
    if goals.empty:
        m["median_gas_t"], m["n_children_gas"] = np.nan, 0
        return m
    t = gas_t_scores(goals, ["grp", "child_id"], level="last_level", weight="goal_weight", rho=_rho())
    per_group = (t.groupby("grp")["t_score"].agg(median_gas_t="median", n_children_gas="count")
                 .reset_index().rename(columns={"grp": by}))
    m = m.merge(per_group, on=by, how="left")
    m["n_children_gas"] = m["n_children_gas"].fillna(0).astype("int64")
    return m


def kpis(con, f: Filters = Filters(), previous: Filters | None = None) -> dict:
    """Headline figures for the filter and the period of the same length before it (or the
    filter ``previous``, e.g. the same number of whole months before).

    ``{"current": {...}, "previous": {...} or None}``; each block has active_children
    (children with an attended session), n_children (with any scheduled session), sessions
    (scheduled), attended, cancelled, no_show, attendance_rate (attended / scheduled),
    cancellation_rate, no_show_rate, mean_engagement with engagement_ci_lo/hi (95% CI with
    a child-clustered standard error: ratings of one child are correlated), n_rated,
    n_children_rated, share_high_engagement (share of rated sessions rated 4-5),
    share_goals_at_expected (goals whose latest rating in the period is at or above the
    expected level) with n_goals, median_gas_t (median over children of the Kiresuk &
    Sherman GAS T-score of each goal's latest rating in the period) with n_children_gas,
    and the period's date_from / date_to. Missing dates are taken from the data.
    """
    rf = resolve(con, f)
    current = _kpi_block(con, rf)
    if previous is None and rf.date_from and rf.date_to:
        previous = rf.previous_period()
    return {"current": current, "previous": _kpi_block(con, previous) if previous is not None else None}


def _rename_groups(df: pd.DataFrame, by: str | None, by2: str | None = None) -> pd.DataFrame:
    df = df.copy()
    if by is None:
        df = df.drop(columns=["grp"])
    else:
        df.insert(df.columns.get_loc("grp"), "group", df["grp"])
        df = df.rename(columns={"grp": by})
    if by2 is None:
        df = df.drop(columns=["grp2"])
    else:
        df = df.rename(columns={"grp2": by2})
    return df


def monthly_trends(con, f: Filters = Filters(), by: str | None = None) -> pd.DataFrame:
    """One row per month (and group when ``by`` is one of BY_OPTIONS).

    Columns month_start, [group and the ``by`` column], n_children, active_children, sessions,
    attended, cancelled, no_show, attendance_rate, cancellation_rate, no_show_rate, n_rated,
    n_children_rated, mean_engagement, engagement_se, engagement_ci_lo/hi (child-clustered
    95% CI), n_rated_high, share_high_engagement, n_goals, goals_at_expected,
    share_goals_at_expected (latest rating of each goal within the month).
    """
    _check_by(by)
    df = _metrics(con, f, "month", by, None).rename(columns={"period_start": "month_start"})
    return _rename_groups(df, by).reset_index(drop=True)


def _age_rank(labels: pd.Series) -> pd.Series:
    order = {label: i for i, (label, _, _) in enumerate(settings_mod.age_groups())}
    return labels.map(order).fillna(len(order)).astype(int)


def group_grid(con, f: Filters = Filters()) -> pd.DataFrame:
    """One row per modality x age group: n_children, n_sessions, mean_engagement with
    engagement_ci_lo/hi, attendance_rate, share_high_engagement, share_goals_at_expected,
    n_goals and below_min_n (fewer children than settings [comparison] min_children)."""
    df = _metrics(con, f, None, "modality", "age_group")
    df = _rename_groups(df, "modality", "age_group").drop(columns=["group", "period_start"])
    df = df.rename(columns={"sessions": "n_sessions"})
    df["below_min_n"] = df["n_children"] < _comparison()["min_children"]
    df = df.assign(_r=_age_rank(df["age_group"])).sort_values(["modality", "_r"]).drop(columns="_r")
    return df.reset_index(drop=True)


def child_periods(con, f: Filters = Filters(), period: str = "week", child_id: str | None = None) -> pd.DataFrame:
    """Engagement and attendance per child per week or month: sessions_scheduled, _attended,
    _cancelled, _no_show, attendance_rate, sessions_rated, mean_engagement,
    share_high_engagement (rated 4-5), mean engagement by approach."""
    if period not in ("week", "month"):
        raise ValueError(f"period must be 'week' or 'month'; got {period!r}")
    return _query(con, "child_periods", {**f.params(), "period": period, "child_id": child_id})


# ----------------------------------------------------------------------------- children


def child_list(con, f: Filters = Filters()) -> pd.DataFrame:
    """One row per child with a session in the filter: child_id, modality, therapist_id,
    team, age_group (latest in the filter), sessions, attended, cancelled, no_show,
    attendance_rate, n_rated, mean_engagement, first_session, last_session, last_attended,
    n_flags, max_severity, flags (codes, most urgent first)."""
    df = _query(con, "child_list", f.params())
    fl = flags(con, f)
    if fl.empty:
        df["n_flags"] = 0
        df["max_severity"] = 0
        df["flags"] = ""
        return df
    agg = fl.groupby("child_id", sort=True).agg(n_flags=("flag", "size"), max_severity=("severity", "max"))
    codes = fl.drop_duplicates(["child_id", "flag"])          # fl is sorted most urgent first
    agg["flags"] = _join_per_group(codes["child_id"], codes["flag"], ", ")
    df = df.merge(agg, left_on="child_id", right_index=True, how="left")
    df["n_flags"] = df["n_flags"].fillna(0).astype("int64")
    df["max_severity"] = df["max_severity"].fillna(0).astype("int64")
    df["flags"] = df["flags"].fillna("")
    return df


def child_timeline(con, child_id: str, f: Filters = Filters()) -> pd.DataFrame:
    """One row per session of the child in the filter: session_date, approach, attendance,
    attended, engagement, modality, therapist_id (and team, setting, ...)."""
    return _query(con, "filtered_sessions", {**f.params(), "child_id": child_id})


def child_goal_ratings(con, child_id: str, f: Filters = Filters()) -> pd.DataFrame:
    """One row per goal rating of the child in the filter: goal_id, goal_domain,
    session_date, gas_level, goal_weight, approach, at_or_above_expected."""
    return _query(con, "filtered_goal_ratings",
                  {**f.params(), "child_id": child_id, "expected_level": _expected_level()})


def _gas_reviews_compute(con, child_id: str | None = None) -> pd.DataFrame:
    rows = _query(con, "gas_review_goals", {"child_id": child_id})
    cols = ["child_id", "review_month", "month_end", "t_score", "n_goals", "n_goals_at_expected",
            "first_t_score", "change_from_first"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    keys = ["child_id", "review_month", "month_end"]
    t = gas_t_scores(rows, keys, level="gas_level", weight="goal_weight", rho=_rho())
    at = (rows.assign(_at=(rows["gas_level"] >= _expected_level()).astype("int64"))
          .groupby(keys, sort=True)["_at"].sum().to_numpy())
    t["n_goals_at_expected"] = at
    t = t.sort_values(keys).reset_index(drop=True)
    t["first_t_score"] = t.groupby("child_id")["t_score"].transform("first")
    t["change_from_first"] = t["t_score"] - t["first_t_score"]
    return t[cols]


def gas_reviews(con, child_id: str | None = None) -> pd.DataFrame:
    """GAS T-score (Kiresuk & Sherman 1968; rho from settings) per child at each monthly
    review point: at each month end, the latest rating of every active goal (a goal is
    active from its first rating until the child's last session), weighted. Columns
    child_id, review_month, month_end, t_score, n_goals, n_goals_at_expected,
    first_t_score, change_from_first (T minus the child's first review's T)."""
    if _has_tables(con, "gas_reviews") and _stored_current(con):
        df = _sql(con, "select * from gas_reviews where ($child_id is null or child_id = $child_id) "
                       "order by child_id, review_month", {"child_id": child_id})
        return df
    return _gas_reviews_compute(con, child_id)


def child_gas_t(con, child_id: str) -> pd.DataFrame:
    """The child's GAS T-score at each monthly review point: review_month, month_end,
    t_score, n_goals, n_goals_at_expected, change_from_first (see ``gas_reviews``)."""
    df = gas_reviews(con, child_id)
    return df.drop(columns=["child_id"]).reset_index(drop=True)


def goal_summary(con, f: Filters = Filters()) -> pd.DataFrame:
    """One row per goal with ratings in the filter: goal_uid, goal_id, child_id, domain,
    goal_weight, n_ratings, first/last date and level, best_level, met (ever rated at or
    above the expected level), first_met_date, weeks_to_met (weeks from the first rating
    to the first rating at expected), weeks_rated, improved (last > first),
    at_expected_now, reference_level (latest level 12 weeks before the last rating)."""
    if f.is_empty and _has_tables(con, "goal_progress") and _stored_current(con):
        return _sql(con, "select * from goal_progress order by child_id, goal_id")
    return _query(con, "goal_summary", {**f.params(), "expected_level": _expected_level(),
                                        "stall_days": 7 * _flag_cfg()["gas_stall_weeks"]})


# ----------------------------------------------------------------------------- trends per child


def _child_trends_compute(con, f: Filters, as_of_date: dt.date | None) -> pd.DataFrame:
    fc = _flag_cfg()
    conf = _comparison()["confidence"]
    base = _query(con, "child_list", f.params())
    cols = ["child_id", "modality", "therapist_id", "team", "age_group", "sessions", "attended", "cancelled",
            "no_show", "attendance_rate", "n_rated", "mean_engagement", "share_high_engagement",
            "first_session", "last_session", "slope_per_week", "slope_lo", "slope_hi", "kendall_tau", "p_value",
            "recent_n", "recent_slope_per_week", "recent_slope_lo", "recent_slope_hi", "recent_kendall_tau",
            "recent_p_value", "recent_from", "as_of"]
    if base.empty or as_of_date is None:
        return pd.DataFrame(columns=cols)
    s = _query(con, "rated_sessions", f.params())
    s["weeks"] = (s["session_date"] - _ts(as_of_date)).dt.days / 7.0
    high = s.assign(_h=(s["engagement"] >= 4).astype(float)).groupby("child_id")["_h"].mean()
    if len(s):
        tr = trends_grouped(s, "child_id", "weeks", "engagement", confidence=conf)
    else:
        tr = pd.DataFrame(columns=_TREND_COLUMNS)
    tr = tr.rename(columns={"slope": "slope_per_week", "n": "_n"})
    window_from = as_of_date - dt.timedelta(days=7 * fc["engagement_window_weeks"] - 1)
    rt = _recent_trends(s, as_of_date)
    rt = rt.rename(columns={"n": "recent_n", "slope": "recent_slope_per_week", "slope_lo": "recent_slope_lo",
                            "slope_hi": "recent_slope_hi", "kendall_tau": "recent_kendall_tau",
                            "p_value": "recent_p_value"})
    out = base.merge(tr.drop(columns="_n"), on="child_id", how="left").merge(rt, on="child_id", how="left")
    out["share_high_engagement"] = out["child_id"].map(high)
    out["recent_n"] = out["recent_n"].fillna(0).astype("int64")
    out["recent_from"] = _ts(window_from)
    out["as_of"] = _ts(as_of_date)
    return out[cols]


_TREND_COLUMNS = ["child_id", "n", "slope", "slope_lo", "slope_hi", "kendall_tau", "p_value"]


def _recent_trends(rated: pd.DataFrame, as_of_date: dt.date) -> pd.DataFrame:
    """Theil-Sen / Mann-Kendall engagement trend per child over the last
    engagement_window_weeks up to ``as_of_date`` (rows of ``rated_sessions`` with ``weeks``)."""
    weeks = _flag_cfg()["engagement_window_weeks"]
    window_from = as_of_date - dt.timedelta(days=7 * weeks - 1)
    r = rated[(rated["session_date"] >= _ts(window_from)) & (rated["session_date"] <= _ts(as_of_date))]
    if r.empty:
        return pd.DataFrame(columns=_TREND_COLUMNS)
    if "weeks" not in r:
        r = r.assign(weeks=(r["session_date"] - _ts(as_of_date)).dt.days / 7.0)
    return trends_grouped(r, "child_id", "weeks", "engagement", confidence=_comparison()["confidence"])


def child_trends(con, f: Filters = Filters()) -> pd.DataFrame:
    """Per child: attendance (attended / scheduled, cancellations and no-shows apart),
    engagement mean and share rated 4-5, and the engagement trend over the filtered
    sessions: Theil-Sen slope in points per week with Sen's 95% CI and the Mann-Kendall
    tau / p (Theil 1950; Sen 1968; Mann 1945; Kendall 1975), overall and over the last
    ``engagement_window_weeks`` before the as-of date (``recent_*``)."""
    if f.is_empty and _has_tables(con, "child_trends") and _stored_current(con):
        return _sql(con, "select * from child_trends order by child_id")
    return _child_trends_compute(con, f, _as_of_for(con, f))


# ----------------------------------------------------------------------------- child-led vs directed


_PAIR_COLUMNS = ["child_id", "modality", "age_group", "therapist_id", "team", "n_child_led", "n_directed",
                 "mean_child_led", "mean_directed", "diff", "nap", "nap_se", "nap_lo", "nap_hi", "tau", "tau_lo",
                 "tau_hi", "tau_u", "tau_bc", "tau_bc_p", "tau_bc_corrected", "pnd", "eligible"]


def _single_case_effects(s: pd.DataFrame, min_sessions: int, confidence: float) -> pd.DataFrame:
    """Per child, child-led (B) vs directed (A) engagement, vectorised over children."""
    if s.empty:
        return pd.DataFrame(columns=_PAIR_COLUMNS)
    key = "child_id"
    nap = nap_grouped(s, key, "approach", "engagement", A_LABEL, B_LABEL, confidence=confidence)
    tu = tau_u_grouped(s, key, "approach", "engagement", "session_order", A_LABEL, B_LABEL)
    tb = tau_bc_grouped(s, key, "approach", "engagement", "session_order", A_LABEL, B_LABEL,
                        alpha=0.05, confidence=confidence)
    pn = pnd_grouped(s, key, "approach", "engagement", A_LABEL, B_LABEL)
    means = s.groupby([key, "approach"])["engagement"].mean().unstack()
    attrs = s.groupby(key, sort=True)[["modality", "age_group", "therapist_id", "team"]].first()
    out = attrs.reset_index()
    out["n_child_led"] = nap["n_b"].to_numpy()
    out["n_directed"] = nap["n_a"].to_numpy()
    out["mean_child_led"] = out[key].map(means[B_LABEL]) if B_LABEL in means else np.nan
    out["mean_directed"] = out[key].map(means[A_LABEL]) if A_LABEL in means else np.nan
    out["diff"] = out["mean_child_led"] - out["mean_directed"]
    for c in ("nap", "nap_se", "nap_lo", "nap_hi", "tau", "tau_lo", "tau_hi"):
        out[c] = nap[c].to_numpy()
    out["tau_u"] = tu["tau_u"].to_numpy()
    out["tau_bc"] = tb["tau_bc"].to_numpy()
    out["tau_bc_p"] = tb["tau_bc_p"].to_numpy()
    out["tau_bc_corrected"] = tb["tau_bc_corrected"].to_numpy()
    out["pnd"] = pn["pnd"].to_numpy()
    out["eligible"] = (out["n_child_led"] >= min_sessions) & (out["n_directed"] >= min_sessions)
    return out[_PAIR_COLUMNS]


def approach_pairs(con, f: Filters = Filters()) -> pd.DataFrame:
    """One row per child with rated child-led or directed sessions in the filter (the
    approach filter is ignored: the comparison needs both).

    child_id, modality, age_group, therapist_id, team (latest among those sessions),
    n_child_led, n_directed, mean_child_led, mean_directed, diff (child-led minus
    directed mean engagement), nap with nap_se / nap_lo / nap_hi (NAP of child-led over
    directed, Parker & Vannest 2009; Newcombe 2006 CI), tau (= 2 NAP - 1) with CI,
    tau_u (Parker et al. 2011, A vs B - trend A), tau_bc / tau_bc_p / tau_bc_corrected
    (Tarlow 2017), pnd (Scruggs et al. 1987), eligible (at least
    ``min_sessions_per_approach`` rated sessions of each approach).
    """
    if f.is_empty and _has_tables(con, "child_approach_effects") and _stored_current(con):
        return _sql(con, "select * from child_approach_effects order by child_id")
    c = _comparison()
    s = _query(con, "approach_sessions", f.params())
    return _single_case_effects(s, c["min_sessions"], c["confidence"])


def child_comparison(con, child_id: str, f: Filters = Filters()) -> dict:
    """Child-led vs directed engagement of one child: n_child_led, n_directed,
    mean_child_led, mean_directed, mean_difference, nap, nap_lo, nap_hi, tau, tau_lo,
    tau_hi, tau_u, tau_bc, tau_bc_p, tau_bc_corrected, pnd, eligible, reason."""
    c = _comparison()
    s = _query(con, "approach_sessions", {**f.params(), "child_id": child_id})
    res = _single_case_effects(s, c["min_sessions"], c["confidence"])
    if res.empty:
        out = {k: float("nan") for k in _PAIR_COLUMNS if k not in ("child_id", "modality", "age_group",
                                                                   "therapist_id", "team")}
        out.update(n_child_led=0, n_directed=0, eligible=False, tau_bc_corrected=False)
    else:
        r = res.iloc[0]
        out = {k: r[k] for k in _PAIR_COLUMNS if k not in ("child_id", "modality", "age_group", "therapist_id", "team")}
        out = {k: (v.item() if hasattr(v, "item") else v) for k, v in out.items()}
    out["mean_difference"] = out.pop("diff")
    out["child_id"] = child_id
    out["reason"] = None if out["eligible"] else (
        f"fewer than {c['min_sessions']} rated sessions of each approach "
        f"({out['n_child_led']} child-led, {out['n_directed']} directed)")
    return out


def _summarise_pairs(pairs: pd.DataFrame, by: str | None, diff_col: str, with_nap: bool) -> pd.DataFrame:
    """Across-children paired summary per group, with n (children, sessions) in every row."""
    c = _comparison()
    unit = f"children with at least {c['min_sessions']} rated sessions of each approach"
    key = by or "group"
    p = pairs.copy()
    if by is None:
        p["group"] = "all"
    p[key] = p[key].fillna("unknown")
    p["_sessions"] = p["n_child_led"].fillna(0) + p["n_directed"].fillna(0)
    universe = p.groupby(key, sort=True).size().rename("n_children_considered").reset_index()
    if by is None and universe.empty:
        universe = pd.DataFrame({"group": ["all"], "n_children_considered": [0]})
    elig = p[p["eligible"].astype(bool) & p[diff_col].notna()]
    kwargs = dict(min_n=c["min_children"], confidence=c["confidence"], resamples=c["resamples"],
                  seed=c["seed"], unit=unit)
    res = paired_summary_grouped(elig, key, diff_col, **kwargs)
    sessions = elig.groupby(key)["_sessions"].sum().rename("n_sessions")
    out = universe.merge(res, on=key, how="left").merge(sessions, left_on=key, right_index=True, how="left")
    out["n_children"] = out["n"].fillna(0).astype("int64")
    out["n_sessions"] = out["n_sessions"].fillna(0).astype("int64")
    out["reason"] = out["reason"].where(out["n"].notna(), f"fewer than {c['min_children']} {unit}")
    out["reason"] = out["reason"].astype(object).where(out["reason"].notna(), None)
    cols = [key] if by is None else [by]
    if by is not None:
        out["group"] = out[by]
        cols = [by, "group"]
    cols += ["n_children", "n_sessions", "n_children_considered", "mean_diff", "ci_lo", "ci_hi",
             "wilcoxon_stat", "wilcoxon_p", "d_z", "d_z_lo", "d_z_hi"]
    if with_nap:
        elig = elig.assign(_nap_d=elig["nap"] - 0.5)
        rn = paired_summary_grouped(elig, key, "_nap_d", **kwargs)
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
        out = out.assign(_r=_age_rank(out["age_group"])).sort_values("_r").drop(columns="_r")
    return out.reset_index(drop=True)


def approach_effects(con, f: Filters = Filters(), by: str | None = None) -> pd.DataFrame:
    """Child-led vs directed engagement across children (paired within child).

    Each child with at least ``min_sessions_per_approach`` rated sessions of each approach
    gives one difference (mean child-led minus mean directed engagement) and one NAP.
    Per group (``by`` = modality, age_group, team or therapist_id; None = all children;
    a child counts in the group of its latest session): n_children, n_sessions,
    n_children_considered (with any such session), mean_diff with a bootstrap percentile
    CI (ci_lo, ci_hi; Efron & Tibshirani 1993; resamples and seed from settings),
    wilcoxon_stat / wilcoxon_p (signed-rank, Wilcoxon 1945), d_z with d_z_lo/hi (Cohen
    1988; noncentral-t CI), mean_nap with nap_ci_lo/hi (bootstrap) and nap_wilcoxon_p
    (H0: NAP = 0.5), estimated and reason. Below ``min_children`` eligible children the
    row keeps its n and reason and every estimate is NaN.
    """
    _check_by(by, _PAIR_BY)
    return _summarise_pairs(approach_pairs(con, f), by, "diff", with_nap=True)


def approach_gas_pairs(con, f: Filters = Filters()) -> pd.DataFrame:
    """One row per child with GAS ratings in child-led or directed sessions: n_child_led /
    n_directed (rated sessions), n_ratings_*, mean_child_led / mean_directed (mean GAS
    level of the ratings given in each approach), diff, eligible."""
    return _query(con, "approach_gas_children", {**f.params(), "min_sessions": _comparison()["min_sessions"]})


def approach_gas(con, f: Filters = Filters(), by: str | None = None) -> pd.DataFrame:
    """As ``approach_effects`` for goal progress: the within-child difference in mean GAS
    level of ratings given in child-led vs directed sessions (children with at least
    ``min_sessions_per_approach`` rated sessions of each). Observational: if one approach
    is used more later in therapy, when levels are higher, the difference carries that."""
    _check_by(by, _PAIR_BY)
    return _summarise_pairs(approach_gas_pairs(con, f), by, "diff", with_nap=False)


def approach_breakdowns(con, f: Filters = Filters(), outcome: str = "engagement",
                        by: tuple[str | None, ...] = (None, "modality", "age_group", "therapist_id")) -> dict:
    """``approach_effects`` (outcome "engagement") or ``approach_gas`` (outcome "gas") for several
    breakdowns at once, from one pairing of the children: ``{by: DataFrame}``."""
    for b in by:
        _check_by(b, _PAIR_BY)
    if outcome == "engagement":
        pairs, with_nap = approach_pairs(con, f), True
    elif outcome == "gas":
        pairs, with_nap = approach_gas_pairs(con, f), False
    else:
        raise ValueError(f"outcome must be 'engagement' or 'gas'; got {outcome!r}")
    return {b: _summarise_pairs(pairs, b, "diff", with_nap=with_nap) for b in by}


# ----------------------------------------------------------------------------- reliable change


def _reliable_change_compute(con, f: Filters, child_id: str | None = None) -> pd.DataFrame:
    pairs = _query(con, "measure_pairs", {**f.params(), "child_id": child_id})
    ref = load_measure_reference()
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


def reliable_change(con, f: Filters = Filters()) -> pd.DataFrame:
    """Jacobson & Truax (1991) reliable change per child per measure, first vs latest
    administration in the filter: child_id, measure, n_administrations, first/last
    date and score, change, s_diff (sqrt 2 SD sqrt(1 - r), reference/measures.csv),
    reliable_change_threshold (1.96 s_diff), rci, higher_is_better, classification
    ("reliably improved", "no reliable change", "reliably deteriorated", "one
    administration" or "measure not in reference"). Approach filters do not apply."""
    if f.is_empty and _has_tables(con, "measure_change") and _stored_current(con):
        return _sql(con, "select * from measure_change order by child_id, measure")
    return _reliable_change_compute(con, f)


# ----------------------------------------------------------------------------- data quality


def rejects(con, limit: int = 10_000) -> pd.DataFrame:
    """Rows the loads rejected, one row per problem: file, line, column, value, reason
    (the first ``limit``, in file and line order)."""
    return _query(con, "rejected_rows", {"limit": int(limit)})


# ----------------------------------------------------------------------------- flags


def _empty_flags() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in FLAG_COLUMNS})


def _flag_rows(base: pd.DataFrame, code: str, reason: pd.Series, value, threshold: float, since,
               n=None, p=None) -> pd.DataFrame:
    sev, prio, title = FLAG_CODES[code]
    if base.empty:
        return _empty_flags()
    out = pd.DataFrame({
        "child_id": base["child_id"].to_numpy(),
        "flag": code,
        "title": title,
        "severity": sev,
        "severity_label": _SEVERITY_LABEL[sev],
        "priority": prio,
        "reason": reason.to_numpy(),
        "value": np.asarray(value, dtype=float),
        "threshold": float(threshold),
        "since": pd.to_datetime(pd.Series(since).to_numpy()),
        "n": np.asarray(n if n is not None else np.full(len(base), np.nan), dtype=float),
        "p_value": np.asarray(p if p is not None else np.full(len(base), np.nan), dtype=float),
    })
    return out


def compute_flags(con, as_of_date: dt.date | None = None) -> pd.DataFrame:
    """Needs-attention flags for every child, relative to ``as_of_date`` (default: the
    latest session), thresholds from settings.toml [flags]. Sessions after the date are
    ignored. Only children on the current caseload are flagged: a session within
    ``dropout_days + dropout_active_days`` (30 + 90) days before the date.

    * ``engagement_declining``: >= engagement_min_sessions rated sessions in the last
      engagement_window_weeks, and a significant downward Mann-Kendall trend (tau < 0,
      p < engagement_trend_alpha); the reason gives the Theil-Sen slope per week with
      Sen's CI (Theil 1950; Sen 1968; Mann 1945; Kendall 1975).
    * ``gas_stalled``: a goal rated over >= gas_stall_weeks whose latest level is below
      the expected level and not above its level gas_stall_weeks before the latest rating
      (nor above its first level).
    * ``low_attendance``: >= attendance_min_scheduled sessions scheduled in the last
      attendance_window_weeks and attended / scheduled < attendance_min_rate.
    * ``possible_dropout``: no attended session for more than dropout_days, after at least
      one attended session in the dropout_active_days before that. There is no discharge
      field, so a planned discharge looks the same; when every goal was at or above the
      expected level at its latest rating the flag says so and is medium, not high.
    * ``rating_gap``: still attending (an attended session within dropout_days) but no
      goal rating for more than rating_gap_days (counted from the first attended session
      when no goal was ever rated).
    * ``reliable_deterioration``: first vs latest administration of a measure reliably
      worse (Jacobson & Truax 1991 RCI beyond 1.96, direction from reference/measures.csv).

    Columns: child_id, flag, title, severity (3 high, 2 medium, 1 low), severity_label,
    priority, reason (plain language with the numbers), value, threshold, since, n,
    p_value, therapist_id, team, modality, age_group, as_of; most urgent first.
    """
    return _compute_flags(con, as_of_date)


def _compute_flags(con, as_of_date: dt.date | None, goals: pd.DataFrame | None = None,
                   rc: pd.DataFrame | None = None, recent: pd.DataFrame | None = None) -> pd.DataFrame:
    """``compute_flags``; ``goals`` (goal_summary up to the date), ``rc`` (reliable change up
    to the date) and ``recent`` (``_recent_trends``) may be passed when already computed."""
    as_of_date = as_of_date or as_of(con)
    if as_of_date is None:
        return _empty_flags()
    fc = _flag_cfg()
    conf = _comparison()["confidence"]
    exp_level = _expected_level()
    status = _query(con, "flag_child_status", {
        "as_of": as_of_date, "attendance_days": 7 * fc["attendance_window_weeks"],
        "dropout_days": fc["dropout_days"], "active_days": fc["dropout_active_days"],
        "expected_level": exp_level})
    if status.empty:
        return _empty_flags()
    caseload_days = fc["dropout_days"] + fc["dropout_active_days"]
    status = status[status["days_since_session"] <= caseload_days].reset_index(drop=True)
    on_caseload = set(status["child_id"])
    parts: list[pd.DataFrame] = []

    # engagement trending down over the last N weeks
    weeks = fc["engagement_window_weeks"]
    window_from = as_of_date - dt.timedelta(days=7 * weeks - 1)
    if recent is None:
        recent = _recent_trends(_query(con, "rated_sessions", {"date_from": window_from, "date_to": as_of_date}),
                                as_of_date)
    tr = recent[recent["child_id"].isin(on_caseload)]
    if len(tr):
        hit = tr[(tr["n"] >= fc["engagement_min_sessions"]) & (tr["kendall_tau"] < 0)
                 & (tr["p_value"] < fc["engagement_trend_alpha"])].reset_index(drop=True)
        reason = ("Engagement trending down over the last " + str(weeks) + " weeks: Mann-Kendall tau "
                  + _fmt(hit["kendall_tau"], ".2f") + " (p = " + _fmt(hit["p_value"], ".3f") + ", "
                  + _plural(hit["n"], "rated session") + "); Theil-Sen slope "
                  + _fmt(hit["slope"] + 0.0, ".2f") + " points a week (" + f"{conf:.0%}" + " CI "
                  + _fmt(hit["slope_lo"] + 0.0, ".2f") + " to " + _fmt(hit["slope_hi"] + 0.0, ".2f") + ").")
        parts.append(_flag_rows(hit, "engagement_declining", reason, hit["slope"], 0.0,
                                np.full(len(hit), _ts(window_from)), hit["n"], hit["p_value"]))

    # no GAS improvement after N weeks on a goal
    stall_days = 7 * fc["gas_stall_weeks"]
    if goals is None:
        goals = _query(con, "goal_summary", {"date_to": as_of_date, "expected_level": exp_level,
                                             "stall_days": stall_days})
    if len(goals):
        g = goals[goals["child_id"].isin(on_caseload)]
        span = (g["last_date"] - g["first_date"]).dt.days
        not_better = ((g["last_level"] <= g["reference_level"]) | (g["last_level"] <= g["first_level"]))
        keep = ((span >= stall_days) & (g["last_level"] < exp_level) & not_better).fillna(False).astype(bool)
        stalled = g[keep].copy()
        if len(stalled):
            stalled = stalled.sort_values(["child_id", "weeks_rated"], ascending=[True, False])
            stalled["detail"] = (stalled["goal_id"].astype(str) + ": level " + _fmt(stalled["last_level"], "+.0f")
                                 + " on " + _fmt_date(stalled["last_date"]) + ", was "
                                 + _fmt(stalled["reference_level"], "+.0f") + " on "
                                 + _fmt_date(stalled["reference_rated_on"]) + " (" + str(fc["gas_stall_weeks"])
                                 + "+ weeks before) and " + _fmt(stalled["first_level"], "+.0f")
                                 + " at its first rating on " + _fmt_date(stalled["first_date"]))
            per = stalled.groupby("child_id", sort=True).agg(
                n_goals=("goal_uid", "size"), max_weeks=("weeks_rated", "max"),
                since=("reference_rated_on", "min"))
            per["detail"] = _join_per_group(stalled["child_id"], stalled["detail"], "; ")
            per = per.reset_index()
            reason = ("No GAS improvement for " + str(fc["gas_stall_weeks"]) + "+ weeks on "
                      + _plural(per["n_goals"], "goal") + ", still below the expected level: "
                      + per["detail"] + ".")
            parts.append(_flag_rows(per, "gas_stalled", reason, per["max_weeks"], fc["gas_stall_weeks"],
                                    per["since"], per["n_goals"]))

    # attendance under the minimum rate in the last N weeks
    aw = fc["attendance_window_weeks"]
    low = status[(status["window_scheduled"] >= fc["attendance_min_scheduled"])
                 & (status["window_attendance_rate"] < fc["attendance_min_rate"])].reset_index(drop=True)
    if len(low):
        reason = ("Attended " + low["window_attended"].astype(str) + " of "
                  + low["window_scheduled"].astype(str) + " scheduled sessions ("
                  + _fmt(low["window_attendance_rate"], ".0%") + ") in the last " + str(aw)
                  + " weeks, below " + f"{fc['attendance_min_rate']:.0%}" + ": "
                  + _plural(low["window_no_show"], "no-show") + ", "
                  + _plural(low["window_cancelled"], "cancellation") + ".")
        parts.append(_flag_rows(low, "low_attendance", reason, low["window_attendance_rate"],
                                fc["attendance_min_rate"],
                                np.full(len(low), _ts(as_of_date - dt.timedelta(days=7 * aw - 1))),
                                low["window_scheduled"]))

    # possible drop-out
    dd = fc["dropout_days"]
    drop = status[(status["days_since_attended"] > dd) & (status["attended_before_gap"] >= 1)].reset_index(drop=True)
    if len(drop):
        all_met = ((drop["n_goals"] > 0) & (drop["n_goals_met"] == drop["n_goals"])).to_numpy()
        reason = ("No attended session for " + drop["days_since_attended"].astype("int64").astype(str)
                  + " days (last on " + _fmt_date(drop["last_attended"]) + "), after "
                  + _plural(drop["attended_before_gap"], "attended session") + " in the "
                  + str(fc["dropout_active_days"]) + " days before"
                  + np.where(drop["missed_recent"] > 0,
                             "; " + _plural(drop["missed_recent"], "scheduled session") + " missed in the last "
                             + str(dd) + " days", "")
                  + np.where(all_met, ". Every goal was at or above the expected level at its latest rating: "
                             "if this was a planned discharge, record it.", ". Possible drop-out."))
        rows = _flag_rows(drop, "possible_dropout", reason, drop["days_since_attended"], dd,
                          drop["last_attended"], drop["attended_before_gap"])
        rows.loc[all_met, "severity"] = 2  # likely a planned discharge: less urgent
        rows.loc[all_met, "severity_label"] = _SEVERITY_LABEL[2]
        parts.append(rows)

    # no goal rating while still attending
    gd = fc["rating_gap_days"]
    gap = status[(status["attended_recent"] >= 1) & (status["days_since_rating"] > gd)].reset_index(drop=True)
    if len(gap):
        never = gap["last_rating"].isna()
        reason = pd.Series(np.where(
            never,
            "No goal rated in " + gap["days_since_rating"].astype("int64").astype(str)
            + " days of attendance (first attended " + _fmt_date(gap["first_attended"]) + "); "
            + _plural(gap["attended_since_rating"].fillna(0), "session") + " attended. Data gap.",
            "No goal rating for " + gap["days_since_rating"].astype("int64").astype(str) + " days (last on "
            + _fmt_date(gap["last_rating"]) + ") while still attending: "
            + _plural(gap["attended_since_rating"].fillna(0), "session") + " attended since. Data gap."))
        parts.append(_flag_rows(gap, "rating_gap", reason, gap["days_since_rating"], gd,
                                gap["last_rating"].fillna(gap["first_attended"]), gap["attended_since_rating"]))

    # reliable deterioration on a standardised measure
    if rc is None:
        rc = _reliable_change_compute(con, Filters(date_to=as_of_date))
    if len(rc):
        det = rc[(rc["classification"] == DETERIORATED) & rc["child_id"].isin(on_caseload)].reset_index(drop=True)
        if len(det):
            reason = ("Reliable deterioration on " + det["measure"].astype(str) + ": "
                      + _fmt(det["first_score"], "g") + " on " + _fmt_date(det["first_date"]) + " to "
                      + _fmt(det["last_score"], "g") + " on " + _fmt_date(det["last_date"])
                      + " (RCI " + _fmt(det["rci"], "+.2f") + "; beyond +-1.96 is reliable, "
                      + np.where(det["higher_is_better"].astype(bool), "higher", "lower") + " is better).")
            parts.append(_flag_rows(det, "reliable_deterioration", reason, det["rci"], 1.96, det["last_date"],
                                    det["n_administrations"]))

    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty_flags()
    out = pd.concat(parts, ignore_index=True)
    attrs = status.set_index("child_id")[["therapist_id", "team", "modality", "age_group"]]
    out = out.join(attrs, on="child_id")
    out["as_of"] = _ts(as_of_date)
    out = out.sort_values(["severity", "priority", "child_id"], ascending=[False, True, True])
    return out[FLAG_COLUMNS].reset_index(drop=True)


def _stored_meta(con) -> dict | None:
    if not _has_tables(con, "analytics_meta"):
        return None
    df = _sql(con, "select * from analytics_meta")
    if df.empty:
        return None
    r = df.iloc[0]
    return {"as_of": _as_date(r["as_of"]) if pd.notna(r["as_of"]) else None, "settings_key": r["settings_key"],
            "sessions": int(r["sessions"]),
            "max_load_seq": None if pd.isna(r["max_load_seq"]) else int(r["max_load_seq"])}


def _data_version(con) -> dict:
    """What the stored tables were computed from: session count, latest session, latest load
    (practice-wide, also on a scoped connection)."""
    if isinstance(con, ScopedConnection):
        return dict(con.practice_facts)
    has_files = _has_tables(con, "files")
    r = _sql(con, "select count(*) as n, max(session_date) as d from sessions").iloc[0]
    seq = _sql(con, "select max(load_seq) as s from files")["s"].iloc[0] if has_files else None
    return {"sessions": int(r["n"]), "as_of": _as_date(r["d"]) if pd.notna(r["d"]) else None,
            "max_load_seq": None if seq is None or pd.isna(seq) else int(seq)}


def _stored_current(con) -> bool:
    """Whether the stored tables were built from the current data and settings."""
    meta = _stored_meta(con)
    if meta is None:
        return False
    now = _data_version(con)
    return (meta["settings_key"] == _settings_key() and meta["sessions"] == now["sessions"]
            and meta["as_of"] == now["as_of"] and meta["max_load_seq"] == now["max_load_seq"])


def flags(con, f: Filters = Filters()) -> pd.DataFrame:
    """Needs-attention flags (see ``compute_flags``), most urgent first, as of the filter's
    date_to (not later than the latest session) or the latest session. Filtered by the
    child's modality, age group, team and therapist as of that date; date_from and the
    approach filter do not apply (flags look at fixed windows before the as-of date)."""
    when = _as_of_for(con, f)
    if when is None:
        return _empty_flags()
    meta = _stored_meta(con) if _has_tables(con, "child_flags") else None
    if meta is not None and meta["as_of"] == when and _stored_current(con):
        fl = _sql(con, "select * from child_flags")
    else:
        fl = compute_flags(con, when)
    if fl.empty:
        return fl
    keep = np.ones(len(fl), bool)
    for col, values in (("modality", f.modalities), ("age_group", f.age_groups), ("team", f.teams),
                        ("therapist_id", f.therapists)):
        if values:
            keep &= fl[col].isin(values).to_numpy()
    fl = fl[keep].sort_values(["severity", "priority", "child_id"], ascending=[False, True, True])
    return fl.reset_index(drop=True)


# ----------------------------------------------------------------------------- transform-time tables


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


def build_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Compute the practice-wide analytics tables (a ``transform.POST_STEPS`` step).

    Runs on ``con`` itself (the writer during a load). Returns the tables written.
    """
    c = _SameConnection(con)
    when = as_of(c)
    empty = Filters()
    cmp_ = _comparison()
    goals = _query(c, "goal_summary", {"expected_level": _expected_level(),
                                       "stall_days": 7 * _flag_cfg()["gas_stall_weeks"]})
    rc = _reliable_change_compute(c, empty)
    trends = _child_trends_compute(c, empty, when)
    recent = trends.loc[trends["recent_n"] > 0, ["child_id", "recent_n", "recent_slope_per_week", "recent_slope_lo",
                                                 "recent_slope_hi", "recent_kendall_tau", "recent_p_value"]]
    recent.columns = _TREND_COLUMNS
    tables = {
        # everything is up to the latest session, so the whole-history inputs are the as-of ones
        "child_flags": _compute_flags(c, when, goals=goals, rc=rc, recent=recent),
        "child_trends": trends,
        "child_approach_effects": _single_case_effects(_query(c, "approach_sessions", empty.params()),
                                                       cmp_["min_sessions"], cmp_["confidence"]),
        "gas_reviews": _gas_reviews_compute(c),
        "goal_progress": goals,
        "measure_change": rc,
    }
    for name, df in tables.items():
        _write_table(c, name, df)
    counts = _data_version(c)
    meta = pd.DataFrame({
        "as_of": [pd.Timestamp(when) if when else pd.NaT],
        "built_at": [pd.Timestamp(dt.datetime.now())],
        "settings_key": [_settings_key()],
        "settings_json": [json.dumps(_cfg(), sort_keys=True, default=str)],
        "sessions": [counts["sessions"]],
        "max_load_seq": [counts["max_load_seq"]],
    })
    meta["as_of"] = meta["as_of"].astype("datetime64[us]")
    _write_table(c, "analytics_meta", meta)
    return list(tables) + ["analytics_meta"]
