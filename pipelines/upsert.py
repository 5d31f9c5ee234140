"""One export file into the warehouse: archive its rows name-free, stage them through the
staging model of its source (``queries/staging/stg_<source>.sql``), upsert what the good rows
say into the raw tables by export order and keep the bad rows in ``rejects`` with file, line,
column, value and reason (``load_one``).

A row of the ``sessions`` source says four things, each upserted by its own key: the session
(``src_sessions``, by session_id), its measures (``src_observations``, by session x measure x
goal; an emptied cell is a null value that clears an older export's), the goal's domain and
weight (``src_goals``, by child/goal) and the child's date of birth (``src_children``). Per key,
the newest export's row stays (``upsert_rows``); inside one file, a session's last line.

The other sources (appointments, session data, goals, children, charges) are upserted the
same way (``SOURCE_INCOMING``): appointments into ``src_sessions`` (a removal is a row with
``removed`` true, so a removed appointment disappears from the marts), session data into
``src_session_data`` and ``src_observations`` under their ``session_ref`` (linked to a session at
every build, ``queries/intermediate/int_session_links.sql``), goals, children and charges into
their own tables.

Called by ``pipelines.load`` inside the writer, one transaction per file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines import incremental, ingest, measures, queries, transform
from pipelines.dates import date_label, decide_date_format
from pipelines.faults import fault
from pipelines.profiles import Profile, normalise_value


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
    archived = archive / f"{sn.sha256}.canonical.parquet"
    if not archived.exists():
        tmp = archived.with_suffix(".partial")
        created.append(tmp)
        fault("archive", job.name, tmp)
        # DuckDB's own parallel writer, straight from the table (no Arrow copy of every row in Python)
        # insertion order is kept and readers go by _line: no sort
        con.execute("copy raw_rows to $p (format parquet)", {"p": str(tmp)})
        os.replace(tmp, archived)
        created.append(archived)
    if res.header_map.dropped:
        res.parse_rejects = [(line, col, REDACTED, reason) for line, col, _raw, reason in res.parse_rejects]
    return archived.name


# the raw tables and their keys (pipelines.warehouse.SCHEMA)
KEYS = {"src_sessions": ("session_id",), "src_observations": ("session_ref", "measure", "goal_key"),
        "src_goals": ("goal_uid", "source"), "src_children": ("child_id", "episode_id"),
        "src_session_data": ("session_ref",), "src_charges": ("session_ref", "service_code")}
_BOOK = "$file_id as file_id, $load_seq as load_seq, line, $order as export_order"

# What the good rows of ``staged`` (stg_sessions) say, one row per key of each raw table: the
# session from its last line in the file (its date of birth from any of its lines); an
# observation from the last line that gives it a value, else (every line empty) a null
# value; a goal's domain and weight and a child's date of birth from the last line with them.
INCOMING = {
    "src_sessions": """
        select session_id, child_id, therapist_id, team, session_date, start_time, modality, approach, attendance,
               duration_min, setting, max(date_of_birth) over (partition by session_id) as date_of_birth, age_years,
               false as removed, 'sessions' as source, $file_id as file_id, $load_seq as load_seq, line,
               $order as export_order
        from staged
        where len(errors) = 0
        qualify row_number() over (partition by session_id order by line desc) = 1
        """,
    "src_observations": """
        with given as (
            select line, session_id, child_id, unnest(observations) as o
            from staged
            where len(errors) = 0 and len(observations) > 0
        )
        select session_id as session_ref, o.measure as measure, o.goal_key as goal_key, o.goal_id as goal_id,
               child_id, o.value as value, o.trials_correct as trials_correct, o.trials_total as trials_total,
               'sessions' as source, $file_id as file_id, $load_seq as load_seq, line, $order as export_order
        from given
        qualify row_number() over (partition by session_id, o.measure, o.goal_key
                                   order by o.value is null, line desc) = 1
        """,
    "src_goals": """
        select child_id || '/' || goal_id as goal_uid, child_id, goal_id, goal_domain, goal_weight,
               'sessions' as source, $file_id as file_id, $load_seq as load_seq, line, $order as export_order
        from staged
        where len(errors) = 0 and goal_id is not null
        qualify row_number() over (partition by child_id, goal_id order by line desc) = 1
        """,
    "src_children": """
        select child_id, '' as episode_id, date_of_birth,
               'sessions' as source, $file_id as file_id, $load_seq as load_seq, line, $order as export_order
        from staged
        where len(errors) = 0 and date_of_birth is not null
        qualify row_number() over (partition by child_id order by line desc) = 1
        """,
}


# The other sources (design-13 sections 2-3): what the good rows of each staging model say,
# one row per key of each raw table (inside one file, a key's last line).
SOURCE_INCOMING = {
    "appointments": {
        "src_sessions": f"""
            select session_id, child_id, therapist_id, team, session_date, start_time, modality, approach, attendance,
                   duration_min, setting, date_of_birth, null::integer as age_years, removed,
                   'appointments' as source, {_BOOK}
            from staged
            where len(errors) = 0
            qualify row_number() over (partition by session_id order by line desc) = 1
            """,
        "src_children": f"""
            select child_id, '' as episode_id, date_of_birth, 'appointments' as source, {_BOOK}
            from staged
            where len(errors) = 0 and date_of_birth is not null
            qualify row_number() over (partition by child_id order by line desc) = 1
            """,
    },
    "session_data": {
        "src_session_data": f"""
            select session_ref, session_id, child_id, session_date, start_time,
                   max(approach) over (partition by session_ref) as approach,
                   max(therapist_id) over (partition by session_ref) as therapist_id,
                   max(setting) over (partition by session_ref) as setting, 'session_data' as source, {_BOOK}
            from staged
            where len(errors) = 0
            qualify row_number() over (partition by session_ref order by line desc) = 1
            """,
        "src_observations": f"""
            with given as (
                select line, session_ref, child_id, unnest(observations) as o
                from staged
                where len(errors) = 0 and len(observations) > 0
            )
            select session_ref, o.measure as measure, o.goal_key as goal_key, o.goal_id as goal_id, child_id,
                   o.value as value, o.trials_correct as trials_correct, o.trials_total as trials_total,
                   'session_data' as source, {_BOOK}
            from given
            qualify row_number() over (partition by session_ref, o.measure, o.goal_key
                                       order by o.value is null, line desc) = 1
            """,
    },
    "goals": {
        "src_goals": f"""
            select goal_uid, child_id, goal_id, goal_text, goal_domain, level_m3, level_m2, level_m1, level_0, level_p1,
                   level_p2, baseline, target, mastery_criterion, measure, goal_weight, start_date, met_date,
                   discontinued_date, 'goals' as source, {_BOOK}
            from staged
            where len(errors) = 0
            qualify row_number() over (partition by goal_uid order by line) = 1
            """,
    },
    "children": {
        "src_children": f"""
            select child_id, episode_id, date_of_birth, referral_date, discharge_date, discharge_reason, discharge_kind,
                   'children' as source, {_BOOK}
            from staged
            where len(errors) = 0
            qualify row_number() over (partition by child_id, episode_id order by line) = 1
            """,
    },
    "charges": {
        "src_charges": f"""
            select session_ref, service_code, session_id, child_id, session_date, therapist_id, modality, note_type,
                   'charges' as source, {_BOOK}
            from staged
            where len(errors) = 0
            qualify row_number() over (partition by session_ref, service_code order by line desc) = 1
            """,
    },
}
# the raw tables whose rows of a file tell how many of its good rows stand (the others are kept from a newer export)
STANDING = {"appointments": ("src_sessions",), "session_data": ("src_observations", "src_session_data"),
            "goals": ("src_goals",), "children": ("src_children",), "charges": ("src_charges",)}


def upsert_source(con: duckdb.DuckDBPyConnection, source: str, file_id: int, load_seq: int,
                  order: dt.datetime) -> int:
    """Upsert what the good rows of temp table ``staged`` (``stg_<source>``) say into the raw tables;
    how many good lines of the file now stand in them."""
    params = {"file_id": file_id, "load_seq": load_seq, "order": order}
    for table, select in SOURCE_INCOMING[source].items():
        upsert_select(con, table, select, params, order)
    lines = " union ".join(f"select line from {t} where file_id = $file_id" for t in STANDING[source])
    return con.execute(f"select count(*) from staged where len(errors) = 0 and line in ({lines})",
                       {"file_id": file_id}).fetchall()[0][0]


def upsert_select(con: duckdb.DuckDBPyConnection, table: str, select: str, params: dict,
                  order: dt.datetime) -> int:
    """Upsert the rows of ``select`` (one per key of ``table``, with its bookkeeping columns; bound
    with ``params``) into raw table ``table`` as an export of order ``order``; how many rows were inserted.

    Into an empty table (a new warehouse, a rebuild's first file) nothing can be replaced or kept, so
    the rows go straight in (no temp table, no delete, no anti-join) and the children noted are the
    table's own; else through temp table ``incoming`` (``upsert_rows``)."""
    if not con.execute(f"select exists (select 1 from {table})").fetchall()[0][0]:  # our table names
        n = con.execute(f"insert into {table} by name {select}", params).fetchall()[0][0]  # our SQL
        incremental.note_all(con, table)
        return n
    con.execute("drop table if exists incoming")
    con.execute(f"create temp table incoming as {select}", params)  # our SQL
    try:
        return upsert_rows(con, table, "incoming", order)
    finally:
        con.execute("drop table if exists incoming")


def upsert_rows(con: duckdb.DuckDBPyConnection, table: str, incoming: str, order: dt.datetime) -> int:
    """Upsert temp table ``incoming`` (one row per key of ``table``, with its bookkeeping columns)
    into raw table ``table`` as an export of order ``order``; how many rows were inserted.

    Per key the row of the newest export stays (an equal order: this one, the later load). An
    older export's rows never replace a newer export's; a key this export lacks is left alone.
    """
    on = " and ".join(f"t.{k} = g.{k}" for k in KEYS[table])  # our table and column names
    incremental.delete_replaced(con, table, incoming, on, order)  # noting the children it touches
    # what stays of the table after the delete and could hold an incoming key: rows of a newer export
    # (or none given); without any (the usual monthly export, the newest), the anti-join keeps every
    # incoming row, so the rows go straight in (a narrow scan of export_order instead of a join)
    if not con.execute(f"select exists (select 1 from {table} where export_order > $order or export_order is null)",
                       {"order": order}).fetchall()[0][0]:  # our table names
        return con.execute(f"insert into {table} by name select * from {incoming}").fetchall()[0][0]
    return con.execute(f"insert into {table} by name select * from {incoming} as g "
                       f"where not exists (select 1 from {table} as t where {on})").fetchall()[0][0]


def upsert_staged(con: duckdb.DuckDBPyConnection, file_id: int, load_seq: int, order: dt.datetime) -> int:
    """Upsert what the good rows of temp table ``staged`` (``stg_sessions``) say into the raw
    tables, as file ``file_id`` of load ``load_seq`` with export order ``order``; how many good
    rows of the file now give their session (the others are kept from a newer export)."""
    params = {"file_id": file_id, "load_seq": load_seq, "order": order}
    for table, select in INCOMING.items():
        upsert_select(con, table, select, params, order)
    return con.execute("select count(*) from staged as s join src_sessions as t using (session_id) "
                       "where len(s.errors) = 0 and t.file_id = $file_id", {"file_id": file_id}).fetchall()[0][0]


def _newer_exports(con: duckdb.DuckDBPyConnection, file_id: int) -> list[tuple]:
    """The files whose rows outrank this file's good rows (``staged``) of the same sessions:
    (original name, export order, where the order came from, rows), most rows first, at most 3."""
    return con.execute(
        "select f.original_name, f.export_order, f.order_from, count(*) as n from staged as s "
        "join src_sessions as t using (session_id) join files as f on f.file_id = t.file_id "
        "where len(s.errors) = 0 and t.file_id <> $file_id group by all order by n desc, f.original_name limit 3",
        {"file_id": file_id}).fetchall()


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """What staging reads from the warehouse, written once per load: the macros and the measures catalogue."""
    transform.build_macros(con)
    measures.write_catalogue_table(con)
    incremental.start(con)  # the children this load touches (an incremental build recomputes only them)


def synonyms(p: Profile) -> list[tuple[str, str, str]]:
    """The profile's value synonyms, and each catalogue id as a spelling of itself (``measure``)."""
    rows = p.synonym_rows()
    listed = {raw for f, raw, _ in rows if f == "measure"}
    for mid in measures.catalogue():
        spelled = normalise_value(mid)
        if spelled not in listed:
            rows.append(("measure", spelled, mid))
    return rows


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
    rows = synonyms(p)
    if rows:
        con.executemany("insert into value_synonyms values (?, ?, ?)", rows)
    derive = p.derive.get("session_date") if "session_date" not in res.header_map.mapping else None
    con.execute("drop table if exists service_codes")
    con.execute("create temp table service_codes (code varchar, therapist_id varchar, modality varchar)")
    if p.service_codes or p.service_codes_by_therapist:
        con.executemany("insert into service_codes values (?, ?, ?)", p.service_code_rows())
    model = f"stg_{p.reads}"
    con.execute("drop table if exists staged")
    con.execute(f"create temp table staged as {queries.sql(model)}",  # model: a staging file of ours
                queries.bind(model, {
                    "date_format": fmt, "date_label": date_label(fmt), "today": job.today,
                    "long_form": res.header_map.long_form, "catalogue_name": measures.shown(),
                    "derive_start": dt.date.fromisoformat(derive["start"]) if derive else None,
                    "derive_step": derive["step_days"] if derive else None,
                    "derive_session_id": "session_id" in p.derive and "session_id" not in res.header_map.mapping,
                    "removed_values": p.removed_values() if "removed_flag" in res.header_map.mapping else []}))
    if p.reads == "sessions":
        inserted = upsert_staged(con, file_id, load_seq, order)
    else:
        inserted = upsert_source(con, p.reads, file_id, load_seq, order)
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
                          "ignored": res.header_map.ignored, "parse_rejects": res.parse_rejects,
                          "mapped": sorted(res.header_map.mapping), "measure_columns": sorted(res.header_map.measures)}
    con.execute(
        "insert into files values ($id, $seq, $sha, $name, $arch, $kind, $profile, $sheet, $at, $read, "
        "$loaded, $rejected, $dropped, $ignored, $order, $order_from, $entry)",
        {"id": file_id, "seq": load_seq, "sha": sn.sha256, "name": job.name, "arch": archived_as,
         "kind": res.kind, "profile": p.name, "sheet": res.sheet, "at": loaded_at, "read": res.rows_read,
         "loaded": loaded, "rejected": rejected, "dropped": res.header_map.dropped,
         "ignored": res.header_map.ignored, "order": order, "order_from": order_from,
         "entry": json.dumps(entry)})
    newer = _newer_exports(con, file_id) if loaded > inserted and p.reads == "sessions" else []
    for t in ("staged", "raw_rows", "value_synonyms", "service_codes"):
        con.execute(f"drop table if exists {t}")
    msg = f"{loaded} rows loaded, {rejected} rejected"
    if loaded > inserted:
        held = "; ".join(f"{name} (order {at:%Y-%m-%d %H:%M}, from the {src}) holds {n:,}"
                         for name, at, src, n in newer)
        msg += (f"; {loaded - inserted} rows kept from a newer export{': ' + held if held else ''} "
                f"(this export's order is {order:%Y-%m-%d %H:%M}, from the {order_from}; give --export-date "
                "to load it as the newer one)")
    if res.header_map.dropped:
        msg += f"; name columns dropped (never stored): {', '.join(res.header_map.dropped)}"
    if res.rows_read == 0:
        msg = "header only: no data rows"
    rep = FileReport(job.name, "loaded", msg, sn.sha256, res.rows_read, loaded, rejected, p.name,
                     res.header_map.dropped, order.isoformat(), order_from)
    return rep, entry
