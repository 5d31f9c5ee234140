"""Who may see which children: the viewer's scope, enforced where the data is read.

A ``Scope`` is what one signed-in person may see:

* **lead**: the whole practice;
* **supervisor**: the children of their team(s) -- every child with a session booked with
  a therapist of the team -- and, if they also carry a therapist id, their own caseload;
* **therapist**: their caseload -- every child with a session booked with them (attended
  or not: a child who missed their first appointment is still on the caseload).

For the children in scope the whole record is visible (a child seen in OT and speech
shows both). Enforcement is in the data layer, not in the pages: ``scoped(con, scope)``
returns a connection whose every cursor sees the warehouse through temporary views that
shadow each table with a ``child_id`` (DuckDB resolves the temp catalog first, also
inside the warehouse's own views), filtered to the children in scope, and that empty the
tables holding raw export rows (``rejects``, ``files``). Every analytics function, the
meeting pack and the exports run on such a connection, so a page that forgets a filter,
or a URL that names another child or team, still finds nothing outside the scope.

Non-leads may also see **de-identified practice figures** (``practice_aggregate``): the
aggregate-only functions run on the whole practice, over whole calendar months, without
the team and therapist filters; every figure resting on fewer than ``[privacy]
small_cell_min`` children is suppressed (primary suppression: a count of individuals
below the threshold, and every figure derived from it, is hidden), and a second cell is
hidden wherever a breakdown would otherwise give a hidden one back by subtraction
(secondary suppression). What this does not stop: comparing figures of overlapping
periods or of different filters can still narrow a small group down; the figures are for
staff of the practice, and packs shared beyond it use the meeting pack's suppression.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from pipelines import settings as settings_mod, warehouse

ROLES = ("lead", "supervisor", "therapist")
ROLE_LABELS = {"lead": "clinical lead", "supervisor": "supervisor", "therapist": "therapist"}
# tables without child_id that hold no child data and stay visible to every role
PRACTICE_TABLES = frozenset({"age_group_bands", "analytics_meta", "load_runs"})
# the analytics functions that return only aggregates (practice figures for non-leads)
AGGREGATE_FUNCTIONS = frozenset({"kpis", "kpis_by", "monthly_trends", "group_grid", "approach_breakdowns"})
AGGREGATE_BY = ("modality", "age_group", "approach")


@dataclass(frozen=True)
class Scope:
    """The children one viewer may see. Hashable (part of the dashboard's cache keys)."""

    role: str
    teams: tuple[str, ...] = ()
    therapist_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}; got {self.role!r}")
        teams = (self.teams,) if isinstance(self.teams, str) else tuple(self.teams or ())
        object.__setattr__(self, "teams", tuple(str(t) for t in teams))
        tid = self.therapist_id
        object.__setattr__(self, "therapist_id", str(tid).strip() if tid not in (None, "") else None)
        if self.role == "supervisor" and not self.teams:
            raise ValueError("a supervisor needs at least one team")
        if self.role == "therapist" and not self.therapist_id:
            raise ValueError("a therapist needs a therapist id")

    @classmethod
    def everything(cls) -> Scope:
        """The lead's scope: the whole practice."""
        return cls("lead")

    @property
    def is_everything(self) -> bool:
        return self.role == "lead"

    def describe(self) -> str:
        """Plain words for the page header: what this viewer sees."""
        if self.is_everything:
            return "the whole practice"
        parts = []
        if self.teams:
            parts.append(("team " if len(self.teams) == 1 else "teams ") + ", ".join(self.teams))
        if self.therapist_id:
            parts.append(f"the caseload of therapist {self.therapist_id}")
        return "children of " + " and ".join(parts)


def small_cell_min() -> int:
    """``[privacy] small_cell_min`` of settings.toml: the fewest children a shown figure rests on."""
    return int(settings_mod.load().get("privacy", {}).get("small_cell_min", 5))


def _base_cursor(con) -> duckdb.DuckDBPyConnection:
    if isinstance(con, ScopedConnection):
        raise TypeError("already scoped")
    return warehouse.cursor(con)


@dataclass
class ScopedConnection:
    """A connection whose cursors see only the children in ``scope`` (see the module doc).

    ``practice_facts`` are practice-wide figures that carry no child data (latest session
    date, session count, latest load): "as of" dates and the freshness of stored tables
    stay those of the practice, so a therapist's flags are exactly the lead's flags for
    the same children.
    """

    base: duckdb.DuckDBPyConnection
    scope: Scope
    children: list[str] = field(default_factory=list)
    tables: dict[str, bool] = field(default_factory=dict)   # table -> has child_id
    practice_facts: dict[str, Any] = field(default_factory=dict)
    catalog: str = "wh"
    _cur: duckdb.DuckDBPyConnection | None = field(default=None, repr=False)

    def cursor(self) -> _Borrowed:
        """The scoped cursor (made on first use, then shared by every query of this connection).

        A ScopedConnection lives for one call in one thread (``dashboard.data``), so its
        queries run one after another; setting the views up once instead of per query is
        most of the cost of scoping (``benchmarks/bench_scope.py``). Closing what this
        returns does nothing; ``close()`` closes the cursor.
        """
        if self._cur is None:
            self._cur = self._new_cursor()
        return _Borrowed(self._cur)

    def _new_cursor(self) -> duckdb.DuckDBPyConnection:
        cur = warehouse.cursor(self.base)
        try:
            cur.execute("create temp table _scope_children as select unnest($ids::varchar[]) as child_id",
                        {"ids": self.children})
            for name, has_child in self.tables.items():
                # identifiers come from the warehouse catalog, never from a user
                source = f"{_ident(self.catalog)}.main.{_ident(name)}"
                keep = "child_id in (select child_id from temp.main._scope_children)" if has_child else "false"
                cur.execute(f"create temp view {_ident(name)} as select * from {source} where {keep}")
        except BaseException:
            cur.close()
            raise
        return cur

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()
            self._cur = None


class _Borrowed:
    """The shared scoped cursor, lent to one query: ``close()`` leaves it open."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self._cur = cur

    def __getattr__(self, name: str):
        return getattr(self._cur, name)

    def close(self) -> None:
        pass


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def scope_children(con, scope: Scope) -> list[str]:
    """The pseudonymous ids of the children in ``scope`` (sorted)."""
    cur = _base_cursor(con)
    try:
        rows = cur.execute(
            "select distinct child_id from sessions "
            "where (therapist_id = $tid) or (len($teams::varchar[]) > 0 and list_contains($teams::varchar[], team)) "
            "order by child_id",
            {"tid": scope.therapist_id, "teams": list(scope.teams)}).fetchall()
    finally:
        cur.close()
    return [r[0] for r in rows]


def _facts(cur) -> dict[str, Any]:
    r = cur.execute("select count(*), max(session_date) from sessions").fetchall()[0]
    has_files = cur.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                            "and schema_name = 'main' and table_name = 'files'").fetchall()[0][0]
    seq = cur.execute("select max(load_seq) from files").fetchall()[0][0] if has_files else None
    as_of = r[1].date() if isinstance(r[1], dt.datetime) else r[1]
    return {"sessions": int(r[0]), "as_of": as_of, "max_load_seq": None if seq is None else int(seq)}


@dataclass(frozen=True)
class ScopeMeta:
    """What a scoped connection needs to know, fixed for one warehouse version and scope
    (the dashboard caches it per version): the children, the tables, the practice facts."""

    children: tuple[str, ...]
    tables: tuple[tuple[str, bool], ...]
    practice_facts: tuple[tuple[str, Any], ...]
    catalog: str


def scoped(con, scope: Scope, meta: ScopeMeta | None = None):
    """``con`` itself for the lead; otherwise a ``ScopedConnection`` limited to ``scope``.

    ``con`` is a warehouse reader (``warehouse.connect_reader``) or one of its cursors;
    ``meta`` is ``scope_meta(con, scope)`` when the caller has it already.
    """
    if scope.is_everything:
        return con
    m = meta or scope_meta(con, scope)
    return ScopedConnection(con, scope, list(m.children), dict(m.tables), dict(m.practice_facts), m.catalog)


def scope_meta(con, scope: Scope) -> ScopeMeta:
    """The children in ``scope``, the warehouse's tables and the practice facts (three queries)."""
    cur = _base_cursor(con)
    try:
        rows = cur.execute(
            "select t.table_name, bool_or(c.column_name = 'child_id') from duckdb_tables() t "
            "join duckdb_columns() c on c.database_name = t.database_name and c.schema_name = t.schema_name "
            "and c.table_name = t.table_name "
            "where t.database_name = current_database() and t.schema_name = 'main' group by t.table_name"
        ).fetchall()
        tables = {name: bool(has) for name, has in rows if has or name not in PRACTICE_TABLES}
        facts = _facts(cur) if "sessions" in tables else {"sessions": 0, "as_of": None, "max_load_seq": None}
        catalog = cur.execute("select current_database()").fetchall()[0][0]
    finally:
        cur.close()
    children = scope_children(con, scope) if "sessions" in tables and not scope.is_everything else []
    return ScopeMeta(tuple(children), tuple(tables.items()), tuple(facts.items()), catalog)


# ----------------------------------------------------------------------------- practice figures

_ENGAGEMENT_COLS = ("mean_engagement", "engagement_se", "engagement_ci_lo", "engagement_ci_hi",
                    "share_high_engagement", "n_rated", "n_rated_high")
_GAS_COLS = ("median_gas_t",)
_GOAL_COLS = ("n_goals", "goals_at_expected", "share_goals_at_expected")


def suppress_small_cells(df: pd.DataFrame, k: int | None = None) -> pd.DataFrame:
    """``df`` (one row per group) with figures resting on fewer than ``k`` children hidden.

    A row with ``n_children < k`` loses every number (counts included) and gets
    ``suppressed = True``; otherwise engagement figures are hidden when ``n_children_rated
    < k``, goal figures when the goals belong to fewer than ``k`` children
    (``n_children_goals``) and the median GAS T-score when ``n_children_gas < k``. Hidden
    values are NaN. Primary suppression only; ``practice_aggregate`` adds the secondary.
    """
    k = small_cell_min() if k is None else int(k)
    out = df.copy()
    numeric = [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])]
    small = (out["n_children"].fillna(0) < k).to_numpy() if "n_children" in out else np.zeros(len(out), bool)
    for c in numeric:
        out[c] = out[c].astype("float64").mask(small)
    for counter, cols in (("n_children_rated", _ENGAGEMENT_COLS), ("n_children_gas", _GAS_COLS),
                          ("n_children_goals", _GOAL_COLS)):
        if counter in out:
            few = (out[counter].fillna(0) < k).to_numpy()
            for c in cols:
                if c in out:
                    out[c] = out[c].astype("float64").mask(few)
            out[counter] = out[counter].astype("float64").mask(few | small)
    out["suppressed"] = small
    return out


def secondary_suppression(df: pd.DataFrame, partitions: list[list[str]]) -> pd.DataFrame:
    """Hide a second cell wherever a partition has exactly one hidden cell.

    A breakdown shown next to its total (the practice, a month) would otherwise give the
    hidden cell back by subtraction: total minus the cells shown. Within every group of rows
    sharing the columns of a partition (e.g. the same month; the same modality, then the
    same age group of a grid), when exactly one row is suppressed the smallest other row
    (fewest children) is suppressed too; repeated until nothing changes (complementary
    suppression as in Hundepool et al., *Statistical Disclosure Control*, 2012, ch. 4).
    """
    out = df.copy()
    if "suppressed" not in out or out.empty:
        return out
    size = pd.to_numeric(df["n_children"], errors="coerce").fillna(0).to_numpy()
    hidden = out["suppressed"].to_numpy(copy=True).astype(bool)
    changed = True
    while changed:
        changed = False
        for cols in partitions:
            keys = out[cols].astype(str).agg("\x1f".join, axis=1) if cols else pd.Series("all", index=out.index)
            for _, idx in pd.Series(np.arange(len(out)), index=out.index).groupby(keys.to_numpy()):
                pos = idx.to_numpy()
                if len(pos) > 1 and hidden[pos].sum() == 1:
                    visible = pos[~hidden[pos]]
                    hidden[visible[np.argmin(size[visible])]] = True
                    changed = True
    newly = hidden & ~out["suppressed"].to_numpy().astype(bool)
    numeric = [c for c in out.columns if pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c])]
    for c in numeric:
        out[c] = out[c].astype("float64").mask(newly)
    out["suppressed"] = hidden
    return out


def whole_months(f):
    """``f`` with its dates widened to whole calendar months (practice figures: a day added
    to or taken from a period must not isolate the sessions of that day)."""
    d_from = f.date_from.replace(day=1) if f.date_from else None
    d_to = None
    if f.date_to:
        nxt = (f.date_to.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        d_to = nxt - dt.timedelta(days=1)
    return replace(f, date_from=d_from, date_to=d_to)


def previous_whole_months(f):
    """The same number of whole calendar months immediately before ``whole_months(f)``."""
    fm = whole_months(f)
    if fm.date_from is None or fm.date_to is None:
        raise ValueError("previous_whole_months needs both dates")
    months = (fm.date_to.year - fm.date_from.year) * 12 + fm.date_to.month - fm.date_from.month + 1
    y, m = divmod(fm.date_from.year * 12 + fm.date_from.month - 1 - months, 12)
    return replace(fm, date_from=dt.date(y, m + 1, 1), date_to=fm.date_from - dt.timedelta(days=1))


def _suppress_block(block: dict | None, k: int) -> dict | None:
    if block is None:
        return None
    row = suppress_small_cells(pd.DataFrame([block]), k).iloc[0]
    return {key: (row[key] if key in ("date_from", "date_to") else
                  (None if pd.isna(row[key]) else row[key]) if key != "suppressed" else bool(row[key]))
            for key in [*block, "suppressed"]}


def practice_aggregate(con, name: str, f, **kwargs: Any) -> Any:
    """De-identified practice figures for any role: ``analytics.<name>`` on the whole practice.

    Only the aggregate functions (``AGGREGATE_FUNCTIONS``; ``approach_breakdowns`` gives the
    within-child child-led vs directed summaries per group, never the children) are allowed; the team and
    therapist filters are dropped (practice figures are not a way to look at a colleague's
    caseload) and so is a ``by`` other than modality, age group or approach; figures on
    fewer than ``[privacy] small_cell_min`` children are suppressed (``suppress_small_cells``).
    """
    from pipelines import analytics  # late: analytics imports this module

    if name not in AGGREGATE_FUNCTIONS:
        raise PermissionError(f"{name} is not a practice aggregate")
    by = kwargs.get("by")
    for b in (by if isinstance(by, (tuple, list)) else (by,)):
        if b is not None and b not in AGGREGATE_BY:
            raise PermissionError(f"practice figures by {b} are not available; use one of {', '.join(AGGREGATE_BY)}")
    f = whole_months(replace(f, teams=(), therapists=()))
    k = small_cell_min()
    if name == "kpis":  # this period and the same number of whole months before it
        f = whole_months(analytics.resolve(con, f))
        result = analytics.kpis(con, f, previous=previous_whole_months(f))
        return {"current": _suppress_block(result["current"], k), "previous": _suppress_block(result["previous"], k)}
    result = getattr(analytics, name)(con, f, **kwargs)
    if name == "approach_breakdowns":  # {by: one row per group}; each breakdown against its total
        out_blocks = {}
        for b, block in result.items():
            d = suppress_small_cells(block, k)
            if b is not None:
                d = secondary_suppression(d, [[]])
            d["estimated"] = d["estimated"].astype(bool) & ~d["suppressed"]
            out_blocks[b] = d
        return out_blocks
    out = suppress_small_cells(result, k)
    if name == "group_grid":
        out = secondary_suppression(out, [["modality"], ["age_group"]])
        out["below_min_n"] = out["below_min_n"] | out["suppressed"]
    elif by is not None:
        out = secondary_suppression(out, [["month_start"]] if "month_start" in out else [[]])
    return out
