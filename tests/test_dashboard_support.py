"""Shared helpers for the dashboard tests (no tests here): a small handmade practice.

The dashboard tests run on ``data/sample/canonical`` when it holds export files, and on the
tiny deterministic practice written by ``write_tiny_practice`` otherwise (both from
``pipelines.small_practice``, which the benchmarks import too). Imported by the other
``tests/test_dashboard_*.py`` files and by ``tests/test_browser.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # the project is not installed: import pipelines/ and dashboard/ from the tree
    sys.path.insert(0, str(ROOT))

from analytics import stored  # noqa: E402
from pipelines import small_practice  # noqa: E402
from pipelines.small_practice import (  # noqa: E402,F401  (the helpers the tests use)
    END, HEADER, SAMPLE_DIR, sample_files, write_tiny_practice)


def build_warehouse(db: Path, work: Path, prefer_sample: bool = True, with_goals: bool = True
                    ) -> tuple[Path, list[Path]]:
    """Load the sample (or the tiny practice) into a new warehouse at ``db``, with the stored
    statistics tables (``analytics.stored.STEPS``); (db, files loaded)."""
    return small_practice.build_warehouse(db, work, prefer_sample, with_goals, after_build=stored.STEPS)
