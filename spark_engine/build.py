"""Build the marts on Spark from a folder of exports; write them as Parquet (``build``).

The same steps as ``pipelines.load`` + ``pipelines.transform``, for a whole set of exports at
once (a network's exports, rebuilt from scratch by each run):

1. each file is read by ``pipelines.ingest`` (the same readers, header mapping, profiles,
   encodings and parse rejects) into ``raw_rows``, in parallel on the executors (one task per
   file, ``read_export``), its rows handed to Spark as a Parquet file;
2. the staging model of its source (``queries/staging/stg_<source>.sql``: sessions,
   appointments, session data, goals, children, charges) types and checks it on Spark
   (``translate``), with the parameters and temp tables ``pipelines.upsert.load_one`` binds;
3. ``pipelines.upsert.INCOMING`` / ``SOURCE_INCOMING`` (what the good rows of a file of that
   source say, per raw table) runs per file, and per key the row of the newest export stays,
   whichever source gave it (export order, then load order: ``upsert_rows``' rule);
4. the intermediate and mart models run in ``pipelines.transform.model_order()`` (any model
   added to ``queries/`` comes along: ``int_session_links``, ``unlinked_rows``), the marts are
   written as Parquet, partitioned by ``month_start`` where a mart has it (an empty one as one
   file), with ``files`` and ``rejects``;
5. the stored statistics (``stored``) run per group of children with ``applyInPandas``.

The output is versioned: ``<out>/<version>/<table>/`` and ``<out>/CURRENT`` (the version, replaced
atomically when everything is written), so readers (``serving``) never see half a build.
"""

from __future__ import annotations

import datetime as dt
import functools
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
    source: str           # the profile's source (sessions, appointments, session_data, goals, children, charges)
    staged: object        # Spark DataFrame (stg_<source> of this file)
    raw: object           # Spark DataFrame (raw_rows)
    parse_rejects: list
    entry: dict
    ignored: list[str]    # the file's columns no model uses (``files.ignored_columns``)


def _text_view(spark, name: str, columns: list[str], rows: list[tuple]) -> None:
    """Temp view ``name`` of text columns ``columns`` holding ``rows`` (none: an empty view)."""
    frame = pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame({c: pd.Series([], dtype=str)
                                                                         for c in columns})
    spark.createDataFrame(frame, ", ".join(f"{c} string" for c in columns)).createOrReplaceTempView(name)


def incoming_selects(source: str) -> dict[str, str]:
    """What a file of ``source`` upserts, per raw table: ``pipelines.upsert``'s selects, as Spark SQL."""
    selects = upsert.INCOMING if source == "sessions" else upsert.SOURCE_INCOMING[source]
    return {t: _spark_select(q) for t, q in selects.items()}


@functools.cache
def _spark_select(text: str) -> str:
    return translate.spark_sql(text)


@functools.cache
def _staging_sql(source: str) -> str:
    return translate.model_sql(f"stg_{source}")


@dataclass
class _Read:
    """One export as read by ``read_export`` (on an executor): its rows in a Parquet file, or why not."""
    failed: FileReport | None
    sha256: str = ""
    res: ingest.ReadResult | None = None
    fmt: str = "ISO"
    raw_path: str = ""


def read_export(index: int, job: Job, scratch: str) -> _Read:
    """Read export ``job`` with ``pipelines.ingest`` (sniff, encodings, profile, parse rejects) and
    its date format, its rows written to ``<scratch>/raw_rows_<index>.parquet``. Needs no Spark: it
    runs on an executor (``_read_all``), one task per file. A file that cannot be read comes back
    with its reason (the file fails alone, as ``pipelines.load`` says it)."""
    if not job.path.exists():
        return _Read(FileReport(job.name, "failed", f"{job.name}: no such file ({job.path})"))
    try:
        sn = ingest.sniff(job.path)
    except ingest.UnusableFile as exc:
        return _Read(FileReport(job.name, "failed", str(exc)))
    con = duckdb.connect()
    try:
        res = ingest.read_into(con, sn, job.profile, job.sheet, display_name=job.name)
        fmt = decide_date_format(con, res.profile, job.name)
        raw = con.sql("select * from raw_rows order by _line").to_arrow_table()
    except ingest.UnusableFile as exc:
        return _Read(FileReport(job.name, "failed", str(exc), sn.sha256), sn.sha256)
    except duckdb.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return _Read(FileReport(job.name, "failed", f"{job.name}: could not be read ({first})", sn.sha256), sn.sha256)
    finally:
        con.close()
    Path(scratch).mkdir(parents=True, exist_ok=True)
    raw_path = str(Path(scratch) / f"raw_rows_{index}.parquet")
    pq.write_table(raw, raw_path)
    return _Read(None, sn.sha256, res, fmt, raw_path)


def _read_all(spark, jobs: list[Job], scratch: Path, parallel: bool) -> list[_Read]:
    """Every export read by ``read_export``: in parallel on the executors (one task per file; the
    scratch folder must be reachable by driver and executors, as the marts folder is), or one
    after another on the driver. In the order of ``jobs``."""
    if parallel and len(jobs) > 1:
        where = str(scratch)
        tasks = spark.sparkContext.parallelize(list(enumerate(jobs)), numSlices=len(jobs))
        return tasks.map(lambda ij: read_export(ij[0], ij[1], where)).collect()
    return [read_export(i, job, str(scratch)) for i, job in enumerate(jobs)]


def _stage_file(spark, job: Job, read: _Read, file_id: int) -> _Staged:
    """Stage one export read by ``read_export`` on Spark through the staging model of its source
    (``queries/staging/stg_<source>.sql``, bound as ``pipelines.upsert.load_one`` binds it).

    The rows read reach Spark as the Parquet file ``read_export`` wrote (a scan Spark splits
    across its executors), not as an in-memory relation of the driver's, which the optimizer
    copies row by row on the driver (out of memory at a few hundred thousand rows)."""
    res, fmt = read.res, read.fmt
    p = res.profile
    order, order_from = export_order(job)
    raw_df = spark.read.parquet(read.raw_path)
    raw_df.createOrReplaceTempView("raw_rows")
    _text_view(spark, "value_synonyms", ["field", "raw", "value"], upsert.synonyms(p))
    _text_view(spark, "service_codes", ["code", "therapist_id", "modality"], p.service_code_rows())
    derive = p.derive.get("session_date") if "session_date" not in res.header_map.mapping else None
    model = f"stg_{p.reads}"
    params = queries.bind(model, {
        "date_format": translate.java_format(fmt) if fmt != "ISO" else "ISO", "date_label": date_label(fmt),
        "today": job.today, "long_form": res.header_map.long_form, "catalogue_name": measures.shown(),
        "derive_start": dt.date.fromisoformat(derive["start"]) if derive else None,
        "derive_step": derive["step_days"] if derive else None,
        "derive_session_id": "session_id" in p.derive and "session_id" not in res.header_map.mapping,
        "removed_values": p.removed_values() if "removed_flag" in res.header_map.mapping else []})
    staged = spark.sql(_staging_sql(p.reads), args=params).localCheckpoint()
    rep = FileReport(job.name, "loaded", "", read.sha256, res.rows_read, 0, 0, p.name, res.header_map.dropped,
                     order.isoformat(), order_from)
    entry = {"sha256": read.sha256, "original_name": job.name, "kind": res.kind, "profile": p.as_dict(),
             "sheet": res.sheet, "today": job.today.isoformat(), "export_order": order.isoformat(),
             "order_from": order_from, "engine": "spark"}
    rejects = res.parse_rejects
    if res.header_map.dropped:
        rejects = [(line, col, upsert.REDACTED, reason) for line, col, _raw, reason in rejects]
    return _Staged(rep, file_id, file_id, order, p.reads, staged, raw_df.localCheckpoint(), rejects, entry,
                   list(res.header_map.ignored))


def _incoming(spark, st: _Staged, select_sql: str):
    st.staged.createOrReplaceTempView("staged")
    return spark.sql(select_sql, args={"file_id": st.file_id, "load_seq": st.load_seq, "order": st.order})


def build(paths: list[str | Path], out: str | Path, spark=None, profile: str | None = None,
          today: dt.date | None = None, export_date: dt.datetime | None = None,
          per_child: Callable | None = None, finish: Callable | None = None,
          echo: Callable[[str], None] | None = None, child_groups: int | None = None,
          parallel_read: bool = True) -> SparkBuild:
    """Build every model from the export files (and folders) ``paths`` on ``spark`` (default: a
    local session, ``session.get``) and write the Parquet marts under ``out``.

    ``per_child(con) -> {table: DataFrame}`` computes the stored statistics from a warehouse-like
    connection holding some children's rows (``analytics.stored.compute_tables``, handed down by
    the entry point: this layer does not import analytics); ``finish(con) -> DataFrame`` the
    ``analytics_meta`` row from the served marts. Without them only the marts are written.
    ``parallel_read``: the exports are read on the executors, one task per file (``_read_all``).
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
        reports: list[FileReport] = []
        staged: list[_Staged] = []
        seen: dict[str, str] = {}
        echo(f"reading {len(jobs)} file{'s' if len(jobs) != 1 else ''}"
             + (" on the executors" if parallel_read and len(jobs) > 1 else ""))
        for job, read in zip(jobs, _read_all(spark, jobs, scratch, parallel_read)):
            if read.failed is not None:
                reports.append(read.failed)
            elif read.sha256 in seen:
                reports.append(FileReport(job.name, "skipped", f"already loaded (same content as {seen[read.sha256]})",
                                          read.sha256))
            else:
                echo(f"staging {job.name}")
                st = _stage_file(spark, job, read, len(staged) + 1)
                reports.append(st.report)
                seen[read.sha256] = job.name
                staged.append(st)
        # the raw tables: per key the newest export's row (export order, then the later load),
        # whichever source gave it (pipelines.upsert.upsert_rows' rule, for all files at once)
        parts: dict[str, list] = {t: [] for t in upsert.KEYS}
        for st in staged:
            for table, select_sql in incoming_selects(st.source).items():
                parts[table].append(_incoming(spark, st, select_sql))
        for table, given in parts.items():
            if given:
                df = given[0]
                for p in given[1:]:
                    df = df.unionByName(p, allowMissingColumns=True)
                w = Window.partitionBy(*upsert.KEYS[table]).orderBy(F.col("export_order").desc(),
                                                                    F.col("load_seq").desc())
                df = df.withColumn("_n", F.row_number().over(w)).where("_n = 1").drop("_n")
            else:
                df = spark.createDataFrame([], "x int")
            _conform(spark, df, table, types).localCheckpoint().createOrReplaceTempView(table)
        raw_tables = list(upsert.KEYS)
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
                           "dropped_columns": r.dropped_columns, "ignored_columns": st.ignored,
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
    """Write a Spark DataFrame as Parquet under ``target/name`` (by month when it has ``month_start``
    and rows: an empty table is one file with its columns, as Spark writes no file for no partition)."""
    cols = [(f.name, translate.duckdb_type(f.dataType)) for f in df.schema.fields]
    n = int(df.count())
    part = PARTITION_COLUMN in df.columns and n > 0
    w = df.write.mode("overwrite")
    (w.partitionBy(PARTITION_COLUMN) if part else w).parquet(str(target / name))
    table_meta[name] = {"columns": cols, "partitioned_by": PARTITION_COLUMN if part else None}
    return n


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


