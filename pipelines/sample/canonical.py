"""The canonical export (docs/contract.md) as CSV: one clean file for the whole period, or two
overlapping monthly exports with spelling variety, corrections, a formula-looking cell and
malformed rows (``defects.py``), everything planted recorded in the truth dict."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines import profiles

from . import defects
from .arrays import days, month_end, month_start
from .constants import COLUMNS as CONTRACT_COLUMNS
from .wide_measures import WIDE_MEASURES

COLUMNS = CONTRACT_COLUMNS + list(WIDE_MEASURES)   # the contract's columns, then the wide measure columns
from .text import as_bool, line_array, quote_py, subset, text_columns, write_csv, write_lines

# spelling variety, applied to a small share of sessions; every spelling must be one the
# canonical profile accepts for its value (checked against profiles/canonical.toml on writing)
SPELLING_VARIANTS = {
    "modality": {"OT": ["Occupational Therapy"], "speech": ["SLP", "Speech-Language"],
                 "play": ["Play Therapy"], "CBT": ["Cognitive Behavioural Therapy"]},
    "approach": {"child-led": ["child led"], "directed": ["therapist-directed", "adult-led"]},
    "attendance": {"no-show": ["No Show"], "late-cancelled": ["Late Cancel"]},
}
VARIANT_SHARE = 0.03


def check_variants(profile: profiles.Profile) -> None:
    """Raise ValueError unless the profile reads every spelling variant as its value."""
    for fld, mapping in SPELLING_VARIANTS.items():
        for value, variants in mapping.items():
            for v in variants:
                got = profile.values.get(fld, {}).get(profiles.normalise_value(v))
                if got != value:
                    raise ValueError(f"profile {profile.source}: [values.{fld}] reads {v!r} as {got!r}, "
                                     f"the sample writes it for {value!r}")


def apply_variants(cols: dict[str, pa.Array], rng: np.random.Generator) -> None:
    """Respell ``VARIANT_SHARE`` of the sessions' modality, approach and attendance (a whole
    session at once, in place)."""
    sess = pc.dictionary_encode(cols["session_id"]).indices.to_numpy()
    n_sess = int(sess.max()) + 1 if len(sess) else 0
    for field, mapping in SPELLING_VARIANTS.items():
        u = rng.random(n_sess)[sess]
        which = rng.integers(0, 2, n_sess)[sess]
        col = cols[field]
        for orig, variants in mapping.items():
            hit = as_bool(pc.equal(col, orig)) & (u < VARIANT_SHARE)
            for vi, variant in enumerate(variants):
                m = hit & ((which % len(variants)) == vi)
                if m.any():
                    col = pc.if_else(pa.array(m), pa.scalar(variant), col)
        cols[field] = col


def write_single(table: pa.Table, truth: dict, out: Path) -> list[dict]:
    """One clean canonical file ``export_YYYY-MM.csv`` for the whole period."""
    start, end = dt.date.fromisoformat(truth["start"]), dt.date.fromisoformat(truth["end"])
    path = out / f"export_{end:%Y-%m}.csv"
    write_csv(path, text_columns(table), COLUMNS, ",")
    truth["exports"].append({"file": path.name, "from": start.isoformat(), "to": end.isoformat(),
                             "rows": table.num_rows, "malformed_rows": 0})
    return [{"path": str(path), "format": "canonical", "rows": table.num_rows,
             "covers": [start.isoformat(), end.isoformat()]}]


def write_split(table: pa.Table, truth: dict, out: Path, seed: int) -> list[dict]:
    """Two overlapping canonical exports with corrections, malformed rows and spelling variety.

    File 1 covers the first three quarters of the months, file 2 from the last of those
    months (the overlap) to the end."""
    check_variants(profiles.load("canonical"))
    rng = np.random.default_rng([seed, 20261031])
    start = dt.date.fromisoformat(truth["start"])
    end = dt.date.fromisoformat(truth["end"])
    months = truth["months"]
    cols = text_columns(table)
    apply_variants(cols, rng)
    truth["spelling_variants"] = {f: dict(m) for f, m in SPELLING_VARIANTS.items()}

    m1 = max(1, min(months - 1, int(round(0.75 * months))))   # file 1: months 1..m1, file 2: m1..months
    overlap_first = month_start(end, months - m1 + 1)       # first day of month m1 (in both files)
    overlap_last = month_end(overlap_first)
    day = table["session_date"].combine_chunks().cast(pa.int32()).to_numpy()
    sess = pc.dictionary_encode(cols["session_id"]).indices.to_numpy()
    split = defects.Split(
        f1_name=f"export_{overlap_first:%Y-%m}.csv", f2_name=f"export_{end:%Y-%m}.csv",
        in1=day <= days(overlap_last), in2=day >= days(overlap_first),
        no_goal=as_bool(table["goal_id"].combine_chunks().is_null()),
        single=np.bincount(sess, minlength=int(sess.max()) + 1)[sess] == 1)
    del sess
    f1 = subset(cols, split.in1)
    f2 = subset(cols, split.in2)
    defects.plant_corrections(rng, table, cols, f1, split, truth)
    defects.plant_formula(rng, cols, f1, split, truth)
    width = len(cols["session_id"][0].as_py()) - 1
    bad1, dup1, bad2, dup2 = defects.malformed_rows(rng, f1, f2, split, truth, width)
    del cols                                        # only the two file tables are needed now
    files = [(split.f1_name, f1, bad1, dup1, start, overlap_last),
             (split.f2_name, f2, bad2, dup2, overlap_first, end)]
    del f1, f2
    written = _write_files(rng, out, files, truth)
    truth["overlap"] = {"from": overlap_first.isoformat(), "to": overlap_last.isoformat(),
                        "rows": int(split.both.sum())}
    return written


def _write_files(rng: np.random.Generator, out: Path, files: list, truth: dict) -> list[dict]:
    """Write each (name, text columns, bad rows, duplicated line, from, to): the bad rows at
    random places (a duplicate right after its original), each recorded in truth["malformed"]
    with its line number; the files in truth["exports"]. The list is emptied as it goes."""
    written = []
    malformed = []
    while files:
        name, fcols, bad, dup, first, last = files.pop(0)
        body = line_array(fcols, ",")
        del fcols
        nrows = len(body)
        extra = pa.array([",".join(quote_py(row[c], ",") for c in COLUMNS) for row, _, _ in bad], pa.large_string())
        # a duplicate sits right after its original; the other bad rows at random places
        at = rng.integers(0, max(nrows, 1), len(bad)).astype(float) + 0.5
        at[[j for j, b in enumerate(bad) if b[2] == defects.DUPLICATE]] = dup + 0.5
        keys = np.concatenate([np.arange(nrows, dtype=float), at])
        order = np.argsort(keys, kind="stable")
        lines = pa.concat_arrays([body, extra]).take(pa.array(order))
        line_no = np.empty(len(order), np.int64)
        line_no[order] = np.arange(len(order)) + 2          # header is line 1
        for j, (row, col, reason) in enumerate(bad):
            malformed.append({"file": name, "line": int(line_no[nrows + j]), "session_id": row["session_id"],
                              "child_id": row["child_id"], "column": col, "reason": reason})
        path = out / name
        write_lines(path, ",".join(COLUMNS), lines)
        n_lines = len(lines)
        del body, lines
        written.append({"path": str(path), "format": "canonical", "rows": n_lines,
                        "valid_rows": nrows, "malformed_rows": len(bad),
                        "covers": [first.isoformat(), last.isoformat()]})
        truth["exports"].append({"file": name, "from": first.isoformat(), "to": last.isoformat(),
                                 "rows": n_lines, "malformed_rows": len(bad)})
    truth["malformed"] = malformed
    truth["n_malformed_rows"] = len(malformed)
    return written
