"""Uploads (``access.uploads``): the size limit, the type told from the content and not the
name, Excel read without running anything, and a refused upload that changes nothing."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import test_dashboard_support as support
from access import uploads
from pipelines import ingest

REPO = Path(__file__).resolve().parent.parent

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


# ---- Excel caps ([uploads] max_uncompressed_mb, max_rows, max_cell_chars) -------------------

def bomb_xlsx(path: Path, cell_mb: int) -> Path:
    """A small .xlsx whose one cell unpacks to ``cell_mb`` MB (streamed: never held in memory here)."""
    from test_load import HEADER, numbered, write_xlsx

    plain = write_xlsx(path.with_suffix(".plain.xlsx"), HEADER + ["notes"],
                       [[r[h] for h in HEADER] + ["BOMB"] for r in numbered(2)])
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for m in src.infolist():
            data = src.read(m)
            if not m.filename.endswith("sheet1.xml"):
                dst.writestr(m, data)
                continue
            before, after = data.split(b"BOMB", 1)
            with dst.open(m.filename, "w", force_zip64=True) as f:
                f.write(before)
                chunk = b"z" * (1 << 20)
                for _ in range(cell_mb):
                    f.write(chunk)
                f.write(after)
    return path


def test_excel_bomb_is_refused_from_the_zip_directory_before_it_is_opened(tmp_path):
    bomb = bomb_xlsx(tmp_path / "bomb.xlsx", 1500)     # the case: 1.5 MB on disk, a 1.5 GB cell
    assert bomb.stat().st_size < 5 * 1024 * 1024
    db = tmp_path / "w.duckdb"
    code = (
        "import json, sys\n"
        "from pathlib import Path\n"
        "from access import uploads\n"
        "p, db = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "try:\n"
        "    uploads.load_uploaded([(p.name, p.read_bytes())], db)\n"
        "    msg = 'loaded'\n"
        "except uploads.UploadRefused as exc:\n"
        "    msg = str(exc)\n"
        # VmHWM: this process's own peak (ru_maxrss would carry the parent's peak across exec)
        "hwm = next(l for l in open('/proc/self/status') if l.startswith('VmHWM'))\n"
        "print(json.dumps({'msg': msg, 'rss_mb': int(hwm.split()[1]) / 1024}))\n")
    r = subprocess.run([sys.executable, "-c", code, str(bomb), str(db)], cwd=REPO, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    out = json.loads(r.stdout)
    assert "bomb.xlsx: unpacks to 1500 MB, more than the 120 MB" in out["msg"]
    assert "[uploads] max_uncompressed_mb" in out["msg"]
    assert out["rss_mb"] < 400, out     # the 1.5 GB cell never reached memory (imports alone: ~120 MB)
    assert not db.exists()


def test_workbook_that_lies_about_its_unpacked_size_is_refused(tmp_path, export):
    """The zip's directory says the sheet is small; zipfile's size and CRC checks catch the lie."""
    from test_load import write_xlsx

    path = write_xlsx(tmp_path / "liar.xlsx", list(export.columns), export.astype(str).values.tolist())
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        sheet = z.getinfo("xl/worksheets/sheet1.xml")
    # central directory entry: signature PK\1\2, uncompressed size at offset 24 (zip64 entries: in the extra field)
    name = sheet.filename.encode()
    at = data.find(b"PK\x01\x02")
    while data[at + 46:at + 46 + len(name)] != name:
        at = data.find(b"PK\x01\x02", at + 4)
    size_field = int.from_bytes(data[at + 24:at + 28], "little")
    if size_field == 0xFFFFFFFF:   # zip64: the real size sits in the extra field's first 8 bytes
        extra = at + 46 + len(name) + 4
        data[extra:extra + 8] = (1000).to_bytes(8, "little")
    else:
        data[at + 24:at + 28] = (1000).to_bytes(4, "little")
    db = tmp_path / "w.duckdb"
    with pytest.raises(uploads.UploadRefused, match=r"liar\.xlsx: not a readable Excel workbook"):
        uploads.load_uploaded([("liar.xlsx", bytes(data))], db)
    assert not db.exists()


def test_row_cap_refuses_the_upload_naming_file_sheet_and_setting(tmp_path, export):
    db = tmp_path / "w.duckdb"
    n = len(export)
    with pytest.raises(uploads.UploadRefused) as info:
        uploads.load_uploaded([("ok.csv", csv_bytes(export)), ("big.xlsx", xlsx_bytes(export))], db,
                              caps={"max_rows": n - 1})
    msg = str(info.value)
    assert f"big.xlsx: {n:,} data rows in sheet 'Sessions', more than the {n - 1:,}" in msg
    assert "[uploads] max_rows" in msg and "ok.csv" not in msg
    assert not db.exists()                      # refused as a whole: nothing loaded
    report = uploads.load_uploaded([("big.xlsx", xlsx_bytes(export))], db, caps={"max_rows": n})
    assert report.files[0].status == "loaded" and loaded_sessions(db) == export["session_id"].nunique()


def test_upload_caps_live_in_settings(tmp_path, export, monkeypatch):
    text = (REPO / "settings.toml").read_text(encoding="utf-8")
    for key, value in (("max_rows", "10"), ("max_uncompressed_mb", "0.001"), ("max_cell_chars", "5")):
        assert f"\n{key} = " in text, key
        text = "\n".join(f"{key} = {value}" if line.startswith(f"{key} = ") else line for line in text.splitlines())
    custom = tmp_path / "settings.toml"
    custom.write_text(text, encoding="utf-8")
    monkeypatch.setenv("PIPELINES_SETTINGS", str(custom))
    lim = uploads.limits()
    assert (lim["max_rows"], lim["max_uncompressed_mb"], lim["max_cell_chars"]) == (10, 0.001, 5)
    assert ingest.max_cell_chars() == 5   # the Excel reader's cell cap is the same setting
    with pytest.raises(uploads.UploadRefused, match=r"more than the 0\.001 MB"):
        uploads.check([("a.xlsx", xlsx_bytes(export))])
