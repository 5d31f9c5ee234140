"""The SparkSession the engine runs on: local mode by default, a cluster by ``--master URL``.

``get`` sets what the models need of Spark (the TIME type, UTC session time, Arrow for pandas
UDFs) and registers ``duckdb_hash``: DuckDB's own ``hash`` of a value, so that ``order_key``
(a mart key, "latest" in every query) is the same number on both engines.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LOCAL = "local[2]"


def get(master: str | None = None, app_name: str = "therapy-progress-marts", driver_memory: str = "1g",
        shuffle_partitions: int | None = None):
    """A SparkSession on ``master`` (default ``$SPARK_MASTER`` or ``local[2]``), made once per process."""
    from pyspark.sql import SparkSession

    master = master or os.environ.get("SPARK_MASTER") or LOCAL
    local = master.startswith("local")
    if local:
        # the workers run this interpreter with this project importable (the stored statistics
        # call the analytics code); on a cluster the image provides both (docs/scale.md)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        paths = [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        os.environ["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    b = (SparkSession.builder.master(master).appName(app_name)
         .config("spark.sql.timeType.enabled", "true")
         .config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.execution.arrow.pyspark.enabled", "true")
         .config("spark.ui.enabled", "false")
         .config("spark.driver.memory", driver_memory))
    if local or shuffle_partitions:
        b = b.config("spark.sql.shuffle.partitions", str(shuffle_partitions or 2))
    if local:
        # one small JVM holds driver and executors: broadcasting a "small" side (estimated from
        # checkpointed data) can exhaust it, so joins shuffle instead
        b = b.config("spark.ui.showConsoleProgress", "false").config("spark.sql.autoBroadcastJoinThreshold", "-1")
    spark = b.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    register_functions(spark)
    return spark


def _duckdb_hash(values):
    """DuckDB's ``hash`` of each value (UBIGINT) as a decimal(20, 0)."""
    import decimal

    import duckdb
    import pandas as pd

    con = duckdb.connect()
    try:
        frame = pd.DataFrame({"v": values.astype(object)})
        hashed = con.execute("select hash(v::varchar)::varchar as h from frame").fetchall()
    finally:
        con.close()
    return pd.Series([decimal.Decimal(h[0]) for h in hashed])


def register_functions(spark) -> None:
    """Register the engine's SQL functions on ``spark`` (``duckdb_hash``)."""
    from pyspark.sql.functions import pandas_udf
    from pyspark.sql.types import DecimalType

    spark.udf.register("duckdb_hash", pandas_udf(_duckdb_hash, DecimalType(20, 0)))
