"""The writer's DuckDB memory_limit: sized to the machine unless PIPELINES_MEMORY_LIMIT says otherwise."""

from __future__ import annotations

import duckdb

from pipelines import warehouse


def _limit_of(db) -> int:
    with warehouse.writer(db) as con:
        return con.execute("select current_setting('memory_limit')").fetchall()[0][0]


def _mb(text: str) -> float:
    """DuckDB's memory_limit as it reports it (e.g. '1.9 GiB', '476.8 MiB') in MiB."""
    number, unit = text.split()
    return float(number) * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "TiB": 1024 ** 2}[unit]


def test_default_is_a_quarter_of_memory_within_floor_and_cap(tmp_path, monkeypatch):
    monkeypatch.delenv("PIPELINES_MEMORY_LIMIT", raising=False)
    mb = warehouse._physical_mb()
    assert mb and mb > 0
    chosen = int(warehouse.writer_memory_limit().removesuffix("MB"))
    assert chosen == min(warehouse.MEMORY_CAP_MB, max(warehouse.MEMORY_FLOOR_MB, int(mb * 0.25)))
    # the writer really runs with it (DuckDB reports MiB/GiB to one decimal: 1 MB = 0.954 MiB)
    assert abs(_mb(_limit_of(tmp_path / "w.duckdb")) / (chosen * 1e6 / 2**20) - 1) < 0.03


def test_floor_and_cap(monkeypatch):
    monkeypatch.delenv("PIPELINES_MEMORY_LIMIT", raising=False)
    monkeypatch.setattr(warehouse, "_physical_mb", lambda: 1000)
    assert warehouse.writer_memory_limit() == "512MB"
    monkeypatch.setattr(warehouse, "_physical_mb", lambda: 64_000)
    assert warehouse.writer_memory_limit() == "2048MB"
    monkeypatch.setattr(warehouse, "_physical_mb", lambda: 4000)
    assert warehouse.writer_memory_limit() == "1000MB"
    monkeypatch.setattr(warehouse, "_physical_mb", lambda: None)
    assert warehouse.writer_memory_limit() == "512MB"


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_MEMORY_LIMIT", "300MB")
    assert warehouse.writer_memory_limit() == "300MB"
    assert abs(_mb(_limit_of(tmp_path / "w.duckdb")) - 300e6 / 2**20) < 2
    monkeypatch.setenv("PIPELINES_MEMORY_LIMIT", "not a size")
    try:
        _limit_of(tmp_path / "x.duckdb")
    except duckdb.Error:
        pass
    else:
        raise AssertionError("a memory limit DuckDB cannot read should fail the writer")
