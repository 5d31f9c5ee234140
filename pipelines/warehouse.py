"""Where the warehouse lives and how it is opened: readers never blocked, loads atomic.

Design (build and swap): a load never writes the live database file. It takes a writer lock
(``<db>.lock``), copies the live file to ``<db>.building-<pid>`` (a rebuild starts from an
empty file instead), loads into the copy, and when every file is done replaces the live
file with ``os.replace`` (atomic on POSIX). The live file is never moved away or absent.
Readers open the live file read-only in their own in-memory DuckDB (``ATTACH ... READ_ONLY``),
so they never hold a lock the writer needs, and they see either the old or the new
warehouse, never a half-finished one. A crash leaves only stray ``.building-<pid>`` files
(and DuckDB's spill folder ``.building-<pid>.tmp/``), which the next writer removes.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
# The warehouse's layout. 2: raw tables per source (src_*) and measures as observations
# (issue 13); 1 (no warehouse_meta): one session_rows table with an engagement column. A
# warehouse of another version is rebuilt from its landing archive by the next load.
SCHEMA_VERSION = 2
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
    ignored_columns varchar[],
    export_order timestamp,     -- the export's own order: rows of a newer export win
    order_from varchar,         -- where export_order came from (given, file name, file time, ...)
    entry varchar               -- the file's landing-manifest entry (JSON): what rebuild replays
);
-- the raw tables, one row per key: the newest export's row (export_order, then load_seq, then line)
create table if not exists src_sessions (
    session_id varchar not null,       -- the key
    child_id varchar not null,
    therapist_id varchar,
    team varchar,
    session_date date not null,
    start_time time,
    modality varchar,
    approach varchar,                  -- null: not recorded
    attendance varchar not null,
    duration_min integer,
    setting varchar,
    date_of_birth date,
    age_years integer,
    removed boolean not null default false,  -- a removal in a later export (appointments sources)
    source varchar not null,           -- the source kind of the file: sessions, appointments, ...
    file_id integer not null,
    load_seq integer not null,
    line integer not null,
    export_order timestamp not null
);
create table if not exists src_observations (
    session_ref varchar not null,      -- the key: session_ref x measure x goal_key
    measure varchar not null,
    goal_key varchar not null,         -- the goal_id of a goal-level measure, '' for a session-level one
    goal_id varchar,
    child_id varchar,
    value double,                      -- as given, never rounded; null: the export emptied the cell (a tombstone)
    trials_correct integer,
    trials_total integer,
    source varchar not null,
    file_id integer not null,
    load_seq integer not null,
    line integer not null,
    export_order timestamp not null
);
create table if not exists src_goals (
    goal_uid varchar not null,         -- the key: child_id/goal_id
    child_id varchar not null,
    goal_id varchar not null,
    goal_text varchar,
    goal_domain varchar,
    level_m3 varchar,                  -- what each GAS level means (the goals source)
    level_m2 varchar,
    level_m1 varchar,
    level_0 varchar,
    level_p1 varchar,
    level_p2 varchar,
    baseline varchar,
    target varchar,
    mastery_criterion varchar,
    measure varchar,
    goal_weight double,                -- null: not given (weight 1)
    start_date date,
    met_date date,
    discontinued_date date,
    source varchar not null,
    file_id integer not null,
    load_seq integer not null,
    line integer not null,
    export_order timestamp not null
);
create table if not exists src_children (
    child_id varchar not null,         -- the key: child_id x episode_id
    episode_id varchar not null,       -- '' for what session rows say of the child
    date_of_birth date,
    referral_date date,
    discharge_date date,
    discharge_reason varchar,          -- as the export gives it
    discharge_kind varchar,            -- planned | dropped_out | other (the children source's synonyms)
    source varchar not null,
    file_id integer not null,
    load_seq integer not null,
    line integer not null,
    export_order timestamp not null
);
create table if not exists src_session_data (
    session_ref varchar not null,      -- the key: the appointment id, else child_id|session_date|start_time
    session_id varchar,                -- the appointment id when the row gave one
    child_id varchar not null,
    session_date date,
    start_time time,
    approach varchar,                  -- what the session data says of the session
    therapist_id varchar,
    setting varchar,
    source varchar not null,
    file_id integer not null,
    load_seq integer not null,
    line integer not null,
    export_order timestamp not null
);
create table if not exists src_charges (
    session_ref varchar not null,      -- the key: session_ref x service_code
    service_code varchar not null,
    session_id varchar,                -- the visit id when the row gave one
    child_id varchar not null,
    session_date date not null,
    therapist_id varchar,
    modality varchar not null,         -- from the profile's [service_codes]
    note_type varchar,
    source varchar not null,
    file_id integer not null,
    load_seq integer not null,
    line integer not null,
    export_order timestamp not null
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
create table if not exists warehouse_meta (
    schema_version integer not null    -- SCHEMA_VERSION of the code that made the warehouse
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


def schema_version(con) -> int:
    """The layout version of the warehouse ``con`` reads (1: made before ``warehouse_meta`` existed)."""
    found = con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                        "and schema_name = 'main' and table_name = 'warehouse_meta'").fetchall()[0][0]
    if not found:
        return 1
    rows = con.execute("select max(schema_version) from warehouse_meta").fetchall()
    return int(rows[0][0]) if rows and rows[0][0] is not None else 1


def outdated(db: Path) -> bool:
    """Whether the live warehouse at ``db`` was made by an earlier version (its layout is not
    ``SCHEMA_VERSION``): the next load rebuilds it from its landing archive, and until then
    the dashboard asks for ``python -m pipelines rebuild``. False when there is no warehouse."""
    if not Path(db).exists():
        return False
    con = connect_reader(db)
    try:
        return schema_version(con) != SCHEMA_VERSION
    finally:
        con.close()


def default_db_path() -> Path:
    """``$PIPELINES_DB`` or ``data/warehouse/practice.duckdb`` in the project."""
    return Path(os.environ.get("PIPELINES_DB", ROOT / "data" / "warehouse" / "practice.duckdb"))


def archive_dir(db: Path) -> Path:
    """The landing archive beside the database: every imported file, keyed by content hash."""
    return db.parent / f"{db.stem}_landing"


# The writer's DuckDB memory_limit (beyond it DuckDB spills to ``<db>.building-<pid>.tmp/``): a
# quarter of the machine's memory (or of the container's cgroup limit), at least 512 MB and at
# most 2 GB, unless ``$PIPELINES_MEMORY_LIMIT`` says otherwise (any DuckDB size, e.g. "1GB").
# Measured at 1M rows: the staging statement took 15.3 s CPU at 300 MB (it spilled 762 MB),
# 10.6 s at 1 GB and 7.5 s at 2 GB. The limit bounds DuckDB's buffer pool only: the process's
# peak RSS is about this much plus the Python side (the pandas frames of the statistics step),
# and the 1 GB peak-RSS target of issue 14 is about that Python side; a machine that must stay
# under 1 GB in all sets PIPELINES_MEMORY_LIMIT=512MB and pays for it in spilling.
# The staging statement (stg_sessions, 1M rows, 2 threads, alone): it used to group the unnested cells by
# line (list() aggregates, 934 MB) and materialise the wide typed rows for its key checks, peak RSS 1.5 GB,
# and at 640 MB it spilled (19.9 s CPU against 10.1 s at 2 GB). Now each row's cells are checked on the row's
# own list and the key checks read narrow rows: peak RSS ~0.6 GB at either limit, ~10 s CPU at both.
MEMORY_FRACTION = 0.25
MEMORY_FLOOR_MB = 512
MEMORY_CAP_MB = 2048


def _physical_mb() -> int | None:
    """The memory this process may use, in MB: the machine's, or its cgroup's limit when lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        with contextlib.suppress(OSError, ValueError):
            text = Path(limit_file).read_text().strip()
            if text != "max":
                total = min(total, int(text))
            break
    return total // 2**20


def writer_memory_limit() -> str:
    """The writer's DuckDB ``memory_limit`` (e.g. ``"2048MB"``): ``$PIPELINES_MEMORY_LIMIT`` when
    set, else ``MEMORY_FRACTION`` of the machine's memory within ``MEMORY_FLOOR_MB`` and
    ``MEMORY_CAP_MB`` (the floor when the machine's memory cannot be read)."""
    given = os.environ.get("PIPELINES_MEMORY_LIMIT", "").strip()
    if given:
        return given
    mb = _physical_mb()
    sized = MEMORY_FLOOR_MB if mb is None else int(mb * MEMORY_FRACTION)
    return f"{min(MEMORY_CAP_MB, max(MEMORY_FLOOR_MB, sized))}MB"


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


def cursor(con) -> duckdb.DuckDBPyConnection:
    """A cursor (for use by one thread) that reads the warehouse.

    ``con`` is a DuckDB connection (a reader, a writer or a cursor of one) or a connection-like
    object that hands out its own cursors: a scoped connection (``access.scope``) or a
    ``SameConnection``. Anything that is not a DuckDB connection is asked for its
    ``cursor()`` and that is used as it is (duck typing: this layer knows nothing of the
    layers above it). A cursor of a reader starts in the in-memory default database; it is
    pointed at the attached warehouse (``wh``) here. Writers' cursors are returned as they are.
    """
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return con.cursor()
    cur = con.cursor()
    if cur.execute("select count(*) from duckdb_databases() where database_name = 'wh'").fetchall()[0][0]:
        cur.execute("use wh")
    return cur


class SameConnection:
    """A connection-like object whose every "cursor" is the given connection itself: queries
    run on the writer's own connection (``analytics.stored.build_tables`` during a load,
    possibly inside a transaction, where a new cursor would not see uncommitted tables)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con

    def cursor(self) -> SameConnection:
        return self

    def execute(self, *args, **kwargs):
        return self._con.execute(*args, **kwargs)

    def register(self, *args, **kwargs):
        return self._con.register(*args, **kwargs)

    def unregister(self, *args, **kwargs):
        return self._con.unregister(*args, **kwargs)

    def close(self) -> None:
        pass


def version(db: Path) -> tuple[int, int]:
    """Identity of the live file (inode, mtime ns): changes when a load swaps it."""
    st = Path(db).stat()
    return st.st_ino, st.st_mtime_ns


def lock_path(db: Path) -> Path:
    """The writer lock beside the warehouse (``<db>.lock``)."""
    db = Path(db)
    return db.with_name(db.name + ".lock")


def _stale_pattern(db: Path) -> re.Pattern[str]:
    return re.compile(re.escape(db.name) + r"\.building-\d+(\.wal|\.tmp)?")


def building_files(db: Path) -> list[Path]:
    """A writer's private files beside ``db``: ``<db>.building-<pid>`` and its ``.wal`` and
    ``.tmp/`` spill folder. Nothing else matches (other names are not ours)."""
    db = Path(db)
    if not db.parent.is_dir():
        return []
    pat = _stale_pattern(db)
    return sorted(p for p in db.parent.iterdir() if pat.fullmatch(p.name))


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def clean_stale(db: Path) -> None:
    """Remove what crashed writers left; call only while holding the writer lock.

    Every ``<db>.building-<pid>`` file, its ``.wal`` and its spill folder ``.tmp/`` goes,
    whatever the pid: a writer's files exist only while it holds the lock, so while we hold
    it none belongs to a running writer (and a pid may have been reused, so liveness proves
    nothing). A live file missing beside ``<db>.before-rebuild`` (left by an older version's
    killed rebuild) is put back.
    """
    db = Path(db)
    for stale in building_files(db):
        _remove(stale)
    before = db.with_name(db.name + ".before-rebuild")
    if not db.exists() and before.exists():
        os.replace(before, db)


def lock_held(db: Path) -> bool:
    """Whether a writer holds the lock of ``db`` now (without waiting, and without creating it)."""
    lp = lock_path(db)
    try:
        fh = open(lp, "rb")
    except OSError:
        return False
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False
    finally:
        fh.close()


def practice_traces(db: Path) -> str | None:
    """Why the place ``db`` is (or is becoming) a practice's warehouse even without the file:
    a writer at work, a writer's files, or a landing archive. None for an empty place."""
    db = Path(db)
    if lock_held(db):
        return f"a load is running on {db.name}"
    if building_files(db):
        return f"a load's private files are beside {db.name}"
    if db.with_name(db.name + ".before-rebuild").exists():
        return f"{db.name}.before-rebuild is there"
    arch = archive_dir(db)
    if arch.is_dir() and any(arch.iterdir()):
        return f"its landing archive {arch} is there"
    return None


def _fsync_dir(folder: Path) -> None:
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@contextlib.contextmanager
def writer(db: Path, memory_limit: str | None = None, fresh: bool = False,
           after_swap: Callable[[], None] | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """Exclusive build-and-swap write: yields a connection to a private copy of the warehouse
    (``fresh``: to a new, empty warehouse; the live file is not read or moved).

    On normal exit the private file replaces the live file atomically, then ``after_swap``
    runs, still under the lock; on any exception (or a crash) the live file is untouched and
    the private files are removed. ``OSError`` comes out when the folder cannot be written.
    """
    db = Path(db)
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(db), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        clean_stale(db)
        building = db.with_name(f"{db.name}.building-{os.getpid()}")
        con = None
        try:
            if db.exists() and not fresh:
                shutil.copyfile(db, building)
            config = {"threads": os.cpu_count() or 2, "preserve_insertion_order": False,
                      # DuckDB spills to disk beyond this, keeping a load's footprint flat
                      "memory_limit": memory_limit or writer_memory_limit()}
            con = duckdb.connect(str(building), config=config)
            new = fresh or not db.exists()
            con.execute(SCHEMA)
            if new:  # a copy of an older warehouse keeps its (older) version: the load rebuilds it
                con.execute("insert into warehouse_meta values ($v)", {"v": SCHEMA_VERSION})
            yield con
            con.execute("checkpoint")
            con.close()
            with open(building, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(building, db)
            _fsync_dir(db.parent)
        except BaseException:
            if con is not None:
                with contextlib.suppress(Exception):
                    con.close()
            for p in (building, Path(str(building) + ".wal"), Path(str(building) + ".tmp")):
                with contextlib.suppress(OSError):
                    _remove(p)
            raise
        with contextlib.suppress(OSError):
            _remove(Path(str(building) + ".tmp"))
        if after_swap is not None:
            after_swap()
