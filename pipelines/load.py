"""Load export files into the warehouse: archive, read, validate, upsert, rebuild marts.

Each file is read (see ``ingest``; name columns dropped), its rows archived name-free by
the original's content hash (``upsert.archive_rows``; ``rebuild`` replays the archive),
typed and checked by its source's staging model (``queries/staging/stg_sessions.sql``); what
good rows say is upserted into the raw tables (``src_sessions``, ``src_observations``,
``src_goals``, ``src_children``) by their keys, bad rows go to ``rejects`` with file, line,
column, value and reason.

A warehouse made by an earlier version (``warehouse.SCHEMA_VERSION``) is rebuilt from its
landing archive by the next load, in the same private copy and swap as the load itself: its
files are replayed first, in their original order, then the new ones.

Precedence is the export's own order, not the order of loading: each file gets an export
order (``--export-date`` when given, else a date in its name, else its modified time) and,
per key, the row of the newest export is kept (equal orders: the later load). So the result
depends only on the set of files loaded. A file loads in one transaction; the whole load
happens in a private copy of the warehouse that replaces the live one only at the end (see
``warehouse``). A file that cannot be used fails alone; a failure of the machine (disk full,
I/O error, a folder that cannot be written) stops the whole load with nothing changed.

The warehouse's ``files`` table is the record of what was loaded (each row carries its
manifest entry); ``<landing>/manifest.jsonl`` is rewritten from it after every swap and at
the start of every load and rebuild, so it never lists a file whose load did not commit
(``manifest``). Dates in a file and its export order are ``dates``; the crash tests' fault
points are ``faults``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb

from pipelines import audit_anchor, ingest, settings, transform, warehouse
from pipelines.dates import GIVEN, export_order
from pipelines.errors import LoadAborted
from pipelines.faults import fault
from pipelines.ingest import UnusableFile
from pipelines.manifest import (MANIFEST, legacy_entry, read_manifest, reconcile, table_columns,
                                warehouse_entries)
from pipelines.profiles import Profile, load as load_profile
from pipelines.status import status  # noqa: F401  (re-exported: load.status(db), as before)
from pipelines.upsert import FileReport, Job, load_one, prepare


@dataclass
class LoadReport:
    db: str
    files: list[FileReport]
    # seconds per phase: wall (files_s, models_s, statistics_s) and CPU of every thread of the process
    # (files_cpu_s, models_cpu_s, statistics_cpu_s: time.process_time() deltas)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "failed"]

    def as_dict(self) -> dict:
        return {"db": self.db, "files": [asdict(f) for f in self.files], "warnings": list(self.warnings)}


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


# ------------------------------------------------------------------ the manifest


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
        if "entry" in table_columns(con, "files"):
            rows = con.execute("select original_name, entry from files order by load_seq").fetchall()
        else:
            by_sha = {e["sha256"]: e for e in read_manifest(archive)}
            rows = [(name, json.dumps(legacy_entry(by_sha[sha])) if sha in by_sha else None) for name, sha in
                    con.execute("select original_name, sha256 from files order by load_seq").fetchall()]
    finally:
        con.close()
    missing = [name for name, e in rows if e is None]
    if missing:
        raise LoadAborted(f"rebuild stopped: {', '.join(missing)} in the warehouse have no landing-archive "
                          f"entry, so a rebuild would lose them; nothing was changed")
    return [json.loads(e) for _, e in rows]


def _replay_jobs(entries: list[dict], archive: Path) -> list[Job]:
    entries = sorted((legacy_entry(e) for e in entries), key=lambda e: (e["loaded_at"], e["load_seq"]))
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
    """A failure of the machine or of the settings file, not of the export file: the whole load stops."""
    return isinstance(exc, (OSError, duckdb.IOException, duckdb.OutOfMemoryException, settings.SettingsError))


class _BuildFailed(Exception):
    def __init__(self, loaded: list[int], exc: Exception):
        super().__init__(str(exc))
        self.loaded, self.exc = loaded, exc


class _Discard(Exception):
    """Raised inside the writer to throw the private copy away (a trial, a refusal)."""


def _attempt(db: Path, jobs: list[Job] | None, command: str, echo: Callable[[str], None],
             trial: bool = False, only_into_new: bool = False, after_build: Iterable[transform.Step] = (),
             unload_sha: str | None = None) -> tuple[list[FileReport], dict, list[str]]:
    """One pass under the writer lock; reports align with ``jobs`` (rebuild: None, replayed
    from the live warehouse or the manifest). Raises LoadAborted, or _BuildFailed with the
    indexes of the files loaded when the models and statistics (``after_build``) fail.

    ``command`` "unload" (with ``unload_sha``): a rebuild that replays every file the live
    warehouse holds but that one; the manifest then records it in ``manifest.dropped.jsonl``
    as unloaded (its archive is kept, so loading the file again brings it back)."""
    fresh = command in ("rebuild", "unload")
    verb = "unload" if command == "unload" else "rebuild"
    # a warehouse of an earlier version: rebuilt from its archive into the private copy, then loaded
    try:
        outdated = not fresh and not only_into_new and warehouse.outdated(db)
    except duckdb.Error:
        outdated = False  # an unreadable warehouse: the copy below says why
    replayed = 0
    archive = warehouse.archive_dir(db)
    timings: dict[str, float] = {}
    warnings: list[str] = []
    created: list[Path] = []   # archive files written by this pass: removed unless it commits
    swap: dict = {}

    def after_swap() -> None:
        fault("after_swap", 1)
        try:
            reconcile(archive, *swap["entries"], reasons=swap.get("reasons"))
        except Exception as exc:  # noqa: BLE001 - the swap is done: say so, the next run catches up
            warnings.append(f"the landing manifest could not be rewritten ({_first_line(exc)}); the warehouse is "
                            "loaded and the manifest is brought up to date by the next load or rebuild")

    reports: list[FileReport | None] = []
    try:
        archive.mkdir(parents=True, exist_ok=True)
        with warehouse.writer(db, fresh=fresh or outdated, after_swap=None if trial else after_swap) as con:
            try:
                started = dt.datetime.now()
                live_exists = db.exists()
                manifest = read_manifest(archive)
                if only_into_new and (live_exists or manifest or any(archive.glob("*.parquet"))):
                    raise _Discard
                if fresh:
                    live = _live_for_rebuild(db, archive)
                    if live is None and not manifest:
                        raise LoadAborted(f"no warehouse at {db} and no landing archive manifest in {archive}: "
                                          "nothing to rebuild from")
                    if not trial:
                        reconcile(archive, live)
                    if unload_sha is not None:
                        gone = [e for e in live or [] if e["sha256"] == unload_sha]
                        if not gone:
                            raise LoadAborted(f"no loaded file has sha256 {unload_sha} (it may have been unloaded "
                                              "already); nothing was changed")
                        live = [e for e in live or [] if e["sha256"] != unload_sha]
                        swap["reasons"] = {unload_sha: f"unloaded at {started.isoformat(timespec='seconds')} "
                                                       "('python -m pipelines unload' or the Data page); load the "
                                                       "file again to bring it back"}
                        echo(f"replaying {len(live)} other files without {gone[0]['original_name']}")
                    jobs = _replay_jobs(live if live is not None else manifest, archive)
                elif outdated and live_exists:
                    echo("the warehouse was made by an earlier version: rebuilding it from its landing archive")
                    live = _live_for_rebuild(db, archive)
                    if not trial:
                        reconcile(archive, live)
                    replay = _replay_jobs(live or [], archive)
                    replayed = len(replay)
                    jobs = replay + list(jobs or [])
                else:
                    if live_exists:
                        if not trial:
                            reconcile(archive, *warehouse_entries(con))
                    elif manifest:
                        raise LoadAborted(
                            f"there is no warehouse at {db}, but its landing archive lists {len(manifest)} loaded "
                            f"files: run 'python -m pipelines rebuild --db {db}' first; nothing was changed")
                assert jobs is not None
                reports = [None] * len(jobs)
                loaded = _load_files(con, db, jobs, reports, archive, created, echo, timings)
                if replayed:
                    bad = [r for r in reports[:replayed] if r is None or r.status != "loaded"]
                    if bad:
                        raise LoadAborted(
                            f"the warehouse was made by an earlier version and could not be rebuilt from its landing "
                            f"archive before this load ({bad[0].path}: {bad[0].message}); nothing was changed: "
                            f"run 'python -m pipelines rebuild --db {db}' to see why")
                    reports = reports[replayed:]
                mine = [i - replayed for i in loaded if i >= replayed]  # indexes into the caller's jobs
                if fresh:
                    bad = [r for r in reports if r is not None and r.status != "loaded"]
                    if bad:
                        said = bad[0].message if bad[0].message.startswith(bad[0].path) else \
                            f"{bad[0].path}: {bad[0].message}"
                        raise LoadAborted(f"{verb} stopped: {said}; nothing was changed (the warehouse and its "
                                          "archive are as they were)")
                if loaded or fresh:
                    echo("rebuilding marts and statistics")
                    try:
                        transform.build(con, timings, after_build)
                    except Exception as exc:  # noqa: BLE001 - sorted below
                        if _environmental(exc):
                            raise
                        if fresh:
                            raise LoadAborted(f"{verb} stopped: the models and statistics could not be computed "
                                              f"({type(exc).__name__}: {_first_line(exc)}); nothing was changed") from exc
                        raise _BuildFailed(mine, exc) from exc
                # the audit log's head, swapped in with the load; a rebuild carries the earlier anchors over
                audit_anchor.anchor_into(con, audit_anchor.audit_path(db), previous=db if db.exists() else None)
                run_id = con.execute("select coalesce(max(run_id), 0) + 1 from load_runs").fetchall()[0][0]
                con.execute(
                    "insert into load_runs values ($id, $start, $end, $cmd, $ok, $skip, $fail)",
                    {"id": run_id, "start": started, "end": dt.datetime.now(), "cmd": command, "ok": len(mine),
                     "skip": sum(r.status == "skipped" for r in reports if r),
                     "fail": sum(r.status == "failed" for r in reports if r)})
                swap["entries"] = warehouse_entries(con)
                if trial:
                    raise _Discard
                fault("before_swap", 1)
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
    t_files, c_files = time.perf_counter(), time.process_time()
    prepare(con)
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
            rep, _entry = load_one(con, job, sn, next_id, next_seq, archive, at, order, order_from, created,
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
        fault("after_file", len(loaded))
    timings["files_s"] = time.perf_counter() - t_files
    timings["files_cpu_s"] = time.process_time() - c_files
    return loaded


def _run(db: Path, jobs: list[Job] | None, command: str, echo: Callable[[str], None] | None,
         only_into_new: bool = False, after_build: Iterable[transform.Step] = (),
         unload_sha: str | None = None) -> LoadReport:
    """Load (or, ``jobs`` None, rebuild) under the lock; when the models and statistics fail on
    a file's data, each file loaded is tried alone and those that fail are left out, so the
    good files of the run still load."""
    echo = echo or (lambda s: None)
    settings.get()  # a settings file that cannot be used stops the load before it starts (SettingsError)
    try:
        reports, timings, warnings = _attempt(db, jobs, command, echo, only_into_new=only_into_new,
                                              after_build=after_build, unload_sha=unload_sha)
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


