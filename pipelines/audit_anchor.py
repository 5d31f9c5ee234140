"""The audit log's head, anchored in the warehouse by every load (``anchor_into``).

The audit log itself (record, read, verify) is ``access.audit``; this part of it lives in the
pipeline because every load and rebuild records the log's head -- its last ``seq`` and that
event's hash -- in the warehouse it writes (table ``audit_anchor``), swapped in with the load,
so that events removed from the end of the log show up in ``access.audit.verify``. It only
reads the log (read-only, never creating it) and knows where it lives.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path
from typing import Any, NamedTuple


def audit_path(db: Path | None = None) -> Path:
    """``$PIPELINES_AUDIT``, else ``<warehouse stem>_audit.sqlite`` beside the warehouse."""
    env = os.environ.get("PIPELINES_AUDIT")
    if env:
        return Path(env)
    from pipelines import warehouse
    db = Path(db or warehouse.default_db_path())
    return db.with_name(db.stem + "_audit.sqlite")


class AuditUnavailable(OSError):
    """The audit log exists but cannot be read (to anchor its head): the message says which file."""


def open_read_only(path: Path) -> sqlite3.Connection:
    """The log opened read-only: nothing is created, not even the table."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None)


def has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("select 1 from sqlite_master where type = 'table' and name = ?", (name,)).fetchone() is not None


def head(path: Path | None = None) -> tuple[int, str | None]:
    """The log's head: ``(last seq, its hash)``; ``(0, None)`` for no log (or no events yet).

    Raises ``AuditUnavailable`` when the file exists but cannot be read.
    """
    path = Path(path or audit_path())
    if not path.exists():
        return 0, None
    try:
        con = open_read_only(path)
        try:
            if not has_table(con, "audit_log"):
                return 0, None
            row = con.execute("select seq, hash from audit_log order by seq desc limit 1").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise AuditUnavailable(f"the audit log {path} cannot be read to anchor its head ({exc})") from exc
    return (int(row[0]), row[1]) if row else (0, None)


_ANCHOR_SCHEMA = """
create table if not exists audit_anchor (
    seq integer not null,            -- the log's last event when the warehouse was written (0: none)
    hash varchar,                    -- that event's hash
    anchored_at timestamp not null,  -- when (UTC)
    log varchar not null             -- the log file anchored (resolved path)
)
"""


class Anchor(NamedTuple):
    """One recorded head of the log: its last ``seq`` and hash, when (UTC) and which log file."""
    seq: int
    hash: str | None
    at: dt.datetime
    log: str


def anchor_into(con: Any, path: Path, *, previous: Path | None = None) -> tuple[int, str | None]:
    """Record the head of the log at ``path`` in the warehouse being written (table
    ``audit_anchor``); returns the ``(seq, hash)`` recorded.

    Call it inside ``warehouse.writer`` on every load and rebuild, so the anchor is swapped
    in with the load. ``previous`` (the live warehouse) carries its anchors into a build that
    starts without them (a rebuild writes a fresh file); a previous warehouse that cannot be
    read carries nothing (a rebuild may be running because it is damaged). Raises
    ``AuditUnavailable`` when the log exists but cannot be read; a missing log anchors ``0``.
    """
    path = Path(path)
    had = con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                      "and table_name = 'audit_anchor'").fetchall()[0][0]
    con.execute(_ANCHOR_SCHEMA)
    if not had and previous is not None and Path(previous).exists():
        carried = read_anchors(Path(previous))
        if carried:
            con.executemany("insert into audit_anchor values (?, ?, ?, ?)", [tuple(a) for a in carried])
    seq, h = head(path)
    con.execute("insert into audit_anchor values ($seq, $hash, $at, $log)",
                {"seq": seq, "hash": h, "at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None),
                 "log": str(path.resolve())})
    return seq, h


def read_anchors(db: Path) -> list[Anchor] | None:
    """The anchors in the warehouse at ``db``, read-only; None when there is no anchor table."""
    import duckdb

    from pipelines import warehouse
    try:
        con = warehouse.connect_reader(db, threads=1)
    except (duckdb.Error, OSError):
        return None
    try:
        if not con.execute("select count(*) from duckdb_tables() where database_name = 'wh' "
                           "and table_name = 'audit_anchor'").fetchall()[0][0]:
            return None
        return [Anchor(int(s), h, at, log) for s, h, at, log in
                con.execute("select seq, hash, anchored_at, log from audit_anchor order by anchored_at, seq").fetchall()]
    except duckdb.Error:
        return None
    finally:
        con.close()
