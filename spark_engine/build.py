"""Build the marts on Spark from a folder of exports; write them as Parquet (``build``).

The same steps as ``pipelines.load`` + ``pipelines.transform``, for a whole set of exports at
once (a network's exports, rebuilt from scratch by each run):

1. each file is read by ``pipelines.ingest`` (the same readers, header mapping, profiles,
   encodings and parse rejects) into ``raw_rows`` and handed to Spark as Arrow;
2. ``queries/staging/stg_sessions.sql`` types and checks it on Spark (``translate``), with the
   parameters ``pipelines.upsert`` binds (exports of the sessions source: the canonical and
   vendor_pms profiles; a file of another source - appointments, session data, goals, children,
   charges - fails with the reason and loads with the DuckDB engine; their raw tables are empty);
3. ``pipelines.upsert.INCOMING`` (what the good rows say, per raw table) runs per file, and per
   key the row of the newest export stays (export order, then load order: the upsert's rule);
4. the intermediate and mart models run in ``pipelines.transform.model_order()`` (any model
   added to ``queries/`` comes along), the marts are written as Parquet, partitioned by
   ``month_start`` where a mart has it, with ``files`` and ``rejects``;
5. the stored statistics (``stored``) run per group of children with ``applyInPandas``.

The output is versioned: ``<out>/<version>/<table>/`` and ``<out>/CURRENT`` (the version, replaced
atomically when everything is written), so readers (``serving``) never see half a build.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import ingest, measures, queries, transform, upsert, warehouse
from pipelines.dates import GIVEN, date_label, decide_date_format, export_order
from pipelines.load import expand
from pipelines.profiles import load as load_profile
from pipelines.upsert import FileReport, Job
from spark_engine import translate
from spark_engine.session import register_functions

CURRENT = "CURRENT"
TABLES_FILE = "_tables.json"      # per table: its columns and DuckDB types, and whether partitioned
PARTITION_COLUMN = "month_start"


@dataclass
class SparkBuild:
    out: str
    version: str
    files: list[FileReport]
    tables: dict[str, int] = field(default_factory=dict)     # rows per table written
    timings: dict[str, float] = field(default_factory=dict)  # seconds: files_s, models_s, statistics_s


def _schema_types() -> dict[str, list[tuple[str, str]]]:
    """The warehouse's raw tables, rejects and files: columns and DuckDB types (``warehouse.SCHEMA``)."""
    con = duckdb.connect()
    try:
        con.execute(warehouse.SCHEMA)
        rows = con.execute("select table_name, column_name, data_type from duckdb_columns() "
                           "where schema_name = 'main' order by table_name, column_index").fetchall()
    finally:
        con.close()
    out: dict[str, list[tuple[str, str]]] = {}
    for t, c, ty in rows:
        out.setdefault(t, []).append((c, ty))
    return out


def _conform(spark, df, table: str, types: dict[str, list[tuple[str, str]]]):
    """``df`` with exactly ``table``'s columns in order, each cast to its type (missing ones null):
    what ``insert into <table> by name`` does."""
    from pyspark.sql import functions as F

    have = set(df.columns)
    return df.select(*[(F.col(c) if c in have else F.lit(None)).cast(translate.spark_type(t)).alias(c)
                       for c, t in types[table]])


def _settings_tables(spark) -> list[str]:
    """The tables the models read from settings.toml and measures.toml, as Spark temp views."""
    con = duckdb.connect()
    try:
        transform.write_settings_tables(con)
        names = [r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'main'")
                 .fetchall()]
        for n in names:
            spark.createDataFrame(con.sql(f"select * from {n}").to_arrow_table()).createOrReplaceTempView(n)  # our names
    finally:
        con.close()
    return names


@dataclass
class _Staged:
    report: FileReport
    file_id: int
    load_seq: int
    order: dt.datetime
    staged: object        # Spark DataFrame (stg_sessions of this file)
    raw: object           # Spark DataFrame (raw_rows)
    parse_rejects: list
    entry: dict


def _stage_file(spark, job: Job, file_id: int, stg_sql: str, scratch: Path
                ) -> tuple[_Staged | None, FileReport, str | None]:
    """Read one file with ``pipelines.ingest`` and stage it on Spark; (staged, report, sha256).

    The rows read go to Spark through a Parquet file in ``scratch`` (a scan Spark splits across
    its executors), not as an in-memory relation of the driver's, which the optimizer copies
    row by row on the driver (out of memory at a few hundred thousand rows)."""
    try:
        sn = ingest.sniff(job.path)
    except ingest.UnusableFile as exc:
        return None, FileReport(job.name, "failed", str(exc)), None
    con = duckdb.connect()
    try:
        res = ingest.read_into(con, sn, job.profile, job.sheet, display_name=job.name)
        fmt = decide_date_format(con, res.profile, job.name)
        raw = con.sql("select * from raw_rows order by _line").to_arrow_table()
    except ingest.UnusableFile as exc:
        return None, FileReport(job.name, "failed", str(exc), sn.sha256), sn.sha256
    except duckdb.Error as exc:  # as pipelines.load says it: the file fails alone
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return None, FileReport(job.name, "failed", f"{job.name}: could not be read ({first})", sn.sha256), sn.sha256
    finally:
        con.close()
    p = res.profile
    if p.reads != "sessions":  # said, never dropped silently: the other sources load with the DuckDB engine
        return None, FileReport(job.name, "failed", f"{job.name}: a {p.reads} export (profile {p.name}); the Spark "
                                "engine builds from exports of the sessions source (one row per session, as the "
                                "canonical and vendor_pms profiles read) - load this file with the DuckDB engine",
                                sn.sha256), sn.sha256
    order, order_from = export_order(job)
    scratch.mkdir(parents=True, exist_ok=True)
    pq.write_table(raw, scratch / f"raw_rows_{file_id}.parquet")
    raw_df = spark.read.parquet(str(scratch / f"raw_rows_{file_id}.parquet"))
    raw_df.createOrReplaceTempView("raw_rows")
    syn = upsert.synonyms(p)
    spark.createDataFrame(pd.DataFrame(syn, columns=["field", "raw", "value"]) if syn else
                          pd.DataFrame({"field": pd.Series([], dtype=str), "raw": pd.Series([], dtype=str),
                                        "value": pd.Series([], dtype=str)}),
                          "field string, raw string, value string").createOrReplaceTempView("value_synonyms")
    derive = p.derive.get("session_date") if "session_date" not in res.header_map.mapping else None
    params = queries.bind("stg_sessions", {
        "date_format": translate.java_format(fmt) if fmt != "ISO" else "ISO", "date_label": date_label(fmt),
        "today": job.today, "long_form": res.header_map.long_form, "catalogue_name": measures.shown(),
        "derive_start": dt.date.fromisoformat(derive["start"]) if derive else None,
        "derive_step": derive["step_days"] if derive else None,
        "derive_session_id": "session_id" in p.derive and "session_id" not in res.header_map.mapping})
    staged = spark.sql(stg_sql, args=params).localCheckpoint()
    rep = FileReport(job.name, "loaded", "", sn.sha256, res.rows_read, 0, 0, p.name, res.header_map.dropped,
                     order.isoformat(), order_from)
    entry = {"sha256": sn.sha256, "original_name": job.name, "kind": res.kind, "profile": p.as_dict(),
             "sheet": res.sheet, "today": job.today.isoformat(), "export_order": order.isoformat(),
             "order_from": order_from, "engine": "spark"}
    rejects = res.parse_rejects
    if res.header_map.dropped:
        rejects = [(line, col, upsert.REDACTED, reason) for line, col, _raw, reason in rejects]
    return _Staged(rep, file_id, file_id, order, staged, raw_df.localCheckpoint(), rejects, entry), rep, sn.sha256


def _incoming(spark, st: _Staged, select_sql: str):
    st.staged.createOrReplaceTempView("staged")
    return spark.sql(select_sql, args={"file_id": st.file_id, "load_seq": st.load_seq, "order": st.order})


def build(paths: list[str | Path], out: str | Path, spark=None, profile: str | None = None,
          today: dt.date | None = None, export_date: dt.datetime | None = None,
          per_child: Callable | None = None, finish: Callable | None = None,
          echo: Callable[[str], None] | None = None, child_groups: int | None = None) -> SparkBuild:
    """Build every model from the export files (and folders) ``paths`` on ``spark`` (default: a
    local session, ``session.get``) and write the Parquet marts under ``out``.

    ``per_child(con) -> {table: DataFrame}`` computes the stored statistics from a warehouse-like
    connection holding some children's rows (``analytics.stored.compute_tables``, handed down by
    the entry point: this layer does not import analytics); ``finish(con) -> DataFrame`` the
    ``analytics_meta`` row from the served marts. Without them only the marts are written.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    from spark_engine import session as session_mod, stored

    echo = echo or (lambda s: None)
    spark = spark or session_mod.get()
    register_functions(spark)
    out = Path(out)
    version = dt.datetime.now().strftime("%Y%m%dT%H%M%S%f")
    target = out / version
    target.mkdir(parents=True, exist_ok=False)
    scratch = target / "_scratch"   # the rows read, for Spark to scan; removed before publishing
    try:
        types = _schema_types()
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        chosen = load_profile(profile) if profile else None
        jobs = [Job(f, f.name, chosen, None, today or dt.date.today(), export_order=export_date,
                    order_from=GIVEN if export_date else None) for f in expand(paths)]
        _settings_tables(spark)
        stg_sql = translate.model_sql("stg_sessions")
        incoming_sql = {t: translate.spark_sql(q) for t, q in upsert.INCOMING.items()}
        reports: list[FileReport] = []
        staged: list[_Staged] = []
        seen: dict[str, str] = {}
        for job in jobs:
            if not job.path.exists():
                reports.append(FileReport(job.name, "failed", f"{job.name}: no such file ({job.path})"))
                continue
            echo(f"reading {job.name}")
            try:
                sn_sha = ingest.sniff(job.path).sha256
            except ingest.UnusableFile as exc:
                reports.append(FileReport(job.name, "failed", str(exc)))
                continue
            if sn_sha in seen:
                reports.append(FileReport(job.name, "skipped", f"already loaded (same content as {seen[sn_sha]})", sn_sha))
                continue
            st, rep, sha = _stage_file(spark, job, len(staged) + 1, stg_sql, scratch)
            reports.append(rep)
            if st is None:
                continue
            seen[sha] = job.name
            staged.append(st)
        # the raw tables: per key the newest export's row (export order, then the later load)
        for table, select_sql in incoming_sql.items():
            parts = [_incoming(spark, st, select_sql) for st in staged]
            if parts:
                df = parts[0]
                for p in parts[1:]:
                    df = df.unionByName(p, allowMissingColumns=True)
                w = Window.partitionBy(*upsert.KEYS[table]).orderBy(F.col("export_order").desc(),
                                                                    F.col("load_seq").desc())
                df = df.withColumn("_n", F.row_number().over(w)).where("_n = 1").drop("_n")
            else:
                df = spark.createDataFrame([], "x int")
            _conform(spark, df, table, types).localCheckpoint().createOrReplaceTempView(table)
        raw_tables = list(incoming_sql)
        for table in upsert.KEYS:  # the raw tables only other sources fill (session data, charges): empty here
            if table not in incoming_sql:
                _conform(spark, spark.createDataFrame([], "x int"), table, types).createOrReplaceTempView(table)
                raw_tables.append(table)
        # files and rejects
        rejects, file_rows = _rejects_and_files(spark, staged, types)
        rejects, file_rows = rejects.localCheckpoint(), file_rows.localCheckpoint()
        rejects.createOrReplaceTempView("rejects")  # before the models: unlinked_rows names each row's file
        file_rows.createOrReplaceTempView("files")
        timings["files_s"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        written: dict[str, int] = {}
        table_meta: dict[str, dict] = {}
        for name in transform.model_order():
            echo(f"model {name}")
            df = spark.sql(translate.model_sql(name))
            if queries.path(name).parent.name == "marts":
                df = df.localCheckpoint()
                written[name] = _write(df, target, name, table_meta)
            df.createOrReplaceTempView(name)
        for name in raw_tables:  # the raw tables too: status counts them, and the parity test compares them
            written[name] = _write(spark.table(name), target, name, table_meta)
        for name, df in (("rejects", rejects), ("files", file_rows)):
            written[name] = _write(df, target, name, table_meta)
        for name in ("age_group_bands", "measure_definitions"):
            written[name] = _write(spark.table(name), target, name, table_meta)
        timings["models_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        if per_child is not None:
            echo("stored statistics per child")
            for name, df in stored.compute(spark, target, table_meta, per_child, groups=child_groups).items():
                written[name] = _write_arrow(df, target, name, table_meta)
        _write_tables_file(target, table_meta)
        if finish is not None:
            from spark_engine import serving

            con = serving.connect_version(target)
            try:
                written["analytics_meta"] = _write_arrow(stored.as_arrow(finish(con)),
                                                         target, "analytics_meta", table_meta)
            finally:
                con.close()
            _write_tables_file(target, table_meta)
        timings["statistics_s"] = time.perf_counter() - t2
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # never published: CURRENT still names the last good build
        raise
    shutil.rmtree(scratch, ignore_errors=True)
    _publish(out, version)
    loaded = {r["original_name"]: r for r in (file_rows.toPandas().to_dict("records") if staged else [])}
    for rep in reports:
        if rep.path in loaded:
            r = loaded[rep.path]
            rep.rows_loaded, rep.rows_rejected = int(r["rows_loaded"]), int(r["rows_rejected"])
            rep.message = f"{rep.rows_loaded} rows loaded, {rep.rows_rejected} rejected"
    return SparkBuild(str(out), version, reports, written, timings)


def _rejects_and_files(spark, staged: list[_Staged], types):
    """The ``rejects`` rows (staging's errors, the readers' parse rejects) and the ``files`` rows."""
    from pyspark.sql import functions as F

    rej_parts, file_parts = [], []
    for st in staged:
        raw_json = st.raw.select(F.col("_line").alias("line"), F.to_json(F.struct(*[F.col(c) for c in st.raw.columns]),
                                 {"ignoreNullFields": "false"}).alias("raw_row"))
        errs = (st.staged.where(F.size("errors") > 0).select("line", F.explode("errors").alias("e"))
                .join(raw_json, "line", "left")
                .select(F.lit(st.file_id).alias("file_id"), F.lit(st.report.path).alias("file_name"), "line",
                        F.col("e.column").alias("column_name"), F.col("e.value").alias("value"),
                        F.col("e.reason").alias("reason"), "raw_row"))
        rej_parts.append(errs)
        if st.parse_rejects:
            rej_parts.append(spark.createDataFrame(
                pd.DataFrame([(st.file_id, st.report.path, line, col, None, reason, raw)
                              for line, col, raw, reason in st.parse_rejects],
                             columns=["file_id", "file_name", "line", "column_name", "value", "reason", "raw_row"]),
                "file_id int, file_name string, line int, column_name string, value string, reason string, "
                "raw_row string"))
        counts = st.staged.agg(F.sum(F.when(F.size("errors") == 0, 1).otherwise(0)).alias("ok"),
                               F.sum(F.when(F.size("errors") > 0, 1).otherwise(0)).alias("bad")).collect()[0]
        bad_lines = len({r[0] for r in st.parse_rejects})
        r = st.report
        file_parts.append({"file_id": st.file_id, "load_seq": st.load_seq, "sha256": r.sha256,
                           "original_name": r.path, "archived_as": "", "kind": st.entry["kind"],
                           "profile": r.profile, "sheet": st.entry["sheet"],
                           "loaded_at": dt.datetime.now().replace(microsecond=0), "rows_read": r.rows_read,
                           "rows_loaded": int(counts["ok"] or 0), "rows_rejected": int(counts["bad"] or 0) + bad_lines,
                           "dropped_columns": r.dropped_columns, "ignored_columns": [],
                           "export_order": st.order, "order_from": r.order_from, "entry": json.dumps(st.entry)})
    if rej_parts:
        rejects = rej_parts[0]
        for p in rej_parts[1:]:
            rejects = rejects.unionByName(p)
    else:
        rejects = spark.createDataFrame([], "x int")
    rejects = _conform(spark, rejects, "rejects", types)
    files_df = (spark.createDataFrame(pd.DataFrame(file_parts)) if file_parts else spark.createDataFrame([], "x int"))
    return rejects, _conform(spark, files_df, "files", types)


def _write(df, target: Path, name: str, table_meta: dict) -> int:
    """Write a Spark DataFrame as Parquet under ``target/name`` (by month when it has ``month_start``)."""
    cols = [(f.name, translate.duckdb_type(f.dataType)) for f in df.schema.fields]
    part = PARTITION_COLUMN in df.columns
    w = df.write.mode("overwrite")
    (w.partitionBy(PARTITION_COLUMN) if part else w).parquet(str(target / name))
    table_meta[name] = {"columns": cols, "partitioned_by": PARTITION_COLUMN if part else None}
    return int(df.count())


def _write_arrow(table: pa.Table, target: Path, name: str, table_meta: dict) -> int:
    """Write an Arrow table (computed on the driver or collected from the workers) as one Parquet file."""
    con = duckdb.connect()
    try:
        con.register("t", table)
        cols = [(c, t) for c, t in con.execute("select column_name, column_type from (describe t)").fetchall()]
        (target / name).mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target / name / "part-0.parquet")
    finally:
        con.close()
    table_meta[name] = {"columns": cols, "partitioned_by": None}
    return table.num_rows


def _write_tables_file(target: Path, table_meta: dict) -> None:
    tmp = target / (TABLES_FILE + ".partial")
    tmp.write_text(json.dumps({"schema_version": warehouse.SCHEMA_VERSION, "tables": table_meta}, indent=1))
    os.replace(tmp, target / TABLES_FILE)


def _publish(out: Path, version: str) -> None:
    """Make ``version`` the current build (atomic), then remove builds older than the previous one."""
    previous = current_version(out)
    tmp = out / (CURRENT + ".partial")
    tmp.write_text(version + "\n")
    os.replace(tmp, out / CURRENT)
    keep = {version, previous}
    for d in out.iterdir():
        if d.is_dir() and d.name not in keep and (d / TABLES_FILE).exists():
            shutil.rmtree(d, ignore_errors=True)


def current_version(out: str | Path) -> str | None:
    """The version ``<out>/CURRENT`` names (None before the first build)."""
    p = Path(out) / CURRENT
    return p.read_text().strip() if p.exists() else None


