"""Parquet into ``raw_rows``."""

from __future__ import annotations

import duckdb

from pipelines.ingest.common import ReadResult, Sniffed, UnusableFile, materialise, pick_profile
from pipelines.profiles import Profile


def read_parquet(con, sniffed: Sniffed, profile: Profile | None, name: str) -> ReadResult:
    try:
        desc = con.execute("describe select * from read_parquet($p)", {"p": str(sniffed.path)}).fetchall()
    except duckdb.Error as exc:
        raise UnusableFile(f"{name}: not a readable Parquet file ({exc})") from None
    headers = [d[0] for d in desc]
    profile, hmap = pick_profile(profile, headers, name)
    # positional references (#1, #2, ...) so no header text is ever written into SQL
    select = ", ".join(f"cast(#{i + 1} as varchar) as c{i}" for i in range(len(headers)))
    pos = {h: i for i, h in reversed(list(enumerate(headers)))}
    con.execute("drop table if exists parquet_rows")
    con.execute(
        f"create temp table parquet_rows as select {select}, row_number() over () as _rn from read_parquet($p)",
        {"p": str(sniffed.path)})
    n = materialise(con, "select * from parquet_rows", hmap, pos, profile, "_rn + 1")
    con.execute("drop table parquet_rows")
    return ReadResult("parquet", n, hmap, profile)
