"""Needs-attention flags as a workflow: acknowledge, snooze until a date, assign, a short note.

Every action is one row appended to an SQLite file beside the warehouse
(``<warehouse stem>_alerts.sqlite``, or ``$PIPELINES_ALERTS``), never inside it: loads and
rebuilds replace the warehouse file, and the workflow must outlive them (back it up with the
audit log). Rows are never changed or deleted (triggers refuse); a flag's status now is
worked out from its history (``states``). Several dashboard processes may write at once:
SQLite's locking (WAL, ``BEGIN IMMEDIATE``) serialises them and no action is lost.

**Key.** A flag is ``(child_id, flag code, measure or "")``: a flag that names its measure
keeps one history per measure (``measure`` column of the flags, when there is one).

**Episodes.** Each action keeps the flag's ``since`` and the as-of date of the data the
person saw. An action applies to the flag shown now while that flag's ``since`` is on or
before the action's as-of date (the evidence behind it had begun when the person acted).
A flag that clears and fires again later, or whose evidence has moved on entirely past
the action (a ``since`` after the action's as-of date), is new again: its earlier actions
stay in its history (``earlier``) and are shown with it, but none of them hides it.

**Snooze** hides a flag until a date (the practice's calendar date, ``today()``); from that
day on it is shown again, status "back", with its history.

**Scope and audit** (``act``): a supervisor or therapist acts only on the children in their
scope (the caller passes the scope's children; a lead acts on every child). Each action is
recorded in the audit log (``access.audit``, action ``alert``) before it is stored; if the
audit log cannot be written nothing is stored (``AlertNotRecorded``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sqlite3
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from access import audit, sqlite_store
from access.scope import Scope

ACTIONS = ("acknowledge", "snooze", "assign", "note", "reopen")
ACTION_WORDS = {"acknowledge": "acknowledged", "snooze": "snoozed", "assign": "assigned", "note": "added a note",
                "reopen": "reopened"}
NOTE_MAX = 280          # a short note, not a clinical record
ASSIGNEE_MAX = 254      # an email address at most
STATUS_WORDS = {"new": "new", "again": "new again", "open": "open", "back": "back", "acknowledged": "acknowledged",
                "snoozed": "snoozed"}
HANDLED = ("acknowledged", "snoozed")
_COLUMNS = ["seq", "at", "actor", "role", "child_id", "flag", "measure", "since", "as_of", "action", "until",
            "assignee", "note", "audit_seq"]
_SCHEMA = """
create table if not exists alert_actions (
    seq integer primary key autoincrement,
    at text not null,                   -- when (UTC, ISO 8601)
    actor text not null,                -- who (the signed-in email, or local-user)
    role text,
    child_id text not null,
    flag text not null,                 -- the flag's code
    measure text not null default '',   -- the flag's measure, '' for a flag without one
    since text not null,                -- the flag's since date when acted on (YYYY-MM-DD)
    as_of text not null,                -- the as-of date of the data the person saw (YYYY-MM-DD)
    action text not null,               -- acknowledge | snooze | assign | note | reopen
    until text,                         -- snooze: shown again from this date (YYYY-MM-DD)
    assignee text,                      -- assign: the person or therapist id ('' = nobody)
    note text,
    audit_seq integer                   -- the audit event recorded first
);
create index if not exists alert_actions_key on alert_actions (child_id, flag, measure, seq);
create trigger if not exists alert_actions_no_update before update on alert_actions
begin select raise(abort, 'alert_actions is append-only'); end;
create trigger if not exists alert_actions_no_delete before delete on alert_actions
begin select raise(abort, 'alert_actions is append-only'); end;
"""
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


class AlertRefused(PermissionError):
    """An action outside the viewer's scope: nothing recorded, nothing stored."""


class AlertInvalid(ValueError):
    """An action that cannot be taken as asked (no date, a date in the past, an unknown person ...)."""


class AlertNotRecorded(RuntimeError):
    """The audit log could not be written, so the action was not stored (fail closed)."""


@dataclass(frozen=True)
class Flag:
    """One flag as shown: its key (child, code, measure), its ``since`` and the data's as-of date."""

    child_id: str
    flag: str
    measure: str
    since: dt.date
    as_of: dt.date

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.child_id, self.flag, self.measure)


def alerts_path(db: Path | None = None) -> Path:
    """``$PIPELINES_ALERTS``, else ``<warehouse stem>_alerts.sqlite`` beside the warehouse."""
    env = os.environ.get("PIPELINES_ALERTS")
    if env:
        return Path(env)
    from pipelines import warehouse
    db = Path(db or warehouse.default_db_path())
    return db.with_name(db.stem + "_alerts.sqlite")


def today() -> dt.date:
    """The practice's calendar date (this computer's), against which snoozes end."""
    return dt.date.today()


def _date(value) -> dt.date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()


def _measure(value) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return str(value)


def flag_keys(flags: pd.DataFrame) -> list[tuple[str, str, str]]:
    """``(child_id, flag, measure or "")`` of each row of a flags frame, in its order."""
    measures = flags["measure"] if "measure" in flags.columns else [""] * len(flags)
    return [(str(c), str(f), _measure(m)) for c, f, m in zip(flags["child_id"], flags["flag"], measures)]


def flags_from_frame(flags: pd.DataFrame) -> list[Flag]:
    """A ``Flag`` for each row of a flags frame (``analytics.flags``: child_id, flag, since, as_of
    and, when flags carry one, measure)."""
    keys = flag_keys(flags)
    return [Flag(c, f, m, _date(s), _date(a)) for (c, f, m), s, a in zip(keys, flags["since"], flags["as_of"])]


# ----------------------------------------------------------------------------- the store

def _connect(path: Path) -> sqlite3.Connection:
    return sqlite_store.open_store(path, _SCHEMA)


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    text = _CONTROL.sub(" ", str(note)).strip()
    if len(text) > NOTE_MAX:
        raise AlertInvalid(f"a note is at most {NOTE_MAX} characters (this one has {len(text)}); keep it short")
    return text or None


def _check(action: str, flags: list[Flag], *, scope: Scope, children: Collection[str] | None, until: dt.date | None,
           assignee: str | None, assignees: Collection[str], note: str | None, on: dt.date) -> None:
    """Raise ``AlertInvalid`` or ``AlertRefused`` for an action that may not be stored."""
    if action not in ACTIONS:
        raise AlertInvalid(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    if not flags:
        raise AlertInvalid("no flag chosen: select the flags to act on")
    if not scope.is_everything:
        allowed = set(children or ())
        outside = sorted({f.child_id for f in flags if f.child_id not in allowed})
        if outside:
            raise AlertRefused(f"{', '.join(outside[:5])}{' …' if len(outside) > 5 else ''}: not among the children "
                               f"you can see ({scope.describe()}), so you cannot act on their flags")
    for f in flags:
        if not f.child_id or not f.flag or f.since is None or f.as_of is None:
            raise AlertInvalid(f"flag {f.flag!r} of child {f.child_id!r} has no since or as-of date")
    if action == "snooze":
        if until is None:
            raise AlertInvalid("a snooze needs a date until which the flag is hidden")
        if until <= on:
            raise AlertInvalid(f"snooze until a date after today ({on:%Y-%m-%d}); {until:%Y-%m-%d} is not")
    elif until is not None:
        raise AlertInvalid("only a snooze takes a date")
    if action == "assign":
        if assignee is None:
            raise AlertInvalid("choose the person to assign the flag to (or nobody, to remove the assignment)")
        if assignee and assignee not in set(assignees):
            raise AlertInvalid(f"{assignee[:ASSIGNEE_MAX]!r} is not on the access list nor a therapist id of your "
                               "children; assign to one of them")
    elif assignee is not None:
        raise AlertInvalid("only an assignment takes a person")
    if action == "note" and not note:
        raise AlertInvalid("write the note first")


def act(action: str, flags: Iterable[Flag], *, actor: str, scope: Scope, children: Collection[str] | None,
        until: dt.date | None = None, assignee: str | None = None, assignees: Collection[str] = (),
        note: str | None = None, page: str = "Needs attention", on: dt.date | None = None,
        path: Path | None = None, audit_log: Path | None = None) -> list[int]:
    """Take one action on each of ``flags``; returns the new rows' numbers (``seq``).

    ``scope`` is the viewer's and ``children`` the children in it (ignored for a lead): a flag
    of any other child refuses the whole action (``AlertRefused``). ``assignee`` must be one of
    ``assignees`` (the access list's people and the therapist ids), or ``""`` for nobody; a
    snooze's ``until`` must be after ``on`` (default ``today()``); ``note`` (any action, at
    most ``NOTE_MAX`` characters) is kept with it. Each flag's action is recorded in the audit
    log first (action ``alert``, the child and every field); only when all are recorded are
    they stored, in one transaction. ``AlertNotRecorded`` when the audit log cannot be written
    (nothing stored); ``AlertInvalid`` for a wrong action (nothing recorded).
    """
    flags = list(flags)
    actor = str(actor or "").strip()
    if not actor:
        raise AlertInvalid("no actor: an action needs the person taking it")
    note = _clean_note(note)
    assignee = None if assignee is None else str(assignee).strip()[:ASSIGNEE_MAX]
    _check(action, flags, scope=scope, children=children, until=until, assignee=assignee, assignees=assignees,
           note=note, on=on or today())
    at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    rows = []
    for f in flags:
        fields = {"flag": f.flag, "measure": f.measure or None, "since": f.since.isoformat(),
                  "as_of": f.as_of.isoformat(), "action": action,
                  "until": until.isoformat() if until else None, "assignee": assignee, "note": note}
        try:
            seq = audit.record("alert", actor, role=scope.role, page=page, child_id=f.child_id,
                               detail={k: v for k, v in fields.items() if v is not None}, path=audit_log)
        except Exception as exc:  # noqa: BLE001 - any failure to write the log stops the action
            raise AlertNotRecorded(f"the audit log {audit_log or audit.audit_path()} cannot be written "
                                   f"({type(exc).__name__}: {exc}), so the action was not saved") from exc
        rows.append((at, actor, scope.role, f.child_id, f.flag, f.measure, fields["since"], fields["as_of"], action,
                     fields["until"], assignee, note, seq))
    con = _connect(Path(path or alerts_path()))
    try:
        con.execute("begin immediate")
        seqs = [int(con.execute(
            "insert into alert_actions (at, actor, role, child_id, flag, measure, since, as_of, action, until, "
            "assignee, note, audit_seq) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", r).lastrowid) for r in rows]
        con.execute("commit")
        return seqs
    except BaseException:
        if con.in_transaction:
            con.execute("rollback")
        raise
    finally:
        con.close()


def no_history() -> pd.DataFrame:
    """An empty history (the columns of ``history``)."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in _COLUMNS})


def history(children: Iterable[str] | None = None, path: Path | None = None) -> pd.DataFrame:
    """Every action stored (of ``children`` only, when given), oldest first; columns ``_COLUMNS``.

    Only reads: no store yet gives an empty frame, and no file is created."""
    path = Path(path or alerts_path())
    if not path.exists():
        return no_history()
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30, isolation_level=None)
    try:
        if con.execute("select 1 from sqlite_master where type = 'table' and name = 'alert_actions'").fetchone() is None:
            return no_history()
        sql = f"select {', '.join(_COLUMNS)} from alert_actions"
        args: list = []
        if children is not None:
            sql += " where child_id in (select value from json_each(?))"
            args.append(json.dumps(sorted({str(c) for c in children})))
        return pd.read_sql_query(sql + " order by seq", con, params=args)
    finally:
        con.close()


# ----------------------------------------------------------------------------- state from history

def _by_key(hist: pd.DataFrame) -> dict[tuple[str, str, str], list[dict]]:
    out: dict[tuple[str, str, str], list[dict]] = {}
    for r in hist.to_dict("records"):
        out.setdefault((str(r["child_id"]), str(r["flag"]), _measure(r["measure"])), []).append(r)
    return out


def _applies(row: dict, since: dt.date) -> bool:
    """Whether an action belongs to the flag shown now (see the module doc: episodes)."""
    return str(row["as_of"]) >= since.isoformat()


def _what(r: dict) -> str:
    """What an action did, in words: ``snoozed until 2026-12-08``, ``assigned to T04``."""
    what = ACTION_WORDS.get(r["action"], str(r["action"]))
    if r["action"] == "snooze" and r.get("until"):
        what += f" until {r['until']}"
    elif r["action"] == "assign":
        what = f"assigned to {r['assignee']}" if r.get("assignee") else "unassigned"
    return what


def _describe(r: dict) -> str:
    """One action in words: ``snoozed until 2026-12-08 by sam@... on 2026-12-01``."""
    return f"{_what(r)} by {r['actor']} on {str(r['at'])[:10]}"


def states(flags: pd.DataFrame, hist: pd.DataFrame, on: dt.date | None = None) -> pd.DataFrame:
    """The workflow state of each row of ``flags`` (same index), worked out from ``hist``.

    Columns: ``status`` (``new``; ``again``: new again after an earlier episode; ``open``:
    acted on but not handled, e.g. assigned or reopened; ``back``: a snooze that ended on or
    before ``on``, default ``today()``; ``acknowledged``; ``snoozed``), ``status_text`` (in
    words, with the dates), ``handled`` (acknowledged, or snoozed until after ``on``),
    ``assignee`` and ``note`` (the latest of this episode, or ""), ``snoozed_until``,
    ``last_action`` (in words; an earlier episode's is marked "earlier:"), ``actions`` (of
    this episode) and ``earlier`` (actions of earlier episodes).
    """
    on = on or today()
    grouped = _by_key(hist)
    out = []
    for key, since in zip(flag_keys(flags), flags["since"]):
        since = _date(since)
        acts = grouped.get(key, [])
        now = [r for r in acts if _applies(r, since)]
        before = [r for r in acts if not _applies(r, since)]
        status, until, assignee, note = None, None, "", ""
        for r in now:
            if r["action"] == "acknowledge":
                status, until = "acknowledged", None
            elif r["action"] == "snooze":
                status, until = "snoozed", _date(r["until"])
            elif r["action"] == "reopen":
                status, until = "open", None
            elif r["action"] == "assign":
                assignee = r["assignee"] or ""
            if r.get("note"):
                note = r["note"]
        if status == "snoozed" and until is not None and until <= on:
            status = "back"
        if status is None:
            status = "open" if now else ("again" if before else "new")
        text = {"snoozed": f"snoozed until {until}", "back": f"back: snooze ended {until}",
                "again": f"new again (fired since {since})"}.get(status, STATUS_WORDS[status])
        last = _describe(now[-1]) if now else (f"earlier: {_describe(before[-1])}" if before else "")
        out.append({"status": status, "status_text": text, "handled": status in HANDLED, "assignee": assignee,
                    "note": note, "snoozed_until": until if status in ("snoozed", "back") else None,
                    "last_action": last, "actions": len(now), "earlier": len(before)})
    cols = ["status", "status_text", "handled", "assignee", "note", "snoozed_until", "last_action", "actions",
            "earlier"]
    frame = pd.DataFrame(out, columns=cols, index=flags.index)
    frame["handled"] = frame["handled"].astype(bool)
    return frame


def history_table(flags: pd.DataFrame, hist: pd.DataFrame) -> pd.DataFrame:
    """The actions on the flags of ``flags`` in words, newest first: child, flag code, when
    (UTC), who, what, note, and whether it was on this firing of the flag or an earlier one."""
    grouped = _by_key(hist)
    rows = []
    for key, since in zip(flag_keys(flags), flags["since"]):
        since = _date(since)
        for r in grouped.get(key, []):
            rows.append({"seq": r["seq"], "child_id": key[0], "flag": key[1], "measure": key[2],
                         "when": str(r["at"])[:16].replace("T", " "), "who": r["actor"],
                         "what": _what(r), "note": r.get("note") or "",
                         "episode": "this time" if _applies(r, since) else f"earlier (flag since {r['since']})"})
    cols = ["seq", "child_id", "flag", "measure", "when", "who", "what", "note", "episode"]
    return pd.DataFrame(rows, columns=cols).sort_values("seq", ascending=False).reset_index(drop=True)
