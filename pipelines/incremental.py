"""Incremental builds: after a load into an existing warehouse, only the children it touched
are recomputed in the per-child marts (and, by ``analytics.stored``, in the stored statistics).

A load notes every child whose raw rows it adds, replaces or removes (``delete_replaced``, called by
``upsert.upsert_rows``; ``note_all`` after rows went straight into an empty table,
``upsert.upsert_select``; both inside each file's transaction, so a file that fails notes nothing) in
the temporary table ``touched_children``. ``transform.build`` then rebuilds, for each mart with
a ``child_id`` on every row, only those children's rows: it computes the mart's own SQL with
the raw tables and the marts already rebuilt shadowed by temporary views holding the touched
children's rows only (as a scoped reader's views shadow the marts), deletes those children's
rows from the mart and inserts the new ones. The other marts are rebuilt whole. The numbering
of the children (``child_keys``: a dense rank of child_id, which the row-level marts carry as
``child_key``) is rebuilt whole too, and where an id added or gone changed an untouched child's
number, that child's rows are renumbered in place (``NUMBERED``).

That gives the same rows as a full build because every row of those marts depends only on its
own child's raw rows and the settings. Where that is not known to hold, the build is whole:
the warehouse holds session data or charges (they link to appointments across rows), the
models' SQL, the settings or the measures catalogue changed since the last build
(``build_key``, kept in ``build_state``), a mart is missing, or the load was a rebuild.
``tests/test_load_incremental.py`` compares an incremental load with a full one table by table.
"""

from __future__ import annotations

import hashlib
import json

import duckdb

from pipelines import measures, queries, settings

TOUCHED = "touched_children"
# the raw tables shadowed during an incremental build (each has child_id on every row it uses)
RAW = ("src_sessions", "src_observations", "src_goals", "src_children")
# raw tables whose rows link across rows of other children's tables (int_session_links): a whole build
LINKED = ("src_session_data", "src_charges")
# marts rebuilt whole even with a child_id column (file x line rows, some without a child)
WHOLE = ("unlinked_rows",)
# the numbering of every child id (child_key, a dense rank of child_id), which the row-level marts
# carry: rebuilt whole; an id added or gone renumbers the children after it, so the rows of the
# untouched children whose number changed are renumbered in place (``_renumber``)
NUMBERING = "child_keys"
# per mart: the columns holding a child's number (goal_key: child_key * 2^20 + the goal's rank in its child)
NUMBERED = {"sessions": ("child_key",), "observations": ("child_key",), "goal_ratings": ("child_key", "goal_key"),
            "goal_keys": ("goal_key",)}
GOAL_SPAN = 1048576
# the largest share of the warehouse's children for which the build is incremental: beyond it a
# whole build is cheaper (one measurement at 100k rows on a busy machine: a month touching 94 % of
# the children took 6.1 s wall for the marts incrementally against 2.4 s whole, the filtered views
# and the delete and insert costing more than they save; 50 children, 2 %, took 1.6 s against 7.0 s
# for the whole load's marts, benchmarks/results/2026-12-01-increment-100k.md)
MAX_SHARE = 0.25


def start(con: duckdb.DuckDBPyConnection) -> None:
    """An empty ``touched_children`` for this load (a temporary table of the writer's connection)."""
    con.execute(f"create or replace temp table {TOUCHED} (child_id varchar)")


def delete_replaced(con: duckdb.DuckDBPyConnection, table: str, incoming: str, on: str, order) -> None:
    """Delete the rows of ``table`` that ``incoming`` (the rows about to be upserted) replaces: the
    same key (``on``) from an export of order at most ``order``; note the children of ``incoming``
    and of the rows deleted (nothing noted when no load started, ``start``). The delete returns the
    children it removes (a data-modifying CTE), so noting them costs no second join of ``table``."""
    if not _exists(con, TOUCHED, temp=True):
        con.execute(f"delete from {table} as t using {incoming} as g where {on} and t.export_order <= $order",
                    {"order": order})
        return
    con.execute(f"insert into {TOUCHED} select distinct child_id from {incoming} where child_id is not null")
    con.execute(f"with gone as (delete from {table} as t using {incoming} as g where {on} "  # our table names
                "and t.export_order <= $order returning t.child_id) "
                f"insert into {TOUCHED} select distinct child_id from gone where child_id is not null",
                {"order": order})


def note_all(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Note every child of ``table`` (a raw table that was empty before this file's rows went in);
    nothing when no load started (``start``)."""
    if not _exists(con, TOUCHED, temp=True):
        return
    con.execute(f"insert into {TOUCHED} select distinct child_id from {table} where child_id is not null")  # ours


def _exists(con, name: str, temp: bool = False, kind: str = "table") -> bool:
    where = "temporary" if temp else "not temporary"
    return bool(con.execute(f"select count(*) from duckdb_{kind}s() where {kind}_name = $n and {where} "
                            "and not internal", {"n": name}).fetchall()[0][0])


def build_key() -> str:
    """A hash of what the marts are made from besides the raw rows: the models' SQL (macros,
    intermediate, marts), the settings and the measures catalogue."""
    sql = {n: queries.sql(n) for layer in ("macros", "intermediate", "marts") for n in queries.names(layer)}
    blob = json.dumps({"sql": sql, "settings": settings.get().as_dict(), "measures": measures.key()},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def per_child(con: duckdb.DuckDBPyConnection, mart: str) -> bool:
    """Whether ``mart`` (a table) has a ``child_id`` column."""
    return bool(con.execute("select count(*) from duckdb_columns() where table_name = $t and column_name = 'child_id' "
                            "and database_name = current_database() and schema_name = 'main'",
                            {"t": mart}).fetchall()[0][0])


def touched(con: duckdb.DuckDBPyConnection, marts: list[str]) -> int | None:
    """How many children this load touched when the build may be incremental (``build_state``
    holds this code's ``build_key``, every mart exists, no linked source, no raw row without a
    child, and at most ``MAX_SHARE`` of the children touched); None for a whole build. The distinct children are left in ``touched_children``."""
    if not _exists(con, TOUCHED, temp=True) or not _exists(con, "build_state"):
        return None
    rows = con.execute("select build_key from build_state").fetchall()
    if [r[0] for r in rows] != [build_key()]:
        return None
    if not all(_exists(con, m) for m in marts):
        return None
    for t in LINKED:
        if con.execute(f"select count(*) from {t}").fetchall()[0][0]:  # our table names
            return None
    if con.execute("select count(*) from src_observations where child_id is null").fetchall()[0][0]:
        return None
    con.execute(f"create or replace temp table {TOUCHED} as select distinct child_id from {TOUCHED}")
    n = con.execute(f"select count(*) from {TOUCHED}").fetchall()[0][0]
    total = con.execute("select count(*) from children").fetchall()[0][0]
    return n if n <= MAX_SHARE * total else None


def _home(con) -> str:
    """The writer's own catalogue and schema (``main`` alone could name the temporary schema)."""
    return f'"{con.execute("select current_database()").fetchall()[0][0]}".main'


def touched_count(con: duckdb.DuckDBPyConnection) -> int | None:
    """How many distinct children this load touched (None: no load noted them)."""
    if not _exists(con, TOUCHED, temp=True):
        return None
    return con.execute(f"select count(distinct child_id) from {TOUCHED}").fetchall()[0][0]


def _shadow(con, name: str) -> None:
    con.execute(f"create or replace temp view {name} as select * from {_home(con)}.{name} "  # our table names
                f"where child_id in (select child_id from {TOUCHED})")


def _unshadow(con, names: list[str]) -> None:
    for n in names:
        con.execute(f"drop view if exists temp.{n}")


def build_models(con: duckdb.DuckDBPyConnection, order: list[str], kinds: dict[str, str]) -> None:
    """Rebuild the models in ``order`` (``kinds``: view or table) for the touched children only
    (see the module docstring)."""
    home = _home(con)
    shadowed = list(RAW)
    for name in RAW:
        _shadow(con, name)
    try:
        for name in order:
            sql = queries.sql(name)
            if kinds[name] == "view":
                con.execute(f"create or replace view {home}.{name} as {sql}")  # name: a file stem of ours
            elif name == NUMBERING:
                _unshadow(con, shadowed)
                _renumber(con, home, sql)
                for n in shadowed:
                    _shadow(con, n)
            elif per_child(con, name) and name not in WHOLE:
                con.execute(f"create or replace temp table _incremental as {sql}")
                con.execute(f"delete from {home}.{name} where child_id in (select child_id from {TOUCHED})")
                con.execute(f"insert into {home}.{name} by name select * from _incremental "
                            f"where child_id in (select child_id from {TOUCHED})")
                con.execute("drop table _incremental")
                _shadow(con, name)
                shadowed.append(name)
            else:  # whole, from the whole raw tables and marts
                _unshadow(con, shadowed)
                con.execute(f"create or replace table {home}.{name} as {sql}")
                for n in shadowed:
                    _shadow(con, n)
    finally:
        _unshadow(con, shadowed)


def _renumber(con, home: str, sql: str) -> None:
    """Rebuild the numbering whole (``sql`` on the whole raw tables) and give the untouched children's
    rows of the marts already built whose number changed their new one (the touched children's rows
    are rebuilt after it), so that the marts hold what a whole build gives."""
    con.execute(f"create or replace temp table _numbers as {sql}")
    con.execute(f"create or replace temp table _renumbered as select n.child_id, o.child_key as old_key, "
                f"n.child_key as new_key from _numbers as n join {home}.{NUMBERING} as o using (child_id) "
                f"where o.child_key <> n.child_key")
    if con.execute("select count(*) from _renumbered").fetchall()[0][0]:
        for mart, cols in NUMBERED.items():
            if not _exists(con, mart):
                continue
            sets = ", ".join(f"{c} = r.new_key" if c == "child_key" else
                             f"{c} = r.new_key * {GOAL_SPAN} + {c} % {GOAL_SPAN}" for c in cols)  # our names
            con.execute(f"update {home}.{mart} as m set {sets} from _renumbered as r "
                        f"where m.child_id = r.child_id")
    con.execute(f"create or replace table {home}.{NUMBERING} as select * from _numbers")
    con.execute("drop table _numbers")
    con.execute("drop table _renumbered")


def record(con: duckdb.DuckDBPyConnection) -> None:
    """After a build: ``build_state`` holds the key the marts were built with."""
    con.execute("create or replace table build_state (build_key varchar)")
    con.execute("insert into build_state values ($k)", {"k": build_key()})
