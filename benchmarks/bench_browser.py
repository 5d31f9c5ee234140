"""A sidebar click to the page drawn, in a real browser (issue 14 target: under 1.5 s per page).

    python benchmarks/bench_browser.py --db PATH [--runs 2] [--pages overview,approach]

Serves the dashboard with a real ``streamlit run`` on the warehouse ``--db`` (local single-user
mode, page views audited into a temporary log), opens it in headless Debian Chromium (Playwright,
never a downloaded browser) on the Data page, then clicks each page's link in the sidebar in turn,
``--runs`` rounds. Each click is timed (wall seconds, from the click) until

* *idle*: the app's script has run for the new page and stopped
  (``[data-testid='stApp'][data-test-script-state='notRunning']`` after it was seen running, on
  the clicked page's address), and
* *drawn*: besides, no skeleton is left in the main area and the page's first chart (plotly's
  SVG) or table is visible there (within ``DRAWN_WAIT_S`` of *idle*; else the page counts as
  not drawn and *idle* is reported, marked).

A rerun that starts within 300 ms of that (a callback, the address rewritten) is waited for too.

The first round is each page's first view in a new server process (every ``st.cache_data``
empty, the reader opened by the first page); later rounds are repeat views (cache hits). The
server's CPU seconds (all its threads, from ``/proc/PID/stat``) and the browser's (every
Chromium process below this one) during each click are recorded too. Not a test: it prints numbers for the record.
"""

from __future__ import annotations

import _root  # noqa: F401  (the project root on sys.path when run as a script)

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from dashboard.serve import CHROMIUM, serve
from page_calls import PAGES
from reports.pdf import BROWSER_ARGS

ARGS = BROWSER_ARGS  # the flags the meeting pack's PDF printing and the browser tests use
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
DRAWN_WAIT_S = 20  # after the script stopped: a page with no chart or table visible by then counts as not drawn
# the first chart (plotly has drawn its SVG) or table of the main area, visible
DRAWN_JS = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  if (!main || main.querySelector("[data-testid='stSkeleton']")) return false;
  const els = main.querySelectorAll("[data-testid='stPlotlyChart'] .main-svg, [data-testid='stDataFrame'], "
                                    + "[data-testid='stTable'], table");
  return [...els].some(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
}"""
WATCH_JS = """() => {
  window.__sawRunning = false;
  const app = document.querySelector("[data-testid='stApp']");
  if (window.__watch) window.__watch.disconnect();
  window.__watch = new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') window.__sawRunning = true; });
  window.__watch.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
}"""
IDLE_JS = """(path) => window.__sawRunning && location.pathname.replace(/\\/$/, '') === path
  && !!document.querySelector("[data-testid='stApp'][data-test-script-state='notRunning']")"""


def available() -> str | None:
    """None when Chromium and Playwright are there, else why the browser section cannot run."""
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "python package playwright is not installed"
    return None


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _descendants_cpu_s(root: int, name: str = "chromium") -> float:
    """CPU seconds so far of the processes below ``root`` whose command is ``name`` (the
    browser Playwright started for us: its browser, GPU and renderer processes)."""
    parent: dict[int, int] = {}
    comm: dict[int, str] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            head, rest = stat.rsplit(")", 1)
            parent[int(d.name)] = int(rest.split()[1])
            comm[int(d.name)] = head.split("(", 1)[1]
    total = 0.0
    for pid in parent:
        p, seen = pid, 0
        while p in parent and p != root and seen < 50:
            p, seen = parent[p], seen + 1
        if p == root and pid != root and comm.get(pid, "").startswith(name):
            try:
                total += _cpu_s(pid)
            except OSError:  # it ended meanwhile
                pass
    return total


@contextlib.contextmanager
def server(db: Path, work: Path) -> Iterator[tuple[str, int]]:
    """``streamlit run`` of the dashboard on ``db`` (``dashboard.serve.serve``, as the browser tests
    start it; no file watcher); yields (base URL, pid) once it answers."""
    env = {"PIPELINES_DB": str(db), "PIPELINES_AUDIT": str(work / "audit.sqlite"), "BENCH_ROOT": None}
    with serve(env, work / "streamlit.log", timeout_s=120, extra_args=("--server.fileWatcherType", "none")) as out:
        yield out

def _link_paths(page) -> dict[str, str]:
    """Page name (``page_calls.PAGES``) -> the path of its sidebar link; the default page's is ''."""
    hrefs = page.locator("[data-testid='stSidebarNav'] a").evaluate_all("els => els.map(e => e.pathname)")
    out = {}
    for h in hrefs:
        path = h.rstrip("/")
        name = path.rsplit("/", 1)[-1] or "overview"
        if name in PAGES:
            out[name] = path
    return out


def click_pages(db: Path, pages: list[str] = PAGES, runs: int = 2, timeout_s: float = 300.0,
                log=lambda msg: None) -> dict:
    """Per page, per round: {"idle_s", "drawn_s" (None when no chart or table showed),
    "server_cpu_s"}; plus "open_s" (the Data page's first view) and "order"."""
    from playwright.sync_api import sync_playwright

    res: dict = {"pages": {p: [] for p in pages}, "rounds": runs}
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp, server(db, Path(tmp)) as (base, pid), \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            t0 = time.perf_counter()
            page.goto(f"{base}/data_loads", wait_until="domcontentloaded")
            page.wait_for_selector(IDLE, timeout=timeout_s * 1000)
            page.wait_for_selector("[data-testid='stSidebarNav'] a", timeout=timeout_s * 1000)
            res["open_s"] = time.perf_counter() - t0
            paths = _link_paths(page)
            missing = [p for p in pages if p not in paths]
            if missing:
                raise RuntimeError(f"no sidebar link for {', '.join(missing)} (links: {paths})")
            order = [p for p in pages if p != "data_loads"] + (["data_loads"] if "data_loads" in pages else [])
            res["order"] = order
            for r in range(runs):
                for name in order:
                    link = page.locator(f"[data-testid='stSidebarNav'] a[href$='{paths[name] or '/'}']").first
                    if not paths[name]:  # the default page's link is the root
                        link = page.locator("[data-testid='stSidebarNav'] a").filter(
                            has_text="Practice overview").first
                    page.evaluate(WATCH_JS)
                    c0, b0 = _cpu_s(pid), _descendants_cpu_s(os.getpid())
                    t0 = time.perf_counter()
                    link.click()
                    page.wait_for_function(IDLE_JS, arg=paths[name], polling="raf", timeout=timeout_s * 1000)
                    idle = time.perf_counter() - t0
                    try:
                        page.wait_for_function(DRAWN_JS, polling="raf", timeout=DRAWN_WAIT_S * 1000)
                        drawn = time.perf_counter() - t0
                    except Exception:  # noqa: BLE001  (playwright's TimeoutError: no chart or table on the page)
                        drawn = None
                    page.wait_for_timeout(300)  # a rerun may follow (a callback, the address rewritten)
                    if page.locator(IDLE).count() == 0:
                        page.wait_for_selector(IDLE, timeout=timeout_s * 1000)
                        idle = time.perf_counter() - t0
                        if drawn is not None:
                            page.wait_for_function(DRAWN_JS, polling="raf", timeout=DRAWN_WAIT_S * 1000)
                            drawn = time.perf_counter() - t0
                    errors = page.locator("[data-testid='stException']").count()
                    res["pages"][name].append({"idle_s": idle, "drawn_s": drawn, "server_cpu_s": _cpu_s(pid) - c0,
                                               "browser_cpu_s": _descendants_cpu_s(os.getpid()) - b0,
                                               "exceptions": errors})
                    if drawn is None:  # what the page showed instead (for the record)
                        res["pages"][name][-1]["shown"] = page.locator("[data-testid='stMain']").inner_text()[:300]
                    log(f"  browser {name} round {r + 1}: drawn "
                        + (f"{drawn:.2f} s" if drawn is not None else "n/a") + f" (idle {idle:.2f} s)"
                        + (f", {errors} exception(s) on the page" if errors else ""))
        finally:
            browser.close()
    return res


def summary(res: dict) -> dict:
    """Per page: first view and the median of the repeat views, of "drawn_s" (or "idle_s" when
    the page drew no chart or table) and the server's CPU."""
    out = {}
    for name, rs in res["pages"].items():
        if not rs:
            continue
        def val(r: dict) -> float:
            return r["drawn_s"] if r["drawn_s"] is not None else r["idle_s"]
        rest = rs[1:]
        out[name] = {"first_s": val(rs[0]), "first_cpu_s": rs[0]["server_cpu_s"],
                     "first_browser_cpu_s": rs[0].get("browser_cpu_s"),
                     "repeat_s": statistics.median(val(r) for r in rest) if rest else None,
                     "drawn": rs[0]["drawn_s"] is not None, "exceptions": max(r["exceptions"] for r in rs)}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, required=True, help="the warehouse the server reads")
    ap.add_argument("--runs", type=int, default=2, help="rounds of clicks (the first: each page's first view)")
    ap.add_argument("--pages", help=f"comma-separated, default all: {','.join(PAGES)}")
    args = ap.parse_args(argv)
    why = available()
    if why:
        print(f"browser not available: {why}", file=sys.stderr)
        return 1
    pages = [p.strip() for p in args.pages.split(",")] if args.pages else PAGES
    res = click_pages(args.db, pages, args.runs, log=lambda m: print(m, file=sys.stderr, flush=True))
    print(f"{'page':<18}{'first s':>9}{'server CPU s':>14}{'browser CPU s':>15}{'repeat s':>10}   "
          "sidebar click to chart/table drawn")
    for name, s in summary(res).items():
        rep = f"{s['repeat_s']:.2f}" if s["repeat_s"] is not None else "-"
        print(f"{name:<18}{s['first_s']:>9.2f}{s['first_cpu_s']:>14.2f}{s['first_browser_cpu_s']:>15.2f}{rep:>10}"
              + ("" if s["drawn"] else "   (no chart or table: time to idle)"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
