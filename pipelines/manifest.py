"""The landing archive's manifest (``<landing>/manifest.jsonl``): what the live warehouse holds,
rewritten from its ``files`` table after every swap and at the start of every load and
rebuild, so it never lists a file whose load did not commit."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path

import duckdb

from pipelines import warehouse

LEGACY = "load time (loaded before export order was recorded)"
MANIFEST = "manifest.jsonl"
DROPPED = "manifest.dropped.jsonl"


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {d[0] for d in con.execute(f"select * from {table} limit 0").description}


def read_manifest(archive: Path) -> list[dict]:
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


def legacy_entry(e: dict) -> dict:
    """An entry written before export order was recorded: its load time is its order (that is
    the precedence its rows got), so a rebuild gives the warehouse it was."""
    if "export_order" not in e:
        e = dict(e, export_order=e["loaded_at"], order_from=LEGACY)
    return e


def write_atomic(path: Path, text: str) -> None:
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


def reconcile(archive: Path, live: list[dict] | None, referenced: set[str] = frozenset(),
              reasons: dict[str, str] | None = None) -> None:
    """Make the landing archive say what the live warehouse holds (called under the lock).

    ``live``: the live warehouse's entries (None: there is no live warehouse, nothing to go
    by, and nothing is touched); ``referenced``: every archive name its ``files`` table uses. The manifest is rewritten from them; an entry the warehouse
    does not have (its load never committed) is moved to ``manifest.dropped.jsonl`` with the
    reason, and its parquet kept; a parquet nothing refers to (a load killed between
    archiving and committing) and half-written ``.partial`` files are removed. ``reasons``
    (sha256 -> why) replaces the default reason: an unloaded file's entry says it was unloaded
    (``"unloaded": true``), and its parquet stays, so loading the file again brings it back.
    """
    if live is None:
        return
    have = {e["sha256"] for e in live}
    dropped = [e for e in read_manifest(archive) if e["sha256"] not in have]
    if dropped:
        at = dt.datetime.now().isoformat(timespec="seconds")
        with open(archive / DROPPED, "a", encoding="utf-8") as fh:
            for e in dropped:
                why = (reasons or {}).get(e["sha256"])
                fh.write(json.dumps({"dropped_at": at, "reason": why or "not in the warehouse: its load never committed",
                                     **({"unloaded": True} if why else {}), "entry": e}) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
    write_atomic(archive / MANIFEST, "".join(json.dumps(e) + "\n" for e in live))
    kept = {e["archived_as"] for e in live} | set(referenced)
    if (archive / DROPPED).exists():
        for line in (archive / DROPPED).read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                kept.add(json.loads(line)["entry"]["archived_as"])
    for p in archive.iterdir():
        if p.name.endswith(".partial") or (p.name.endswith(".canonical.parquet") and p.name not in kept):
            p.unlink(missing_ok=True)


def warehouse_entries(con: duckdb.DuckDBPyConnection) -> tuple[list[dict], set[str]]:
    """The warehouse's manifest entries (load order) and every archive name its files use."""
    rows = con.execute("select entry, archived_as from files order by load_seq").fetchall()
    return [json.loads(e) for e, _ in rows if e is not None], {a for _, a in rows}


def unloaded(archive: Path, live_shas: set[str]) -> list[dict]:
    """Files unloaded (``unload``) and not loaded again since, newest first: ``dropped_at``,
    ``reason`` and the manifest ``entry`` of each, from ``manifest.dropped.jsonl``."""
    path = archive / DROPPED
    if not path.exists():
        return []
    out: dict[str, dict] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError, KeyError, TypeError):
            d = json.loads(line)
            if d.get("unloaded") and d["entry"]["sha256"] not in live_shas:
                out[d["entry"]["sha256"]] = d
    return sorted(out.values(), key=lambda d: d["dropped_at"], reverse=True)
