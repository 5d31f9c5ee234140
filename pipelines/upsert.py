"""One export file into the warehouse: archive its rows name-free, stage them through
``queries/staging/stg_session_rows.sql``, upsert the good rows by export order and keep the
bad ones in ``rejects`` with file, line, column, value and reason (``load_one``).

Called by ``pipelines.load`` inside the writer, one transaction per file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines import ingest, queries
from pipelines.dates import date_label, decide_date_format
from pipelines.faults import fault
from pipelines.profiles import Profile


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


REDACTED = "(raw line not kept: the file carried name columns)"


def archive_rows(con: duckdb.DuckDBPyConnection, job: Job, sn: ingest.Sniffed, res: ingest.ReadResult,
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
        fault("archive", job.name, tmp)
        pq.write_table(con.sql("select * from raw_rows order by _line").to_arrow_table(), tmp)
        os.replace(tmp, archived)
        created.append(archived)
    if res.header_map.dropped:
        res.parse_rejects = [(line, col, REDACTED, reason) for line, col, _raw, reason in res.parse_rejects]
    return archived.name


def upsert_staged(con: duckdb.DuckDBPyConnection, file_id: int, load_seq: int, order: dt.datetime) -> int:
    """Upsert the good rows of temp table ``staged`` (``stg_session_rows``) into ``session_rows``
    as file ``file_id`` of load ``load_seq`` with export order ``order``; how many were inserted.

    A row's key is (session_id, goal_key); per key the row of the newest export stays (an
    equal order: this one, the later load). An older export's rows never replace a newer
    export's; they are counted as loaded but not inserted.
    """
    con.execute(
        """
        delete from session_rows as s
        using (select session_id, goal_key from staged where len(errors) = 0) as g
        where s.session_id = g.session_id and s.goal_key = g.goal_key and s.export_order <= $order
        """, {"order": order})
    return con.execute(
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


def load_one(con: duckdb.DuckDBPyConnection, job: Job, sn: ingest.Sniffed, file_id: int, load_seq: int,
             archive: Path, loaded_at: dt.datetime, order: dt.datetime, order_from: str,
             created: list[Path], count: int) -> tuple[FileReport, dict]:
    if job.archived is not None:
        res = ingest.read_canonical_archive(con, sn.path, job.profile, job.archived)
    else:
        res = ingest.read_into(con, sn, job.profile, job.sheet, display_name=job.name)
    archived_as = archive_rows(con, job, sn, res, archive, created)
    fault("after_archive", count)
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
    inserted = upsert_staged(con, file_id, load_seq, order)
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
