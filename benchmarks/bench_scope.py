"""What scoping costs: the pages' analytics calls as a lead (unscoped) and as a supervisor and
a therapist (``access.scope``: every cursor sees the warehouse through filtered views).

    python benchmarks/bench_scope.py [--runs 5] [--db PATH]

Builds a warehouse from ``data/sample/canonical`` in a temp dir (or uses ``--db``), picks the
busiest team and the therapist with the most children, and prints for each call the median
wall time of ``--runs`` runs per role, and the ratio scoped / lead. Each run builds the scope,
makes the call and closes the scoped connection, as ``dashboard.data.call`` does; calls go
straight to ``analytics`` (no Streamlit cache), so every run does the work. Not a test.
"""

from __future__ import annotations

import _root  # noqa: F401  (the project root on sys.path when run as a script)

import argparse
import statistics
import tempfile
import time
from pathlib import Path

CALLS = [  # (label, function, kwargs): what the pages ask for on a first view
    ("filter_options", "filter_options", {}),
    ("kpis", "kpis", {"f": True}),
    ("monthly_trends by modality", "monthly_trends", {"f": True, "by": "modality"}),
    ("group_grid", "group_grid", {"f": True}),
    ("child_list", "child_list", {"f": True}),
    ("flags", "flags", {"f": True}),
    ("approach_breakdowns", "approach_breakdowns", {"f": True}),
    ("child_timeline", "child_timeline", {"child": True}),
]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--db", type=Path, help="an existing warehouse (default: build one from the sample)")
    args = ap.parse_args(argv)

    import analytics
    from analytics import stored
    from access import scope
    from pipelines import small_practice, warehouse
    from analytics import Filters

    with tempfile.TemporaryDirectory(prefix="bench-scope-") as tmp:
        db = args.db or small_practice.build_warehouse(Path(tmp) / "practice.duckdb", Path(tmp),
                                                       after_build=stored.STEPS)[0]
        con = warehouse.connect_reader(db)
        s = con.execute("select child_id, therapist_id, team from wh.sessions").df()
        team = s.groupby("team")["child_id"].nunique().idxmax()
        ther = s.groupby("therapist_id")["child_id"].nunique().idxmax()
        roles = {"lead": scope.Scope.everything(), "supervisor": scope.Scope("supervisor", (team,)),
                 "therapist": scope.Scope("therapist", therapist_id=ther)}
        f = analytics.resolve(con, Filters())
        n_sessions = len(s)
        print(f"warehouse {db}: {n_sessions:,} sessions, {s['child_id'].nunique():,} children; "
              f"supervisor of {team} ({s.loc[s['team'] == team, 'child_id'].nunique():,} children), "
              f"therapist {ther} ({s.loc[s['therapist_id'] == ther, 'child_id'].nunique():,} children); "
              f"medians of {args.runs} runs")
        t_scope = {}
        for role, sc in roles.items():
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                scope.scoped(con, sc)
                times.append(time.perf_counter() - t0)
            t_scope[role] = statistics.median(times)
        print(f"{'scope lookup (once per warehouse version)':38s} " + "  ".join(
            f"{r} {t_scope[r] * 1000:7.1f} ms" for r in roles))
        print(f"{'call':38s} {'lead ms':>9s} {'superv. ms':>11s} {'ratio':>6s} {'therap. ms':>11s} {'ratio':>6s}")
        for label, name, kw in CALLS:
            med = {}
            for role, sc in roles.items():
                child = (scope.scope_children(con, sc) or [None])[0] if role != "lead" else s["child_id"].iloc[0]
                args_ = [child] if kw.get("child") else []
                kwargs = {k: v for k, v in kw.items() if k not in ("f", "child")}
                if kw.get("f"):
                    kwargs["f"] = f
                times = []
                meta = None if role == "lead" else scope.scope_meta(con, sc)  # cached per version by the dashboard
                for _ in range(args.runs):
                    t0 = time.perf_counter()  # as the dashboard does it: scope (views), call, close
                    c = scope.scoped(con, sc, meta)
                    getattr(analytics, name)(c, *args_, **kwargs)
                    if c is not con:
                        c.close()
                    times.append(time.perf_counter() - t0)
                med[role] = statistics.median(times)
            print(f"{label:38s} {med['lead'] * 1000:9.1f} {med['supervisor'] * 1000:11.1f} "
                  f"{med['supervisor'] / med['lead']:6.2f} {med['therapist'] * 1000:11.1f} "
                  f"{med['therapist'] / med['lead']:6.2f}")
        con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
