"""Undo a load: find a loaded file by name, path or sha256 (``find_loaded``) and remove its rows
(``unload``) by replaying every other file the warehouse holds from the landing archive, in the
writer's private copy and swap of ``pipelines.load`` (a rebuild without that file). The
file's archive stays and ``manifest.dropped.jsonl`` records it as unloaded
(``manifest.unloaded``), so later rebuilds skip it and loading it again brings it back.
``file_problems``: one file's rejected and not-linked rows (the Data page's upload result).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path

import duckdb
import pandas as pd

from pipelines import queries, transform, warehouse
from pipelines.load import LoadReport, _run
from pipelines.manifest import unloaded


class UnloadError(ValueError):
    """The file to unload cannot be found or told apart; the message (one line) says why."""


def find_loaded(file_or_sha: str, db: Path | None = None) -> dict:
    """The loaded file ``file_or_sha`` names, as ``{"name", "sha256", "rows_loaded", "rows_rejected",
    "loaded_at"}``: a file name as loaded (or the path of a file, matched by its content),
    else a sha256 or a prefix of one (at least 4 hex digits). ``UnloadError`` when no file or
    more than one matches; ``FileNotFoundError`` without a warehouse."""
    db = Path(db or warehouse.default_db_path())
    con = warehouse.connect_reader(db)
    try:
        rows = con.execute("select original_name, sha256, rows_loaded, rows_rejected, loaded_at from files "
                           "order by load_seq").fetchall()
    finally:
        con.close()
    files = [dict(zip(("name", "sha256", "rows_loaded", "rows_rejected", "loaded_at"), r)) for r in rows]
    arg = str(file_or_sha).strip()
    found: list[dict] = []
    path = Path(arg)
    if path.is_file():
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                h.update(chunk)
        found = [f for f in files if f["sha256"] == h.hexdigest()]
    if not found:
        found = [f for f in files if f["name"] in (arg, path.name)]
    if not found and len(arg) >= 4 and all(c in "0123456789abcdefABCDEF" for c in arg):
        found = [f for f in files if f["sha256"].startswith(arg.lower())]
    if not found:
        for d in unloaded(warehouse.archive_dir(db), {f["sha256"] for f in files}):
            e = d["entry"]
            if e["original_name"] in (arg, path.name) or (len(arg) >= 4 and e["sha256"].startswith(arg.lower())):
                raise UnloadError(f"{e['original_name']} was unloaded at {d['dropped_at']} and is not loaded now; "
                                  "nothing was changed (load the file again to bring it back)")
        raise UnloadError(f"{arg}: no loaded file has this name or sha256 ('python -m pipelines status --db {db}' "
                          "lists the files loaded); nothing was changed")
    if len(found) > 1:
        which = "; ".join(f"{f['name']} (sha256 {f['sha256'][:12]})" for f in found)
        raise UnloadError(f"{arg} matches {len(found)} loaded files: {which}; give more of the sha256 to say which; "
                          "nothing was changed")
    f = found[0]
    f["loaded_at"] = f["loaded_at"].isoformat(timespec="seconds")
    return f


def unload(sha256: str, db: Path | None = None, echo: Callable[[str], None] | None = None,
           after_build: Iterable[transform.Step] = ()) -> LoadReport:
    """Remove one loaded file's rows (``sha256``, as ``find_loaded`` gives it): the warehouse is
    rebuilt from the landing archive with every other file it holds, replayed in their
    original order (per key the newest export's row wins, so a later file's corrections
    stand and what only this file said is gone), in a private copy swapped in only when
    everything replayed; the reports of the files replayed come back.

    The file's archive stays and ``manifest.dropped.jsonl`` records it as unloaded, so later
    rebuilds do not replay it and loading the file again brings it back. ``LoadAborted``
    (nothing changed) when a replay fails, the file is no longer loaded, or the folder
    cannot be written. ``after_build`` as for ``load``."""
    db = Path(db or warehouse.default_db_path())
    if not db.exists():
        raise FileNotFoundError(f"no warehouse at {db}: nothing to unload")
    return _run(db, None, "unload", echo, after_build=after_build, unload_sha=sha256)


def file_problems(con: duckdb.DuckDBPyConnection, sha256: str) -> pd.DataFrame:
    """The rejected rows (one per problem) and the loaded but not-linked rows of the loaded file
    ``sha256``: file, line, column, value, reason (``queries/analysis/file_problems.sql``)."""
    return queries.run(con, "file_problems", {"sha256": sha256})
