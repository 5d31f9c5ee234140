"""The planted defects of the split canonical export, each recorded in the truth dict:
corrections (the first file has a wrong value the later file fixes), one formula-looking
cell (valid text that must load as plain text) and malformed extra rows (each with the
column and reason the load must report). The valid data itself is never damaged."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .constants import ATTENDANCE
from .text import as_bool, row_text, set_cell

FORMULA_TEXT = "=cmd|' /C calc'!A0"
DUPLICATE = "exact duplicate row"

BadRow = tuple[dict[str, str], str, str]  # (row as text, column, reason)


@dataclass(frozen=True)
class Split:
    """Which table rows go to which file (file 1 covers the start to the overlap month, file 2
    the overlap month to the end), and per row whether it has no goal and is its session's
    only row."""
    f1_name: str
    f2_name: str
    in1: np.ndarray
    in2: np.ndarray
    no_goal: np.ndarray
    single: np.ndarray

    @property
    def both(self) -> np.ndarray:
        return self.in1 & self.in2

    @property
    def idx1(self) -> np.ndarray:
        return np.flatnonzero(self.in1)

    @property
    def idx2(self) -> np.ndarray:
        return np.flatnonzero(self.in2)


def plant_corrections(rng: np.random.Generator, table: pa.Table, cols: dict[str, pa.Array],
                      f1: dict[str, pa.Array], split: Split, truth: dict) -> None:
    """Make 10 overlap rows wrong in file 1 (file 2, loaded later, has the final value): 4
    engagement values one point off, 3 GAS levels one level off, and 3 attended sessions
    said to be no-shows (without engagement or duration). Fills truth["corrections"] and
    truth["n_corrected_rows"]."""
    both, goal, single = split.both, split.no_goal, split.single
    pos1 = {int(r): i for i, r in enumerate(split.idx1)}          # table row -> line index in file 1
    att = as_bool(pc.equal(cols["attendance"], "attended"))
    eng = table["engagement"].combine_chunks().to_numpy(zero_copy_only=False)
    gas = table["gas_level"].combine_chunks().to_numpy(zero_copy_only=False)
    clean_variant = as_bool(pc.is_in(cols["attendance"], value_set=pa.array(ATTENDANCE)))
    pool_single = np.flatnonzero(both & goal & single & att & clean_variant)
    pool_goal = np.flatnonzero(both & ~goal)
    picks = rng.permutation(pool_single)
    eng_rows, att_rows = picks[:4], picks[4:7]
    gas_rows = rng.permutation(pool_goal)[:3]
    corrections = []
    for r in sorted(eng_rows):
        final = int(eng[r])
        wrong = final - 1 if final > 1 and (final == 5 or rng.random() < 0.5) else final + 1
        set_cell(f1, "engagement", pos1[int(r)], str(wrong))
        corrections.append({"column": "engagement", "row": int(r), "first": str(wrong), "final": str(final)})
    for r in sorted(gas_rows):
        final = int(gas[r])
        wrong = final + 1 if final <= -2 or (final < 2 and rng.random() < 0.5) else final - 1
        set_cell(f1, "gas_level", pos1[int(r)], str(wrong))
        corrections.append({"column": "gas_level", "row": int(r), "first": str(wrong), "final": str(final)})
    for r in sorted(att_rows):
        i = pos1[int(r)]
        set_cell(f1, "attendance", i, "no-show")
        set_cell(f1, "engagement", i, None)
        set_cell(f1, "duration_min", i, None)
        for wide in ("on_task", "protests"):  # the wide measures of a session not attended: none either
            if wide in f1:
                set_cell(f1, wide, i, None)
        corrections.append({"column": "attendance", "row": int(r), "first": "no-show", "final": "attended",
                            "note": "first export had no engagement/duration for this row"})
    sid = cols["session_id"]
    gidc = cols["goal_id"]
    truth["corrections"] = [
        {"session_id": sid[c["row"]].as_py(), "goal_id": gidc[c["row"]].as_py() or "",
         "column": c["column"], "first_file": split.f1_name, "first_value": c["first"],
         "corrected_in": split.f2_name, "final_value": c["final"], **({"note": c["note"]} if "note" in c else {})}
        for c in sorted(corrections, key=lambda c: c["row"])]
    truth["n_corrected_rows"] = len({c["row"] for c in corrections})


def plant_formula(rng: np.random.Generator, cols: dict[str, pa.Array], f1: dict[str, pa.Array],
                  split: Split, truth: dict) -> None:
    """Set the team of one goal-less row only in file 1 to a spreadsheet formula (valid text;
    it must load and be shown as plain text). Fills truth["formula_cells"]."""
    idx1 = split.idx1
    only1 = np.flatnonzero(split.in1 & ~split.in2 & split.no_goal & split.single)
    frow = int(rng.choice(only1)) if len(only1) else int(idx1[0])
    fpos = int(np.searchsorted(idx1, frow))
    set_cell(f1, "team", fpos, FORMULA_TEXT)
    truth["formula_cells"] = [{"file": split.f1_name, "session_id": cols["session_id"][frow].as_py(),
                               "goal_id": "", "column": "team", "value": FORMULA_TEXT,
                               "note": "valid row; the cell must load and be shown as plain text"}]


def malformed_rows(rng: np.random.Generator, f1: dict[str, pa.Array], f2: dict[str, pa.Array], split: Split,
                   truth: dict, width: int) -> tuple[list[BadRow], int, list[BadRow], int]:
    """(bad rows of file 1, the line index its duplicate copies, bad rows of file 2, ditto).

    Each bad row is a copy of a valid attended row with a new session id (``width`` digits,
    numbered after the real sessions) and one fault: an unknown modality, engagement 7 or
    3.5, an impossible or unreadable date, GAS level 4, no child id, a session dated before
    the child's birth, one session id carrying two children; plus an exact duplicate row in
    each file."""
    next_sid = [truth["sessions"]]

    def new_sid() -> str:
        next_sid[0] += 1
        return "S" + str(next_sid[0]).zfill(width)

    def base_row(c: dict[str, pa.Array], need_goal: bool = False, other_than: str | None = None) -> dict[str, str]:
        g = as_bool(c["goal_id"].is_null())
        a = as_bool(pc.equal(c["attendance"], "attended"))
        ok = a & (~g if need_goal else g)
        if other_than is not None:
            ok &= as_bool(pc.not_equal(c["child_id"], other_than))
        pool = np.flatnonzero(ok)
        if not len(pool):
            pool = np.arange(len(c["session_id"]))
        row = row_text(c, int(rng.choice(pool)))
        row.update(measure="", measure_score="")
        return row

    both = split.both
    bad1: list[BadRow] = []
    bad2: list[BadRow] = []
    r = base_row(f1); r.update(session_id=new_sid(), modality="Music Therapy")
    bad1.append((r, "modality", "unknown modality 'Music Therapy'"))
    r = base_row(f1); r.update(session_id=new_sid(), engagement="7")
    bad1.append((r, "engagement", "engagement 7 outside 1-5"))
    r = base_row(f1); r.update(session_id=new_sid(), session_date="31/02/2026")
    bad1.append((r, "session_date", "session_date '31/02/2026' is not a date"))
    only1_pos = np.flatnonzero(~both[split.idx1])
    dup1 = int(rng.choice(only1_pos)) if len(only1_pos) else 0
    bad1.append((row_text(f1, dup1), "", DUPLICATE))
    a = base_row(f1)
    b = base_row(f1, other_than=a["child_id"])
    if b["child_id"] == a["child_id"]:              # a one-child practice
        b["child_id"] = "C" + str(truth["children"] + 1).zfill(len(a["child_id"]) - 1)
    s_two = new_sid()
    a.update(session_id=s_two)
    b.update(session_id=s_two, session_date=a["session_date"])
    bad1.append((a, "child_id", f"session {s_two} carries two different child_ids"))
    bad1.append((b, "child_id", f"session {s_two} carries two different child_ids"))
    r = base_row(f2, need_goal=True); r.update(session_id=new_sid(), gas_level="4")
    bad2.append((r, "gas_level", "gas_level 4 outside -3..+2"))
    r = base_row(f2); r.update(session_id=new_sid(), session_date="tbc")
    bad2.append((r, "session_date", "session_date 'tbc' is not a date"))
    r = base_row(f2); r.update(session_id=new_sid(), child_id="")
    bad2.append((r, "child_id", "missing child_id"))
    r = base_row(f2); r.update(session_id=new_sid(), engagement="3.5")
    bad2.append((r, "engagement", "engagement 3.5 is not an integer"))
    r = base_row(f2)
    r.update(session_id=new_sid(), session_date=(dt.date.fromisoformat(r["date_of_birth"]) - dt.timedelta(days=40)).isoformat())
    bad2.append((r, "session_date", "session dated before the child's date of birth"))
    only2_pos = np.flatnonzero(~both[split.idx2])
    dup2 = int(rng.choice(only2_pos)) if len(only2_pos) else 0
    bad2.append((row_text(f2, dup2), "", DUPLICATE))
    return bad1, dup1, bad2, dup2
