"""The two command-line paths of the Spark engine, run by ``pipelines.cli`` (the entry point,
which hands down the analytics layer's statistics and its audit): ``load --engine spark`` and
``serve-from``. Failures are one ``error:`` line, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipelines import warehouse


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _missing_extra() -> str | None:
    import shutil

    try:
        import pyspark  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError as exc:
        return f"the Spark engine needs the Spark extra ({exc.name} is missing): pip install -r requirements-spark.txt"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "the Spark engine needs Java 17 (apt-get install -y openjdk-17-jre-headless)"
    return None


def load(args, files: list[Path], audit, audit_unavailable, err) -> int:
    """``python -m pipelines load FILES --engine spark --out MARTS_DIR [--master URL]``."""
    if not args.out:
        err("--engine spark needs --out MARTS_DIR (the folder of the Parquet marts)")
        return 2
    missing = _missing_extra()
    if missing:
        err(missing)
        return 2
    from analytics import stored
    from spark_engine import build, serving, session

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    serving_db = out / serving.SERVING_DB
    try:
        audit(serving_db, "upload", "cli load --engine spark", {"files": [f.name for f in files], "out": str(out)})
    except audit_unavailable as exc:
        err(f"{exc}; nothing was loaded")
        return 1
    echo = (lambda s: None) if args.quiet else (lambda s: print(s, file=sys.stderr))
    try:
        spark = session.get(master=args.master)
    except Exception as exc:  # noqa: BLE001 - no JVM, a master that does not answer: one line
        err(f"Spark could not start on {args.master or session.LOCAL} ({type(exc).__name__}: {_first_line(exc)}); "
            "nothing was written")
        return 1
    try:
        result = build.build(files, out, spark=spark, profile=args.profile, export_date=args.export_date,
                             per_child=stored.compute_tables, finish=stored.meta_table, echo=echo)
        serving.write_serving_db(out)
    except Exception as exc:  # noqa: BLE001 - the build is not published; the last good marts stay current
        err(f"the Spark build stopped ({type(exc).__name__}: {_first_line(exc)}); the marts in {out} are as they "
            "were (the previous build stays current)")
        return 1
    finally:
        spark.stop()
    for f in result.files:
        mark = {"loaded": "loaded ", "skipped": "skipped", "failed": "FAILED "}[f.status]
        print(f"{mark} {f.message if f.status == 'failed' else Path(f.path).name + ': ' + f.message}")
    print(f"marts written to {out / result.version} ({', '.join(f'{k} {v}' for k, v in result.tables.items())}); "
          f"'python -m pipelines serve-from {out}' runs the dashboard on them")
    failed = [f for f in result.files if f.status == "failed"]
    return 1 if failed else 0


def serve_from(args, err) -> int:
    """``python -m pipelines serve-from MARTS_DIR``: write the serving file, run the dashboard on it."""
    from spark_engine import serving

    try:
        db = serving.write_serving_db(args.marts, args.db)
    except FileNotFoundError as exc:
        err(str(exc))
        return 1
    if args.write_only:
        print(f"wrote {db}; a dashboard reads it with PIPELINES_DB={db} "
              "streamlit run dashboard/streamlit_app.py")
        return 0
    app = warehouse.ROOT / "dashboard" / "streamlit_app.py"
    env = {**os.environ, "PIPELINES_DB": str(db)}
    print(f"serving {db} on port {args.port}", file=sys.stderr)
    return subprocess.call([sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
                            "--server.headless", "true"], env=env)
