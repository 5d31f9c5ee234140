"""The several sources of a practice (issue 13, items 3, 6, 7): appointments, session data,
goals, children and charges, each with its profile, linked in the warehouse; unmatched rows
explained (unlinked_rows), never guessed. Every load goes through the CLI, as a user's would."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

import analytics
from pipelines import warehouse

REPO = Path(__file__).resolve().parent.parent
VENDORS = REPO / "data" / "sample" / "vendors"
PRACTICE = REPO / "data" / "sample" / "practice"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def load(db: Path, *files: Path, profile: str | None = None) -> str:
    r = cli("load", "--db", str(db), *(["--profile", profile] if profile else []), *map(str, files))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def q(db: Path, sql: str, params=None) -> list[tuple]:
    con = warehouse.connect_reader(db)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


# ------------------------------------------------------------------ vendor profiles and their samples

# profile -> (sample file, what must land: sessions, observations, rejected reasons (substrings), unlinked reasons)
VENDOR_CASES = {
    "webpt_appointments": ("webpt_appointments.csv", 13, 0, [], []),
    "simplepractice_appointment_status": ("simplepractice_appointment_status.csv", 10, 0,
                                          ["service code 99213 has no modality", "unknown status 'Rescheduled'"], []),
    "jane_appointments": ("jane_appointments.csv", 8, 0, ["unknown status 'Booked Online'"], []),
    "theranest_detailed_attendance": ("theranest_detailed_attendance.csv", 10, 0,
                                      ["unknown modality 'Family Therapy'", "unknown status 'Pending'"], []),
}


@pytest.mark.parametrize("profile", sorted(VENDOR_CASES))
def test_vendor_appointments_sample_loads(tmp_path, profile):
    name, n_sessions, n_obs, rejected, _ = VENDOR_CASES[profile]
    db = tmp_path / "w.duckdb"
    out = load(db, VENDORS / name, profile=profile)
    assert profile in q(db, "select profile from files")[0]
    assert q(db, "select count(*) from sessions")[0][0] == n_sessions
    reasons = [r[0] for r in q(db, "select reason from rejects")]
    assert len(reasons) == len(rejected), reasons
    for want in rejected:
        assert any(want in r for r in reasons), (want, reasons)
    # nothing of a name column is stored, and the load report says it dropped one where there was one
    if profile in ("jane_appointments", "simplepractice_appointment_status"):
        assert "name columns dropped" in out
    assert all(r.attendance in ("attended", "cancelled", "late-cancelled", "no-show", "clinician-cancelled")
               for r in [type("R", (), {"attendance": a})() for (a,) in q(db, "select attendance from sessions")])


def test_jane_removed_states_leave_no_session(tmp_path):
    db = tmp_path / "w.duckdb"
    load(db, VENDORS / "jane_appointments.csv", profile="jane_appointments")
    ids = {r[0] for r in q(db, "select session_id from sessions")}
    assert {"J-1004", "J-1009", "J-1012"}.isdisjoint(ids)  # Rescheduled, Never Booked, Archived
    assert q(db, "select count(*) from src_sessions where removed")[0][0] == 3


def test_webpt_appointments_with_charges_and_trials_join(tmp_path):
    """Done when: appointments of one system (WebPT) and session data of another (per-target
    trials) show one child's sessions with their measures joined, every unmatched row explained."""
    db = tmp_path / "w.duckdb"
    load(db, VENDORS / "webpt_appointments.csv")           # profiles chosen from the headers
    load(db, VENDORS / "webpt_charges.csv")
    load(db, VENDORS / "trials_per_target.csv")
    assert [r[0] for r in q(db, "select profile from files order by file_id")] == [
        "webpt_appointments", "webpt_charges", "trials_per_target"]
    # export_flag 3 removed 90010; the CPT of the charges gives the modality
    assert "90010" not in {r[0] for r in q(db, "select session_id from sessions")}
    assert q(db, "select modality from sessions where session_id = '90001'")[0][0] == "speech"
    assert q(db, "select modality from sessions where session_id = '90011'")[0][0] == "OT"

    from analytics.children import child_timeline
    con = warehouse.connect_reader(db)
    try:
        tl = child_timeline(con, "P1001")
    finally:
        con.close()
    assert list(tl["session_id"]) == ["90001", "90002", "90003", "90004", "90005"]
    obs = q(db, "select session_id, goal_id, value, trials_correct, trials_total from observations "
                "where child_id = 'P1001' order by session_id, goal_id")
    assert obs == [("90001", "T-ART-r", 30.0, 3, 10), ("90001", "T-ART-s", 60.0, 6, 10),
                   ("90002", "T-ART-r", 40.0, 4, 10), ("90002", "T-ART-s", 70.0, 7, 10),
                   ("90004", "T-ART-r", 0.0, 0, 10), ("90004", "T-ART-s", 80.0, 8, 10),
                   ("90005", "T-ART-r", 60.0, 6, 10), ("90005", "T-ART-s", 90.0, 9, 10)]
    unlinked = q(db, "select file, line, reason from unlinked_rows order by file, line")
    assert unlinked == [
        ("trials_per_target.csv", 6, "goal_trials recorded for a session that was not attended "
                                     "(90003 on 2026-03-16: cancelled)"),
        ("trials_per_target.csv", 11, "2 appointments for P1002 on 2026-03-04 (90006 10:00, 90007 14:30): "
                                      "add the appointment id or the time"),
        ("trials_per_target.csv", 15, "the appointment for P1002 on 2026-03-25 (90010) was removed in a later export"),
        ("trials_per_target.csv", 19, "no appointment for P1003 on 2026-03-26"),
        ("webpt_charges.csv", 6, "2 appointments for P1002 on 2026-03-04 (90006 10:00, 90007 14:30): "
                                 "add the appointment id or the time"),
        ("webpt_charges.csv", 7, "2 appointments for P1002 on 2026-03-04 (90006 10:00, 90007 14:30): "
                                 "add the appointment id or the time"),
    ]
    # the time of line 12 picks the 10:00 visit of that day
    assert q(db, "select value from observations where session_id = '90006'") == [(75.0,)]
    # the rejects: a code with no modality, 12 correct of 10 trials
    assert sorted(r[0] for r in q(db, "select reason from rejects")) == [
        "goal_trials: trials need whole numbers: a trials_total of 1 or more and trials_correct from 0 to "
        "trials_total (got 12 correct of 10)",
        "service code 97999 has no modality (add it to [service_codes] in the profile, or per therapist under "
        "[service_codes.by_therapist.TH22])"]
    # the CLI says so: status counts them, rejects lists them labelled "not linked"
    st = cli("status", "--db", str(db), "--json")
    assert json.loads(st.stdout)["unlinked_rows"] == 6
    rej = cli("rejects", "--db", str(db))
    assert rej.returncode == 0
    rows = list(csv.DictReader(rej.stdout.splitlines()))
    not_linked = [r for r in rows if r["column"] == "not linked"]
    assert sorted((r["file"], int(r["line"]), r["reason"]) for r in not_linked) == unlinked


def test_an_appointment_loaded_later_links_the_waiting_rows(tmp_path):
    db = tmp_path / "w.duckdb"
    load(db, VENDORS / "trials_per_target.csv")
    assert q(db, "select count(*) from observations")[0][0] == 0
    assert q(db, "select count(*) from unlinked_rows")[0][0] == 18
    load(db, VENDORS / "webpt_appointments.csv")
    assert q(db, "select count(*) from observations")[0][0] == 14
    assert q(db, "select count(*) from unlinked_rows")[0][0] == 4


# ------------------------------------------------------------------ bad input of every new kind

APPT = ["appointment_id", "child_id", "clinician_id", "date", "start_time", "service_code", "status"]
GOOD_APPTS = [["A1", "C1", "T01", "2026-03-02", "09:00", "92507", "Show"],
              ["A2", "C1", "T01", "2026-03-09", "09:00", "92507", "Show"],
              ["A3", "C1", "T01", "2026-03-09", "14:00", "97530", "Show"]]
SD = ["appointment_id", "child_id", "date", "start_time", "approach", "goal_id", "measure", "value",
      "trials_correct", "trials_total"]
GOOD_SD = [["A1", "C1", "2026-03-02", "", "child-led", "", "engagement", "4", "", ""]]

# case -> (profile, header, rows, "reject" or "unlinked", the reason)
BAD = {
    "ambiguous join": ("canonical_session_data", SD, [["", "C1", "2026-03-09", "", "directed", "", "on_task", "40", "", ""]],
                       "unlinked", "2 appointments for C1 on 2026-03-09 (A2 09:00, A3 14:00): add the appointment id or the time"),
    "no appointment that day": ("canonical_session_data", SD, [["", "C1", "2026-03-05", "", "", "", "engagement", "3", "", ""]],
                                "unlinked", "no appointment for C1 on 2026-03-05"),
    "an appointment id that is not there": ("canonical_session_data", SD,
                                            [["A9", "C1", "2026-03-05", "", "", "", "engagement", "3", "", ""]],
                                            "unlinked", "no appointment A9 (the appointment id given)"),
    "another child's appointment": ("canonical_session_data", SD,
                                    [["A1", "C2", "2026-03-02", "", "", "", "engagement", "3", "", ""]],
                                    "unlinked", "appointment A1 is of child C1, not C2"),
    "unknown status": ("canonical_appointments", APPT, [["A4", "C1", "T01", "2026-03-16", "09:00", "92507", "Postponed"]],
                       "reject", "unknown status 'Postponed' (expected attended, cancelled, late-cancelled, no-show or "
                                 "clinician-cancelled, a synonym in the profile, or a [removed] value)"),
    "a code with no modality": ("canonical_appointments", APPT, [["A4", "C1", "T01", "2026-03-16", "09:00", "99999", "Show"]],
                                "reject", "service code 99999 has no modality (add it to [service_codes] in the profile, "
                                          "or per therapist under [service_codes.by_therapist.T01])"),
    "an appointment date that cannot be read": ("canonical_appointments", APPT,
                                                [["A4", "C1", "T01", "2026-13-40", "09:00", "92507", "Show"]],
                                                "reject", "not a date (expected yyyy-mm-dd)"),
    "a session-data date that cannot be read": ("canonical_session_data", SD,
                                                [["", "C1", "soon", "", "", "", "engagement", "3", "", ""]],
                                                "reject", "not a date (expected yyyy-mm-dd)"),
    "a time that cannot be read": ("canonical_session_data", SD, [["", "C1", "2026-03-09", "25:99", "", "", "engagement", "3", "", ""]],
                                   "reject", "not a time of day (expected hh:mm, e.g. 09:30 or 2:30 pm)"),
    "a goal for an unknown child": ("canonical_goals", ["goal_id", "child_id", "goal_text", "measure"],
                                    [["G9", "C9", "Names colours", "gas"]], "unlinked",
                                    "goal G9 is for child C9, who has no appointment, session or episode of care in the warehouse"),
    "a goal with a measure of the session": ("canonical_goals", ["goal_id", "child_id", "measure"], [["G2", "C1", "engagement"]],
                                             "reject", "measure 'engagement' is recorded per session, not per goal (a goal's "
                                                       "measure is gas, goal_trials or another goal-level measure of the catalogue)"),
    "a mastery criterion not understood": ("canonical_goals", ["goal_id", "child_id", "mastery_criterion"],
                                           [["G2", "C1", "when she is ready"]], "reject",
                                           'mastery criterion not understood (write it as a percent and a number of consecutive '
                                           'sessions, e.g. "80% in 3 consecutive sessions")'),
    "a discharge before the referral": ("canonical_children", ["child_id", "referral_date", "discharge_date", "discharge_reason"],
                                        [["C1", "2026-03-01", "2026-02-01", "goals met"]], "reject",
                                        "discharged before the referral (2026-03-01)"),
    "a measure for a session not attended": ("canonical_session_data", SD,
                                             [["A5", "C1", "2026-03-16", "", "", "", "engagement", "3", "", ""]], "unlinked",
                                             "engagement recorded for a session that was not attended (A5 on 2026-03-16: no-show)"),
}


def _practice(tmp_path: Path) -> Path:
    db = tmp_path / "w.duckdb"
    load(db, write(tmp_path / "appointments.csv", APPT, GOOD_APPTS + [["A5", "C1", "T01", "2026-03-16", "09:00", "92507", "No Show"]]),
         profile="canonical_appointments")
    load(db, write(tmp_path / "session_data.csv", SD, GOOD_SD), profile="canonical_session_data")
    return db


MARTS = ("sessions", "observations", "goals", "children")


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_of_every_new_kind(tmp_path, case):
    profile, header, rows, kind, reason = BAD[case]
    db = _practice(tmp_path)
    before = {m: q(db, f"select * from {m} order by all") for m in MARTS}
    load(db, write(tmp_path / "bad.csv", header, rows), profile=profile)
    if kind == "reject":
        assert [r[0] for r in q(db, "select reason from rejects where file_name = 'bad.csv'")] == [reason]
        assert q(db, "select count(*) from unlinked_rows")[0][0] == 0
    else:
        assert q(db, "select file, line, reason from unlinked_rows") == [("bad.csv", 2, reason)]
        assert q(db, "select count(*) from rejects")[0][0] == 0
    after = {m: q(db, f"select * from {m} order by all") for m in MARTS}
    for m in ("sessions", "observations"):
        assert after[m] == before[m], m   # nothing already loaded changed, nothing was guessed


def test_a_removed_appointment_disappears_in_a_later_export(tmp_path):
    profile = tmp_path / "flagged.toml"
    profile.write_text('name = "flagged"\nextends = "canonical_appointments"\n[removed]\ncolumn = "export_flag"\n'
                       'values = ["3"]\n')
    db = tmp_path / "w.duckdb"
    head = APPT + ["export_flag"]
    load(db, write(tmp_path / "appointments_2026-03-10.csv", head, [r + ["1"] for r in GOOD_APPTS]), profile=str(profile))
    load(db, write(tmp_path / "session_data.csv", SD, GOOD_SD), profile="canonical_session_data")
    assert q(db, "select count(*) from observations where session_id = 'A1'")[0][0] == 1
    # a later export removes A1; an older export that still has it cannot bring it back
    load(db, write(tmp_path / "appointments_2026-03-20.csv", head, [GOOD_APPTS[0] + ["3"]]), profile=str(profile))
    load(db, write(tmp_path / "appointments_2026-03-01.csv", head, [GOOD_APPTS[0] + ["1"]]), profile=str(profile))
    assert {r[0] for r in q(db, "select session_id from sessions")} == {"A2", "A3"}
    assert q(db, "select count(*) from observations")[0][0] == 0
    assert q(db, "select reason from unlinked_rows") == [("appointment A1 was removed in a later export",)]


# ------------------------------------------------------------------ the multi-source sample practice

@pytest.fixture(scope="module")
def practice_pair(tmp_path_factory):
    """The same practice loaded twice: the single clean canonical file, and the four files of the multi-source shape."""
    root = tmp_path_factory.mktemp("practice")
    r = cli("sample", "--out", str(root / "files"), "--format", "all", "--single-file")
    assert r.returncode == 0, r.stdout + r.stderr
    single, multi = root / "single.duckdb", root / "multi.duckdb"
    load(single, *sorted((root / "files" / "canonical").glob("*.csv")))
    load(multi, root / "files" / "practice")
    return single, multi, json.loads((root / "files" / "truth.json").read_text())


def test_the_shipped_practice_files_are_the_writers(tmp_path):
    r = cli("sample", "--out", str(tmp_path), "--format", "practice")
    assert r.returncode == 0, r.stderr
    for f in PRACTICE.glob("*.csv"):
        assert (tmp_path / "practice" / f.name).read_bytes() == f.read_bytes(), f.name


def test_four_files_give_the_same_practice_as_the_single_file(practice_pair):
    single, multi, truth = practice_pair
    extra = {u["extra_appointment"] for u in truth["unlinked"] if "extra_appointment" in u}
    cols = "session_id, child_id, therapist_id, team, session_date, modality, attendance, duration_min, setting, age_group"
    one = q(single, f"select {cols} from sessions order by session_id")
    four = q(multi, f"select {cols} from sessions where session_id not in (select unnest($x)) order by session_id",
             {"x": sorted(extra)})
    assert four == one and len(one) == truth["sessions"]
    # approach: recorded in the session data, so known for every session with data
    assert q(multi, "select count(*) from sessions s join observations o using (session_id) where s.approach is null")[0][0] == 0
    assert (q(single, "select session_id, approach from sessions where attended order by 1")
            == q(multi, "select session_id, approach from sessions where attended order by 1"))
    for sql in ("select session_id, goal_id, gas_level, goal_weight, goal_domain from goal_ratings order by all",
                "select session_id, value from observations where measure = 'engagement' order by all",
                "select session_id, measure, measure_score from measures order by all",
                # every session measure, on task and protests included (issue 13, item 7), value for value
                "select session_id, child_id, measure, value from observations where goal_id is null order by all"):
        assert q(single, sql) == q(multi, sql), sql
    per_measure = dict(q(multi, "select measure, count(*) from observations where goal_id is null group by 1"))
    assert per_measure.get("on_task", 0) > 1000 and per_measure.get("protests", 0) > 1000, per_measure
    # beside them: trial goals with their counts, and the planted unlinked rows explained
    assert q(multi, "select count(*) from observations where measure = 'goal_trials' and trials_total = 10")[0][0] > 0
    got = q(multi, "select file, line, reason from unlinked_rows order by line")
    assert got == [(u["file"], u["line"], u["reason"]) for u in truth["unlinked"]]
    assert any(u["reason"].startswith("2 appointments for") for u in truth["unlinked"])


def test_the_planted_measure_effects_are_recovered_from_the_four_files(practice_pair):
    """truth.json's planted on-task and protest effects (``measures_planted``) come back from
    the multi-source load as from the single file: the same children measured, the same
    within-child comparison, the planted mean inside its interval, in each measure's direction."""
    single, multi, truth = practice_pair
    planted = truth["measures_planted"]
    cons = [warehouse.connect_reader(db) for db in (single, multi)]
    try:
        for m in ("on_task", "protests"):
            got = set(r[0] for r in cons[1].execute(
                "select distinct child_id from observations where measure = $m", {"m": m}).fetchall())
            assert got == set(planted[m]["children"]), m
            one, four = (analytics.approach_effects(c, measure=m).iloc[0] for c in cons)
            for col in ("n_children", "mean_diff", "ci_lo", "ci_hi", "mean_nap", "nap_ci_lo"):
                assert four[col] == pytest.approx(one[col]), (m, col)
            pairs = analytics.approach_pairs(cons[1], measure=m)
            elig = pairs[pairs["eligible"].astype(bool)]
            assert bool(four["estimated"]) and int(four["n_children"]) == len(elig) >= 25
            if m == "on_task":
                expected = elig["child_id"].map(planted[m]["children"]).mean()
                assert four["mean_diff"] > 0
            else:
                expected = elig["child_id"].map(lambda c: planted[m]["children"][c]["expected_difference"]).mean()
                assert four["sign"] == -1 and four["mean_diff"] < 0      # fewer protests child-led: better
            assert four["ci_lo"] <= expected <= four["ci_hi"], (m, four["ci_lo"], expected, four["ci_hi"])
            assert four["nap_ci_lo"] > 0.5                               # child-led better in the measure's direction
    finally:
        for c in cons:
            c.close()


def test_discharges_and_mastery_of_the_practice(practice_pair):
    _, multi, truth = practice_pair
    kinds = dict(q(multi, "select child_id, discharge_kind from children where discharge_kind is not null"))
    assert sorted(c for c, k in kinds.items() if k == "planned") == truth["discharged_planned"]
    assert sorted(c for c, k in kinds.items() if k == "dropped_out") == truth["dropped_out_discharged"]
    goals = {r[0]: r[1:] for r in q(multi, "select goal_uid, mastery_percent, mastery_sessions, met_date from goals "
                                           "where measure = 'goal_trials'")}
    assert set(goals) == set(truth["mastery"])
    for uid, m in truth["mastery"].items():
        assert goals[uid][:2] == (80.0, 3)
        assert (goals[uid][2].isoformat() if goals[uid][2] else None) == m["first_met"]


def test_sessions_without_session_data_offer_no_empty_filter_value(practice_pair):
    # cancelled appointments have no session data, so no approach: the filters never offer "None"
    _, multi, _ = practice_pair
    assert q(multi, "select count(*) from sessions where approach is null")[0][0] > 0
    con = warehouse.connect_reader(multi)
    try:
        opts = analytics.filter_options(con)
    finally:
        con.close()
    for key in ("modalities", "age_groups", "teams", "therapists", "approaches", "children"):
        assert opts[key] and None not in opts[key], key
    assert opts["approaches"] == ["child-led", "directed", "mixed"]


def test_the_practice_goals_read_as_therapists_write_them():
    """Each GAS goal of the multi-source sample has a goal text (not "Social goal 1") and
    level descriptions of its own (not the generic "much less than expected"); a child's goals
    differ; trial goals carry a baseline, target and mastery criterion."""
    import re

    with open(PRACTICE / "goals.csv", encoding="utf-8") as fh:
        goals = list(csv.DictReader(fh))
    gas = [g for g in goals if g["measure"] == "gas"]
    trials = [g for g in goals if g["measure"] == "goal_trials"]
    assert gas and trials
    levels = ("level_m2", "level_m1", "level_0", "level_p1", "level_p2")
    generic = {"much less than expected", "somewhat less than expected", "expected level of outcome",
               "somewhat more than expected", "much more than expected"}
    for g in gas:
        assert not re.search(r"goal \d+$", g["goal_text"]), g
        assert all(g[c] for c in levels) and not {g[c] for c in levels} & generic, g
        assert len({g[c] for c in levels}) == 5, g
    by_child: dict[str, list[str]] = {}
    for g in gas:
        by_child.setdefault(g["child_id"], []).append(g["goal_text"])
    assert all(len(t) == len(set(t)) for t in by_child.values())
    assert len({g["goal_text"] for g in gas}) >= 30            # a bank, not one goal per domain
    for g in trials:
        assert g["goal_text"] and g["baseline"].endswith("% correct") and g["target"].endswith("% correct")
        assert re.fullmatch(r"\d+% in \d+ consecutive sessions", g["mastery_criterion"]), g
    assert len({g["goal_text"] for g in trials}) > 1


def test_a_later_session_export_keeps_the_goals_files_text_and_levels(tmp_path):
    # the goals file describes G1; a NEWER one-file export rates it (domain, weight): neither wipes the other
    db = tmp_path / "w.duckdb"
    goals = write(tmp_path / "goals_2026-01.csv",
                  ["goal_id", "child_id", "goal_text", "goal_domain", "measure", "level_m2", "level_m1", "level_0",
                   "level_p1", "level_p2", "mastery_criterion"],
                  [["G1", "C1", "Takes turns in a 2-person game with one prompt", "social", "gas", "does not take turns",
                    "takes turns with hand-over-hand help", "takes turns with one prompt", "takes turns without prompts",
                    "takes turns with a peer without prompts", ""]])
    load(db, goals, profile="canonical_goals")
    sessions = write(tmp_path / "export_2026-03.csv",
                     ["session_id", "child_id", "therapist_id", "team", "session_date", "modality", "approach",
                      "attendance", "engagement", "goal_id", "goal_domain", "gas_level", "goal_weight"],
                     [["S1", "C1", "T01", "North", "2026-03-02", "speech", "child-led", "attended", "4", "G1",
                       "communication", "0", "2"]])
    load(db, sessions)
    row = q(db, "select goal_text, level_0, level_p2, goal_domain, goal_weight from goals where goal_uid = 'C1/G1'")
    assert row == [("Takes turns in a 2-person game with one prompt", "takes turns with one prompt",
                    "takes turns with a peer without prompts", "social", 2.0)]
    assert q(db, "select count(*) from goal_ratings where goal_id = 'G1'")[0][0] == 1
