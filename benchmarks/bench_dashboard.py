"""Render time of each dashboard page (Streamlit AppTest, in-process) on the sample data.

    python benchmarks/bench_dashboard.py [--runs 3] [--db PATH]

Builds a warehouse from ``data/sample/canonical`` in a temp dir (or uses ``--db``), then for
each page renders it ``--runs`` times with a cold cache (first run after clearing
``st.cache_data``) and ``--runs`` times warm, and prints the median of each. Not a test: it
prints numbers for the record.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGES = ["overview", "groups", "approach", "child_progress", "needs_attention", "team_meeting", "data_loads"]


def _quiet() -> None:
    """Streamlit's bare-mode warnings ("no runtime", "missing ScriptRunContext") are noise here."""
    import logging

    for name in list(logging.root.manager.loggerDict):
        if name.startswith("streamlit"):
            logging.getLogger(name).setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--db", type=Path, help="an existing warehouse (default: build one from the sample)")
    args = ap.parse_args(argv)

    os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")
    import logging

    import streamlit as st

    import streamlit.logger

    streamlit.logger.set_log_level("error")
    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from streamlit.testing.v1 import AppTest

    from analytics import stored
    from pipelines import small_practice

    with tempfile.TemporaryDirectory(prefix="bench-dash-") as tmp:
        if args.db:
            db = args.db
            source = str(db)
        else:
            t0 = time.perf_counter()
            db, files = small_practice.build_warehouse(Path(tmp) / "practice.duckdb", Path(tmp),
                                                       after_build=stored.STEPS)
            source = ", ".join(f.name for f in files)
            print(f"warehouse built from {source} in {time.perf_counter() - t0:.1f}s")
        os.environ["PIPELINES_DB"] = str(db)
        app = str(ROOT / "dashboard" / "streamlit_app.py")
        print(f"{'page':<18}{'cold median s':>15}{'warm median s':>15}   runs={args.runs}")
        for page in PAGES:
            cold, warm = [], []
            for _ in range(args.runs):
                _quiet()
                at = AppTest.from_file(app, default_timeout=300).run()
                _quiet()
                at.switch_page(f"app_pages/{page}.py")
                st.cache_data.clear()  # cold: the page's first view after a load (the default page ran above)
                t0 = time.perf_counter()
                at.run()
                cold.append(time.perf_counter() - t0)
                if at.exception:
                    print(f"{page}: EXCEPTION {at.exception[0].value}")
                    return 1
                t0 = time.perf_counter()
                at.run()
                warm.append(time.perf_counter() - t0)
            print(f"{page:<18}{statistics.median(cold):>15.2f}{statistics.median(warm):>15.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
