"""Load export files into the warehouse: archive, read, validate, upsert, rebuild marts.

Each file is read (see ``ingest``; name columns dropped), its rows archived name-free by
the original's content hash (``_archive``; ``rebuild`` replays the archive), typed and checked by
``queries/staging/stg_session_rows.sql``; good rows are upserted into ``session_rows`` keyed
by (session_id, goal_id), bad rows go to ``rejects`` with file, line, column, value and reason.

Precedence is the export's own order, not the order of loading: each file gets an export
order (``--export-date`` when given, else a date in its name, else its modified time) and,
per key, the row of the newest export is kept (equal orders: the later load). So the result
depends only on the set of files loaded. A file loads in one transaction; the whole load
happens in a private copy of the warehouse that replaces the live one only at the end (see
``warehouse``). A file that cannot be used fails alone; a failure of the machine (disk full,
I/O error, a folder that cannot be written) stops the whole load with nothing changed.

The warehouse's ``files`` table is the record of what was loaded (each row carries its
manifest entry); ``<landing>/manifest.jsonl`` is rewritten from it after every swap and at
the start of every load and rebuild, so it never lists a file whose load did not commit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import errno
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from pipelines import audit_anchor, ingest, queries, transform, warehouse
from pipelines.ingest import UnusableFile
from pipelines.profiles import Profile, load as load_profile

ISO = "ISO"
_DATE_PARTS = r"^(\d{1,2})([/.-])(\d{1,2})[/.-](\d{4}|\d{2})$"
GIVEN = "given (--export-date)"
FROM_NAME = "file name"
FROM_MTIME = "file modified time"
LEGACY = "load time (loaded before export order was recorded)"
MANIFEST = "manifest.jsonl"
DROPPED = "manifest.dropped.jsonl"


class LoadAborted(RuntimeError):
    """The whole load or rebuild stopped and nothing was changed; the message (one line) says why."""


@dataclass
class FileReport:
    path: str
    status: str  # loaded | skipped | failed
    message: str = ""
    sha256: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    profile: str = ""
    dropped_columns: list[str] = field(default_factory=list)
    export_order: str = ""  # ISO timestamp: the export's own order (newest wins)
    order_from: str = ""    # where it came from: given, file name, file modified time


@dataclass
class LoadReport:
    db: str
    files: list[FileReport]
    timings: dict[str, float] = field(default_factory=dict)  # seconds: files_s, models_s, statistics_s
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    def as_dict(self) -> dict:
        return {"db": self.db, "files": [asdict(f) for f in self.files], "warnings": list(self.warnings)}


@dataclass
class Job:
    path: Path
    name: str                   # the name the user knows the file by (messages, rejects)
    profile: Profile | None     # None: choose from the headers
    sheet: str | None
    today: dt.date              # sessions after this date are rejected as future
    loaded_at: dt.datetime | None = None  # replayed by rebuild
    archived: dict | None = None          # rebuild of a name-free archive: its manifest entry
    export_order: dt.datetime | None = None  # given (--export-date) or replayed; None: from name or mtime
    order_from: str | None = None


def expand(paths: Iterable[str | Path]) -> list[Path]:
    """Files named, and the export files inside folders named (sorted, recursive)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in ingest.SUPPORTED
                          and not q.name.startswith((".", "~$")))
        else:
            out.append(p)
    return out


def decide_date_format(con: duckdb.DuckDBPyConnection, profile: Profile, name: str) -> str:
    """The file's date format: the profile's, or inferred from the dates themselves.

    Raises ``UnusableFile`` when slash dates could be read day-first or month-first.
    """
    if profile.date_format not in ("auto", "", None):
        return profile.date_format
    stats = con.execute(
        """
        with d as (
            select regexp_extract(v, $pattern, ['day_or_month', 'sep', 'month_or_day', 'year']) as p
            from (select session_date as v from raw_rows union all select date_of_birth from raw_rows)
            where regexp_full_match(v, $pattern)
        )
        select count(*),
               count(*) filter (where cast(p.day_or_month as int) > 12),
               count(*) filter (where cast(p.month_or_day as int) > 12),
               mode(p.sep), max(length(p.year)),
               (select count(session_date) + count(date_of_birth) from raw_rows)
        from d
        """, {"pattern": _DATE_PARTS}).fetchall()[0]
    n, first_big, second_big, sep, year_len, all_dates = stats
    if n == 0 or n * 2 < all_dates:
        return ISO  # an ISO file; its few slash dates are rejected as not dates
    year = "%Y" if year_len == 4 else "%y"
    if first_big and second_big:
        raise UnusableFile(
            f"{name}: dates are written both day-first and month-first ({first_big} have a first part "
            f"over 12, {second_big} a second part over 12); fix the export or state date_format in a profile")
    if first_big:
        return f"%d{sep}%m{sep}{year}"
    if second_big:
        return f"%m{sep}%d{sep}{year}"
    raise UnusableFile(
        f"{name}: {n} dates such as 03/04/2026 could be day-first or month-first and none settles it; "
        f"use a profile that states date_format (e.g. --profile vendor_pms for dd/mm/yyyy)")


def date_label(fmt: str) -> str:
    """A strftime format as users write it: ``%d/%m/%Y`` -> ``dd/mm/yyyy``."""
    if fmt == ISO:
        return "yyyy-mm-dd"
    for code, text in (("%d", "dd"), ("%m", "mm"), ("%Y", "yyyy"), ("%y", "yy"), ("%b", "mon"), ("%H", "hh"),
                       ("%M", "mi"), ("%S", "ss")):
        fmt = fmt.replace(code, text)
    return fmt


REDACTED = "(raw line not kept: the file carried name columns)"


# ------------------------------------------------------------------ export order

_NAME_DATES = (
    re.compile(r"(?<!\d)(\d{4})[-_.](\d{2})[-_.](\d{2})(?!\d)"),   # 2026-07-31, 2026_07_31
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"),             # 20260731
    re.compile(r"(?<!\d)(\d{4})[-_.](\d{2})(?![-_.]?\d)"),          # 2026-07 (the first of the month)
)


def name_date(name: str) -> dt.datetime | None:
    """The latest real date (1990-2100) written in a file name as YYYY-MM-DD, YYYYMMDD or
    YYYY-MM (``-``, ``_`` or ``.`` between the parts), or None. A name such as
    ``sessions_2026-01-01_to_2026-06-30.csv`` gives the end of its period."""
    found = []
    for pat in _NAME_DATES:
        for m in pat.finditer(Path(name).name):
            y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3)) if m.lastindex == 3 else 1
            if 1990 <= y <= 2100:
                with contextlib.suppress(ValueError):
                    found.append(dt.datetime(y, mo, d))
    return max(found) if found else None


def export_order(job: Job) -> tuple[dt.datetime, str]:
    """The file's export order and where it came from: given, else its name, else its mtime."""
    if job.export_order is not None:
        return job.export_order, job.order_from or GIVEN
    named = name_date(job.name)
    if named is not None:
        return named, FROM_NAME
    return dt.datetime.fromtimestamp(job.path.stat().st_mtime).replace(microsecond=0), FROM_MTIME


def parse_export_date(text: str) -> dt.datetime:
    """``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` (a space for the T is fine); ValueError otherwise."""
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"):
        with contextlib.suppress(ValueError):
            return dt.datetime.strptime(text.strip(), fmt)
    raise ValueError(f"{text!r} is not a date: write YYYY-MM-DD or YYYY-MM-DDTHH:MM")


# ------------------------------------------------------------------ fault injection (tests)

def _fault(point: str, key: object, path: Path | None = None) -> None:
    """Fault injection for the crash tests, ``PIPELINES_FAULT=<what>:<key>``:
    ``<point>:<key>`` exits hard there (as a kill -9 would); ``hold_<point>:<key>`` writes
    ``$PIPELINES_FAULT_HOLD.held`` and waits until ``$PIPELINES_FAULT_HOLD`` exists;
    ``enospc_<point>:<key>`` raises the OSError of a full disk. Points: ``archive`` (key: the
    file name; after the rows are read, before they are archived), ``after_archive`` and
    ``after_file`` (key: the count of files so far), ``before_swap`` and ``after_swap`` (1)."""
    spec = os.environ.get("PIPELINES_FAULT", "")
    what, _, arg = spec.partition(":")
    if not spec or arg != str(key):
        return
    if what == point:
        os._exit(75)
    if what == "hold_" + point:
        hold = Path(os.environ["PIPELINES_FAULT_HOLD"])
        Path(str(hold) + ".held").touch()
        deadline = time.monotonic() + 300
        while not hold.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    if what == "enospc_" + point:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path or key))


# ------------------------------------------------------------------ one file

def _archive(con: duckdb.DuckDBPyConnection, job: Job, sn: ingest.Sniffed, res: ingest.ReadResult,
             archive: Path, created: list[Path]) -> str:
    """Keep the file's rows in the landing archive for ``rebuild``; returns the archived name.

    What is kept is the rows as read -- the contract's columns only, with line numbers, as
    text -- in ``<sha256 of the original>.canonical.parquet``: name columns (dropped) and
    columns we do not use (free-text notes may name a child) never reach the disk. The
    raw text of rows that could not be parsed is kept for the rejects only when the file
    had no name column; otherwise a note replaces it. A parquet written here is added to
    ``created``, so that a load that does not commit takes it away again.
    """
    if job.archived is not None:
        return job.path.name
    import pyarrow.parquet as pq

    archived = archive / f"{sn.sha256}.canonical.parquet"
    if not archived.exists():
        tmp = archived.with_suffix(".partial")
        created.append(tmp)
        _fault("archive", job.name, tmp)
        pq.write_table(con.sql("select * from raw_rows order by _line").to_arrow_table(), tmp)
        os.replace(tmp, archived)
        created.append(archived)
    if res.header_map.dropped:
        res.parse_rejects = [(line, col, REDACTED, reason) for line, col, _raw, reason in res.parse_rejects]
    return archived.name


def _load_one(con: duckdb.DuckDBPyConnection, job: Job, sn: ingest.Sniffed, file_id: int, load_seq: int,
              archive: Path, loaded_at: dt.datetime, order: dt.datetime, order_from: str,
              created: list[Path], count: int) -> tuple[FileReport, dict]:
    if job.archived is not None:
        res = ingest.read_canonical_archive(con, sn.path, job.profile, job.archived)
    else:
        res = ingest.read_into(con, sn, job.profile, job.sheet, display_name=job.name)
    archived_as = _archive(con, job, sn, res, archive, created)
    _fault("after_archive", count)
    p = res.profile
    fmt = decide_date_format(con, p, job.name)
    con.execute("drop table if exists value_synonyms")
    con.execute("create temp table value_synonyms (field varchar, raw varchar, value varchar)")
    rows = p.synonym_rows()
    if rows:
        con.executemany("insert into value_synonyms values (?, ?, ?)", rows)
    con.execute("drop table if exists staged")
    con.execute(f"create temp table staged as {queries.sql('stg_session_rows')}",
                queries.bind("stg_session_rows", {"date_format": fmt, "date_label": date_label(fmt), "today": job.today}))
    # Upsert by export order: a row's key is (session_id, goal_key); per key the row of the
    # newest export stays (an equal order: this, the later load). An older export's rows
    # never replace a newer export's.
    con.execute(
        """
        delete from session_rows as s
        using (select session_id, goal_key from staged where len(errors) = 0) as g
        where s.session_id = g.session_id and s.goal_key = g.goal_key and s.export_order <= $order
        """, {"order": order})
    inserted = con.execute(
        """
        insert into session_rows
        select $file_id, $load_seq, line, session_id, goal_key, goal_id, child_id, therapist_id, team,
               session_date, modality, approach, attendance, duration_min, setting, engagement,
               goal_domain, gas_level, goal_weight, measure, measure_score, date_of_birth, age_years, $order
        from staged as g
        where len(errors) = 0
          and not exists (select 1 from session_rows as s
                          where s.session_id = g.session_id and s.goal_key = g.goal_key)
        """, {"file_id": file_id, "load_seq": load_seq, "order": order}).fetchall()[0][0]
    con.execute(
        """
        insert into rejects
        select $file_id, $name, s.line, s.e.column, s.e.value, s.e.reason,
               to_json(r)::varchar
        from (select line, unnest(errors) as e from staged where len(errors) > 0) as s
        left join raw_rows as r on r._line = s.line
        order by s.line
        """, {"file_id": file_id, "name": job.name})
    if res.parse_rejects:
        con.executemany(
            "insert into rejects values (?, ?, ?, ?, ?, ?, ?)",
            [(file_id, job.name, line, col, None, reason, raw) for line, col, raw, reason in res.parse_rejects])
    loaded, rejected = con.execute(
        "select count(*) filter (where len(errors) = 0), count(*) filter (where len(errors) > 0) from staged"
    ).fetchall()[0]
    rejected += len({r[0] for r in res.parse_rejects})
    entry = {"sha256": sn.sha256, "original_name": job.name, "archived_as": archived_as, "kind": res.kind,
             "profile": p.as_dict(), "sheet": res.sheet, "load_seq": load_seq,
             "loaded_at": loaded_at.isoformat(), "today": job.today.isoformat(),
             "export_order": order.isoformat(), "order_from": order_from}
    entry["canonical"] = {"rows_read": res.rows_read, "dropped": res.header_map.dropped,
                          "ignored": res.header_map.ignored, "parse_rejects": res.parse_rejects}
    con.execute(
        "insert into files values ($id, $seq, $sha, $name, $arch, $kind, $profile, $sheet, $at, $read, "
        "$loaded, $rejected, $dropped, $ignored, $order, $order_from, $entry)",
        {"id": file_id, "seq": load_seq, "sha": sn.sha256, "name": job.name, "arch": archived_as,
         "kind": res.kind, "profile": p.name, "sheet": res.sheet, "at": loaded_at, "read": res.rows_read,
         "loaded": loaded, "rejected": rejected, "dropped": res.header_map.dropped,
         "ignored": res.header_map.ignored, "order": order, "order_from": order_from,
         "entry": json.dumps(entry)})
    for t in ("staged", "raw_rows", "value_synonyms"):
        con.execute(f"drop table if exists {t}")
    msg = f"{loaded} rows loaded, {rejected} rejected"
    if loaded > inserted:
        msg += (f"; {loaded - inserted} rows kept from a newer export (this export's order is "
                f"{order:%Y-%m-%d %H:%M}, from the {order_from})")
    if res.header_map.dropped:
        msg += f"; name columns dropped (never stored): {', '.join(res.header_map.dropped)}"
    if res.rows_read == 0:
        msg = "header only: no data rows"
    rep = FileReport(job.name, "loaded", msg, sn.sha256, res.rows_read, loaded, rejected, p.name,
                     res.header_map.dropped, order.isoformat(), order_from)
    return rep, entry


# ------------------------------------------------------------------ the manifest

def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {d[0] for d in con.execute(f"select * from {table} limit 0").description}


def _read_manifest(archive: Path) -> list[dict]:
    """The manifest's entries, first occurrence of each file (any format this project wrote)."""
    path = archive / MANIFEST
    if not path.exists():
        return []
    seen: set[str] = set()
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        e = json.loads(line)
        if e["sha256"] not in seen:
            seen.add(e["sha256"])
            out.append(e)
    return out


def _legacy_entry(e: dict) -> dict:
    """An entry written before export order was recorded: its load time is its order (that is
    the precedence its rows got), so a rebuild gives the warehouse it was."""
    if "export_order" not in e:
        e = dict(e, export_order=e["loaded_at"], order_from=LEGACY)
    return e


def _write_atomic(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    warehouse._fsync_dir(path.parent)


def _reconcile(archive: Path, live: list[dict] | None, referenced: set[str] = frozenset()) -> None:
    """Make the landing archive say what the live warehouse holds (called under the lock).

    ``live``: the live warehouse's entries (None: there is no live warehouse, nothing to go
    by, and nothing is touched); ``referenced``: every archive name its ``files`` table uses. The manifest is rewritten from them; an entry the warehouse
    does not have (its load never committed) is moved to ``manifest.dropped.jsonl`` with the
    reason, and its parquet kept; a parquet nothing refers to (a load killed between
    archiving and committing) and half-written ``.partial`` files are removed.
    """
    if live is None:
        return
    have = {e["sha256"] for e in live}
    dropped = [e for e in _read_manifest(archive) if e["sha256"] not in have]
    if dropped:
        at = dt.datetime.now().isoformat(timespec="seconds")
        with open(archive / DROPPED, "a", encoding="utf-8") as fh:
            for e in dropped:
                fh.write(json.dumps({"dropped_at": at, "reason": "not in the warehouse: its load never committed",
                                     "entry": e}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    _write_atomic(archive / MANIFEST, "".join(json.dumps(e) + "\n" for e in live))
    kept = {e["archived_as"] for e in live} | set(referenced)
    if (archive / DROPPED).exists():
        for line in (archive / DROPPED).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                kept.add(json.loads(line)["entry"]["archived_as"])
    for p in archive.iterdir():
        if p.name.endswith(".partial") or (p.name.endswith(".canonical.parquet") and p.name not in kept):
            p.unlink(missing_ok=True)


def _migrate(con: duckdb.DuckDBPyConnection, manifest: list[dict]) -> None:
    """Bring a warehouse made before export order was recorded up to date, in the private copy:
    add the columns; each file's order is its load time (the precedence its rows got) and its
    entry comes from the manifest."""
    for col, typ in (("export_order", "timestamp"), ("order_from", "varchar"), ("entry", "varchar")):
        con.execute(f"alter table files add column if not exists {col} {typ}")
    con.execute("alter table session_rows add column if not exists export_order timestamp")
    con.execute("update files set export_order = loaded_at, order_from = $src where export_order is null",
                {"src": LEGACY})
    by_sha = {e["sha256"]: e for e in manifest}
    for (sha,) in con.execute("select sha256 from files where entry is null").fetchall():
        if sha in by_sha:
            con.execute("update files set entry = $e where sha256 = $sha",
                        {"e": json.dumps(_legacy_entry(by_sha[sha])), "sha": sha})
    con.execute("update session_rows set export_order = f.export_order from files as f "
                "where session_rows.file_id = f.file_id and session_rows.export_order is null")


def _entries(con: duckdb.DuckDBPyConnection) -> tuple[list[dict], set[str]]:
    """The warehouse's manifest entries (load order) and every archive name its files use."""
    rows = con.execute("select entry, archived_as from files order by load_seq").fetchall()
    return [json.loads(e) for e, _ in rows if e is not None], {a for _, a in rows}


def _live_for_rebuild(db: Path, archive: Path) -> list[dict] | None:
    """What the live warehouse holds, as manifest entries (under the lock); None without one.

    A warehouse made before entries were stored gives the manifest's entries of its files.
    LoadAborted when a file it holds has no entry (a rebuild would lose it).
    """
    if not db.exists():
        return None
    try:
        con = warehouse.connect_reader(db)
    except duckdb.Error:
        return None  # unreadable: the manifest is all there is
    try:
        if "entry" in _columns(con, "files"):
            rows = con.execute("select original_name, entry from files order by load_seq").fetchall()
        else:
            by_sha = {e["sha256"]: e for e in _read_manifest(archive)}
            rows = [(name, json.dumps(_legacy_entry(by_sha[sha])) if sha in by_sha else None) for name, sha in
                    con.execute("select original_name, sha256 from files order by load_seq").fetchall()]
    finally:
        con.close()
    missing = [name for name, e in rows if e is None]
    if missing:
        raise LoadAborted(f"rebuild stopped: {', '.join(missing)} in the warehouse have no landing-archive "
                          f"entry, so a rebuild would lose them; nothing was changed")
    return [json.loads(e) for _, e in rows]


def _replay_jobs(entries: list[dict], archive: Path) -> list[Job]:
    entries = sorted((_legacy_entry(e) for e in entries), key=lambda e: (e["loaded_at"], e["load_seq"]))
    return [Job(archive / e["archived_as"], e["original_name"], Profile.from_dict(e["profile"]), e.get("sheet"),
                dt.date.fromisoformat(e["today"]), dt.datetime.fromisoformat(e["loaded_at"]),
                e if "canonical" in e else None, dt.datetime.fromisoformat(e["export_order"]), e["order_from"])
            for e in entries]


# ------------------------------------------------------------------ a run

def _first_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror + (f" ({exc.filename})" if exc.filename else "")
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _environmental(exc: BaseException) -> bool:
    """A failure of the machine, not of the file: the whole load stops."""
    return isinstance(exc, (OSError, duckdb.IOException, duckdb.OutOfMemoryException))


class _BuildFailed(Exception):
    def __init__(self, loaded: list[int], exc: Exception):
        super().__init__(str(exc))
        self.loaded, self.exc = loaded, exc


class _Discard(Exception):
    """Raised inside the writer to throw the private copy away (a trial, a refusal)."""


def _attempt(db: Path, jobs: list[Job] | None, command: str, echo: Callable[[str], None],
             trial: bool = False, only_into_new: bool = False, after_build: Iterable[transform.Step] = ()
             ) -> tuple[list[FileReport], dict, list[str]]:
    """One pass under the writer lock; reports align with ``jobs`` (rebuild: None, replayed
    from the live warehouse or the manifest). Raises LoadAborted, or _BuildFailed with the
    indexes of the files loaded when the models and statistics (``after_build``) fail."""
    fresh = command == "rebuild"
    archive = warehouse.archive_dir(db)
    timings: dict[str, float] = {}
    warnings: list[str] = []
    created: list[Path] = []   # archive files written by this pass: removed unless it commits
    swap: dict = {}

    def after_swap() -> None:
        _fault("after_swap", 1)
        try:
            _reconcile(archive, *swap["entries"])
        except Exception as exc:  # noqa: BLE001 - the swap is done: say so, the next run catches up
            warnings.append(f"the landing manifest could not be rewritten ({_first_line(exc)}); the warehouse is "
                            "loaded and the manifest is brought up to date by the next load or rebuild")

    reports: list[FileReport | None] = []
    try:
        archive.mkdir(parents=True, exist_ok=True)
        with warehouse.writer(db, fresh=fresh, after_swap=None if trial else after_swap) as con:
            try:
                started = dt.datetime.now()
                live_exists = db.exists()
                manifest = _read_manifest(archive)
                if only_into_new and (live_exists or manifest or any(archive.glob("*.parquet"))):
                    raise _Discard
                if fresh:
                    live = _live_for_rebuild(db, archive)
                    if live is None and not manifest:
                        raise LoadAborted(f"no warehouse at {db} and no landing archive manifest in {archive}: "
                                          "nothing to rebuild from")
                    if not trial:
                        _reconcile(archive, live)
                    jobs = _replay_jobs(live if live is not None else manifest, archive)
                else:
                    if live_exists:
                        if "entry" not in _columns(con, "files"):
                            echo("bringing a warehouse made by an earlier version up to date")
                            _migrate(con, manifest)
                        if not trial:
                            _reconcile(archive, *_entries(con))
                    elif manifest:
                        raise LoadAborted(
                            f"there is no warehouse at {db}, but its landing archive lists {len(manifest)} loaded "
                            f"files: run 'python -m pipelines rebuild --db {db}' first; nothing was changed")
                assert jobs is not None
                reports = [None] * len(jobs)
                loaded = _load_files(con, db, jobs, reports, archive, created, echo, timings)
                if fresh:
                    bad = [r for r in reports if r is not None and r.status != "loaded"]
                    if bad:
                        said = bad[0].message if bad[0].message.startswith(bad[0].path) else \
                            f"{bad[0].path}: {bad[0].message}"
                        raise LoadAborted(f"rebuild stopped: {said}; nothing was changed (the warehouse and its "
                                          "archive are as they were)")
                if loaded or fresh:
                    echo("rebuilding marts and statistics")
                    try:
                        transform.build(con, timings, after_build)
                    except Exception as exc:  # noqa: BLE001 - sorted below
                        if _environmental(exc):
                            raise
                        if fresh:
                            raise LoadAborted(f"rebuild stopped: the models and statistics could not be computed "
                                              f"({type(exc).__name__}: {_first_line(exc)}); nothing was changed") from exc
                        raise _BuildFailed(loaded, exc) from exc
                # the audit log's head, swapped in with the load; a rebuild carries the earlier anchors over
                audit_anchor.anchor_into(con, audit_anchor.audit_path(db), previous=db if db.exists() else None)
                run_id = con.execute("select coalesce(max(run_id), 0) + 1 from load_runs").fetchall()[0][0]
                con.execute(
                    "insert into load_runs values ($id, $start, $end, $cmd, $ok, $skip, $fail)",
                    {"id": run_id, "start": started, "end": dt.datetime.now(), "cmd": command, "ok": len(loaded),
                     "skip": sum(r.status == "skipped" for r in reports if r),
                     "fail": sum(r.status == "failed" for r in reports if r)})
                swap["entries"] = _entries(con)
                if trial:
                    raise _Discard
                _fault("before_swap", 1)
            except BaseException:
                for p in created:  # still under the lock: no other load can be using them
                    with contextlib.suppress(OSError):
                        p.unlink(missing_ok=True)
                raise
    except _Discard:
        if only_into_new and not reports:
            return ([FileReport(j.name, "skipped", f"not loaded: {db} already holds a practice's data or landing "
                                "archive (the sample is loaded only into a new, empty place)") for j in jobs or []],
                    timings, warnings)
    except duckdb.OutOfMemoryException as exc:
        raise LoadAborted(f"the load ran out of memory ({_first_line(exc)}); nothing was changed: set "
                          "PIPELINES_MEMORY_LIMIT higher, or load fewer files at once") from exc
    except (OSError, duckdb.IOException) as exc:
        raise LoadAborted(f"cannot write the warehouse in {db.parent}: {_first_line(exc)}; "
                          "nothing was changed") from exc
    return [r for r in reports if r is not None], timings, warnings


def _load_files(con: duckdb.DuckDBPyConnection, db: Path, jobs: list[Job], reports: list, archive: Path,
                created: list[Path], echo: Callable[[str], None], timings: dict) -> list[int]:
    """Load each job in its own transaction; fill ``reports``; the indexes loaded come back."""
    t_files = time.perf_counter()
    known = dict(con.execute("select sha256, original_name from files").fetchall())
    next_id, next_seq = con.execute(
        "select coalesce(max(file_id), 0) + 1, coalesce(max(load_seq), 0) + 1 from files").fetchall()[0]
    loaded: list[int] = []
    for i, job in enumerate(jobs):
        src = job.path
        if not src.exists():
            reports[i] = FileReport(job.name, "failed", f"{job.name}: no such file ({src})")
            continue
        try:
            sn = ingest.sniff(src)
        except UnusableFile as exc:
            reports[i] = FileReport(job.name, "failed", str(exc).replace(src.name, job.name))
            continue
        except OSError as exc:
            raise LoadAborted(f"{job.name}: {_first_line(exc)}; the load stopped and nothing was changed") from exc
        if job.archived is not None:  # a name-free archive: the original file's identity
            sn = dataclasses.replace(sn, sha256=job.archived["sha256"])
        if sn.sha256 in known:
            reports[i] = FileReport(job.name, "skipped", f"already loaded (same content as {known[sn.sha256]})",
                                    sn.sha256)
            continue
        if sn.size > 20_000_000 and sys.stderr.isatty():
            con.execute("set enable_progress_bar = true")
        echo(f"reading {job.name} ({sn.size / 1e6:.1f} MB, {sn.kind})")
        at = job.loaded_at or dt.datetime.now()
        mine = len(created)
        try:
            order, order_from = export_order(job)
            con.execute("begin transaction")
            rep, _entry = _load_one(con, job, sn, next_id, next_seq, archive, at, order, order_from, created,
                                    len(loaded) + 1)
            con.execute("commit")
        except Exception as exc:  # noqa: BLE001 - a file's failure is reported, the machine's stops the load
            with contextlib.suppress(duckdb.Error):
                con.execute("rollback")
            for p in created[mine:]:
                with contextlib.suppress(OSError):
                    p.unlink(missing_ok=True)
            del created[mine:]
            if _environmental(exc):
                raise LoadAborted(f"{job.name}: {_first_line(exc)}; the load stopped and nothing was changed "
                                  "(no file of this load was committed)") from exc
            if isinstance(exc, UnusableFile):
                msg = str(exc)
            elif isinstance(exc, duckdb.Error):
                msg = f"{job.name}: could not be read ({_first_line(exc)})"
            else:
                msg = f"{job.name}: could not be read ({type(exc).__name__}: {_first_line(exc)})"
            reports[i] = FileReport(job.name, "failed", msg, sn.sha256)
            continue
        reports[i] = rep
        known[sn.sha256] = job.name
        next_id += 1
        next_seq += 1
        loaded.append(i)
        _fault("after_file", len(loaded))
    timings["files_s"] = time.perf_counter() - t_files
    return loaded


def _run(db: Path, jobs: list[Job] | None, command: str, echo: Callable[[str], None] | None,
         only_into_new: bool = False, after_build: Iterable[transform.Step] = ()) -> LoadReport:
    """Load (or, ``jobs`` None, rebuild) under the lock; when the models and statistics fail on
    a file's data, each file loaded is tried alone and those that fail are left out, so the
    good files of the run still load."""
    echo = echo or (lambda s: None)
    try:
        reports, timings, warnings = _attempt(db, jobs, command, echo, only_into_new=only_into_new,
                                              after_build=after_build)
        return LoadReport(str(db), reports, timings, warnings)
    except _BuildFailed as first:
        assert jobs is not None
        echo("the models and statistics failed: trying each new file alone")
        culprits: dict[int, str] = {}
        for i in first.loaded:
            try:
                _attempt(db, [jobs[i]], command, lambda s: None, trial=True, after_build=after_build)
            except _BuildFailed as exc:
                culprits[i] = (f"{jobs[i].name}: the models and statistics could not be computed with this file "
                               f"({type(exc.exc).__name__}: {_first_line(exc.exc)}); nothing of it was loaded")
        if not culprits:
            raise LoadAborted(f"the models and statistics could not be computed after loading "
                              f"{', '.join(jobs[i].name for i in first.loaded)} "
                              f"({type(first.exc).__name__}: {_first_line(first.exc)}); nothing was changed") from first
        rest = [i for i in range(len(jobs)) if i not in culprits]
        try:
            reports, timings, warnings = _attempt(db, [jobs[i] for i in rest], command, echo, after_build=after_build)
        except _BuildFailed as again:
            raise LoadAborted(f"the models and statistics could not be computed "
                              f"({type(again.exc).__name__}: {_first_line(again.exc)}); nothing was changed") from again
        merged: list[FileReport] = [None] * len(jobs)  # type: ignore[list-item]
        for i, r in zip(rest, reports):
            merged[i] = r
        for i, msg in culprits.items():
            merged[i] = FileReport(jobs[i].name, "failed", msg)
        return LoadReport(str(db), merged, timings, warnings)


def load(paths: Iterable[str | Path], db: Path | None = None, profile: str | None = None,
         sheet: str | None = None, today: dt.date | None = None,
         echo: Callable[[str], None] | None = None, export_date: dt.datetime | None = None,
         only_into_new: bool = False, after_build: Iterable[transform.Step] = ()) -> LoadReport:
    """Load export files (and folders of them) into the warehouse at ``db``; a report comes back.

    ``after_build``: steps run on the private copy after the SQL models, before the swap
    (entry points pass ``analytics.stored.STEPS``, the stored statistics tables; without
    them the tables are not rebuilt and the queries compute from the data). A step that
    fails on a file's data fails that file alone, as the models do.

    ``export_date``: the export order of every file of this call (else each file's name date,
    else its modified time). ``only_into_new``: load only into a place with no warehouse and
    no landing archive, checked under the lock (the dashboard's first-start sample); the
    files come back skipped otherwise. Raises ``LoadAborted`` (nothing changed) when the
    machine fails: disk full, I/O error, a folder that cannot be written.
    """
    db = Path(db or warehouse.default_db_path())
    chosen = load_profile(profile) if profile else None
    files = expand(paths)
    jobs = [Job(f, f.name, chosen, sheet, today or dt.date.today(), export_order=export_date,
                order_from=GIVEN if export_date else None) for f in files]
    return _run(db, jobs, "load", echo, only_into_new=only_into_new, after_build=after_build)


def rebuild(db: Path | None = None, echo: Callable[[str], None] | None = None,
            after_build: Iterable[transform.Step] = ()) -> LoadReport:
    """Rebuild the warehouse from the landing archive alone into a new file, replaying the files
    the live warehouse holds (or, without one, the manifest's) in their original order; the
    live warehouse is replaced only when every file replayed. ``LoadAborted`` otherwise
    (nothing changed); ``FileNotFoundError`` when there is nothing to rebuild from.
    ``after_build`` as for ``load``."""
    db = Path(db or warehouse.default_db_path())
    manifest_path = warehouse.archive_dir(db) / MANIFEST
    if not db.exists() and not manifest_path.exists():
        raise FileNotFoundError(f"no landing archive manifest at {manifest_path}: nothing to rebuild from")
    return _run(db, None, "rebuild", echo, after_build=after_build)


def status(db: Path | None = None) -> dict:
    """Counts of what the warehouse holds: files, sessions, children, goal ratings, rejects."""
    db = Path(db or warehouse.default_db_path())
    con = warehouse.connect_reader(db)
    try:
        r = con.execute(
            """
            select
                (select count(*) from files),
                (select count(*) from sessions),
                (select count(distinct child_id) from sessions),
                (select count(*) from goal_ratings),
                (select count(*) from rejects),
                (select count(distinct (file_id, line)) from rejects),
                (select count(*) from session_rows),
                (select min(session_date) from sessions),
                (select max(session_date) from sessions),
                (select max(loaded_at) from files)
            """).fetchall()[0]
        ordered = "export_order" in _columns(con, "files")  # a warehouse from before export order: not yet
        files = con.execute(
            "select original_name, loaded_at, profile, rows_read, rows_loaded, rows_rejected, "
            + ("export_order, order_from" if ordered else "null, null") + " from files order by load_seq"
        ).fetchall()
    finally:
        con.close()
    keys = ("files", "sessions", "children", "goal_ratings", "reject_reasons", "rejected_rows", "rows_stored",
            "first_session", "last_session", "last_load")
    out = dict(zip(keys, r))
    for k in ("first_session", "last_session", "last_load"):
        out[k] = out[k].isoformat() if out[k] else None
    out["db"] = str(db)
    out["file_list"] = [dict(zip(("name", "loaded_at", "profile", "rows_read", "rows_loaded", "rows_rejected",
                                  "export_order", "order_from"),
                                 (f[0], f[1].isoformat(timespec="seconds"), *f[2:6],
                                  f[6].isoformat(timespec="seconds") if f[6] else None, f[7] or LEGACY)))
                        for f in files]
    return out

