"""A monthly increment cut from one canonical export (for the incremental-load test and benchmark).

``split_last_month`` writes two exports of the same practice, as a system exporting every
month would: the base (every session before the last month) and the increment (the last
month's sessions, about a tenth of a year's rows, plus corrections of earlier sessions: a
changed engagement rating, an emptied wide-measure cell, a session moved to another child).
Loaded in order, they must give the same warehouse as loading both at once.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# every row of a corrected session (about 1 in ``CORRECT_EVERY`` earlier sessions) is in the increment
CORRECT_EVERY = 100


def split_last_month(export: Path, base: Path, increment: Path) -> tuple[int, int]:
    """Write ``base`` and ``increment`` (canonical CSVs, text as in ``export``) and return their row
    counts. The increment holds the sessions of the export's last 30 days and, for about one in
    ``CORRECT_EVERY`` earlier sessions, every row again with a correction: engagement 6 minus the
    given rating, every third of them with its ``on_task`` cell emptied and every seventh moved to
    the child of the session before it in the file."""
    con = duckdb.connect()
    try:
        con.execute("create table x as select row_number() over () as _n, * from "
                    "read_csv($p, all_varchar = true, header = true, delim = ',', quote = '\"')", {"p": str(export)})
        columns = [r[0] for r in con.execute("select name from pragma_table_info('x') where name <> '_n' "
                                             "order by cid").fetchall()]
        cutoff = con.execute("select max(cast(session_date as date)) - 29 from x").fetchall()[0][0]
        con.execute("create table s as select session_id, min(_n) as first_n, "
                    "lag(min(child_id)) over (order by min(_n)) as previous_child, "
                    "hash(session_id) % $every = 0 as corrected, "
                    "hash(session_id) % ($every * 3) = 0 as emptied, "
                    "hash(session_id) % ($every * 7) = 0 as moved "
                    "from x where cast(session_date as date) < $cutoff group by session_id",
                    {"cutoff": cutoff, "every": CORRECT_EVERY})

        def changed(c: str) -> str:
            q = f'"{c}"'
            if c == "engagement":
                return f"case when x.{q} is not null then cast(6 - cast(x.{q} as integer) as varchar) end as {q}"
            if c == "on_task":
                return f"case when s.emptied then null else x.{q} end as {q}"
            if c == "child_id":
                return f"case when s.moved and s.previous_child is not null then s.previous_child else x.{q} end as {q}"
            return f"x.{q}"

        plain = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"copy (select {plain} from x where cast(session_date as date) < $cutoff order by _n) "
                    "to $p (header, delimiter ',')", {"cutoff": cutoff, "p": str(base)})
        con.execute(f"copy (select {', '.join(changed(c) for c in columns)} from x join s using (session_id) "
                    f"where s.corrected union all select {plain} from x where cast(session_date as date) >= $cutoff) "
                    "to $p (header, delimiter ',')", {"cutoff": cutoff, "p": str(increment)})
        counts = [con.execute("select count(*) from read_csv($p, all_varchar = true)", {"p": str(p)}).fetchall()[0][0]
                  for p in (base, increment)]
    finally:
        con.close()
    return counts[0], counts[1]
