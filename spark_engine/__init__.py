"""The same models on Apache Spark (an optional extra: requirements-spark.txt and Java 17).

``build.build`` reads a folder of exports with ``pipelines.ingest``, runs the staging,
intermediate and mart SQL of ``queries/`` on a SparkSession (``translate``: DuckDB SQL to Spark
SQL with sqlglot), writes the marts as Parquet by month and the stored statistics computed per
group of children by the analytics layer's own function (``stored``); ``serving`` gives the
dashboard DuckDB views over those Parquet files. ``session.get`` makes the SparkSession (local
mode by default). pyspark is imported only inside the functions that need it. See docs/scale.md.
"""
