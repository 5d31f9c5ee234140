"""The sample practice in the multi-source shape (design-13-files.md): the same practice model
as the single-file canonical export, written as the four files a practice really has, under
``practice/``: appointments (profile ``canonical_appointments``), session data, long form
(``canonical_session_data``), goals (``canonical_goals``) and children / episodes of care
(``canonical_children``).

Written from the model's clean export rows (``model.build``), so loading the four files gives
the same sessions, GAS ratings, engagement, on task, protests and standardised measures as the
single clean file;
beside them it carries what only this shape can: trial-based goals (percent correct, mastery),
discharges with their reason, and planted rows that link to no appointment (``truth_keys``
says which, with the reason the pipeline must give). Kept apart from the single-file writers
and their truth keys.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa

from .goal_bank import gas_goal, trial_goal
from .text import text_columns
from .wide_measures import WIDE_MEASURES

APPOINTMENT_COLUMNS = ["appointment_id", "child_id", "clinician_id", "team", "date", "start_time", "service_code",
                       "status", "duration_min", "location"]
SESSION_DATA_COLUMNS = ["appointment_id", "child_id", "date", "start_time", "approach", "goal_id", "measure", "value",
                        "trials_correct", "trials_total"]
GOAL_COLUMNS = ["goal_id", "child_id", "goal_text", "goal_domain", "measure", "level_m2", "level_m1", "level_0",
                "level_p1", "level_p2", "baseline", "target", "mastery_criterion", "goal_weight", "start_date",
                "met_date", "discontinued_date"]
CHILD_COLUMNS = ["child_id", "date_of_birth", "referral_date", "discharge_date", "discharge_reason"]
STATUS = {"attended": "Show", "cancelled": "Cancelled", "late-cancelled": "Late Cancelled", "no-show": "No Show",
          "clinician-cancelled": "Clinician Cancelled"}
# CPT codes as profiles/canonical_appointments.toml reads them (90837: CBT, play for the play
# therapists T04, T05, T10; T11 offers both and bills play as 90834)
CODES = {"speech": "92507", "OT": "97530", "CBT": "90837", "play": "90837"}
PLAY_90837 = {"T04", "T05", "T10"}
PLAY_90834 = {"T11"}
MASTERY = "80% in 3 consecutive sessions"


def _service_code(modality: str, therapist: str) -> str:
    if modality == "play" and therapist in PLAY_90834:
        return "90834"
    if modality == "play" and therapist not in PLAY_90837:
        raise ValueError(f"the multi-source sample cannot bill play therapy of {therapist}: "
                         "profiles/canonical_appointments.toml maps 90837 to play only for T04, T05, T10 (T11: 90834)")
    if modality == "CBT" and therapist in PLAY_90837:
        raise ValueError(f"the multi-source sample cannot bill CBT of play therapist {therapist}")
    return CODES[modality]


def _write(path: Path, columns: list[str], rows: pd.DataFrame) -> dict:
    rows = rows.reindex(columns=columns).fillna("")
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(columns)
        w.writerows(rows.astype(str).itertuples(index=False, name=None))
    return {"path": str(path), "format": "practice", "rows": len(rows)}


def _start_times(sessions: pd.DataFrame) -> pd.Series:
    """A start time per session: the child's usual hour (09:00-16:00), an hour later for a second session that day."""
    base = 9 + sessions["child_id"].str[1:].astype(int) % 8
    nth = sessions.groupby(["child_id", "session_date"]).cumcount()
    return [f"{h:02d}:{m:02d}" for h, m in zip((base + 2 * nth).clip(upper=18), (nth * 30) % 60)]


def write_practice(table: pa.Table, truth: dict, out: Path) -> list[dict]:
    """Write ``out``/appointments_*.csv, session_data_*.csv, goals.csv and children.csv; add this
    shape's truth keys (``unlinked``, ``discharged_planned``, ``dropped_out_discharged``,
    ``mastery``) to ``truth``; the files written come back."""
    out.mkdir(parents=True, exist_ok=True)
    rows = pd.DataFrame({k: v.to_pylist() for k, v in text_columns(table).items()}, dtype="string")
    start, end = dt.date.fromisoformat(truth["start"]), dt.date.fromisoformat(truth["end"])
    span = f"{start:%Y-%m}_{end:%Y-%m}"
    ses = rows.drop_duplicates("session_id").sort_values(["session_date", "session_id"]).reset_index(drop=True)
    ses["start_time"] = _start_times(ses)
    ses["service_code"] = [_service_code(m, t) for m, t in zip(ses["modality"], ses["therapist_id"])]
    # one planted extra appointment: a second one for a child on a day it has a session (cancelled),
    # so that a session-data row of that day without the time is ambiguous
    pick = ses[(ses["attendance"] == "attended") & (ses["session_date"] >= (start + dt.timedelta(days=40)).isoformat())]
    pick = pick.iloc[0] if len(pick) else ses.iloc[0]
    extra_id = f"S{int(ses['session_id'].str[1:].astype(int).max()) + 1:0{len(pick['session_id']) - 1}d}"
    hour = int(pick["start_time"][:2])
    extra_time = f"{hour - 3 if hour >= 12 else hour + 3:02d}:00"
    extra_row = pick.copy()
    extra_row["session_id"], extra_row["start_time"], extra_row["attendance"] = extra_id, extra_time, "cancelled"
    extra_row["duration_min"] = ""
    booked = pd.concat([ses, extra_row.to_frame().T], ignore_index=True)
    appts = pd.DataFrame({
        "appointment_id": booked["session_id"], "child_id": booked["child_id"], "clinician_id": booked["therapist_id"],
        "team": booked["team"], "date": booked["session_date"], "start_time": booked["start_time"],
        "service_code": booked["service_code"], "status": booked["attendance"].map(STATUS),
        "duration_min": booked["duration_min"], "location": booked["setting"]})
    files = [_write(out / f"appointments_{span}.csv", APPOINTMENT_COLUMNS, appts)]

    # which sessions' data rows carry no appointment id (about 1 in 5; never a child's second session of a day)
    day_count = ses.groupby(["child_id", "session_date"])["session_id"].transform("count")
    day_count = day_count.where(~((ses["child_id"] == pick["child_id"]) & (ses["session_date"] == pick["session_date"])), 2)
    number = ses["session_id"].str[1:].astype(int)
    no_id = (number % 5 == 0) & (day_count == 1)
    ctx = ses.set_index("session_id")[["child_id", "session_date", "start_time", "approach"]]
    ctx["no_id"] = no_id.to_numpy()

    data = []
    eng = rows.drop_duplicates("session_id")
    eng = eng[eng["engagement"].notna() & (eng["engagement"] != "")]
    data.append(pd.DataFrame({"session_id": eng["session_id"], "measure": "engagement", "value": eng["engagement"]}))
    gas = rows[rows["goal_id"].notna() & (rows["goal_id"] != "") & rows["gas_level"].notna() & (rows["gas_level"] != "")]
    data.append(pd.DataFrame({"session_id": gas["session_id"], "goal_id": gas["goal_id"], "measure": "gas",
                              "value": gas["gas_level"]}))
    std = rows[rows["measure"].notna() & (rows["measure"] != "")]
    data.append(pd.DataFrame({"session_id": std["session_id"], "measure": std["measure"],
                              "value": std["measure_score"]}))
    # the wide session measures of the single file (on task, protests), the same text, one row each
    for m in WIDE_MEASURES:
        if m in eng.columns:
            w = rows.drop_duplicates("session_id")
            w = w[w[m].notna() & (w[m] != "")]
            data.append(pd.DataFrame({"session_id": w["session_id"], "measure": m, "value": w[m]}))

    # trial-based goals: one articulation goal for every fourth speech child, 10 trials a session
    speech = ses[(ses["modality"] == "speech") & (ses["attendance"] == "attended")]
    trial_children = sorted(c for c in speech["child_id"].unique() if int(c[1:]) % 4 == 0)
    trial_goals, mastery = [], {}
    for c in trial_children:
        s = speech[speech["child_id"] == c].sort_values("session_date")
        correct = [min(10, 2 + k // 2) for k in range(len(s))]
        gid = f"G{c[1:]}-T1"
        data.append(pd.DataFrame({"session_id": s["session_id"].to_numpy(), "goal_id": gid, "measure": "goal_trials",
                                  "trials_correct": [str(x) for x in correct], "trials_total": "10"}))
        met = next((s["session_date"].iloc[k] for k in range(2, len(s)) if min(correct[k - 2:k + 1]) >= 8), None)
        mastery[f"{c}/{gid}"] = {"criterion": MASTERY, "first_met": met}
        trial_goals.append({"goal_id": gid, "child_id": c, "goal_text": trial_goal(c),
                            "goal_domain": "communication", "measure": "goal_trials", "baseline": "20% correct",
                            "target": "80% correct", "mastery_criterion": MASTERY,
                            "start_date": s["session_date"].iloc[0], "met_date": met or ""})

    sd = pd.concat(data, ignore_index=True)
    sd = sd.join(ctx, on="session_id")
    sd["appointment_id"] = sd["session_id"].where(~sd["no_id"], "")
    sd["date"] = sd["session_date"]
    sd["start_time"] = sd["start_time"].where(sd["no_id"], "")
    sd["order"] = sd["measure"].map({"engagement": 0, "on_task": 0.3, "protests": 0.6, "gas": 1,
                                     "goal_trials": 2}).fillna(3)
    sd = sd.sort_values(["session_date", "session_id", "order", "goal_id"], na_position="first")

    # planted rows that link to no appointment, with the reason the pipeline must give
    planted = []
    kids = ses.groupby("child_id")["session_date"].min().sort_index()
    busy = set(zip(ses["child_id"], ses["session_date"]))
    for c in list(kids.index[:3]):
        day = dt.date.fromisoformat(kids[c]) - dt.timedelta(days=3)
        if (c, day.isoformat()) in busy or day < start:
            day = dt.date.fromisoformat(kids[c]) + dt.timedelta(days=1)
        if (c, day.isoformat()) in busy:
            continue
        planted.append({"child_id": c, "date": day.isoformat(), "measure": "on_task", "value": "55",
                        "approach": "child-led", "reason": f"no appointment for {c} on {day.isoformat()}"})
    c, day = pick["child_id"], pick["session_date"]
    both = sorted([(pick["session_id"], pick["start_time"]), (extra_id, extra_time)], key=lambda x: (x[1], x[0]))
    listed = ", ".join(f"{i} {t}" for i, t in both)
    planted.append({"child_id": c, "date": day, "measure": "on_task", "value": "60", "approach": "directed",
                    "reason": f"2 appointments for {c} on {day} ({listed}): add the appointment id or the time",
                    "extra_appointment": extra_id})
    extra = pd.DataFrame(planted).drop(columns=["reason", "extra_appointment"], errors="ignore")
    body = pd.concat([sd, extra], ignore_index=True)
    path = out / f"session_data_{span}.csv"
    files.append(_write(path, SESSION_DATA_COLUMNS, body))
    # the planted rows' lines: the header is line 1, the rows follow in order
    first = len(sd) + 2
    unlinked = [{"file": path.name, "line": first + i, "child_id": p["child_id"], "date": p["date"],
                 "reason": p["reason"], **({"extra_appointment": p["extra_appointment"]} if "extra_appointment" in p else {})}
                for i, p in enumerate(planted)]

    goals = rows[rows["goal_id"].notna() & (rows["goal_id"] != "")]
    goals = goals.groupby(["child_id", "goal_id"], as_index=False).agg(
        goal_domain=("goal_domain", "last"), goal_weight=("goal_weight", "last"), start_date=("session_date", "min"))
    # goal texts and goal-specific level descriptions from a small bank per domain (goal_bank.py)
    bank = [gas_goal(d, c, g) for d, c, g in zip(goals["goal_domain"], goals["child_id"], goals["goal_id"])]
    goals["goal_text"] = [b[0] if b else f"{d.capitalize()} goal {g.split('-')[-1]}"
                          for b, d, g in zip(bank, goals["goal_domain"], goals["goal_id"])]
    goals["measure"] = "gas"
    for k, col in enumerate(("level_m2", "level_m1", "level_0", "level_p1", "level_p2")):
        goals[col] = [b[1][k] if b else "" for b in bank]
    goals = pd.concat([goals, pd.DataFrame(trial_goals)], ignore_index=True).sort_values(["child_id", "goal_id"])
    files.append(_write(out / "goals.csv", GOAL_COLUMNS, goals))

    last = ses.groupby("child_id")["session_date"].max()
    first_day = ses.groupby("child_id")["session_date"].min()
    kids_df = ses.drop_duplicates("child_id")[["child_id", "date_of_birth"]].sort_values("child_id").copy()
    kids_df["referral_date"] = [(dt.date.fromisoformat(first_day[c]) - dt.timedelta(days=14)).isoformat()
                                for c in kids_df["child_id"]]
    planned, dropped = sorted(truth.get("discharged", [])), sorted(truth.get("dropped_out", []))

    def discharge(c: str, days: int) -> str:
        return min(dt.date.fromisoformat(last[c]) + dt.timedelta(days=days), end).isoformat()

    kids_df["discharge_date"] = [discharge(c, 7) if c in planned else discharge(c, 42) if c in dropped else ""
                                 for c in kids_df["child_id"]]
    kids_df["discharge_reason"] = ["goals met" if c in planned else "family withdrew" if c in dropped else ""
                                   for c in kids_df["child_id"]]
    files.append(_write(out / "children.csv", CHILD_COLUMNS, kids_df))
    truth.update(truth_keys(unlinked, planned, dropped, mastery))
    return files


def truth_keys(unlinked: list[dict], planned: list[str], dropped: list[str], mastery: dict) -> dict:
    """This shape's keys of truth.json: the planted unlinked rows (file, line, reason), the
    children discharged as planned and those who dropped out (discharge reasons "goals met" and
    "family withdrew"), and each trial goal's criterion and the session date it was first met."""
    return {"unlinked": unlinked, "discharged_planned": planned, "dropped_out_discharged": dropped,
            "mastery": mastery}
