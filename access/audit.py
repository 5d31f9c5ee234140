"""The audit log: who viewed which child's page, who exported what, when (append-only).

An SQLite file beside the warehouse (``<warehouse>_audit.sqlite`` or ``$PIPELINES_AUDIT``),
not the warehouse itself: loads swap the warehouse file, and several dashboard processes
append at once, which SQLite's locking (WAL mode, ``BEGIN IMMEDIATE``) serialises.

Append-only twice over: triggers abort any UPDATE or DELETE, and each row carries a
SHA-256 hash chained to the row before it (like a hash-chained log, Schneier & Kelsey
1999), so an edit made with another tool shows up in ``verify``.

A chain cannot show events removed from its end (nothing after them is left to break), so
the head of the log -- its last ``seq`` and that event's hash -- is also kept where the
log's editor does not write: every load records it in the warehouse (``anchor_into``, table
``audit_anchor``). Sign-ins and exports carry the head before them in their detail
(``log_head``), and SQLite's own autoincrement counter remembers the highest number issued.
``verify`` checks all of these; what it can and cannot detect is listed in ``LIMITS``.

Actions: ``sign_in``, ``refused`` (signed in but not on the access list), ``view`` (a
page; ``child_id`` set on a child's page), ``export`` (detail says what and how many
rows), ``upload``, ``access_change``, ``alert`` (an action on a needs-attention flag, before it is
stored: ``access.alerts``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from access import sqlite_store
from pipelines.audit_anchor import (  # noqa: F401  (re-exported: the log's head and where the log is)
    Anchor, AuditUnavailable, has_table, open_read_only, anchor_into, audit_path, head, read_anchors)

ACTIONS = ("sign_in", "refused", "view", "export", "upload", "unload", "access_change", "alert")
HEAD_ACTIONS = ("sign_in", "export")  # events that carry the log's head before them (``log_head``)
LIMITS = ("Not detected: events recorded after the latest load, deleted by someone who also resets SQLite's "
          "counter or rewritten with their hashes recomputed (no anchor covers them yet); and any change by "
          "someone who can also rewrite or replace the warehouse's anchors. Copy the log off the machine "
          "regularly if that matters.")
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


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite_store.open_store(path, _SCHEMA)


def _row_hash(prev: str, at: str, actor: str, role: str | None, action: str, page: str | None,
              child_id: str | None, detail: str | None) -> str:
    blob = json.dumps([prev, at, actor, role, action, page, child_id, detail], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def record(action: str, actor: str, *, role: str | None = None, page: str | None = None,
           child_id: str | None = None, detail: dict | None = None, path: Path | None = None) -> int:
    """Append one event; returns its sequence number. Values are bound, never formatted.

    Sign-ins and exports get ``log_head`` (``{"seq", "hash"}`` of the event before) in their detail."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; one of {', '.join(ACTIONS)}")
    at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    con = _connect(Path(path or audit_path()))
    try:
        con.execute("begin immediate")  # one writer at a time, across processes: the chain stays linear
        last = con.execute("select seq, hash from audit_log order by seq desc limit 1").fetchone()
        prev = last[1] if last else ""
        if action in HEAD_ACTIONS:  # the head before this event, hashed into it
            detail = {**(detail or {}), "log_head": {"seq": int(last[0]) if last else 0, "hash": prev or None}}
        det = json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str) if detail else None
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


class _Outcome(NamedTuple):
    intact: bool
    rows: int
    first_broken: int | None


class Verification(_Outcome):
    """What ``verify`` checked and found.

    Unpacks and compares as the older ``(intact, rows checked, first broken seq or None)``;
    ``first_broken`` is the first event that fails a check or, for a truncation, the first
    event missing. Also: ``last_seq``, ``issued`` (SQLite's counter; None without one),
    ``warehouse`` (the warehouse read for anchors, or None), ``warehouse_anchors`` (anchors
    of this log compared), ``latest_anchor``, ``event_heads`` (heads carried by events and
    compared), ``problems`` and ``checked`` (sentences), ``notes`` (what could not be checked).
    """

    def __new__(cls, intact: bool, rows: int, first_broken: int | None, *, last_seq: int = 0,
                issued: int | None = None, warehouse: Path | None = None, warehouse_anchors: int = 0,
                latest_anchor: Anchor | None = None, event_heads: int = 0, problems: list[str] | None = None,
                checked: list[str] | None = None, notes: list[str] | None = None) -> "Verification":
        self = super().__new__(cls, intact, rows, first_broken)
        self.last_seq, self.issued, self.warehouse = last_seq, issued, warehouse
        self.warehouse_anchors, self.latest_anchor, self.event_heads = warehouse_anchors, latest_anchor, event_heads
        self.problems, self.checked, self.notes = problems or [], checked or [], notes or []
        return self

    def __repr__(self) -> str:
        return f"Verification(intact={self.intact}, rows={self.rows}, first_broken={self.first_broken}, " \
               f"last_seq={self.last_seq}, problems={self.problems!r})"


def _when(at: dt.datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def verify(path: Path | None = None, db: Path | None = None) -> Verification:
    """Check the log against itself and against the anchors kept outside it.

    Checks: every event's hash (its content and the hash of the event before); numbering
    contiguous from 1; SQLite's counter of numbers issued not above the last event; the head
    each sign-in and export carries; and every anchor the warehouse at ``db`` holds for this
    log (a load's recorded last seq must exist and have the same hash). ``db`` defaults to
    the project's warehouse when ``path`` is the default log too; with an explicit ``path``
    and no ``db`` no warehouse is read. Both files are only read. See ``LIMITS``.
    """
    default = path is None
    path = Path(path or audit_path())
    if db is None and default:
        from pipelines import warehouse
        db = warehouse.default_db_path()
    db = Path(db) if db is not None else None
    problems: list[str] = []
    checked: list[str] = []
    notes: list[str] = []
    broken: list[int] = []

    here = str(path.resolve())
    anchors: list[Anchor] = []
    if db is None:
        notes.append("No warehouse was given, so no load's anchor was compared.")
    elif not db.exists():
        notes.append(f"No warehouse at {db}, so no load's anchor was compared.")
    else:
        found = read_anchors(db)
        if found is None:
            notes.append(f"The warehouse {db.name} holds no anchors (it was last written before loads "
                         "recorded them, or cannot be read).")
        else:
            anchors = [a for a in found if a.log == here]
            others = sorted({a.log for a in found if a.log != here})
            if others:
                notes.append(f"{len(found) - len(anchors)} anchors in the warehouse are of another log "
                             f"({', '.join(others)}) and were not compared: loads run with another "
                             "$PIPELINES_AUDIT record their events there.")
    wanted: dict[int, list[Anchor]] = {}
    for a in anchors:
        if a.seq > 0:
            wanted.setdefault(a.seq, []).append(a)

    rows = last = heads = 0
    issued: int | None = None
    seen: set[int] = set()
    if not path.exists():
        if anchors and max(a.seq for a in anchors) > 0:
            problems.append(f"There is no log at {path}.")
    else:
        try:
            con = open_read_only(path)
            try:
                if not has_table(con, "audit_log"):
                    problems.append(f"The file {path.name} has no audit_log table: it was dropped.")
                else:
                    rows, last, heads = _walk(con, wanted, seen, problems, broken)
                    if has_table(con, "sqlite_sequence"):
                        r = con.execute("select seq from sqlite_sequence where name = 'audit_log'").fetchone()
                        issued = int(r[0]) if r else None
            finally:
                con.close()
        except sqlite3.Error as exc:
            problems.append(f"The log {path} cannot be read ({exc}).")
    if issued is not None and issued > last:
        problems.append(f"SQLite issued numbers up to {issued}, but the log ends at event {last}: "
                        f"events {last + 1} to {issued} were deleted.")
        broken.append(last + 1)
    elif issued is not None and issued < last:
        problems.append(f"SQLite's counter of numbers issued ({issued}) is below the last event ({last}): "
                        "the counter was edited, or events renumbered upwards.")
    for a in anchors:
        if a.seq > last:
            empty = " (it holds no events)" if last == 0 else ""
            gone = a.seq - last
            problems.append(f"The load of {_when(a.at)} anchored event {a.seq}, but the log ends at event "
                            f"{last}{empty}: at least {gone} event{'s' if gone != 1 else ''} from event "
                            f"{last + 1} on {'were' if gone != 1 else 'was'} deleted.")
            broken.append(last + 1)
        elif a.seq > 0 and a.seq not in seen:
            problems.append(f"The load of {_when(a.at)} anchored event {a.seq}, but the log has no event "
                            f"{a.seq}: events were renumbered or deleted.")
            broken.append(a.seq)

    if path.exists():
        checked.append(f"the hash chain of all {rows:,} events (each event's hash covers its content and "
                       "the hash of the event before)")
        if rows:
            checked.append(f"the numbering: events run 1 to {last:,} with none missing")
        if issued is not None:
            checked.append(f"SQLite's counter of numbers issued ({issued:,})")
        if heads:
            checked.append(f"{heads:,} head{'s' if heads != 1 else ''} of the log carried by sign-in and "
                           "export events")
    else:
        checked.append(f"that the log exists (no log yet at {path})")
    latest = max(anchors, key=lambda a: (a.seq, a.at)) if anchors else None
    if anchors:
        since = f"; events {latest.seq + 1:,} to {last:,}, recorded since, are not anchored yet" \
            if last > latest.seq else ""
        checked.append(f"{len(anchors):,} anchor{'s' if len(anchors) != 1 else ''} recorded by loads in the "
                       f"warehouse {db.name} (latest: event {latest.seq:,}, {_when(latest.at)}{since})")
    return Verification(not problems, rows, min(broken) if broken else None, last_seq=last, issued=issued,
                        warehouse=db if db is not None and db.exists() else None, warehouse_anchors=len(anchors),
                        latest_anchor=latest, event_heads=heads, problems=problems, checked=checked, notes=notes)


def _walk(con: sqlite3.Connection, wanted: dict[int, list[Anchor]], seen: set[int], problems: list[str],
          broken: list[int]) -> tuple[int, int, int]:
    """Check every event in seq order; returns ``(rows, last seq, heads checked)``. Each kind
    of problem is reported at its first occurrence (what follows one break is not evidence)."""
    prev, prev_seq, rows, heads = "", 0, 0, 0
    numbering = chain = head_ok = True
    for seq, at, actor, role, action, page, child, detail, prev_hash, h in con.execute(
            "select seq, at, actor, role, action, page, child_id, detail, prev_hash, hash "
            "from audit_log order by seq"):
        seq = int(seq)
        rows += 1
        seen.add(seq)
        if numbering and seq != prev_seq + 1:
            numbering = False
            where = f"event {seq} follows event {prev_seq}" if prev_seq else f"the first event is numbered {seq}"
            problems.append(f"Events are not numbered 1, 2, 3, ...: {where} (renumbered, or the events "
                            "between deleted).")
            broken.append(seq)
        if chain and _row_hash(prev_hash or "", at, actor, role, action, page, child, detail) != h:
            chain = False
            problems.append(f"Event {seq} does not match its hash: it was edited.")
            broken.append(seq)
        elif chain and (prev_hash or "") != prev:
            chain = False
            what = "the log's first event" if not prev_seq else f"event {prev_seq}"
            problems.append(f"Event {seq} does not chain to {what} before it: events were deleted or "
                            "inserted there.")
            broken.append(seq)
        if action in HEAD_ACTIONS and detail:
            try:
                claimed = json.loads(detail).get("log_head")
            except (ValueError, AttributeError):
                claimed = None
            if isinstance(claimed, dict):
                heads += 1
                if head_ok and (claimed.get("seq") != prev_seq or (claimed.get("hash") or "") != prev):
                    head_ok = False
                    problems.append(f"Event {seq} recorded the log's head as event {claimed.get('seq')}, but the "
                                    f"event before it is now {prev_seq or 'none'}"
                                    f"{'' if claimed.get('seq') != prev_seq else ' with another hash'}: events "
                                    "before it were renumbered, deleted or rewritten.")
                    broken.append(seq)
        for a in wanted.get(seq, ()):
            if a.hash != h:
                problems.append(f"Event {seq} is not the event the load of {_when(a.at)} anchored "
                                f"({(a.hash or '')[:12]}..., now {h[:12]}...): the log was rewritten up to there.")
                broken.append(seq)
        prev, prev_seq = h, seq
    return rows, prev_seq, heads


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

