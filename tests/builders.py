"""Small helpers for tests that need a warehouse of their own (no tests here).

``copy_warehouse`` gives a test a private, writable copy of a warehouse built once (by a
session fixture of ``conftest.py`` or a module's own): a copy costs milliseconds, a reload
(or a ``python -m pipelines load`` process) does not. The practices themselves are built by
``pipelines.small_practice`` and ``pipelines.sample``, which the benchmarks use too.
"""

from __future__ import annotations

import shutil
from pathlib import Path


def warehouse_files(db: Path) -> list[Path]:
    """What a warehouse consists of on disk, beside ``db``: the file (and its ``.lock``, a WAL),
    the landing archive ``<stem>_landing`` and the audit log ``<stem>_audit.sqlite`` (with its
    WAL files), those that exist."""
    db = Path(db)
    return sorted(p for p in db.parent.iterdir()
                  if p.name == db.name or p.name.startswith(db.name + ".")
                  or p.name == f"{db.stem}_landing" or p.name.startswith(f"{db.stem}_audit.sqlite"))


def copy_warehouse(db: Path, target: Path) -> Path:
    """Copy the warehouse ``db`` (every file of ``warehouse_files``) to the path ``target``
    (same file name: the archive and the audit log are named after it); ``target`` comes back.
    Nothing may be writing ``db`` meanwhile (shared warehouses are read-only)."""
    db, target = Path(db), Path(target)
    if target.name != db.name:
        raise ValueError(f"copy {db.name} under its own name, not {target.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    for p in warehouse_files(db):
        dest = target.parent / p.name
        if p.is_dir():
            shutil.copytree(p, dest)
        else:
            shutil.copy2(p, dest)
    return target
