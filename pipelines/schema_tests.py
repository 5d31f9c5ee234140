"""Data tests of the marts, declared in ``queries/marts/schema.toml`` (dbt-style schema tests).

Four kinds, per mart: ``unique`` (a column list identifies at most one row), ``not_null``,
``relationships`` (every row's values are a row of another mart: ratings point at real
sessions and carry their context) and ``accepted_values``. ``run_schema_tests(con)`` runs
them all on a built warehouse and returns what fails (an empty list: all pass); ``check``
raises instead. Identifiers come from the schema file (ours, quoted); accepted values are
bound parameters.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from pipelines import queries

SCHEMA_FILE = queries.QUERIES_DIR / "marts" / "schema.toml"
KINDS = ("unique", "not_null", "relationships", "accepted_values")
EXAMPLES = 5  # failing values shown per test


class SchemaFileError(ValueError):
    """``schema.toml`` is not valid: the message names the file, the mart and the key."""


class SchemaTestsFailed(RuntimeError):
    """At least one data test failed after a build; ``failures`` says which and how."""

    def __init__(self, failures: list[Failure]) -> None:
        self.failures = failures
        super().__init__(f"{len(failures)} mart data test(s) failed: " + "; ".join(str(f) for f in failures))


@dataclass(frozen=True)
class SchemaTest:
    """One declared test: ``kind`` on ``columns`` of ``mart`` (``to``/``to_columns`` for a
    relationship, ``values`` for accepted values)."""

    mart: str
    kind: str
    columns: tuple[str, ...]
    to: str | None = None
    to_columns: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()

    @property
    def name(self) -> str:
        """E.g. ``goal_ratings.session_id -> sessions.session_id (relationships)``."""
        cols = ", ".join(self.columns)
        cols = f"({cols})" if len(self.columns) > 1 else cols
        if self.kind == "relationships":
            to = ", ".join(self.to_columns)
            to = f"({to})" if len(self.to_columns) > 1 else to
            return f"{self.mart}.{cols} -> {self.to}.{to} (relationships)"
        return f"{self.mart}.{cols} ({self.kind})"


@dataclass(frozen=True)
class Failure:
    """A test that failed: how many rows (for ``unique``: key values) fail it, a few examples."""

    test: SchemaTest
    n_failing: int
    examples: tuple[tuple, ...] = ()
    message: str = ""

    def __str__(self) -> str:
        if self.message:
            return f"{self.test.name}: {self.message}"
        shown = ", ".join(repr(e[0] if len(e) == 1 else e) for e in self.examples)
        return f"{self.test.name}: {self.n_failing} failing, e.g. {shown}"


def _columns(where: str, value: Any, *, allow_one: bool = False) -> tuple[str, ...]:
    if allow_one and isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(c, str) and c for c in value):
        raise SchemaFileError(f"{SCHEMA_FILE}: {where}: expected a non-empty list of column names, got {value!r}")
    return tuple(value)


def declared_tests(path: Path | None = None) -> list[SchemaTest]:
    """Every test declared in the schema file (default ``queries/marts/schema.toml``), in file order."""
    path = Path(path or SCHEMA_FILE)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SchemaFileError(f"{path}: not valid TOML: {exc}") from None
    tests: list[SchemaTest] = []
    for mart, spec in raw.items():
        if not isinstance(spec, dict):
            raise SchemaFileError(f"{path}: [{mart}] must be a table of tests")
        unknown = set(spec) - set(KINDS)
        if unknown:
            raise SchemaFileError(f"{path}: [{mart}]: unknown test kind(s) {sorted(unknown)} "
                                  f"(expected {', '.join(KINDS)})")
        for i, cols in enumerate(spec.get("unique", [])):
            tests.append(SchemaTest(mart, "unique", _columns(f"[{mart}] unique[{i}]", cols, allow_one=True)))
        for col in _columns(f"[{mart}] not_null", spec["not_null"]) if "not_null" in spec else ():
            tests.append(SchemaTest(mart, "not_null", (col,)))
        for i, rel in enumerate(spec.get("relationships", [])):
            where = f"[{mart}] relationships[{i}]"
            if not isinstance(rel, dict) or not isinstance(rel.get("to"), str) or set(rel) - {"columns", "to",
                                                                                                "to_columns"}:
                raise SchemaFileError(f"{path}: {where}: expected {{ columns = [...], to = \"mart\", "
                                      f"to_columns = [...] }}, got {rel!r}")
            cols = _columns(where + " columns", rel.get("columns"), allow_one=True)
            to_cols = _columns(where + " to_columns", rel.get("to_columns", list(cols)), allow_one=True)
            if len(to_cols) != len(cols):
                raise SchemaFileError(f"{path}: {where}: columns and to_columns differ in length")
            tests.append(SchemaTest(mart, "relationships", cols, rel["to"], to_cols))
        accepted = spec.get("accepted_values", {})
        if not isinstance(accepted, dict):
            raise SchemaFileError(f"{path}: [{mart}] accepted_values must be a table of column = [values]")
        for col, values in accepted.items():
            if not isinstance(values, list) or not values:
                raise SchemaFileError(f"{path}: [{mart}.accepted_values] {col}: expected a non-empty list")
            tests.append(SchemaTest(mart, "accepted_values", (col,), values=tuple(values)))
    return tests


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _mart_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    rows = con.execute(
        "select table_name, column_name from duckdb_columns() "
        "where database_name = current_database() and schema_name = 'main'").fetchall()
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    return found


def _missing(t: SchemaTest, columns: dict[str, set[str]]) -> str | None:
    for mart, cols in ((t.mart, t.columns), (t.to, t.to_columns)):
        if mart is None:
            continue
        if mart not in columns:
            return f"no table {mart} in the warehouse"
        absent = [c for c in cols if c not in columns[mart]]
        if absent:
            return f"{mart} has no column(s) {', '.join(absent)}"
    return None


def _failing_sql(t: SchemaTest) -> tuple[str, dict]:
    """A query of the failing rows' values (one row each; for unique: each repeated key)."""
    src = _ident(t.mart)
    cols = ", ".join(_ident(c) for c in t.columns)
    if t.kind == "unique":
        return f"select {cols} from {src} group by all having count(*) > 1", {}
    if t.kind == "not_null":
        # the row's position stands in for the (null) value
        return f"select row_number() over () as row_number from {src} where {cols} is null", {}
    if t.kind == "accepted_values":
        col = _ident(t.columns[0])
        return f"select {col} from {src} where {col} is not null and not list_contains($values, {col})", \
            {"values": list(t.values)}
    if t.kind == "relationships":
        assert t.to is not None
        on = " and ".join(f"p.{_ident(b)} = c.{_ident(a)}" for a, b in zip(t.columns, t.to_columns))
        present = " and ".join(f"c.{_ident(a)} is not null" for a in t.columns)
        picked = ", ".join(f"c.{_ident(a)}" for a in t.columns)
        return (f"select {picked} from {src} as c where {present} "
                f"and not exists (select 1 from {_ident(t.to)} as p where {on})"), {}
    raise ValueError(f"unknown test kind {t.kind!r}")


def run_test(con: duckdb.DuckDBPyConnection, t: SchemaTest,
             columns: dict[str, set[str]] | None = None) -> Failure | None:
    """Run one test on ``con`` (a DuckDB connection or cursor reading the warehouse); its
    ``Failure``, or None when it passes. A mart or column that is not there fails it."""
    missing = _missing(t, columns if columns is not None else _mart_columns(con))
    if missing:
        return Failure(t, 0, message=missing)
    text, params = _failing_sql(t)
    n = con.execute(f"select count(*) from ({text})", params).fetchall()[0][0]
    if n == 0:
        return None
    examples = con.execute(f"select distinct * from ({text}) order by all limit {EXAMPLES}", params).fetchall()
    return Failure(t, int(n), tuple(tuple(e) for e in examples))


def run_schema_tests(con: duckdb.DuckDBPyConnection, tests: list[SchemaTest] | None = None) -> list[Failure]:
    """Every declared test (or ``tests``) run on ``con``; the failures come back (empty: all pass)."""
    tests = declared_tests() if tests is None else tests
    columns = _mart_columns(con)
    return [f for t in tests if (f := run_test(con, t, columns)) is not None]


def check(con: duckdb.DuckDBPyConnection) -> None:
    """Raise ``SchemaTestsFailed`` naming every failing test; return quietly when all pass."""
    failures = run_schema_tests(con)
    if failures:
        raise SchemaTestsFailed(failures)
