"""Opening the append-only SQLite stores (the audit log, the flags' actions) safely from many processes."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

BUSY_SECONDS = 30.0


def open_store(path: Path, schema: str, *, busy_seconds: float = BUSY_SECONDS) -> sqlite3.Connection:
    """An autocommit connection to `path` in WAL mode with `schema` applied; returns the connection.

    SQLite does not call its busy handler when a connection switches the journal mode, so two
    processes opening a new store at the same moment can get "database is locked" at once
    (seen with two processes acting on flags together). The switch is retried until
    `busy_seconds` have passed; every later statement waits on the normal busy timeout.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=busy_seconds, isolation_level=None)
    deadline = time.monotonic() + busy_seconds
    delay = 0.01
    while True:
        try:
            con.execute("pragma journal_mode=wal").fetchall()
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or time.monotonic() > deadline:
                con.close()
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
    con.executescript(schema)
    return con
