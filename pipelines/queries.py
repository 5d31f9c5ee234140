"""SQL lives in ``queries/`` (staging -> macros -> intermediate -> marts -> analysis); Python asks
for it by file name.

``queries/macros/*.sql`` each create one DuckDB macro (``create or replace macro``), built by
``pipelines.transform`` into the warehouse before the models: the page filters
(``filtered_rows``) and the group column chosen by ``$by`` (``group_value``), written once and
used by the analysis queries.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # pandas only for the annotation: the CLI's status does not import it (start-up time)
    import pandas as pd

QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"
LAYERS = ("staging", "macros", "intermediate", "marts", "analysis")
_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


@functools.cache
def _index() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in sorted(QUERIES_DIR.rglob("*.sql")):
        if p.stem in found:
            raise RuntimeError(f"two queries named {p.stem}: {found[p.stem]} and {p}")
        found[p.stem] = p
    return found


def path(name: str) -> Path:
    """The file of query ``name`` (its stem, e.g. ``int_sessions``)."""
    try:
        return _index()[name]
    except KeyError:
        raise KeyError(f"no query named {name!r} in {QUERIES_DIR}") from None


@functools.cache
def sql(name: str) -> str:
    """The text of query ``name``."""
    return path(name).read_text(encoding="utf-8")


def names(layer: str) -> list[str]:
    """Query names in one layer folder, in file-name order."""
    return [n for n, p in _index().items() if p.parent.name == layer]


def parameters(name: str) -> set[str]:
    """The ``$parameters`` a query uses."""
    text = re.sub(r"--[^\n]*", "", sql(name))
    text = re.sub(r"'(?:[^']|'')*'", "''", text)
    return set(_PARAM.findall(text))


def bind(name: str, params: dict | None) -> dict:
    """Exactly the parameters query ``name`` uses (missing ones are None)."""
    params = params or {}
    return {k: params.get(k) for k in parameters(name)}


def run(con: duckdb.DuckDBPyConnection, name: str, params: dict | None = None) -> pd.DataFrame:
    """Run query ``name`` with bound parameters on its own cursor; a DataFrame comes back."""
    from pipelines.warehouse import cursor

    cur = cursor(con)
    try:
        return cur.execute(sql(name), bind(name, params)).df()
    finally:
        cur.close()


def dependencies(name: str, among: list[str]) -> set[str]:
    """Other models in ``among`` that query ``name`` reads (``from``/``join`` targets that are not its CTEs)."""
    text = re.sub(r"--[^\n]*", "", sql(name))
    ctes = set(re.findall(r"(?i)\b(\w+)\s+as\s*\(", text))
    read = set(re.findall(r"(?i)\b(?:from|join)\s+(\w+)", text))
    return {m for m in among if m != name and m in read - ctes}
