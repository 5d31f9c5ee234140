"""Uploads (``pipelines.uploads``): the size limit, the type told from the content and not the
name, Excel read without running anything, and a refused upload that changes nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import test_dashboard_support as support
from pipelines import uploads


@pytest.fixture()
def export(tmp_path) -> pd.DataFrame:
    paths = support.write_tiny_practice(tmp_path / "src", n_children=6, weeks=6)
    return pd.read_csv(paths[0], dtype=str, keep_default_na=False)


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode("utf-8")


def xlsx_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as xw:
        df.to_excel(xw, index=False, sheet_name="Sessions")
        # a live formula and an external link in another column: read as values, never run
        xw.sheets["Sessions"].write_formula(0, len(df.columns) + 1, '=HYPERLINK("http://127.0.0.1:9/x","go")')
    return buf.getvalue()


def loaded_sessions(db: Path) -> int:
    if not db.exists():
        return 0
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("select count(*) from sessions").fetchall()[0][0]
    finally:
        con.close()


def test_too_big_is_refused_before_anything_is_written(tmp_path, export):
    db = tmp_path / "w.duckdb"
    big = csv_bytes(export)
    with pytest.raises(uploads.UploadRefused, match=r"sessions\.csv \(.* MB\): larger than the 0\.001 MB"):
        uploads.load_uploaded([("ok.csv", b"x"), ("sessions.csv", big)], db, limit_mb=0.001)
    assert not db.exists()


@pytest.mark.parametrize("name, make, kind", [
    ("sessions.csv", csv_bytes, "csv"),
    ("sessions.xlsx", xlsx_bytes, "xlsx"),
    ("renamed_excel.csv", xlsx_bytes, "xlsx"),          # the name says CSV, the content is Excel
    ("renamed_csv.xlsx", csv_bytes, "csv"),             # the name says Excel, the content is CSV
    ("no_extension", csv_bytes, "csv"),
], ids=["csv", "xlsx", "xlsx-named-csv", "csv-named-xlsx", "no-extension"])
def test_type_comes_from_the_content(tmp_path, export, name, make, kind):
    db = tmp_path / "w.duckdb"
    report = uploads.load_uploaded([(name, make(export))], db)
    f = report.files[0]
    assert f.status == "loaded", f.message
    assert Path(f.path).name == name
    assert loaded_sessions(db) == export["session_id"].nunique()


@pytest.mark.parametrize("name, content, message", [
    ("photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "binary content"),
    ("old.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old binary Excel"),
    ("empty.csv", b"", "empty"),
    ("archive.xlsx", None, "archive.xlsx"),
], ids=["png", "xls", "empty", "zip-not-excel"])
def test_anything_else_is_refused_with_the_file_named(tmp_path, export, name, content, message):
    if content is None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("payload.sh", "echo hi")
        content = buf.getvalue()
    db = tmp_path / "w.duckdb"
    uploads.load_uploaded([("good.csv", csv_bytes(export))], db)
    before = loaded_sessions(db)
    report = uploads.load_uploaded([(name, content)], db)
    f = report.files[0]
    assert f.status == "failed" and message in f.message and name in f.message
    assert loaded_sessions(db) == before  # nothing already loaded is damaged
