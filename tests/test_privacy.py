"""No names stored: name columns in an export are dropped at load and said so, and no name
reaches the warehouse, the rejects, or the landing archive that ``rebuild`` replays."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

import analytics
from pipelines import load, warehouse

VENDOR = Path(__file__).resolve().parent.parent / "data" / "sample" / "vendor" / "appointments_2025-11_2026-10.csv"
NAMES = ("Zebedee", "Marmaduke", "Quillfeather")


@pytest.fixture()
def export(tmp_path) -> Path:
    """60 rows of the vendor-format sample with name columns, and one malformed row carrying a name."""
    df = pd.read_csv(VENDOR, sep=";", dtype=str, keep_default_na=False, encoding="latin-1", nrows=60)
    df["Client Name"] = NAMES[0] + " Smith"
    df.insert(3, "First Name", NAMES[0])
    df["Guardian"] = NAMES[1] + " Smith"
    p = tmp_path / "appointments.csv"
    text = df.to_csv(sep=";", index=False, lineterminator="\n")
    bad = ";".join(['S999999', 'C0001', f'"{NAMES[2]} unterminated', *[""] * (len(df.columns) - 3)])
    p.write_text(text + bad + "\n", encoding="latin-1")
    return p


def _text_of_tables(con: duckdb.DuckDBPyConnection, relations: list[str]) -> str:
    """Every value of every relation as text (storage is compressed, so bytes on disk would not show a name)."""
    out = []
    for rel in relations:
        out.append(rel)
        for row in con.execute(f"select * from {rel}").fetchall():  # relation names are ours, not input
            out.append("|".join(map(str, row)))
    return "\n".join(out)


def everything_stored(db: Path) -> str:
    """The warehouse's tables, the archive's Parquet rows and every other archive file, as text."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
        parts = [_text_of_tables(con, tables)]
    finally:
        con.close()
    mem = duckdb.connect()
    for f in sorted(warehouse.archive_dir(db).iterdir()):
        if f.suffix == ".parquet":
            parts.append(_text_of_tables(mem, [f"read_parquet('{f}')"]))
        else:
            parts.append(f.read_bytes().decode("latin-1"))
    mem.close()
    return "\n".join(parts)


def test_names_are_dropped_reported_and_never_stored(tmp_path, export):
    db = tmp_path / "w.duckdb"
    rep = load.load([export], db=db, after_build=analytics.STEPS)
    f = rep.files[0]
    assert f.status == "loaded"
    assert set(f.dropped_columns) == {"Client Name", "First Name", "Guardian"}
    assert "name columns dropped (never stored)" in f.message
    assert f.rows_rejected >= 1  # the malformed row is kept as a reject, without its text
    stored = everything_stored(db)
    for name in NAMES:
        assert name not in stored, f"{name} is stored"
    kept = pd.read_csv(export, sep=";", dtype=str, encoding="latin-1", nrows=3)
    assert kept["Client ID"][0] in stored and kept["Clinician"][0] in stored  # the scan sees stored values


def test_columns_we_do_not_use_are_not_archived(tmp_path, export):
    df = pd.read_csv(export, sep=";", dtype=str, keep_default_na=False, encoding="latin-1", nrows=20)
    df = df.drop(columns=["Client Name", "First Name", "Guardian"])
    df["Session Notes"] = "talked about her brother " + NAMES[1]  # free text the contract does not use
    p = tmp_path / "notes.csv"
    p.write_text(df.to_csv(sep=";", index=False), encoding="latin-1")
    db = tmp_path / "w.duckdb"
    rep = load.load([p], db=db, after_build=analytics.STEPS)
    assert rep.files[0].status == "loaded" and not rep.files[0].dropped_columns
    assert NAMES[1] not in everything_stored(db)


def test_rebuild_from_the_name_free_archive_gives_the_same_warehouse(tmp_path, export):
    db = tmp_path / "w.duckdb"
    load.load([export], db=db, after_build=analytics.STEPS)

    def snapshot() -> tuple:
        con = duckdb.connect(str(db), read_only=True)
        try:
            rows = [con.execute(f"select * exclude (file_id, load_seq) from {t} order by all").fetchall()
                    for t in ("src_sessions", "src_observations", "src_goals", "src_children")]
            rej = con.execute("select line, column_name, reason, raw_row from rejects order by all").fetchall()
            files = con.execute("select sha256, original_name, rows_read, dropped_columns from files").fetchall()
        finally:
            con.close()
        return rows, rej, files

    before = snapshot()
    load.rebuild(db, after_build=analytics.STEPS)
    assert snapshot() == before
    for name in NAMES:
        assert name not in everything_stored(db)
    again = load.load([export], db=db, after_build=analytics.STEPS)  # the original file is still recognised as loaded
    assert again.files[0].status == "skipped"
