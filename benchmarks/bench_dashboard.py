"""Render time of each dashboard page (Streamlit AppTest, in-process) on the sample data.

    python benchmarks/bench_dashboard.py [--runs 3] [--db PATH]

Builds a warehouse from ``data/sample/canonical`` in a temp dir (or uses ``--db``), then
renders each page ``--runs`` times and prints the median of each:

* cold: a new AppTest session whose first run is that page, after every ``st.cache_data``
  result and ``st.cache_resource`` (the warehouse reader) was cleared: the page's first view
  after a load, on a new reader (a new DuckDB instance), with nothing from an earlier page;
* warm: a rerun of that session (every query a cache hit: the page's own Python, charts and
  widgets).

Page views go to a temporary audit log. Not a test: it prints numbers for the record.
"""

from __future__ import annotations

import _root  # noqa: F401  (the project root on sys.path when run as a script)

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from page_calls import PAGES, clear_streamlit_caches, dashboard_env, open_page, quiet_streamlit


def render_page(page: str, timeout: float = 600) -> tuple[float, float | None, str | None]:
    """(cold s, warm s, error) of one page; ``dashboard_env`` must be active."""
    clear_streamlit_caches()
    at = open_page(page, timeout=timeout)
    t0 = time.perf_counter()
    at.run()
    cold = time.perf_counter() - t0
    quiet_streamlit()  # loggers made during the run
    if at.exception:
        return cold, None, str(at.exception[0].value)
    t0 = time.perf_counter()
    at.run()
    return cold, time.perf_counter() - t0, None


def warm_up() -> None:
    """One render of the Data page (no analytics): imports Streamlit and the dashboard, so the
    first page timed does not pay for them. Its caches are cleared by ``render_page``."""
    open_page("data_loads").run()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--db", type=Path, help="an existing warehouse (default: build one from the sample)")
    args = ap.parse_args(argv)

    quiet_streamlit()
    from analytics import stored
    from pipelines import small_practice

    with tempfile.TemporaryDirectory(prefix="bench-dash-") as tmp:
        if args.db:
            db = args.db
        else:
            t0 = time.perf_counter()
            db, files = small_practice.build_warehouse(Path(tmp) / "practice.duckdb", Path(tmp),
                                                       after_build=stored.STEPS)
            print(f"warehouse built from {', '.join(f.name for f in files)} in {time.perf_counter() - t0:.1f}s")
        with dashboard_env(db):
            warm_up()
            print(f"{'page':<18}{'cold median s':>15}{'warm median s':>15}   runs={args.runs}")
            for page in PAGES:
                cold, warm = [], []
                for _ in range(args.runs):
                    c, w, error = render_page(page)
                    if error:
                        print(f"{page}: EXCEPTION {error}")
                        return 1
                    cold.append(c)
                    warm.append(w)
                print(f"{page:<18}{statistics.median(cold):>15.2f}{statistics.median(warm):>15.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
