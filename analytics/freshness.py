"""Whether the stored tables (``stored.build_tables``) may be used: built from the current
data (session count, latest session, latest load), settings, measures catalogue and code."""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

import pandas as pd

from analytics import _db
from analytics.filters import as_date
from pipelines import measures, settings, warehouse

# What the stored tables are computed by (globs under the project root): a change to any of
# these files, or a file added or removed, makes the stored tables stale.
CODE_DEPENDENCIES = ("analytics/*.py", "stats/*.py", "queries/macros/*.sql", "queries/analysis/*.sql",
                     "queries/intermediate/*.sql", "queries/marts/*.sql")
CODE_ROOT = warehouse.ROOT


def code_files(root: Path) -> list[Path]:
    """Every file of ``CODE_DEPENDENCIES`` under ``root``, in a fixed order.

    Raises ``FileNotFoundError`` when a pattern matches nothing (a module or folder moved):
    the key must never silently leave out what the tables depend on.
    """
    files: list[Path] = []
    for pattern in CODE_DEPENDENCIES:
        found = sorted(p for p in Path(root).glob(pattern) if p.is_file())
        if not found:
            raise FileNotFoundError(f"{Path(root) / pattern}: no such file, but the stored tables depend on it "
                                    "(moved? update analytics.freshness.CODE_DEPENDENCIES)")
        files += found
    return files


def code_key(root: Path | None = None) -> str:
    """Hash of the code and SQL behind the stored tables (``CODE_DEPENDENCIES`` under ``root``,
    default ``CODE_ROOT``, the project): a changed method invalidates them. Computed once per
    root and process (the running code does not change under a process)."""
    return _code_key_at(Path(root or CODE_ROOT).resolve())


@functools.cache
def _code_key_at(root: Path) -> str:
    h = hashlib.sha256()
    for p in code_files(root):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def settings_key() -> str:
    """Hash of everything the stored tables depend on (settings, measures catalogue, code)."""
    blob = json.dumps({"settings": settings.get().as_dict(), "measures": measures.key(), "code": code_key()},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def stored_meta(con) -> dict | None:
    if not _db.has_tables(con, "analytics_meta"):
        return None
    df = _db.sql(con, "select * from analytics_meta")
    if df.empty:
        return None
    r = df.iloc[0]
    return {"as_of": as_date(r["as_of"]) if pd.notna(r["as_of"]) else None, "settings_key": r["settings_key"],
            "sessions": int(r["sessions"]),
            "max_load_seq": None if pd.isna(r["max_load_seq"]) else int(r["max_load_seq"])}


def data_version(con) -> dict:
    """What the stored tables were computed from: session count, latest session, latest load
    (practice-wide, also on a scoped connection: one that carries ``practice_facts``)."""
    facts = getattr(con, "practice_facts", None)
    if facts is not None:
        return dict(facts)
    has_files = _db.has_tables(con, "files")
    r = _db.sql(con, "select count(*) as n, max(session_date) as d from sessions").iloc[0]
    seq = _db.sql(con, "select max(load_seq) as s from files")["s"].iloc[0] if has_files else None
    return {"sessions": int(r["n"]), "as_of": as_date(r["d"]) if pd.notna(r["d"]) else None,
            "max_load_seq": None if seq is None or pd.isna(seq) else int(seq)}


def stored_current(con) -> bool:
    """Whether the stored tables were built from the current data and settings."""
    meta = stored_meta(con)
    if meta is None:
        return False
    now = data_version(con)
    return (meta["settings_key"] == settings_key() and meta["sessions"] == now["sessions"]
            and meta["as_of"] == now["as_of"] and meta["max_load_seq"] == now["max_load_seq"])
