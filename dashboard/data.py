"""Cached access to the warehouse for the pages: no SQL and no statistics here either.

* One read-only connection per warehouse *version* (``st.cache_resource``): a finished load
  swaps the file, ``warehouse.version`` changes, and the next run opens the new file.
* Query results (``st.cache_data``) are keyed by the function, its arguments (the filters)
  and the warehouse version; the connection is passed as ``_reader`` so it is not hashed.
* Each call runs on its own cursor, so sessions in different threads never share one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

from pipelines import load as loader
from pipelines import profiles, warehouse

try:  # the analytics layer is the pages' only source of figures
    from pipelines import analytics
except ImportError:  # pragma: no cover - only while the layer is being written
    analytics = None  # type: ignore[assignment]

SAMPLE_DIR = warehouse.ROOT / "data" / "sample" / "canonical"
EXPORT_SUFFIXES = (".csv", ".xlsx", ".parquet")


class Unavailable(RuntimeError):
    """The analytics layer does not (yet) offer a function a view needs."""


@dataclass(frozen=True)
class Reader:
    con: duckdb.DuckDBPyConnection
    catalog: str
    db: str
    version: tuple[int, int]


def db_path() -> Path:
    """The warehouse the app reads: ``$PIPELINES_DB`` or the project default."""
    return Path(warehouse.default_db_path())


def sample_files(sample_dir: Path | None = None) -> list[Path]:
    """The canonical sample export files shipped with the project (may be none)."""
    sample_dir = Path(sample_dir or SAMPLE_DIR)
    if not sample_dir.is_dir():
        return []
    return sorted(p for p in sample_dir.iterdir() if p.is_file() and p.suffix.lower() in EXPORT_SUFFIXES)


def is_sample_data(loaded_names: list[str], sample_dir: Path | None = None) -> bool:
    """True when what is loaded is the sample: every loaded file is one of the sample files.

    ``loaded_names`` are the file names the warehouse recorded (``status()["file_list"]``).
    An empty warehouse is not "the sample".
    """
    sample = {p.name for p in sample_files(sample_dir)}
    names = [Path(n).name for n in loaded_names]
    return bool(names) and bool(sample) and all(n in sample for n in names)


def ensure_warehouse() -> None:
    """First start: when there is no warehouse, load the sample data into it (with a spinner)."""
    db = db_path()
    if db.exists():
        return
    files = sample_files()
    if not files:
        return  # the pages say there is no data and point to the Data page
    with st.spinner(f"First start: loading the sample data ({len(files)} files) into {db.name} ..."):
        report = loader.load(files, db=db)
    failed = [f.message for f in report.files if f.status == "failed"]
    if failed:
        st.error("The sample data could not be loaded: " + "; ".join(failed))


def _release(r: Reader) -> None:
    with contextlib.suppress(Exception):
        r.con.close()


@st.cache_resource(max_entries=3, show_spinner=False, on_release=_release)
def _open_reader(db: str, version: tuple[int, int]) -> Reader:
    con = warehouse.connect_reader(Path(db))
    catalog = con.execute("select current_database()").fetchall()[0][0]
    return Reader(con, catalog, db, version)


def reader() -> Reader | None:
    """The reader for the live warehouse file, or None when there is no warehouse yet."""
    db = db_path()
    try:
        version = warehouse.version(db)
    except FileNotFoundError:
        return None
    return _open_reader(str(db), version)


@contextlib.contextmanager
def cursor(r: Reader) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of its own (thread-safe use of the shared reader), set to the warehouse catalog."""
    cur = r.con.cursor()
    try:
        cur.execute(f'use "{r.catalog}"')  # a new cursor starts in the in-memory catalog
        yield cur
    finally:
        cur.close()


def has(name: str) -> bool:
    return analytics is not None and callable(getattr(analytics, name, None))


@st.cache_data(show_spinner=False, max_entries=1000, ttl=dt.timedelta(hours=6))
def _call(_r: Reader, db: str, version: tuple[int, int], name: str, args: tuple, kwargs: tuple) -> Any:
    fn = getattr(analytics, name)
    with cursor(_r) as cur:
        return fn(cur, *args, **dict(kwargs))


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """``pipelines.analytics.<name>(con, *args, **kwargs)``, cached per warehouse version."""
    if not has(name):
        raise Unavailable(name)
    r = reader()
    if r is None:
        raise FileNotFoundError(str(db_path()))
    return _call(r, r.db, r.version, name, args, tuple(sorted(kwargs.items())))


def filters_cls():
    if analytics is None or not hasattr(analytics, "Filters"):
        raise Unavailable("Filters")
    return analytics.Filters


@st.cache_data(show_spinner=False, max_entries=20)
def _status(db: str, version: tuple[int, int]) -> dict:
    return loader.status(Path(db))


def status() -> dict | None:
    """``pipelines.load.status`` of the live warehouse (files, counts, freshness), cached per version."""
    r = reader()
    if r is None:
        return None
    return _status(r.db, r.version)


def rejects() -> pd.DataFrame | None:
    """Rejected rows with their reasons (file, line, column, value, reason), from whichever
    pipeline layer offers them: ``analytics.rejects(con)`` or ``load.rejects(db)``.
    None while neither does (the page then says how to list them from the command line)."""
    r = reader()
    if r is None:
        return None
    for name in ("rejects", "rejected_rows"):
        if has(name):
            return _as_frame(call(name))
    if callable(getattr(loader, "rejects", None)):
        return _loader_rejects(r.db, r.version)
    return None


def _as_frame(v: Any) -> pd.DataFrame:
    return v if isinstance(v, pd.DataFrame) else pd.DataFrame(v)


@st.cache_data(show_spinner=False, max_entries=20)
def _loader_rejects(db: str, version: tuple[int, int]) -> pd.DataFrame:
    return _as_frame(loader.rejects(Path(db)))


def profile_names() -> list[str]:
    try:
        return list(profiles.available())
    except Exception:  # noqa: BLE001 - a broken profile folder must not break the Data page
        return []


def load_uploaded(files: list[tuple[str, bytes]], profile: str | None) -> loader.LoadReport:
    """Load uploaded files through the same pipeline as the CLI (saved to a temp dir first).

    The file names the user knows are kept (the load report and the rejects name them).
    """
    with tempfile.TemporaryDirectory(prefix="upload-") as tmp:
        paths = []
        for name, content in files:
            safe = Path(name).name or "upload.csv"
            p = Path(tmp) / safe
            p.write_bytes(content)
            paths.append(p)
        return loader.load(paths, db=db_path(), profile=profile or None)
