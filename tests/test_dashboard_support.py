"""Shared helpers for the dashboard tests (no tests here): a small handmade practice.

The dashboard tests run on ``data/sample/canonical`` when it holds export files, and on the
tiny deterministic practice written by ``write_tiny_practice`` otherwise (both from
``pipelines.small_practice``, which the benchmarks import too). Imported by the other
``tests/test_dashboard_*.py`` files and by ``tests/test_browser.py``.
"""

from __future__ import annotations

from pathlib import Path

from analytics import stored
from pipelines import small_practice
from pipelines.small_practice import (  # noqa: F401  (the helpers the tests use)
    END, HEADER, SAMPLE_DIR, sample_files, write_tiny_practice)

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "streamlit_app.py")


def open_page(page: str, query: dict | None = None, timeout: float = 60, check: bool = True):
    """A real AppTest of the app, opened at ``query`` (URL parameters), then switched to
    ``dashboard/app_pages/<page>.py``; ``check``: no exception on either run (asserted)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=timeout)
    if query:
        at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception[0].value
    at.switch_page(f"app_pages/{page}.py").run()
    if check:
        assert not at.exception, at.exception[0].value
    return at


def build_warehouse(db: Path, work: Path, prefer_sample: bool = True, with_goals: bool = True
                    ) -> tuple[Path, list[Path]]:
    """Load the sample (or the tiny practice) into a new warehouse at ``db``, with the stored
    statistics tables (``analytics.stored.STEPS``); (db, files loaded)."""
    return small_practice.build_warehouse(db, work, prefer_sample, with_goals, after_build=stored.STEPS)
