"""The Spark engine builds the same marts and stored statistics as DuckDB, row for row.

The sample practice (``data/sample/canonical``: two overlapping exports with corrections and
malformed rows), a small vendor export (another profile, day-first dates), every file of the
multi-source practice (``data/sample/practice``) and of the vendor set (``data/sample/vendors``:
appointments, session data, goals, children, charges) and a generated practice of about 300,000 rows (``@pytest.mark.spark_large``;
it runs in CI: 4 min 38 s here, the DuckDB load, the Spark build and the comparison) are built with the normal pipeline (DuckDB, with
``analytics.STEPS``) and with ``spark_engine`` in local mode; every table the Spark build
writes (marts, stored statistics, raw tables, rejects, files) is compared with the warehouse's: the same columns with the same DuckDB types, the same
number of rows, and row for row (sorted by the table's non-float columns) equal values --
exact for keys, counts, text and dates, within 1e-9 for floats. Skipped, with the reason,
without pyspark, sqlglot or Java.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import analytics
from pipelines import load as loader
from pipelines import upsert, warehouse
from spark_support import require_spark, spark_marts

require_spark()

from spark_engine import serving  # noqa: E402  (after the skip: it needs nothing of Spark, the build does)

FLOAT_TOLERANCE = 1e-9
# columns that say when or where a build ran, not what it computed
RUN_COLUMNS = {"files": {"loaded_at", "archived_as", "entry"}, "analytics_meta": {"built_at"}}
# rejects: the raw row as JSON is written by each engine's own to_json (same content, other spelling)
SPELLING_COLUMNS = {"rejects": {"raw_row"}}


def _frames(db: Path, marts: Path, table: str) -> tuple[pd.DataFrame, pd.DataFrame, list, list]:
    duck = warehouse.connect_reader(db)
    spark_con = serving.connect_version(serving.build_dir(marts))
    try:
        a = duck.execute(f"select * from {table}").df()  # table: a name of ours
        a_types = duck.execute(f"select column_name, column_type from (describe {table})").fetchall()
        b = spark_con.execute(f"select * from {table}").df()
        b_types = spark_con.execute(f"select column_name, column_type from (describe {table})").fetchall()
    finally:
        duck.close()
        spark_con.close()
    return a, b, a_types, b_types


def _is_float(s: pd.Series) -> bool:
    return pd.api.types.is_float_dtype(s)


def _sorted(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    text = df[keys].astype(str) if keys else df.astype(str)
    order = text.sort_values(list(text.columns), kind="stable").index
    return df.loc[order].reset_index(drop=True)


def _same_value(x, y) -> bool:
    x_na = x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NaT or (
        not isinstance(x, (list, np.ndarray, dict)) and pd.isna(x))
    y_na = y is None or (isinstance(y, float) and math.isnan(y)) or y is pd.NaT or (
        not isinstance(y, (list, np.ndarray, dict)) and pd.isna(y))
    if x_na or y_na:
        return x_na and y_na
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        return list(x) == list(y)
    return x == y


def compare_table(db: Path, marts: Path, table: str) -> list[str]:
    """What differs between ``table`` of the DuckDB warehouse and of the Spark build (empty: nothing)."""
    a, b, a_types, b_types = _frames(db, marts, table)
    skip = RUN_COLUMNS.get(table, set()) | SPELLING_COLUMNS.get(table, set())
    a_types = [t for t in a_types if t[0] not in skip]
    b_types = [t for t in b_types if t[0] not in skip]
    problems = []
    if a_types != b_types:
        return [f"{table}: columns and types differ:\n  duckdb {a_types}\n  spark  {b_types}"]
    cols = [c for c, _ in a_types]
    a, b = a[cols], b[cols]
    if len(a) != len(b):
        return [f"{table}: {len(a)} rows in DuckDB, {len(b)} on Spark"]
    keys = [c for c in cols if not _is_float(a[c])]
    a, b = _sorted(a, keys), _sorted(b, keys)
    for c in cols:
        if _is_float(a[c]) or _is_float(b[c]):
            x, y = a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float)
            bad = ~(np.isclose(x, y, rtol=0, atol=FLOAT_TOLERANCE, equal_nan=True))
        else:
            bad = np.array([not _same_value(x, y) for x, y in zip(a[c].tolist(), b[c].tolist())], dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problems.append(f"{table}.{c}: {int(bad.sum())} rows differ, e.g. row {i}: duckdb {a[c].iloc[i]!r}, "
                            f"spark {b[c].iloc[i]!r} (keys {dict(a[keys].iloc[i]) if keys else ''})")
    return problems


def _tables(marts: Path) -> list[str]:
    import json

    meta = json.loads((serving.build_dir(marts) / serving.TABLES_FILE).read_text())
    return list(meta["tables"])


def _check_all(db: Path, marts: Path) -> None:
    tables = _tables(marts)
    # every mart of the pipeline and every stored statistics table is in the Spark build
    duck = warehouse.connect_reader(db)
    try:
        from pipelines import queries, transform

        marts_expected = [m for m in transform.model_order() if queries.path(m).parent.name == "marts"]
        stored_expected = [t for t in analytics.stored.TABLES
                           if duck.execute("select count(*) from duckdb_tables() where table_name = $t",
                                           {"t": t}).fetchall()[0][0]]
    finally:
        duck.close()
    raw_expected = list(upsert.KEYS)
    missing = [t for t in marts_expected + stored_expected + raw_expected + ["rejects", "files"] if t not in tables]
    assert not missing, f"not built by Spark: {missing}"
    problems = [p for t in tables for p in compare_table(db, marts, t)]
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def sample_marts(sample_source, sample_truth) -> Path:
    today = dt.date.fromisoformat(sample_truth["end"]) + dt.timedelta(days=1)
    return spark_marts([sample_source / "canonical"], today)


def test_sample_practice_same_on_spark_and_duckdb(sample_db, sample_marts):
    _check_all(sample_db, sample_marts)


def test_a_changed_value_is_caught(sample_db, sample_marts, tmp_path):
    """The comparison can fail: a copy of the Spark build with one session's duration changed differs."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    copy = tmp_path / "marts"
    shutil.copytree(sample_marts, copy)
    build = serving.build_dir(copy)
    file = next(f for f in sorted((build / "children").rglob("*.parquet")) if pq.read_metadata(f).num_rows)
    rows = pq.read_table(file)
    teams = rows.column("team").to_pylist()
    teams[0] = "no such team"
    pq.write_table(rows.set_column(rows.schema.get_field_index("team"), "team", pa.array(teams)), file)
    problems = compare_table(sample_db, copy, "children")
    assert problems and "children.team: 1 rows differ" in problems[0]


def test_vendor_export_same_on_spark_and_duckdb(tmp_path_factory):
    """A practice-management system's export (profiles/vendor_pms.toml: ';'-separated, dd/mm/yyyy
    dates, title-case values, a name column dropped at load) through both engines."""
    from pipelines import sample

    out = tmp_path_factory.mktemp("vendor_practice")
    sample.write_sample(out, children=40, months=6, seed=5, formats=("vendor",))
    files = [out / "vendor"]
    today = dt.date(2026, 11, 1)
    db = tmp_path_factory.mktemp("vendor_db") / "practice.duckdb"
    report = loader.load(files, db=db, today=today, after_build=analytics.STEPS)
    assert {f.status for f in report.files} == {"loaded"}, [f.message for f in report.files]
    _check_all(db, spark_marts(files, today))


SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def _duckdb_build(files: list[Path], today: dt.date, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("duck") / "practice.duckdb"
    report = loader.load(files, db=db, today=today, after_build=analytics.STEPS)
    assert report.files and {f.status for f in report.files} == {"loaded"}, [f.message for f in report.files]
    return db


@pytest.mark.parametrize("folder", ["practice", "vendors"])
def test_every_source_same_on_spark_and_duckdb(folder, sample_truth, tmp_path_factory):
    """Every file of a folder of the bundled sample, whatever its source (appointments, session
    data, goals, children, charges; each profile chosen from its headers), through both engines:
    the multi-source practice (``data/sample/practice``) and the vendor set (``data/sample/vendors``).
    Every source's raw table is filled, and int_session_links and unlinked_rows come along."""
    files = [SAMPLE / folder]
    today = dt.date.fromisoformat(sample_truth["end"]) + dt.timedelta(days=1)
    db = _duckdb_build(files, today, tmp_path_factory)
    marts = spark_marts(files, today)
    _check_all(db, marts)
    # the Spark build read every file (none failed) and filled the raw tables those files fill
    con = serving.connect_version(serving.build_dir(marts))
    try:
        assert con.execute("select count(*) from files").fetchall()[0][0] == len(loader.expand(files))
        duck = warehouse.connect_reader(db)
        try:
            filled = [t for t in upsert.KEYS if duck.execute(f"select count(*) from {t}").fetchall()[0][0]]
        finally:
            duck.close()
        assert filled and all(con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in filled)
    finally:
        con.close()


@pytest.fixture(scope="module")
def large_practice(tmp_path_factory) -> tuple[Path, dt.date]:
    from pipelines import sample

    out = tmp_path_factory.mktemp("large_practice")
    written = sample.write_sample(out, children=6400, months=12, seed=17)
    assert 250_000 < written["rows"] < 350_000, written["rows"]
    return out / "canonical", dt.date(2026, 11, 1)


@pytest.mark.spark_large
def test_generated_300k_practice_same_on_spark_and_duckdb(large_practice, tmp_path_factory):
    files, today = large_practice
    db = tmp_path_factory.mktemp("large_db") / "practice.duckdb"
    report = loader.load([files], db=db, today=today, after_build=analytics.STEPS)
    assert not [f.message for f in report.files if f.status == "failed"]
    _check_all(db, spark_marts([files], today))


def test_a_bad_file_fails_alone_when_read_on_the_executors(tmp_path):
    """Files read in parallel on the executors: an unreadable file fails with its name and reason,
    a copy of a file already read is skipped, the others load -- as the DuckDB load reports them."""
    import shutil

    from spark_engine import build
    from spark_support import spark_session

    folder = tmp_path / "exports"
    folder.mkdir()
    shutil.copy(SAMPLE / "vendors" / "webpt_appointments.csv", folder / "a_appointments.csv")
    shutil.copy(SAMPLE / "vendors" / "webpt_appointments.csv", folder / "b_same_again.csv")
    (folder / "c_notes.csv").write_text("colour,flavour\nred,sweet\n")
    today = dt.date(2026, 11, 1)
    duck = loader.load([folder], db=tmp_path / "w.duckdb", today=today)
    spark = build.build([folder], tmp_path / "marts", spark=spark_session(), today=today)
    said = {f.path: (f.status, f.message) for f in duck.files}
    assert {f.path: f.status for f in spark.files} == {p: s for p, (s, _) in said.items()} == {
        "a_appointments.csv": "loaded", "b_same_again.csv": "skipped", "c_notes.csv": "failed"}
    bad = next(f for f in spark.files if f.status == "failed")
    assert bad.message == said["c_notes.csv"][1] and "c_notes.csv" in bad.message, bad.message
