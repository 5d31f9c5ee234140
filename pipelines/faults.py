"""Fault injection for the crash tests (``PIPELINES_FAULT``): a load can be killed, held or given
a full disk at named points, to show that nothing half-done survives."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path


def fault(point: str, key: object, path: Path | None = None) -> None:
    """Fault injection for the crash tests, ``PIPELINES_FAULT=<what>:<key>``:
    ``<point>:<key>`` exits hard there (as a kill -9 would); ``hold_<point>:<key>`` writes
    ``$PIPELINES_FAULT_HOLD.held`` and waits until ``$PIPELINES_FAULT_HOLD`` exists;
    ``enospc_<point>:<key>`` raises the OSError of a full disk. Points: ``archive`` (key: the
    file name; after the rows are read, before they are archived), ``after_archive`` and
    ``after_file`` (key: the count of files so far), ``before_swap`` and ``after_swap`` (1)."""
    spec = os.environ.get("PIPELINES_FAULT", "")
    what, _, arg = spec.partition(":")
    if not spec or arg != str(key):
        return
    if what == point:
        os._exit(75)
    if what == "hold_" + point:
        hold = Path(os.environ["PIPELINES_FAULT_HOLD"])
        Path(str(hold) + ".held").touch()
        deadline = time.monotonic() + 300
        while not hold.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    if what == "enospc_" + point:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path or key))
