"""The sample's command line: ``python -m pipelines sample ...`` (through pipelines/cli.py)
and ``python -m pipelines.sample ...`` take the same flags and run ``main``."""

from __future__ import annotations

import argparse
import datetime as dt

from .write import write_sample


def build_parser() -> argparse.ArgumentParser:
    """The flags: --children, --months, --seed, --out, --end, --format, --single-file."""
    p = argparse.ArgumentParser(prog="python -m pipelines sample",
                                description="Write a deterministic synthetic practice export and its truth file.")
    p.add_argument("--children", type=int, default=150)
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", required=True, help="output folder (canonical/, vendor/, truth.json)")
    p.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 10, 31),
                   help="last day of the period, YYYY-MM-DD (default 2026-10-31)")
    p.add_argument("--format", choices=("canonical", "vendor", "both", "practice", "all"), default="canonical",
                   help="practice: the multi-source shape (practice/: appointments, session data, goals, children); "
                        "all: canonical, vendor and practice")
    p.add_argument("--single-file", action="store_true",
                   help="one clean canonical file instead of two overlapping exports with corrections and malformed rows")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; 0 when the files were written, 2 on a bad request (message printed)."""
    p = build_parser()
    args = p.parse_args(argv)
    if args.children < 1 or args.months < 1:
        p.error("--children and --months must be at least 1")
    formats = {"both": ("canonical", "vendor"), "all": ("canonical", "vendor", "practice")}.get(args.format,
                                                                                              (args.format,))
    try:
        res = write_sample(args.out, children=args.children, months=args.months, seed=args.seed,
                           end=args.end, formats=formats, split=not args.single_file)
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    for f in res["files"]:
        print(f"wrote {f['path']} ({f['rows']} rows)")
    print(f"wrote {res['truth']} ({res['children']} children, {res['sessions']} sessions, {res['rows']} rows)")
    return 0
