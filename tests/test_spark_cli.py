"""The Spark engine's command-line paths say what is wrong in one line (no Spark needed to
check these): ``load --engine spark`` without ``--out``, ``serve-from`` a folder with no marts;
and ``serve-from --write-only`` on a built marts folder writes a serving file the dashboard's
reader opens (that one needs a Spark build: skipped without pyspark, sqlglot or Java)."""

from __future__ import annotations

import datetime as dt

from pipelines import cli, warehouse


def test_engine_spark_needs_out(tmp_path, capsys):
    export = tmp_path / "e.csv"
    export.write_text("session_id,child_id\n")
    assert cli.main(["load", str(export), "--engine", "spark"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --engine spark needs --out MARTS_DIR") and "Traceback" not in err


def test_serve_from_a_folder_without_marts(tmp_path, capsys):
    assert cli.main(["serve-from", str(tmp_path), "--write-only"]) == 1
    err = capsys.readouterr().err
    assert "no marts built here" in err and "--engine spark --out" in err and "Traceback" not in err


def test_serve_from_write_only_on_spark_marts(sample_source, sample_truth, tmp_path, capsys):
    from spark_support import require_spark, spark_marts

    require_spark()
    today = dt.date.fromisoformat(sample_truth["end"]) + dt.timedelta(days=1)
    marts = spark_marts([sample_source / "canonical"], today)
    db = tmp_path / "serving.duckdb"
    assert cli.main(["serve-from", str(marts), "--db", str(db), "--write-only"]) == 0
    assert f"PIPELINES_DB={db}" in capsys.readouterr().out
    con = warehouse.connect_reader(db)
    try:
        assert warehouse.schema_version(con) == warehouse.SCHEMA_VERSION
        assert con.execute("select count(*) from sessions").fetchall()[0][0] > 0
    finally:
        con.close()
