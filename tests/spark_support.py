"""What the Spark tests share (``tests/test_spark_*.py``): the skip when pyspark, sqlglot or
Java is missing, one SparkSession per test run, and Spark builds of a practice made once per
run (a Spark build costs minutes on this machine; the JVM alone takes 10-20 s to start)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import pytest

from analytics import stored

_builds: dict[tuple, Path] = {}


def require_spark() -> None:
    """Skip the calling test (module) with the reason when the Spark extra or Java is missing."""
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install -r requirements-spark.txt)")
    pytest.importorskip("sqlglot", reason="sqlglot is not installed (pip install -r requirements-spark.txt)")
    if shutil.which("java") is None:
        pytest.skip("Java is not installed (apt-get install -y openjdk-17-jre-headless): Spark needs it")


def spark_session():
    """The run's SparkSession (local[2], 2 shuffle partitions, no UI)."""
    from spark_engine import session

    return session.get(driver_memory="1g")


def spark_marts(files: list[Path], today: dt.date | None) -> Path:
    """The Parquet marts of ``files`` built by the Spark engine (with the stored statistics),
    once per run and set of files: the marts folder (``<folder>/CURRENT`` names the build)."""
    key = (tuple(str(f) for f in files), today)
    if key not in _builds:
        from spark_engine import build

        out = Path(tempfile.mkdtemp(prefix="spark_marts_"))
        build.build(files, out, spark=spark_session(), today=today, per_child=stored.compute_tables,
                    finish=stored.meta_table)
        _builds[key] = out
    return _builds[key]


__all__ = ["require_spark", "spark_session", "spark_marts"]
