"""``write_sample``: the practice model's rows written as files (canonical/, vendor/,
truth.json), the one call the command line, the dashboard's first start and the tests use."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from . import canonical, model, multi_source, vendor


def write_sample(out_dir, children: int = 150, months: int = 12, seed: int = 7,
                 end: dt.date = dt.date(2026, 10, 31), formats=("canonical",), split: bool = True) -> dict:
    """Write the sample files under out_dir (canonical/, vendor/, truth.json); return what was written.

    formats: any of "canonical", "vendor" ("both" is accepted too), "practice" (the multi-source
    shape under practice/, ``multi_source``). split=True writes the
    canonical export as two overlapping files with corrections and malformed rows; split=False
    writes one clean file. The vendor export is always one clean file for the whole period.
    Returns {"out_dir", "rows", "sessions", "children" (with sessions), "files" (path, format,
    rows, ...), "truth" (its path)}.
    """
    if isinstance(formats, str):
        formats = (formats,)
    formats = set(formats)
    if "both" in formats:
        formats |= {"canonical", "vendor"}
    unknown = formats - {"canonical", "vendor", "both", "practice"}
    if unknown:
        raise ValueError(f"unknown format(s): {', '.join(sorted(unknown))}")
    out = Path(out_dir)
    table, truth = model.build(children, months, seed, end)
    if "vendor" in formats and table.num_rows + 1 > vendor.EXCEL_MAX_ROWS:
        raise ValueError(f"{table.num_rows} rows do not fit one Excel sheet; use --format canonical")
    files: list[dict] = []
    start = dt.date.fromisoformat(truth["start"])
    if "canonical" in formats:
        cdir = out / "canonical"
        cdir.mkdir(parents=True, exist_ok=True)
        if split and months >= 2:
            files += canonical.write_split(table, truth, cdir, seed)
        else:
            files += canonical.write_single(table, truth, cdir)
    if "vendor" in formats:
        vdir = out / "vendor"
        vdir.mkdir(parents=True, exist_ok=True)
        files += vendor.write_vendor(table, vdir, f"appointments_{start:%Y-%m}_{end:%Y-%m}")
    if "practice" in formats:  # the multi-source shape: appointments, session data, goals, children
        files += multi_source.write_practice(table, truth, out / "practice")
    out.mkdir(parents=True, exist_ok=True)
    tpath = out / "truth.json"
    tpath.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return {"out_dir": str(out), "rows": table.num_rows, "sessions": truth["sessions"],
            "children": truth["children_with_sessions"], "files": files, "truth": str(tpath)}
