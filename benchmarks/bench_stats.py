"""Time the grouped statistics on a practice-sized synthetic data set.

    python benchmarks/bench_stats.py [--children 10000] [--sessions 40] [--runs 3]

Builds ``children`` x ``sessions`` synthetic sessions (approach directed / child-led at
random, engagement 1-5 with a small child-led effect and a per-child drift) and prints
the median wall time of ``runs`` runs of ``nap_grouped`` and ``trends_grouped``.
A script, not a test: nothing here asserts a time.
"""

from __future__ import annotations

import _root  # noqa: F401  (the project root on sys.path when run as a script)

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from stats import nap_grouped, trends_grouped


def synthetic_sessions(children: int, sessions: int, seed: int = 20261122) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = children * sessions
    child = np.repeat(np.arange(children), sessions)
    week = np.tile(np.arange(sessions, dtype=float), children)
    child_led = rng.random(n) < 0.5
    drift = rng.normal(0, 0.03, size=children)[child]
    latent = 3 + 0.3 * child_led + drift * week + rng.normal(0, 1, size=n)
    engagement = np.clip(np.rint(latent), 1, 5)
    return pd.DataFrame(
        {
            "child_id": pd.Series(child).map("C{:05d}".format),
            "week": week,
            "approach": np.where(child_led, "child-led", "directed"),
            "engagement": engagement,
        }
    )


def median_time(fn, runs: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--children", type=int, default=10_000)
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)

    df = synthetic_sessions(args.children, args.sessions)
    print(f"{args.children:,} children x {args.sessions} sessions = {len(df):,} rows; median of {args.runs} runs")

    t_nap, res_nap = median_time(
        lambda: nap_grouped(df, "child_id", "approach", "engagement", "directed", "child-led"), args.runs
    )
    print(f"nap_grouped     {t_nap:7.2f} s   ({len(res_nap):,} groups, median NAP {res_nap['nap'].median():.3f})")

    t_tr, res_tr = median_time(lambda: trends_grouped(df, "child_id", "week", "engagement"), args.runs)
    pairs = args.children * args.sessions * (args.sessions - 1) // 2
    print(
        f"trends_grouped  {t_tr:7.2f} s   ({len(res_tr):,} groups, {pairs:,} pairs, "
        f"share p < .05: {(res_tr['p_value'] < 0.05).mean():.3f})"
    )


if __name__ == "__main__":
    main()
