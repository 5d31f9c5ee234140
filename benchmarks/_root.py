"""Imported first by every benchmark script: ``python benchmarks/<script>.py`` puts only
``benchmarks/`` on ``sys.path`` (pytest's ``pythonpath`` does not apply to scripts, and the
project is not installed), so this adds the project root once. ``ROOT`` is that root.

``BENCH_ROOT`` in the environment names another checkout of the project to import instead
(``bench_dashboard.py --baseline PATH`` times an older version's pages with this version's
benchmark code: ``git worktree add --detach /tmp/base main``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(os.environ.get("BENCH_ROOT") or Path(__file__).resolve().parent.parent).resolve()
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
