"""The models' DuckDB SQL (``queries/``) as Spark SQL: macros expanded, then transpiled by sqlglot.

``spark_sql(text)`` comes back with the same ``$name`` parameters written as Spark's named
parameter markers ``:name`` (values are bound by ``spark.sql(text, args=...)``, never formatted
into the text). sqlglot transpiles most of the models as they are; what it leaves in DuckDB's
spelling (or would change the meaning of) is rewritten here, each rule for a construct, not for
a model, so a new model written in the same SQL comes along:

* the scalar macros of ``queries/macros`` (``parse_date``, ``spelling``, ...) are expanded
  inline, their arguments substituted (the way DuckDB runs them);
* ``datepart('year', age(a, b))`` (whole years between two dates) becomes the year difference
  less one when ``b``'s month and day come after ``a``'s: DuckDB's ``age`` subtracts field by
  field with borrows, so its year part is exactly that;
* ``hash(x)`` of one value (the tie-break of ``order_key``, a key of every mart) is DuckDB's
  own hash, computed by DuckDB in a vectorised UDF (``duckdb_hash``), so ``order_key`` is the
  same number on both engines; ``hash(a, b, ...)`` of several (a row's fingerprint, compared
  for equality only) is ``xxhash64`` of the row as JSON with its nulls, which tells
  ``(null, 'x')`` from ``('x', null)`` as DuckDB's does;
* ``try_cast(x as time)`` of a date-and-time text (DuckDB: its time of day) reads the text as a
  timestamp when it is no time;
* ``isfinite``, ``regexp_full_match``, ``try_strptime`` (strftime formats in literals become
  Java patterns; a format given as a parameter is converted by ``java_format`` before binding),
  list comprehensions (``transform``/``filter`` with lambdas), ``list(x order by k)``
  (``array_sort`` of ``(k, x)`` pairs), ``len`` of a list (``size``) and the ``time`` type.
"""

from __future__ import annotations

import functools
import re

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.spark import Spark

from pipelines import queries


class Spark4(Spark):
    """Spark SQL as Spark 4.1+ writes it: it has a TIME type (``spark.sql.timeType.enabled``)."""

    class Generator(Spark.Generator):
        TYPE_MAPPING = {**Spark.Generator.TYPE_MAPPING, exp.DataType.Type.TIME: "TIME"}


_MACRO = re.compile(r"create\s+or\s+replace\s+macro\s+(\w+)\s*\((.*?)\)\s+as\s+(table\s+)?(.*)", re.S | re.I)


@functools.cache
def macros() -> dict[str, tuple[list[str], exp.Expression]]:
    """The scalar macros of ``queries/macros``: name -> (parameter names, body expression)."""
    out: dict[str, tuple[list[str], exp.Expression]] = {}
    for name in queries.names("macros"):
        text = re.sub(r"--[^\n]*", "", queries.sql(name))
        m = _MACRO.search(text)
        if m is None or m.group(3):  # a table macro (page filters): only the analysis queries use them
            continue
        params = [p.split(":=")[0].strip() for p in m.group(2).split(",")]
        out[m.group(1).lower()] = (params, sqlglot.parse_one(_mark_macros(m.group(4)), read="duckdb"))
    return out


def _mark_macros(text: str) -> str:
    """Macro calls renamed ``__macro_<name>(`` so that sqlglot keeps them as plain calls
    (``parse_time`` would otherwise be read as a built-in); ``len(`` of a list as ``__list_len(``."""
    text = re.sub(r"\blen\s*\(", "__list_len(", text)
    names = sorted(_macro_names(), key=len, reverse=True)
    if names:
        text = re.sub(r"\b(" + "|".join(names) + r")\s*\(", r"__macro_\1(", text, flags=re.I)
    return text


@functools.cache
def _macro_names() -> tuple[str, ...]:
    names = []
    for name in queries.names("macros"):
        m = _MACRO.search(re.sub(r"--[^\n]*", "", queries.sql(name)))
        if m and not m.group(3):
            names.append(m.group(1).lower())
    return tuple(names)


def _call_name(node: exp.Expression) -> str | None:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return None


def _expand(node: exp.Expression) -> exp.Expression:
    name = _call_name(node)
    if name and name.startswith("__macro_"):
        params, body = macros()[name[len("__macro_"):]]
        args = [_expand_tree(a) for a in node.expressions]
        values = dict(zip(params, args))

        def sub(n: exp.Expression) -> exp.Expression:
            if isinstance(n, exp.Column) and not n.table and n.name in values:
                return values[n.name].copy()
            return n

        return exp.Paren(this=_expand_tree(body.copy()).transform(sub))
    return node


def _expand_tree(tree: exp.Expression) -> exp.Expression:
    return tree.transform(_expand)


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _spark(sql_text: str) -> exp.Expression:
    return sqlglot.parse_one(sql_text, read="spark")


def java_format(fmt: str) -> str:
    """A strftime format (``%d/%m/%Y``) as the Java pattern Spark parses with (``d/M/yyyy``):
    what sqlglot writes for DuckDB's ``strptime`` in Spark (1 or 2 digits, as DuckDB reads them)."""
    written = sqlglot.parse_one(f"strptime(x, {exp.Literal.string(fmt).sql('duckdb')})", read="duckdb").sql(Spark4)
    m = re.search(r"'((?:[^']|'')*)'\)$", written)
    if m is None:
        raise ValueError(f"cannot write the date format {fmt!r} for Spark ({written})")
    return m.group(1).replace("''", "'")


def _rewrite(node: exp.Expression) -> exp.Expression:
    name = _call_name(node)
    if name == "datepart" and len(node.expressions) == 2 and node.expressions[0].name.lower() == "year" \
            and _call_name(node.expressions[1]) == "age":
        later, earlier = node.expressions[1].expressions
        a, b = later.sql(Spark4), earlier.sql(Spark4)
        return _spark(f"(year({a}) - year({b}) - case when month({a}) < month({b}) or "
                      f"(month({a}) = month({b}) and day({a}) < day({b})) then 1 else 0 end)")
    if name == "isfinite":
        x = node.expressions[0].sql(Spark4)
        return _spark(f"(not (isnan({x}) or abs({x}) = double('Infinity')))")
    if isinstance(node, exp.RegexpFullMatch) or name == "regexp_full_match":
        x, pattern = (node.this, node.expression) if isinstance(node, exp.RegexpFullMatch) else node.expressions
        if isinstance(pattern, exp.Literal):
            return exp.RegexpLike(this=x, expression=exp.Literal.string(f"^(?:{pattern.this})$"))
        return exp.RegexpLike(this=x, expression=_fn("concat", exp.Literal.string("^(?:"), pattern,
                                                     exp.Literal.string(")$")))
    if name == "try_strptime":
        x, fmt = node.expressions
        if isinstance(fmt, exp.Literal):
            fmt = exp.Literal.string(java_format(fmt.this))
        return _fn("try_to_timestamp", x, fmt)
    if isinstance(node, exp.TryCast) and node.to.is_type(exp.DataType.Type.TIME):
        # DuckDB casts a date-and-time text to its time of day ('2026-03-02 09:00:00' -> 09:00);
        # Spark's cast to TIME takes a time only, so the text is read as a timestamp too
        x = node.this.sql(Spark4)
        return _spark(f"coalesce(try_cast({x} as time), cast(try_cast({x} as timestamp_ntz) as time))")
    if name == "__list_len":
        return _fn("size", *node.expressions)
    if name == "hash":
        args = node.expressions
        if len(args) == 1:
            return _fn("duckdb_hash", args[0])
        fields = ", ".join(f"'c{i}', {a.sql(Spark4)}" for i, a in enumerate(args))
        return _spark(f"xxhash64(to_json(named_struct({fields}), map('ignoreNullFields', 'false')))")
    if isinstance(node, exp.Array) and len(node.expressions) == 1 and isinstance(node.expressions[0], exp.Comprehension):
        node = node.expressions[0]
        var = node.args["expression"].sql(Spark4)
        it = node.args["iterator"].sql(Spark4)
        body = node.this.sql(Spark4)
        cond = node.args.get("condition")
        mapped = it if body == var else f"transform({it}, {var} -> {body})"
        if cond is not None:
            # filter first (the condition is on the element), then map
            filtered = f"filter({it}, {var} -> {cond.sql(Spark4)})"
            mapped = filtered if body == var else f"transform({filtered}, {var} -> {body})"
        return _spark(mapped)
    agg = node.this if isinstance(node, exp.Filter) else node
    if isinstance(agg, exp.ArrayAgg) and isinstance(agg.this, exp.Order) and not (
            agg is node and isinstance(node.parent, exp.Filter)):  # with a filter: rewritten at the Filter
        # list(x order by k) [filter (where c)]: the (k, x) pairs sorted, then x
        value = agg.this.this.sql(Spark4)
        keys = agg.this.expressions
        if len(keys) != 1 or keys[0].args.get("desc"):
            raise NotImplementedError(f"list(... order by ...) with one ascending key only: {node.sql('duckdb')}")
        key = keys[0].this.sql(Spark4)
        where = f" filter (where {node.expression.this.sql(Spark4)})" if isinstance(node, exp.Filter) else ""
        return _spark(f"transform(array_sort(collect_list(named_struct('k', {key}, 'v', {value})){where}), "
                      f"p -> p.v)")
    return node


def _bottom_up(node: exp.Expression) -> exp.Expression:
    """``_rewrite`` applied to every node, children first (a rewrite writes its children as text)."""
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, _bottom_up(value))
        elif isinstance(value, list):
            node.set(key, [_bottom_up(v) if isinstance(v, exp.Expression) else v for v in value])
    return _rewrite(node)


def spark_sql(text: str) -> str:
    """DuckDB SQL of ours (a model, or a select of ``pipelines.upsert``) as Spark SQL."""
    tree = sqlglot.parse_one(_mark_macros(text), read="duckdb")
    tree = _expand_tree(tree)
    tree = _bottom_up(tree)
    out = tree.sql(dialect=Spark4, unsupported_level=sqlglot.ErrorLevel.RAISE)
    return out


def model_sql(name: str) -> str:
    """Model ``name`` of ``queries/`` as Spark SQL."""
    return spark_sql(queries.sql(name))


def spark_type(duck_type: str) -> str:
    """A DuckDB column type (``VARCHAR[]``, ``TIMESTAMP``) as Spark's (``ARRAY<STRING>``)."""
    return exp.DataType.build(duck_type, dialect="duckdb").sql(dialect=Spark4)


def duckdb_type(spark_data_type) -> str:
    """A Spark data type (``pyspark.sql.types``) as the DuckDB type the served view casts to."""
    text = spark_data_type.simpleString()
    if text.startswith("time("):
        return "TIME"
    if text == "timestamp":  # Spark's session-time-zone timestamp, written in UTC: a wall-clock time here
        return "TIMESTAMP"
    return exp.DataType.build(text, dialect="spark").sql(dialect="duckdb")

