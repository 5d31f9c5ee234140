"""A small handmade practice for tests and benchmarks: deterministic canonical exports.

``write_tiny_practice`` writes two overlapping canonical CSV exports (and one bad row) of a
practice of about 24 children; ``build_warehouse`` loads the shipped sample (or that tiny
practice) into a new warehouse. Used by ``tests/`` and ``benchmarks/`` alike (benchmarks do
not import test modules).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import random
from collections.abc import Iterable
from pathlib import Path

from pipelines import load as loader
from pipelines.transform import Step
from pipelines.warehouse import ROOT

SAMPLE_DIR = ROOT / "data" / "sample" / "canonical"

HEADER = ["session_id", "child_id", "therapist_id", "team", "session_date", "modality", "approach",
          "date_of_birth", "attendance", "duration_min", "setting", "engagement", "goal_id", "goal_domain",
          "gas_level", "goal_weight", "measure", "measure_score"]
THERAPISTS = {"T01": "North", "T02": "North", "T03": "South", "T04": "South"}
MODALITIES = ["OT", "speech", "CBT", "play"]
DOMAINS = {"OT": ["motor", "self-care"], "speech": ["communication", "social"],
           "CBT": ["emotional regulation", "behaviour"], "play": ["play", "social"]}
AGES = [2, 4, 5, 8, 10, 14, 16]
END = dt.date(2026, 11, 13)  # a Friday before the machine's "today"; never in the future


def sample_files() -> list[Path]:
    """The canonical sample export files, when the sample has been written.

    ``$DASHBOARD_TEST_EXPORTS`` names another folder of exports to run the dashboard tests on.
    """
    folder = Path(os.environ.get("DASHBOARD_TEST_EXPORTS") or SAMPLE_DIR)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".csv", ".xlsx", ".parquet"))


def _rows(n_children: int, weeks: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    rows: list[dict] = []
    sid = 100000
    start = END - dt.timedelta(weeks=weeks)
    therapists = sorted(THERAPISTS)
    for c in range(1, n_children + 1):
        child = f"C{c:04d}"
        modality = MODALITIES[c % len(MODALITIES)]
        therapist = therapists[c % len(therapists)]
        age = AGES[c % len(AGES)]
        dob = dt.date(start.year - age, 1 + c % 12, 1 + c % 27)
        # child C0003 is struggling: falling engagement and poor attendance (flags)
        struggling = c == 3
        first = start + dt.timedelta(days=c % 5)
        goals = [f"G{c:04d}-1", f"G{c:04d}-2"]
        for w in range(weeks):
            day = first + dt.timedelta(weeks=w)
            if day > END:
                break
            sid += 1
            approach = rng.choice(["child-led", "directed", "child-led", "directed", "mixed"])
            r = rng.random()
            if struggling and w > weeks // 2:
                attendance = "no-show" if r < 0.45 else ("cancelled" if r < 0.6 else "attended")
            else:
                attendance = "no-show" if r < 0.06 else ("cancelled" if r < 0.12 else "attended")
            base = {"session_id": f"S{sid}", "child_id": child, "therapist_id": therapist,
                    "team": THERAPISTS[therapist], "session_date": day.isoformat(), "modality": modality,
                    "approach": approach, "date_of_birth": dob.isoformat(), "attendance": attendance,
                    "duration_min": "" if attendance != "attended" else str(rng.choice([30, 45, 50, 60])),
                    "setting": rng.choice(["clinic", "clinic", "home", "school", "telehealth"]),
                    "engagement": "", "goal_id": "", "goal_domain": "", "gas_level": "", "goal_weight": "",
                    "measure": "", "measure_score": ""}
            if attendance != "attended":
                rows.append(base)
                continue
            mean = 3.0 + (0.6 if approach == "child-led" else 0.0) + (c % 3 - 1) * 0.3
            if struggling:
                mean = 4.2 - 2.5 * w / weeks
            base["engagement"] = str(min(5, max(1, round(rng.gauss(mean, 0.8)))))
            if w % 4 == 0:  # goals rated about monthly, improving over time
                for g, goal in enumerate(goals):
                    progress = w / max(weeks - 1, 1)
                    level = round(-2 + 2.6 * progress + rng.gauss(0, 0.6))
                    if struggling:
                        level = -1
                    row = dict(base, goal_id=goal, goal_domain=DOMAINS[modality][g],
                               gas_level=str(min(2, max(-2, level))), goal_weight=str(1 + g))
                    rows.append(row)
            elif modality == "CBT" and w in (1, weeks - 3):
                rows.append(dict(base, measure="SCAS-P", measure_score=str(45 - (w // 3) + rng.randint(-2, 2))))
            else:
                rows.append(base)
    return rows


def write_tiny_practice(out: Path, n_children: int = 24, weeks: int = 40, seed: int = 11,
                        with_goals: bool = True) -> list[Path]:
    """Two overlapping canonical CSV exports (and one bad row) of a small practice in ``out``.

    ``with_goals=False`` leaves out every goal rating and outcome measure (a practice that
    does not use GAS): the dashboard must hide what depends on them and say why.
    """
    out.mkdir(parents=True, exist_ok=True)
    rows = _rows(n_children, weeks, seed)
    if not with_goals:
        blank = dict.fromkeys(("goal_id", "goal_domain", "gas_level", "goal_weight", "measure", "measure_score"), "")
        rows = list({r["session_id"]: dict(r, **blank) for r in rows}.values())
    cut_a = (END - dt.timedelta(weeks=weeks // 3)).isoformat()
    cut_b = (END - dt.timedelta(weeks=2 * weeks // 3)).isoformat()
    first = [r for r in rows if r["session_date"] <= cut_a]
    second = [r for r in rows if r["session_date"] > cut_b]
    # a bad row in the second export: it must be rejected with its reason
    second.append(dict(second[0], session_id="S999999", modality="Physio", goal_id="", gas_level="",
                       goal_domain="", goal_weight=""))
    paths = []
    for name, part in (("export_a.csv", first), ("export_b.csv", second)):
        p = out / name
        with open(p, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=HEADER)
            w.writeheader()
            w.writerows(part)
        paths.append(p)
    return paths


def build_warehouse(db: Path, work: Path, prefer_sample: bool = True, with_goals: bool = True,
                    after_build: Iterable[Step] = ()) -> tuple[Path, list[Path]]:
    """Load the sample (or the tiny practice, written under ``work``) into a new warehouse at
    ``db``; (db, files loaded). ``after_build`` goes to the load (``analytics.stored.STEPS``
    for the stored statistics tables). Raises ``AssertionError`` naming the files that failed."""
    files = sample_files() if prefer_sample and with_goals else []
    if not files:
        files = write_tiny_practice(work / "exports", with_goals=with_goals)
    report = loader.load(files, db=db, after_build=after_build)
    failed = [f.message for f in report.files if f.status == "failed"]
    assert not failed, failed
    return db, files
