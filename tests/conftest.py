"""Shared test setup.

* The dashboard's local single-user mode needs Streamlit bound to 127.0.0.1
  (``.streamlit/config.toml`` says so when tests run from the project root; this makes it
  hold from any working directory). Tests of the other modes set it themselves.
* Warehouses built once per test run and shared by every file (session scope). They are
  **read-only**: open them with ``warehouse.connect_reader`` (or point ``PIPELINES_DB`` at
  them for a page that only reads). A test that loads, uploads, rebuilds or edits takes a
  copy (``tiny_db_copy``, or ``builders.copy_warehouse`` of any of them): copying the file,
  its landing archive and its audit log costs milliseconds, a reload does not.

  - ``sample_db``: the bundled sample practice (``data/sample/canonical``; generated into a
    temporary folder when the checkout lacks it), loaded with ``analytics.STEPS`` as of the
    day after its last session; ``sample_truth`` is what the sample plants (``truth.json``).
  - ``dashboard_db``: what the dashboard tests render: ``sample_db``, or the exports in
    ``$DASHBOARD_TEST_EXPORTS`` when that is set (``pipelines.small_practice.sample_files``).
  - ``tiny_db``: the small handmade practice of ``pipelines.small_practice`` (24 children,
    two overlapping exports and one bad row), loaded with ``analytics.STEPS``.

The builders live in the package (``pipelines.small_practice``), so the benchmarks use the
same ones without importing anything from ``tests/``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from streamlit import config as _st_config

import analytics
from builders import copy_warehouse
from pipelines import load as loader
from pipelines import small_practice

_st_config.set_option("server.address", "127.0.0.1")

SAMPLE = small_practice.SAMPLE_DIR.parent  # data/sample: canonical/ and truth.json


def _load(files: list[Path], db: Path, today: dt.date | None = None) -> Path:
    report = loader.load(files, db=db, today=today, after_build=analytics.STEPS)
    failed = [f.message for f in report.files if f.status == "failed"]
    assert not failed, failed
    return db


@pytest.fixture(scope="session")
def sample_source(tmp_path_factory) -> Path:
    """The sample practice's folder (``canonical/`` and ``truth.json``): the bundled one, or
    one written with the sample's defaults when the checkout has none."""
    if (SAMPLE / "canonical").is_dir() and (SAMPLE / "truth.json").exists():
        return SAMPLE
    from pipelines import sample

    out = tmp_path_factory.mktemp("sample_source") / "sample"
    sample.write_sample(out)
    return out


@pytest.fixture(scope="session")
def sample_truth(sample_source) -> dict:
    """What the sample plants (``truth.json``): its period, children, effects and flags."""
    return json.loads((sample_source / "truth.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory, sample_source, sample_truth) -> Path:
    """The sample practice's warehouse (read-only; see the module docstring)."""
    today = dt.date.fromisoformat(sample_truth["end"]) + dt.timedelta(days=1)
    return _load([sample_source / "canonical"], tmp_path_factory.mktemp("sample_db") / "practice.duckdb", today)


@pytest.fixture(scope="session")
def sample_con(sample_db):
    """A read-only connection to ``sample_db``, shared by the test files that only query it."""
    from pipelines import warehouse
    c = warehouse.connect_reader(sample_db)
    yield c
    c.close()


@pytest.fixture(scope="session")
def dashboard_db(tmp_path_factory, sample_db) -> Path:
    """The warehouse the dashboard tests render (read-only): the sample's, or the exports in
    ``$DASHBOARD_TEST_EXPORTS``; the tiny practice when neither has files."""
    if not os.environ.get("DASHBOARD_TEST_EXPORTS") and (SAMPLE / "canonical").is_dir():
        return sample_db
    work = tmp_path_factory.mktemp("dashboard_db")
    files = small_practice.sample_files() or small_practice.write_tiny_practice(work / "exports")
    return _load(files, work / "practice.duckdb")


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory) -> Path:
    """The small handmade practice's warehouse (read-only; see the module docstring)."""
    work = tmp_path_factory.mktemp("tiny_db")
    return _load(small_practice.write_tiny_practice(work / "exports"), work / "w.duckdb")


@pytest.fixture()
def tiny_db_copy(tiny_db, tmp_path) -> Path:
    """A private, writable copy of ``tiny_db`` for this test (in ``tmp_path``)."""
    return copy_warehouse(tiny_db, tmp_path / tiny_db.name)
