"""What the warehouse holds, for ``python -m pipelines status`` and the dashboard's status line:
``status(db)``. Its own module so the command starts fast: it needs DuckDB and the warehouse's
layout, not the load's readers, profiles and models (issue 14: ``status`` starts in under 0.3 s)."""

from __future__ import annotations

from pathlib import Path

from pipelines import warehouse
from pipelines.manifest import LEGACY, table_columns


def status(db: Path | None = None) -> dict:
    """Counts of what the warehouse holds: files, sessions, children, goal ratings, rejects, the
    rows of its raw tables; ``outdated`` when an earlier version made it (the next load rebuilds it)."""
    db = Path(db or warehouse.default_db_path())
    con = warehouse.connect_reader(db)
    try:
        version = warehouse.schema_version(con)
        raw = ("(select count(*) from src_sessions) + (select count(*) from src_observations)"
               if version == warehouse.SCHEMA_VERSION else "(select count(*) from session_rows)")  # our SQL
        r = con.execute(
            f"""
            select
                (select count(*) from files),
                (select count(*) from sessions),
                (select count(distinct child_id) from sessions),
                (select count(*) from goal_ratings),
                (select count(*) from rejects),
                (select count(distinct (file_id, line)) from rejects),
                {raw},
                (select min(session_date) from sessions),
                (select max(session_date) from sessions),
                (select max(loaded_at) from files)
            """).fetchall()[0]
        has_unlinked = bool(con.execute("select count(*) from duckdb_tables() where database_name = current_database() "
                                        "and table_name = 'unlinked_rows'").fetchall()[0][0])
        unlinked = con.execute("select count(*) from unlinked_rows").fetchall()[0][0] if has_unlinked else 0
        ordered = "export_order" in table_columns(con, "files")  # a warehouse from before export order: not yet
        files = con.execute(
            "select original_name, loaded_at, profile, rows_read, rows_loaded, rows_rejected, "
            + ("export_order, order_from" if ordered else "null, null") + ", sha256 from files order by load_seq"
        ).fetchall()
    finally:
        con.close()
    keys = ("files", "sessions", "children", "goal_ratings", "reject_reasons", "rejected_rows", "rows_stored",
            "first_session", "last_session", "last_load")
    out = dict(zip(keys, r))
    for k in ("first_session", "last_session", "last_load"):
        out[k] = out[k].isoformat() if out[k] else None
    out["unlinked_rows"] = unlinked  # kept but not joined to a session or child (unlinked_rows: file, line, reason)
    out["db"] = str(db)
    out["outdated"] = version != warehouse.SCHEMA_VERSION
    out["file_list"] = [dict(zip(("name", "loaded_at", "profile", "rows_read", "rows_loaded", "rows_rejected",
                                  "export_order", "order_from"),
                                 (f[0], f[1].isoformat(timespec="seconds"), *f[2:6],
                                  f[6].isoformat(timespec="seconds") if f[6] else None, f[7] or LEGACY)), sha256=f[8])
                        for f in files]
    return out
