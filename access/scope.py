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
the team, therapist and approach filters, on a ``PracticeConnection``: the practice seen
through cells of modality x age group x calendar month, where a cell whose sessions belong
to fewer than ``[privacy] small_cell_min`` children is left out of every practice figure
(its engagement ratings, or goal ratings, when those belong to fewer). Every practice
figure -- headline figures, trends, the grid and its margins, any combination of
modalities, age groups and months -- is then a sum over cells that are shown, so two
figures differ by shown cells only and no subtraction brings a hidden cell back (the
attack of issue 11: "modality m, all ages" minus "modality m, every age but a"). On top,
a group shown with fewer than that many children is hidden (primary suppression), and
the within-child approach comparison, given for the whole practice and by modality and
by age group whatever the filters, hides a second group wherever its total would give a
hidden one back. The rules and what they do not cover are in ``access.disclosure``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pandas as pd

from access import disclosure
from pipelines import queries, settings as settings_mod, warehouse
from access.disclosure import secondary_suppression, small_cell_min, suppress_small_cells  # noqa: F401 (re-exported)

ROLES = ("lead", "supervisor", "therapist")
ROLE_LABELS = {"lead": "clinical lead", "supervisor": "supervisor", "therapist": "therapist"}
# tables without child_id that hold no child data and stay visible to every role
PRACTICE_TABLES = frozenset({"age_group_bands", "analytics_meta", "load_runs"})
# the analytics functions that return only aggregates (practice figures for non-leads)
AGGREGATE_FUNCTIONS = frozenset({"kpis", "kpis_by", "monthly_trends", "group_grid", "approach_breakdowns"})
AGGREGATE_BY = ("modality", "age_group")  # practice breakdowns: the grain of the practice cells


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


@dataclass
class PracticeConnection(ScopedConnection):
    """The whole practice seen through the practice cells (``access.disclosure`` rule 3).

    Its cursor's ``sessions`` keep only the sessions of cells that enter practice figures
    (with the engagement rating dropped where the cell's rated children are too few), its
    ``goal_ratings`` only the ratings of cells whose goal-rated children are enough, and
    every other table holding children is empty. ``cells`` is ``disclosure.practice_cells``
    of the practice (one row per modality x age group x month, with the keep flags).
    """

    cells: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _new_cursor(self) -> duckdb.DuckDBPyConnection:
        cur = warehouse.cursor(self.base)
        c = self.cells
        try:
            cur.execute(
                "create temp table _practice_cells as select unnest($modality::varchar[]) as modality, "
                "unnest($age_group::varchar[]) as age_group, unnest($month_start::date[]) as month_start, "
                "unnest($keep_sessions::boolean[]) as keep_sessions, "
                "unnest($keep_engagement::boolean[]) as keep_engagement, unnest($keep_goals::boolean[]) as keep_goals",
                {"modality": _texts(c["modality"]), "age_group": _texts(c["age_group"]),
                 "month_start": [None if pd.isna(d) else pd.Timestamp(d).date() for d in c["month_start"]],
                 **{k: [bool(v) for v in c[k]] for k in ("keep_sessions", "keep_engagement", "keep_goals")}})
            on = ("on t.modality is not distinct from c.modality and t.age_group is not distinct from c.age_group "
                  "and t.month_start = c.month_start")
            for name in self.tables:
                # identifiers come from the warehouse catalog, never from a user
                source = f"{_ident(self.catalog)}.main.{_ident(name)}"
                if name == "sessions":
                    body = (f"select t.* replace (case when c.keep_engagement then t.engagement end as engagement) "
                            f"from {source} as t join temp.main._practice_cells as c {on} where c.keep_sessions")
                elif name == "goal_ratings":
                    body = f"select t.* from {source} as t join temp.main._practice_cells as c {on} where c.keep_goals"
                else:
                    body = f"select * from {source} where false"
                cur.execute(f"create temp view {_ident(name)} as {body}")
        except BaseException:
            cur.close()
            raise
        return cur


def _texts(values: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) else str(v) for v in values]


def practice_connection(con, k: int | None = None) -> PracticeConnection:
    """A ``PracticeConnection`` of the warehouse reader ``con`` (or one of its cursors)."""
    meta = scope_meta(con, Scope.everything())
    tables = dict(meta.tables)
    if "sessions" in tables and "goal_ratings" in tables:
        cur = _base_cursor(con)
        try:
            cells = cur.execute(queries.sql("practice_cells")).df()
        finally:
            cur.close()
    else:
        cells = pd.DataFrame(columns=["modality", "age_group", "month_start", "n_children", "n_children_rated",
                                      "n_children_goals"])
    cells["month_start"] = pd.to_datetime(cells["month_start"])
    return PracticeConnection(con, Scope.everything(), [], tables, dict(meta.practice_facts), meta.catalog,
                              cells=disclosure.practice_cells(cells, k))


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


def practice_filters(f):
    """The filters practice figures honour: whole calendar months, modalities and age groups
    (the grain of the practice cells); never a team, a therapist or an approach."""
    return whole_months(replace(f, teams=(), therapists=(), approaches=()))


def _present(cells: pd.DataFrame, f) -> pd.DataFrame:
    """The practice cells of ``f`` (its months, modalities and age groups) that hold sessions,
    kept or not: which groups exist, so a group left out shows as hidden, not as absent."""
    c = cells[cells["n_children"] > 0]
    if f.date_from is not None:
        c = c[c["month_start"] >= pd.Timestamp(f.date_from)]
    if f.date_to is not None:
        c = c[c["month_start"] <= pd.Timestamp(f.date_to)]
    if f.modalities:
        c = c[c["modality"].isin(f.modalities)]
    if f.age_groups:
        c = c[c["age_group"].isin(f.age_groups)]
    return c


def _with_hidden_groups(out: pd.DataFrame, present: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``out`` (suppressed rows of groups) plus one hidden row (``suppressed``, no figures)
    for every group of ``keys`` that holds sessions but whose cells were all left out; rows
    in the order of ``keys`` (age groups in band order)."""
    have = set(map(tuple, out[keys].astype(str).to_numpy())) if len(out) else set()
    missing = present[keys].drop_duplicates()
    missing = missing[[tuple(r) not in have for r in missing.astype(str).to_numpy()]]
    if len(missing):
        extra = pd.DataFrame({c: missing[c].to_numpy() for c in keys})
        extra["suppressed"] = True
        if "group" in out.columns:
            extra["group"] = extra[keys[-1]]
        if len(out):
            out = pd.concat([out, extra], ignore_index=True)
        else:
            out = extra.reindex(columns=list(dict.fromkeys([*out.columns, *extra.columns])))
        out["suppressed"] = out["suppressed"].astype("boolean").fillna(True).astype(bool)
    bands = {label: i for i, (label, _, _) in enumerate(settings_mod.age_groups())}
    order = [out[c].map(bands).fillna(len(bands)) if c == "age_group" else out[c] for c in keys]
    sort = pd.DataFrame({f"_k{i}": v for i, v in enumerate(order)}, index=out.index)
    sort["_name"] = out[keys[-1]].astype(str)
    return out.loc[sort.sort_values([*sort.columns], kind="stable").index].reset_index(drop=True)


def _suppress_block(block: dict | None, k: int, present: bool) -> dict | None:
    if block is None:
        return None
    row = suppress_small_cells(pd.DataFrame([block]), k).iloc[0]
    out = {key: (row[key] if key in ("date_from", "date_to") else
                 (None if pd.isna(row[key]) else row[key]) if key != "suppressed" else bool(row[key]))
           for key in [*block, "suppressed"]}
    if present and not out.get("n_children"):  # sessions exist, but every cell of them is left out
        out.update({key: None for key in block if key not in ("date_from", "date_to")}, suppressed=True)
    return out


def practice_aggregate(con, name: str, f, **kwargs: Any) -> Any:
    """De-identified practice figures for any role: ``analytics.<name>`` on the whole practice.

    Only the aggregate functions (``AGGREGATE_FUNCTIONS``) are allowed, by modality or age
    group only (``AGGREGATE_BY``). The filters are ``practice_filters(f)``: whole calendar
    months, modalities and age groups, no team, therapist or approach. Every figure is
    computed on ``practice_connection(con)``: from the practice cells that are shown
    (``access.disclosure`` rule 3), so no two figures differ by a hidden cell; then a
    group resting on fewer than ``[privacy] small_cell_min`` children is hidden
    (``suppress_small_cells``), and a group whose cells were all left out is listed as
    hidden. ``approach_breakdowns`` (the within-child child-led vs directed summaries per
    group, never the children) is for the whole practice whatever the modality and age
    filters, each breakdown with complementary suppression against its total.
    """
    import analytics  # late: analytics imports this module

    if name not in AGGREGATE_FUNCTIONS:
        raise PermissionError(f"{name} is not a practice aggregate")
    by = kwargs.get("by")
    for b in (by if isinstance(by, (tuple, list)) else (by,)):
        if b is not None and b not in AGGREGATE_BY:
            raise PermissionError(f"practice figures by {b} are not available; use one of {', '.join(AGGREGATE_BY)}")
    k = small_cell_min()
    f = practice_filters(analytics.resolve(con, practice_filters(f)))  # dates always set: never a stored table
    if name == "approach_breakdowns":
        f = replace(f, modalities=(), age_groups=())
    pc = practice_connection(con, k)
    try:
        if name == "kpis":  # this period and the same number of whole months before it
            prev = previous_whole_months(f)
            result = analytics.kpis(pc, f, previous=prev)
            return {"current": _suppress_block(result["current"], k, not _present(pc.cells, f).empty),
                    "previous": _suppress_block(result["previous"], k, not _present(pc.cells, prev).empty)}
        result = getattr(analytics, name)(pc, f, **kwargs)
    finally:
        pc.close()
    present = _present(pc.cells, f)
    if name == "approach_breakdowns":  # {by: one row per group}; each breakdown against its total
        out_blocks = {}
        for b, block in result.items():
            d = suppress_small_cells(block, k)
            if b is not None:
                d = secondary_suppression(d, [[]], k, n_col="n_children_considered")
                d = secondary_suppression(d, [[]], k, n_col="n_children")
            d["estimated"] = d["estimated"].astype(bool) & ~d["suppressed"]
            out_blocks[b] = d
        return out_blocks
    out = suppress_small_cells(result, k)
    if name == "group_grid":
        out = _with_hidden_groups(out, present, ["modality", "age_group"])
        out["below_min_n"] = out["below_min_n"].astype("boolean").fillna(True).astype(bool) | out["suppressed"]
    elif name == "kpis_by":
        out = _with_hidden_groups(out, present, [by])
    elif name == "monthly_trends":
        if len(out):
            out["month_start"] = pd.to_datetime(out["month_start"])
        out = _with_hidden_groups(out, present, ["month_start"] + ([by] if by else []))
    return out
