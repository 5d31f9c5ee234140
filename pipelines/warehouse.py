"""Where the warehouse lives and how it is opened: readers never blocked, loads atomic.

Design (build and swap): a load never writes the live database file. It takes a writer lock
(``<db>.lock``), copies the live file to ``<db>.building-<pid>``, loads into the copy, and
when every file is done replaces the live file with ``os.replace`` (atomic on POSIX).
Readers open the live file read-only in their own in-memory DuckDB (``ATTACH ... READ_ONLY``),
so they never hold a lock the writer needs, and they see either the old or the new
warehouse, never a half-finished one. A crash leaves only a stray ``.building`` file.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = """
create table if not exists files (
    file_id integer primary key,
    load_seq integer not null,
    sha256 varchar not null unique,
    original_name varchar not null,
    archived_as varchar not null,
    kind varchar not null,
    profile varchar not null,
    sheet varchar,
    loaded_at timestamp not null,
    rows_read integer not null,
    rows_loaded integer not null,
    rows_rejected integer not null,
    dropped_columns varchar[],
    ignored_columns varchar[]
);
create table if not exists session_rows (
    file_id integer not null,
    load_seq integer not null,
    line integer not null,
    session_id varchar not null,
    goal_key varchar not null,
    goal_id varchar,
    child_id varchar not null,
    therapist_id varchar not null,
    team varchar,
    session_date date not null,
    modality varchar not null,
    approach varchar not null,
    attendance varchar not null,
    duration_min integer,
    setting varchar,
    engagement tinyint,
    goal_domain varchar,
    gas_level tinyint,
    goal_weight double,
    measure varchar,
    measure_score double,
    date_of_birth date,
    age_years integer
);
create table if not exists rejects (
    file_id integer not null,
    file_name varchar not null,
    line integer,
    column_name varchar,
    value varchar,
    reason varchar not null,
    raw_row varchar
);
create table if not exists load_runs (
    run_id integer primary key,
    started_at timestamp not null,
    finished_at timestamp,
    command varchar not null,
    files_loaded integer,
    files_skipped integer,
    files_failed integer
);
"""


def default_db_path() -> Path:
    """``$PIPELINES_DB`` or ``data/warehouse/practice.duckdb`` in the project."""
    return Path(os.environ.get("PIPELINES_DB", ROOT / "data" / "warehouse" / "practice.duckdb"))


def archive_dir(db: Path) -> Path:
    """The landing archive beside the database: every imported file, keyed by content hash."""
    return db.parent / f"{db.stem}_landing"


def connect_reader(db: Path, threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the live warehouse that never blocks a load.

    An in-memory DuckDB attaches the file read-only; each call gets its own instance, so
    after a load swaps the file a new reader sees the new warehouse.
    """
    db = Path(db)
    if not db.exists():
        raise FileNotFoundError(f"no warehouse at {db}: run 'python -m pipelines load' first")
    con = duckdb.connect(config={"threads": threads or os.cpu_count() or 2})
    con.execute("attach $path as wh (read_only)", {"path": str(db)})
    con.execute("use wh")
    return con


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor (for use by one thread) that reads the warehouse.

    A cursor of a reader starts in the in-memory default database; it is pointed at the
    attached warehouse (``wh``) here. Writers' cursors are returned as they are.
    """
    cur = con.cursor()
    if cur.execute("select count(*) from duckdb_databases() where database_name = 'wh'").fetchall()[0][0]:
        cur.execute("use wh")
    return cur


def version(db: Path) -> tuple[int, int]:
    """Identity of the live file (inode, mtime ns): changes when a load swaps it."""
    st = Path(db).stat()
    return st.st_ino, st.st_mtime_ns


@contextlib.contextmanager
def writer(db: Path, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Exclusive build-and-swap write: yields a connection to a private copy of the warehouse.

    On normal exit the copy replaces the live file atomically; on any exception (or a crash)
    the live file is untouched and the copy is removed.
    """
    db = Path(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    lock_path = db.with_name(db.name + ".lock")
    with open(lock_path, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        building = db.with_name(f"{db.name}.building-{os.getpid()}")
        for stale in db.parent.glob(f"{db.name}.building-*"):
            stale.unlink(missing_ok=True)  # left by a crashed load; we hold the lock
        if db.exists():
            shutil.copyfile(db, building)
        config = {"threads": os.cpu_count() or 2, "preserve_insertion_order": False,
                  # DuckDB spills to disk beyond this, keeping a load's footprint flat
                  "memory_limit": memory_limit or os.environ.get("PIPELINES_MEMORY_LIMIT", "300MB")}
        con = duckdb.connect(str(building), config=config)
        try:
            con.execute(SCHEMA)
            yield con
            con.execute("checkpoint")
            con.close()
            with open(building, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(building, db)
            dir_fd = os.open(db.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            with contextlib.suppress(Exception):
                con.close()
            building.unlink(missing_ok=True)
            Path(str(building) + ".wal").unlink(missing_ok=True)
            raise
