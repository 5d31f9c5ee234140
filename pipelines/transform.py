"""Rebuild the models: ``queries/macros`` first, then ``queries/intermediate`` as views and
``queries/marts`` as tables.

Macros (the page filters, the ``$by`` group column) are stored in the warehouse, so every
reader has them, also a read-only one; a scoped reader's temporary views shadow the marts
inside them as they do everywhere. Intermediate models are views (computed once, by the mart
that reads them); marts are materialised so the dashboard reads them fast. ``check=True``
runs the data tests of ``queries/marts/schema.toml`` after the models
(``pipelines.schema_tests``) and raises when one fails. Steps that SQL cannot do well (the
statistics stored by ``analytics.stored``) are given by the caller (``after_build``): this
layer does not import the layers above it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import duckdb

from pipelines import incremental, measures, queries, schema_tests, settings

MODEL_LAYERS = ("intermediate", "marts")
# models that no longer exist: dropped from warehouses built by an earlier version
RETIRED_MODELS = ("child_weeks",)


# A step run after the SQL models on the writer's connection (its result is ignored).
Step = Callable[[duckdb.DuckDBPyConnection], object]


# The row-level marts the pages filter by date are stored in date order, so that DuckDB skips the
# row groups outside a page's period (each row group's min/max: zone maps) instead of reading the
# whole year; measured at 1M rows, default 3-month filter: period_metrics, child_list and goal_summary
# 30-45 % less CPU. Only the storage order: no query relies on it (each says its own order by).
STORED_ORDER = {"sessions": "session_date, child_id", "observations": "session_date, child_id",
                "goal_ratings": "session_date, child_id"}


def model_order() -> list[str]:
    """Intermediate and mart models in dependency order (each after the models it reads)."""
    models = [n for layer in MODEL_LAYERS for n in queries.names(layer)]
    deps = {m: queries.dependencies(m, models) for m in models}
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(m: str) -> None:
        if m in ordered:
            return
        if m in visiting:
            raise RuntimeError(f"dependency cycle through {m}")
        visiting.add(m)
        for d in sorted(deps[m]):
            visit(d)
        visiting.discard(m)
        ordered.append(m)

    for m in models:
        visit(m)
    return ordered


def write_settings_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Tables the models read from settings.toml (age group bands) and measures.toml (measure_catalogue)."""
    con.execute("create or replace table age_group_bands (label varchar, low integer, high integer, ord integer)")
    con.executemany("insert into age_group_bands values (?, ?, ?, ?)",
                    [(label, lo, hi, i) for i, (label, lo, hi) in enumerate(settings.age_groups())])
    measures.write_catalogue_table(con)


def build_macros(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Create or replace every macro of ``queries/macros``; their names come back."""
    names = queries.names("macros")
    for name in names:
        con.execute(queries.sql(name))  # a create-or-replace-macro statement of ours
    return names


def build(con: duckdb.DuckDBPyConnection, timings: dict[str, float] | None = None,
          after_build: Iterable[Step] = (), check: bool = False) -> list[str]:
    """Create or replace every macro and model, then run each of ``after_build`` on ``con``
    (e.g. ``analytics.stored.STEPS``: flags, per-child trends and effect sizes, GAS reviews,
    reliable change); return the names of the models built, in order.

    ``timings``, when given, receives seconds spent on the SQL models and on the Python steps:
    wall (``models_s``, ``statistics_s``) and CPU of the whole process (``models_cpu_s``,
    ``statistics_cpu_s``, ``time.process_time()`` deltas: every thread, DuckDB's too).
    ``check=True`` runs the marts' data tests before ``after_build`` and raises
    ``schema_tests.SchemaTestsFailed`` naming every failure.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    write_settings_tables(con)
    build_macros(con)
    for name in RETIRED_MODELS:
        for kind in ("table", "view"):
            found = con.execute(f"select count(*) from duckdb_{kind}s() where {kind}_name = $n and not internal "
                                "and database_name = current_database() and schema_name = 'main'",
                                {"n": name}).fetchall()[0][0]
            if found:
                con.execute(f"drop {kind} {name}")  # name: from RETIRED_MODELS
    order = model_order()
    kinds = {name: "view" if queries.path(name).parent.name == "intermediate" else "table" for name in order}
    # after a load into a warehouse built by this code: only the children it touched (pipelines.incremental)
    noted = incremental.touched_count(con)
    touched = incremental.touched(con, [n for n in order if kinds[n] == "table"])
    if timings is not None and noted is not None:
        timings["touched_children"] = noted
        timings["marts_incremental"] = float(touched is not None)
    if touched is not None:
        incremental.build_models(con, order, kinds)
    else:
        con.execute(f"drop table if exists temp.{incremental.TOUCHED}")  # the steps recompute every child too
        for name in order:
            kind = kinds[name]
            other = "view" if kind == "table" else "table"
            exists = con.execute(f"select count(*) from duckdb_{other}s() where {other}_name = $n and not internal",
                                 {"n": name}).fetchall()[0][0]
            if exists:  # a model that changed kind between versions
                con.execute(f"drop {other} {name}")
            sql = queries.sql(name)
            if kind == "table" and name in STORED_ORDER:
                sql = f"select * from ({sql}) as m order by {STORED_ORDER[name]}"  # our column names
            con.execute(f"create or replace {kind} {name} as {sql}")  # name: a file stem of ours
    built = list(order)
    incremental.record(con)
    if check:
        schema_tests.check(con)
    t1, c1 = time.perf_counter(), time.process_time()
    for step in after_build:  # a step finds touched_children when only those children changed
        step(con)
    con.execute(f"drop table if exists temp.{incremental.TOUCHED}")
    if timings is not None:
        timings["models_s"] = t1 - t0
        timings["statistics_s"] = time.perf_counter() - t1
        timings["models_cpu_s"] = c1 - c0
        timings["statistics_cpu_s"] = time.process_time() - c1
    return built
