"""Cached access to the warehouse for the pages: no SQL and no statistics here either.

* One read-only connection per warehouse *version* (``st.cache_resource``): a finished load
  swaps the file, ``warehouse.version`` changes, and the next run opens the new file.
* Query results (``st.cache_data``) are keyed by the function, its arguments (the filters),
  the warehouse version and the settings (``settings_key``: an edited settings.toml gives new
  figures, as it gives the pages new text); the connection is passed as ``_reader`` so it is
  not hashed.
* Each call runs on its own cursor, so sessions in different threads never share one.
* Every call is limited to the signed-in viewer's scope (``access.scope``): the scope is
  part of the cache key and the function runs on a scoped connection, so a page cannot
  ask for children outside it. ``practice`` gives the de-identified practice figures.
"""

from __future__ import annotations

import contextlib
import re
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import streamlit as st

import analytics  # the pages' only source of figures
from analytics import stored
from access import disclosure, practice as practice_mod, scope as scope_mod, uploads
from pipelines import load as loader
from pipelines import unload as unloader
from pipelines import profiles, settings, warehouse
from spark_engine import serving  # no pyspark: the serving file's views
from analytics import Filters  # noqa: F401  (re-exported for the pages)

SAMPLE_DIR = warehouse.ROOT / "data" / "sample" / "canonical"
EXPORT_SUFFIXES = (".csv", ".xlsx", ".parquet")


@dataclass(frozen=True)
class Reader:
    con: duckdb.DuckDBPyConnection
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


def _md(value: Any) -> str:
    from dashboard.ui import md_escape  # late: ui imports this module's helpers

    return md_escape(str(value))


def ensure_warehouse() -> None:
    """First start: when there is no warehouse, load the sample data into it (with a spinner).

    Never into a practice's place: not when a load is running there, a load's private files
    are there, or the place has a landing archive (its warehouse file is missing, e.g. deleted:
    ``rebuild`` brings it back). The loader checks again under the writer lock
    (``only_into_new``), so a practice's load that starts meanwhile wins.
    """
    db = db_path()
    if db.exists():
        return
    why = warehouse.practice_traces(db)
    if why is not None:
        st.warning(f"There is no warehouse file at {_md(db)}, but {_md(why)}, so the sample data is not loaded "
                   "there. If a load is running, wait for it; if the warehouse file was lost, run "
                   f"`python -m pipelines rebuild --db {db}` to rebuild it from the landing archive.",
                   icon=":material/warning:")
        return
    files = sample_files()
    if not files:
        return  # the pages say there is no data and point to the Data page
    with st.spinner(f"First start: loading the sample data ({len(files)} files) into {db.name} ..."):
        try:
            report = loader.load(files, db=db, only_into_new=True, after_build=stored.STEPS)
        except loader.LoadAborted as exc:
            st.error(f"The sample data could not be loaded: {_md(exc)}")
            return
    failed = [f.message for f in report.files if f.status == "failed"]
    if failed:
        st.error("The sample data could not be loaded: " + "; ".join(_md(m) for m in failed))


@st.cache_data(show_spinner=False, max_entries=3)
def _outdated(db: str, version: tuple[int, int]) -> bool:
    return warehouse.outdated(Path(db))


def stop_if_outdated() -> None:
    """A warehouse made by an earlier version (``warehouse.SCHEMA_VERSION``) cannot be read by
    the pages: say how to bring it up to date and stop the run (checked once per warehouse version)."""
    db = db_path()
    try:
        old = _outdated(str(db), warehouse.version(db))
    except (FileNotFoundError, duckdb.Error):
        return
    if old:
        st.error(f"The warehouse at {_md(db)} was made by an earlier version of this software and has to be "
                 "rebuilt from its landing archive before its data can be shown (nothing is lost): run "
                 f"`python -m pipelines rebuild --db {db}`, then reload this page. The next load of an export "
                 "rebuilds it too.", icon=":material/error:")
        st.stop()


def _release(r: Reader) -> None:
    with contextlib.suppress(Exception):
        r.con.close()


@st.cache_resource(max_entries=3, show_spinner=False, on_release=_release)
def _open_reader(db: str, version: tuple[int, int]) -> Reader:
    return Reader(warehouse.connect_reader(Path(db)), db, version)


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
    cur = warehouse.cursor(r.con)
    try:
        yield cur
    finally:
        cur.close()


def _viewer_scope() -> scope_mod.Scope:
    from dashboard import auth  # late: auth draws pages
    return auth.scope()


@st.cache_data(show_spinner=False, max_entries=500, ttl=dt.timedelta(hours=6))
def _scope_meta(_r: Reader, db: str, version: tuple[int, int], viewer_scope: scope_mod.Scope) -> scope_mod.ScopeMeta:
    with cursor(_r) as cur:
        return scope_mod.scope_meta(cur, viewer_scope)


@contextlib.contextmanager
def scoped_cursor(r: Reader, viewer_scope: scope_mod.Scope) -> Iterator[Any]:
    """A cursor of the reader limited to ``viewer_scope`` (the lead's is the cursor itself);
    the scope's children are looked up once per warehouse version."""
    with cursor(r) as cur:
        meta = None if viewer_scope.is_everything else _scope_meta(r, r.db, r.version, viewer_scope)
        con = scope_mod.scoped(cur, viewer_scope, meta)
        try:
            yield con
        finally:
            con.close()


def scope_children(viewer_scope: scope_mod.Scope | None = None) -> tuple[str, ...] | None:
    """The children in ``viewer_scope`` (default: the viewer's), looked up once per warehouse
    version; None for a lead's scope, which is every child. ``access.alerts.act`` refuses any
    other child."""
    viewer_scope = viewer_scope or _viewer_scope()
    if viewer_scope.is_everything:
        return None
    r = _live_reader()
    return _scope_meta(r, r.db, r.version, viewer_scope).children


def settings_key() -> str:
    """The settings in use (``pipelines.settings.get().fingerprint``), part of every cache key of a
    figure computed with them."""
    return settings.get().fingerprint


@st.cache_data(show_spinner=False, max_entries=1000, ttl=dt.timedelta(hours=6))
def _call(_r: Reader, db: str, version: tuple[int, int], cfg: str, viewer_scope: scope_mod.Scope, name: str,
          args: tuple, kwargs: tuple) -> Any:
    fn = getattr(analytics, name)
    with scoped_cursor(_r, viewer_scope) as con:
        return fn(con, *args, **dict(kwargs))


def _live_reader() -> Reader:
    r = reader()
    if r is None:
        raise FileNotFoundError(str(db_path()))
    return r


def call(name: str, *args: Any, **kwargs: Any) -> Any:
    """``analytics.<name>(con, *args, **kwargs)`` within the viewer's scope, cached
    per warehouse version and scope."""
    r = _live_reader()
    return _call(r, r.db, r.version, settings_key(), _viewer_scope(), name, args, tuple(sorted(kwargs.items())))


@st.cache_data(show_spinner=False, max_entries=200, ttl=dt.timedelta(hours=6))
def _practice(_r: Reader, db: str, version: tuple[int, int], cfg: str, name: str, args: tuple, kwargs: tuple
              ) -> Any:
    with cursor(_r) as cur:
        return practice_mod.practice_aggregate(cur, name, *args, **dict(kwargs))


def practice(name: str, f: Filters, **kwargs: Any) -> Any:
    """De-identified practice figures (``access.practice.practice_aggregate``): aggregates over the whole
    practice with small cells suppressed and no team or therapist filter; any role."""
    r = _live_reader()
    return _practice(r, r.db, r.version, settings_key(), name, (f,), tuple(sorted(kwargs.items())))


@st.cache_data(show_spinner=False, max_entries=20, ttl=dt.timedelta(hours=6))
def _practice_categories(_r: Reader, db: str, version: tuple[int, int], cfg: str) -> dict:
    with cursor(_r) as cur:
        o = analytics.filter_options(cur)
    return {k: o[k] for k in ("modalities", "age_groups", "approaches", "min_date", "max_date")}


def practice_categories() -> dict:
    """The practice's modalities, age groups, approaches and first/latest session dates: labels
    and dates, no child data, the same for every viewer (so a therapist can filter the
    de-identified practice figures by a modality outside their own caseload)."""
    r = _live_reader()
    return _practice_categories(r, r.db, r.version, settings_key())


small_cell_min = disclosure.small_cell_min


@st.cache_data(show_spinner=False, max_entries=20)
def _status(db: str, version: tuple[int, int]) -> dict:
    return loader.status(Path(db))


def status() -> dict | None:
    """``pipelines.load.status`` of the live warehouse (files, counts, freshness), cached per version."""
    r = reader()
    if r is None:
        return None
    return _status(r.db, r.version)


@st.cache_data(show_spinner=False, max_entries=20)
def _served_from(_r: Reader, db: str, version: tuple[int, int]) -> str | None:
    with cursor(_r) as cur:
        return serving.served_from(cur)


def served_from() -> str | None:
    """The Parquet marts folder the dashboard serves (``python -m pipelines serve-from``); None
    when it reads a warehouse that uploads load into. Loads of served marts run on the Spark pipeline."""
    r = reader()
    return None if r is None else _served_from(r, r.db, r.version)


SERVED_MESSAGE = ("This dashboard serves Parquet marts built by the Spark pipeline ({marts}), so exports are not "
                  "loaded or undone here: loads run on the Spark pipeline (`python -m pipelines load FILES "
                  "--engine spark --out {marts}`), and the pages show the new build when it is published.")


def _refuse_when_served(what: str) -> None:
    marts = served_from()
    if marts is not None:
        raise PermissionError(f"{what} is not possible here: " + SERVED_MESSAGE.format(marts=marts))


def rejects() -> pd.DataFrame | None:
    """Rejected rows with their reasons (file, line, column, value, reason); None without a warehouse."""
    if reader() is None:
        return None
    return call("rejects")


def profile_names() -> list[str]:
    try:
        return list(profiles.available())
    except Exception:  # noqa: BLE001 - a broken profile folder must not break the Data page
        return []


def upload_limit_mb() -> float:
    """``[uploads] max_mb`` of settings.toml (the server's ``maxUploadSize`` is a second cap)."""
    return uploads.max_mb()


def load_uploaded(files: list[tuple[str, bytes]], profile: str | None) -> loader.LoadReport:
    """Load uploaded files through the same pipeline as the CLI (``access.uploads``).

    Only a clinical lead may load data; the size limit, content sniffing and the safe Excel
    reader are the pipeline's.
    """
    if not _viewer_scope().is_everything:
        raise PermissionError("only a clinical lead can load data")
    _refuse_when_served("Loading exports")
    return uploads.load_uploaded(files, db_path(), profile, after_build=stored.STEPS)


def unload_file(sha256: str) -> loader.LoadReport:
    """Undo the load of one file (``pipelines.unload.unload``, as ``python -m pipelines unload``):
    its rows go, the other files are replayed from the landing archive. Clinical lead only;
    the page records the audit event first."""
    if not _viewer_scope().is_everything:
        raise PermissionError("only a clinical lead can undo a load")
    _refuse_when_served("Undoing a load")
    return unloader.unload(sha256, db_path(), after_build=stored.STEPS)


def file_problems(sha256: str) -> pd.DataFrame:
    """This loaded file's rejected rows (one per problem) and its rows loaded but not linked:
    file, line, column, value, reason (``pipelines.unload.file_problems``); empty without a
    warehouse or when the file is not loaded. Clinical lead only (raw export rows)."""
    if not _viewer_scope().is_everything:
        raise PermissionError("only a clinical lead can see rejected rows")
    r = reader()
    if r is None:
        return pd.DataFrame(columns=["file", "line", "column", "value", "reason"])
    with cursor(r) as cur:
        return unloader.file_problems(cur, sha256)


_MISSING = re.compile(r"missing required column\(s\) for profile '([^']*)': (.*?)\. Headers found: (.*)$")


def plain_failure(name: str, message: str) -> tuple[str, str]:
    """What is wrong with a file that could not be loaded, and what to do, in plain words
    (the file named once, by the caller): ``(what, todo)``."""
    what = message[len(name) + 2:] if message.startswith(f"{name}: ") else message
    m = _MISSING.search(what)
    if m:
        needed = ", ".join(part.split(" (")[0].strip() for part in m.group(2).split(";"))
        return (f"its columns are not the ones an export needs: {needed} not found (its headers: {m.group(3)}).",
                "Check that this is the export from the practice system, or pick its layout under "
                "'Mapping profile', and load it again.")
    return (what.rstrip(".") + ".", "Nothing of it was loaded. Check that it is an export from the practice "
            "system (CSV, .xlsx or Parquet) and load it again.")


def cells(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` for display: empty cells (None, NaN) as "–", never "None"."""
    return pd.DataFrame({c: ["–" if v is None or (isinstance(v, float) and v != v) else v for v in df[c]]
                         for c in df.columns}, dtype=object)
