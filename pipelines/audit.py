"""The audit log: who viewed which child's page, who exported what, when (append-only).

An SQLite file beside the warehouse (``<warehouse>_audit.sqlite`` or ``$PIPELINES_AUDIT``),
not the warehouse itself: loads swap the warehouse file, and several dashboard processes
append at once, which SQLite's locking (WAL mode, ``BEGIN IMMEDIATE``) serialises.

Append-only twice over: triggers abort any UPDATE or DELETE, and each row carries a
SHA-256 hash chained to the row before it (like a hash-chained log, Schneier & Kelsey
1999), so an edit made with another tool shows up in ``verify``.

Actions: ``sign_in``, ``refused`` (signed in but not on the access list), ``view`` (a
page; ``child_id`` set on a child's page), ``export`` (detail says what and how many
rows), ``upload``, ``access_change``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

ACTIONS = ("sign_in", "refused", "view", "export", "upload", "access_change")
_COLUMNS = ("seq", "at", "actor", "role", "action", "page", "child_id", "detail", "prev_hash", "hash")
_SCHEMA = """
create table if not exists audit_log (
    seq integer primary key autoincrement,
    at text not null,
    actor text not null,
    role text,
    action text not null,
    page text,
    child_id text,
    detail text,
    prev_hash text,
    hash text not null
);
create trigger if not exists audit_log_no_update before update on audit_log
begin select raise(abort, 'audit_log is append-only'); end;
create trigger if not exists audit_log_no_delete before delete on audit_log
begin select raise(abort, 'audit_log is append-only'); end;
"""


def audit_path(db: Path | None = None) -> Path:
    """``$PIPELINES_AUDIT``, else ``<warehouse stem>_audit.sqlite`` beside the warehouse."""
    env = os.environ.get("PIPELINES_AUDIT")
    if env:
        return Path(env)
    from pipelines import warehouse
    db = Path(db or warehouse.default_db_path())
    return db.with_name(db.stem + "_audit.sqlite")


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=30, isolation_level=None)
    con.execute("pragma journal_mode=wal")
    con.executescript(_SCHEMA)
    return con


def _row_hash(prev: str, at: str, actor: str, role: str | None, action: str, page: str | None,
              child_id: str | None, detail: str | None) -> str:
    blob = json.dumps([prev, at, actor, role, action, page, child_id, detail], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def record(action: str, actor: str, *, role: str | None = None, page: str | None = None,
           child_id: str | None = None, detail: dict | None = None, path: Path | None = None) -> int:
    """Append one event; returns its sequence number. Values are bound, never formatted."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
    at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    det = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else None
    con = _connect(Path(path or audit_path()))
    try:
        con.execute("begin immediate")  # one writer at a time, across processes: the chain stays linear
        last = con.execute("select hash from audit_log order by seq desc limit 1").fetchone()
        prev = last[0] if last else ""
        h = _row_hash(prev, at, actor, role, action, page, child_id, det)
        cur = con.execute(
            "insert into audit_log (at, actor, role, action, page, child_id, detail, prev_hash, hash) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?)", (at, actor, role, action, page, child_id, det, prev, h))
        con.execute("commit")
        return int(cur.lastrowid)
    except BaseException:
        if con.in_transaction:
            con.execute("rollback")
        raise
    finally:
        con.close()


def read(path: Path | None = None, *, actor: str | None = None, action: str | None = None,
         child_id: str | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None,
         limit: int = 5000) -> pd.DataFrame:
    """Events, newest first, filtered by any of actor, action, child and UTC dates (inclusive)."""
    path = Path(path or audit_path())
    if not path.exists():
        return pd.DataFrame(columns=list(_COLUMNS))
    where, args = [], []
    for col, val in (("actor", actor), ("action", action), ("child_id", child_id)):
        if val:
            where.append(f"{col} = ?")
            args.append(val)
    if date_from:
        where.append("at >= ?")
        args.append(date_from.isoformat())
    if date_to:
        where.append("at < ?")
        args.append((date_to + dt.timedelta(days=1)).isoformat())
    sql = "select * from audit_log" + (" where " + " and ".join(where) if where else "") + \
        " order by seq desc limit ?"
    con = _connect(path)
    try:
        return pd.read_sql_query(sql, con, params=[*args, int(limit)])
    finally:
        con.close()


def has_sign_in(actor: str, login_at: Any, action: str = "sign_in", path: Path | None = None) -> bool:
    """Whether this sign-in (or refusal) -- the identity provider's ``iat``, when the person
    signed in -- is already recorded: one event per sign-in, not one per page load."""
    path = Path(path or audit_path())
    if not path.exists() or login_at is None:
        return False
    con = _connect(path)
    try:
        return con.execute("select 1 from audit_log where action = ? and actor = ? "
                           "and json_extract(detail, '$.login_at') = ? limit 1",
                           (action, actor, str(login_at))).fetchone() is not None
    finally:
        con.close()


def verify(path: Path | None = None) -> tuple[bool, int, int | None]:
    """Check the hash chain: ``(intact, rows checked, first broken seq or None)``."""
    path = Path(path or audit_path())
    if not path.exists():
        return True, 0, None
    con = _connect(path)
    try:
        prev, n = "", 0
        for seq, at, actor, role, action, page, child, detail, prev_hash, h in con.execute(
                "select seq, at, actor, role, action, page, child_id, detail, prev_hash, hash "
                "from audit_log order by seq"):
            n += 1
            if prev_hash != prev or _row_hash(prev, at, actor, role, action, page, child, detail) != h:
                return False, n, int(seq)
            prev = h
        return True, n, None
    finally:
        con.close()


def actors(path: Path | None = None) -> list[str]:
    """Everyone who appears in the log (for the audit page's filter)."""
    path = Path(path or audit_path())
    if not path.exists():
        return []
    con = _connect(path)
    try:
        return [r[0] for r in con.execute("select distinct actor from audit_log order by actor")]
    finally:
        con.close()

