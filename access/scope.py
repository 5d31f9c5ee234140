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

Non-leads may also see **de-identified practice figures** (``access.practice.practice_aggregate``): the
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
from dataclasses import dataclass, field
from typing import Any

import duckdb

from pipelines import warehouse

ROLES = ("lead", "supervisor", "therapist")
ROLE_LABELS = {"lead": "clinical lead", "supervisor": "supervisor", "therapist": "therapist"}
# tables without child_id that hold no child data and stay visible to every role
PRACTICE_TABLES = frozenset({"age_group_bands", "analytics_meta", "load_runs", "measure_catalogue",
                             "measure_definitions", "warehouse_meta"})


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


def base_cursor(con) -> duckdb.DuckDBPyConnection:
    """A cursor of the unscoped warehouse reader ``con``; TypeError for a scoped connection."""
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
                source = f"{ident(self.catalog)}.main.{ident(name)}"
                keep = "child_id in (select child_id from temp.main._scope_children)" if has_child else "false"
                cur.execute(f"create temp view {ident(name)} as select * from {source} where {keep}")
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


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (names from the warehouse catalog, never from a user)."""
    return '"' + name.replace('"', '""') + '"'


def scope_children(con, scope: Scope) -> list[str]:
    """The pseudonymous ids of the children in ``scope`` (sorted)."""
    cur = base_cursor(con)
    try:
        rows = cur.execute(
            "select distinct child_id from sessions "
            "where (therapist_id = $tid) or (len($teams::varchar[]) > 0 and list_contains($teams::varchar[], team)) "
            "order by child_id",
            {"tid": scope.therapist_id, "teams": list(scope.teams)}).fetchall()
    finally:
        cur.close()
    return [r[0] for r in rows]


# the warehouse's tables and views: a warehouse served from Parquet marts holds its marts as views
# (spark_engine.serving), and a view with child_id is scoped like a table
_RELATIONS = ("(select database_name, schema_name, table_name from duckdb_tables() union all "
              "select database_name, schema_name, view_name from duckdb_views() where not internal)")


def _facts(cur) -> dict[str, Any]:
    r = cur.execute("select count(*), max(session_date) from sessions").fetchall()[0]
    has_files = cur.execute(f"select count(*) from {_RELATIONS} where database_name = current_database() "
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
    cur = base_cursor(con)
    try:
        rows = cur.execute(
            f"select t.table_name, bool_or(c.column_name = 'child_id') from {_RELATIONS} t "
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
