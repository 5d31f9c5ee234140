"""Load export files into the warehouse: archive, read, validate, upsert, rebuild marts.

Each file is read (see ``ingest``; name columns dropped), its rows archived name-free by
the original's content hash (``_archive``; ``rebuild`` replays the archive), typed and checked by
``queries/staging/stg_session_rows.sql``; good rows are upserted into ``session_rows`` keyed
by (session_id, goal_id): the most recently loaded version of a row replaces the earlier one,
bad rows go to ``rejects`` with file, line, column, value and reason. A file loads in one
transaction; the whole load happens in a private copy of the warehouse that replaces the
live one only at the end (see ``warehouse``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from pipelines import audit, ingest, queries, transform, warehouse
from pipelines.ingest import UnusableFile
from pipelines.profiles import Profile, load as load_profile

ISO = "ISO"
_DATE_PARTS = r"^(\d{1,2})([/.-])(\d{1,2})[/.-](\d{4}|\d{2})$"


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


@dataclass
class LoadReport:
    db: str
    files: list[FileReport]
    timings: dict[str, float] = field(default_factory=dict)  # seconds: files_s, models_s, statistics_s

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    def as_dict(self) -> dict:
        return {"db": self.db, "files": [asdict(f) for f in self.files]}


@dataclass
class Job:
    path: Path
    name: str                   # the name the user knows the file by (messages, rejects)
    profile: Profile | None     # None: choose from the headers
    sheet: str | None
    today: dt.date              # sessions after this date are rejected as future
    loaded_at: dt.datetime | None = None  # replayed by rebuild
    archived: dict | None = None          # rebuild of a name-free archive: its manifest entry


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


def _archive(con: duckdb.DuckDBPyConnection, job: Job, sn: ingest.Sniffed, res: ingest.ReadResult,
             archive: Path) -> str:
    """Keep the file's rows in the landing archive for ``rebuild``; returns the archived name.

    What is kept is the rows as read -- the contract's columns only, with line numbers, as
    text -- in ``<sha256 of the original>.canonical.parquet``: name columns (dropped) and
    columns we do not use (free-text notes may name a child) never reach the disk. The
    raw text of rows that could not be parsed is kept for the rejects only when the file
    had no name column; otherwise a note replaces it.
    """
    if job.archived is not None:
        return job.path.name
    import pyarrow.parquet as pq

    archived = archive / f"{sn.sha256}.canonical.parquet"
    if not archived.exists():
        tmp = archived.with_suffix(".partial")
        pq.write_table(con.sql("select * from raw_rows order by _line").to_arrow_table(), tmp)
        os.replace(tmp, archived)
    if res.header_map.dropped:
        res.parse_rejects = [(line, col, REDACTED, reason) for line, col, _raw, reason in res.parse_rejects]
    return archived.name


def _load_one(con: duckdb.DuckDBPyConnection, job: Job, sn: ingest.Sniffed, file_id: int, load_seq: int,
              archive: Path, loaded_at: dt.datetime) -> tuple[FileReport, dict]:
    if job.archived is not None:
        res = ingest.read_canonical_archive(con, sn.path, job.profile, job.archived)
    else:
        res = ingest.read_into(con, sn, job.profile, job.sheet, display_name=job.name)
    archived_as = _archive(con, job, sn, res, archive)
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
    # Upsert: a row's key is (session_id, goal_key); this file's version replaces any earlier one.
    con.execute(
        """
        delete from session_rows as s
        using (select session_id, goal_key from staged where len(errors) = 0) as g
        where s.session_id = g.session_id and s.goal_key = g.goal_key
        """)
    con.execute(
        """
        insert into session_rows
        select $file_id, $load_seq, line, session_id, goal_key, goal_id, child_id, therapist_id, team,
               session_date, modality, approach, attendance, duration_min, setting, engagement,
               goal_domain, gas_level, goal_weight, measure, measure_score, date_of_birth, age_years
        from staged where len(errors) = 0
        """, {"file_id": file_id, "load_seq": load_seq})
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
    con.execute(
        "insert into files values ($id, $seq, $sha, $name, $arch, $kind, $profile, $sheet, $at, $read, "
        "$loaded, $rejected, $dropped, $ignored)",
        {"id": file_id, "seq": load_seq, "sha": sn.sha256, "name": job.name, "arch": archived_as,
         "kind": res.kind, "profile": p.name, "sheet": res.sheet, "at": loaded_at, "read": res.rows_read,
         "loaded": loaded, "rejected": rejected, "dropped": res.header_map.dropped,
         "ignored": res.header_map.ignored})
    for t in ("staged", "raw_rows", "value_synonyms"):
        con.execute(f"drop table if exists {t}")
    msg = f"{loaded} rows loaded, {rejected} rejected"
    if res.header_map.dropped:
        msg += f"; name columns dropped (never stored): {', '.join(res.header_map.dropped)}"
    if res.rows_read == 0:
        msg = "header only: no data rows"
    rep = FileReport(job.name, "loaded", msg, sn.sha256, res.rows_read, loaded, rejected, p.name,
                     res.header_map.dropped)
    entry = {"sha256": sn.sha256, "original_name": job.name, "archived_as": archived_as, "kind": res.kind,
             "profile": p.as_dict(), "sheet": res.sheet, "load_seq": load_seq,
             "loaded_at": loaded_at.isoformat(), "today": job.today.isoformat()}
    entry["canonical"] = {"rows_read": res.rows_read, "dropped": res.header_map.dropped,
                              "ignored": res.header_map.ignored, "parse_rejects": res.parse_rejects}
    return rep, entry


def _fault(point: str, count: int) -> None:
    """Fault injection for the crash tests: PIPELINES_FAULT=after_file:N exits hard there."""
    spec = os.environ.get("PIPELINES_FAULT", "")
    if spec == f"{point}:{count}":
        os._exit(75)


def load(paths: Iterable[str | Path], db: Path | None = None, profile: str | None = None,
         sheet: str | None = None, today: dt.date | None = None,
         echo: Callable[[str], None] | None = None) -> LoadReport:
    """Load export files (and folders of them) into the warehouse at ``db``; a report comes back."""
    db = Path(db or warehouse.default_db_path())
    chosen = load_profile(profile) if profile else None
    files = expand(paths)
    jobs = [Job(f, f.name, chosen, sheet, today or dt.date.today()) for f in files]
    return _run(db, jobs, fresh=False, command="load", echo=echo)


def _run(db: Path, jobs: list[Job], fresh: bool, command: str, echo: Callable[[str], None] | None) -> LoadReport:
    echo = echo or (lambda s: None)
    reports: list[FileReport] = []
    timings: dict[str, float] = {}
    t_files = time.perf_counter()
    archive = warehouse.archive_dir(db)
    archive.mkdir(parents=True, exist_ok=True)
    if fresh and db.exists():
        db.rename(db.with_name(db.name + ".before-rebuild"))
    try:
        with warehouse.writer(db) as con:
            started = dt.datetime.now()
            run_id = con.execute("select coalesce(max(run_id), 0) + 1 from load_runs").fetchall()[0][0]
            known = dict(con.execute("select sha256, original_name from files").fetchall())
            next_id, next_seq = con.execute(
                "select coalesce(max(file_id), 0) + 1, coalesce(max(load_seq), 0) + 1 from files").fetchall()[0]
            manifest: list[dict] = []
            done = 0
            for job in jobs:
                src = job.path
                if not src.exists():
                    reports.append(FileReport(job.name, "failed", f"{src}: no such file"))
                    continue
                try:
                    sn = ingest.sniff(src)
                except (UnusableFile, OSError) as exc:
                    reports.append(FileReport(job.name, "failed", str(exc).replace(src.name, job.name)))
                    continue
                if job.archived is not None:  # a name-free archive: the original file's identity
                    sn = dataclasses.replace(sn, sha256=job.archived["sha256"])
                if sn.sha256 in known:
                    reports.append(FileReport(job.name, "skipped",
                                              f"already loaded (same content as {known[sn.sha256]})", sn.sha256))
                    continue
                if sn.size > 20_000_000 and sys.stderr.isatty():
                    con.execute("set enable_progress_bar = true")
                echo(f"reading {job.name} ({sn.size / 1e6:.1f} MB, {sn.kind})")
                at = job.loaded_at or dt.datetime.now()
                con.execute("begin transaction")
                try:
                    rep, entry = _load_one(con, job, sn, next_id, next_seq, archive, at)
                    con.execute("commit")
                except UnusableFile as exc:
                    con.execute("rollback")
                    reports.append(FileReport(job.name, "failed", str(exc), sn.sha256))
                    continue
                except duckdb.Error as exc:
                    con.execute("rollback")
                    first = str(exc).strip().splitlines()[0]
                    reports.append(FileReport(job.name, "failed", f"{job.name}: could not be read ({first})", sn.sha256))
                    continue
                reports.append(rep)
                manifest.append(entry)
                known[sn.sha256] = job.name
                next_id += 1
                next_seq += 1
                done += 1
                _fault("after_file", done)
            timings["files_s"] = time.perf_counter() - t_files
            if done or fresh:
                echo("rebuilding marts and statistics")
                transform.build(con, timings)
            # the audit log's head, swapped in with the load; a rebuild carries the earlier anchors over
            audit.anchor_into(con, audit.audit_path(db), previous=next(
                (p for p in (db, db.with_name(db.name + ".before-rebuild")) if p.exists()), None))
            con.execute(
                "insert into load_runs values ($id, $start, $end, $cmd, $ok, $skip, $fail)",
                {"id": run_id, "start": started, "end": dt.datetime.now(), "cmd": command, "ok": done,
                 "skip": sum(r.status == "skipped" for r in reports), "fail": sum(r.status == "failed" for r in reports)})
            _fault("before_swap", 1)
            if not fresh:
                with open(archive / "manifest.jsonl", "a", encoding="utf-8") as fh:
                    for m in manifest:
                        fh.write(json.dumps(m) + "\n")
    except BaseException:
        if fresh:
            backup = db.with_name(db.name + ".before-rebuild")
            if backup.exists() and not db.exists():
                backup.rename(db)
        raise
    if fresh:
        db.with_name(db.name + ".before-rebuild").unlink(missing_ok=True)
    return LoadReport(str(db), reports, timings)


def rebuild(db: Path | None = None, echo: Callable[[str], None] | None = None) -> LoadReport:
    """Rebuild the warehouse from the landing archive alone, replaying loads in their original order."""
    db = Path(db or warehouse.default_db_path())
    archive = warehouse.archive_dir(db)
    manifest_path = archive / "manifest.jsonl"
    if not manifest_path.exists():
        raise FileNotFoundError(f"no landing archive manifest at {manifest_path}: nothing to rebuild from")
    entries = [json.loads(line) for line in manifest_path.read_text(encoding="utf-8").splitlines() if line.strip()]
    entries.sort(key=lambda e: (e["loaded_at"], e["load_seq"]))
    seen: set[str] = set()
    jobs = []
    for e in entries:
        if e["sha256"] in seen:
            continue
        seen.add(e["sha256"])
        jobs.append(Job(archive / e["archived_as"], e["original_name"], Profile.from_dict(e["profile"]),
                        e.get("sheet"), dt.date.fromisoformat(e["today"]),
                        dt.datetime.fromisoformat(e["loaded_at"]), e if "canonical" in e else None))
    return _run(db, jobs, fresh=True, command="rebuild", echo=echo)


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
        files = con.execute(
            "select original_name, loaded_at, profile, rows_read, rows_loaded, rows_rejected from files order by load_seq"
        ).fetchall()
    finally:
        con.close()
    keys = ("files", "sessions", "children", "goal_ratings", "reject_reasons", "rejected_rows", "rows_stored",
            "first_session", "last_session", "last_load")
    out = dict(zip(keys, r))
    for k in ("first_session", "last_session", "last_load"):
        out[k] = out[k].isoformat() if out[k] else None
    out["db"] = str(db)
    out["file_list"] = [dict(zip(("name", "loaded_at", "profile", "rows_read", "rows_loaded", "rows_rejected"),
                                 (f[0], f[1].isoformat(timespec="seconds"), *f[2:]))) for f in files]
    return out

