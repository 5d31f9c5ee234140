"""The synthetic practice generator (pipelines/sample/): determinism, shape, planted patterns,
the messy split export and the vendor files. Real files in tmp_path; no timing assertions."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines import sample
from pipelines.sample import COLUMNS, generate, write_sample

END = dt.date(2026, 10, 31)
END_TS = pd.Timestamp(END)

VENDOR_HEADERS = ["Appointment ID", "Client ID", "Client Name", "Clinician", "Team", "Date of Service",
                  "Service Type", "Session Approach", "Client DOB", "Appointment Status", "Duration (mins)",
                  "Location", "Engagement Rating", "Goal Ref", "Goal Area", "GAS Score", "Goal Weighting",
                  "Outcome Measure", "Outcome Score"]


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def gen():
    return generate(children=150, months=12, seed=7, end=END)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    res = write_sample(out, children=150, months=12, seed=7, end=END, formats=("canonical", "vendor"), split=True)
    truth = json.loads((out / "truth.json").read_text(encoding="utf-8"))
    return out, res, truth


def sessions(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop_duplicates("session_id")


def days_before_end(n: int) -> pd.Timestamp:
    return END_TS - pd.Timedelta(days=n)


def read_canonical(out: Path, truth: dict, drop_malformed: bool = True) -> list[pd.DataFrame]:
    frames = []
    for e in truth["exports"]:
        df = pd.read_csv(out / "canonical" / e["file"], dtype=str, keep_default_na=False)
        df["_file"] = e["file"]
        df["_line"] = np.arange(len(df)) + 2
        if drop_malformed:
            bad = {m["line"] for m in truth["malformed"] if m["file"] == e["file"]}
            df = df[~df["_line"].isin(bad)]
        frames.append(df)
    return frames


def normalise(df: pd.DataFrame, truth: dict) -> pd.DataFrame:
    df = df.copy()
    for field, mapping in truth["spelling_variants"].items():
        df[field] = df[field].replace({v: k for k, vs in mapping.items() for v in vs})
    return df


def as_text(df: pd.DataFrame) -> pd.DataFrame:
    """generate() output as the text the canonical CSV carries."""
    out = df.copy()
    for c in ("session_date", "date_of_birth"):
        out[c] = out[c].dt.strftime("%Y-%m-%d")
    for c in ("measure_score", "on_task"):
        out[c] = df[c].map(lambda v: "" if pd.isna(v) else f"{v:g}")
    out = out.astype(object).where(out.notna(), "").astype(str)
    return out[COLUMNS + ["on_task", "protests"]]


def mann_kendall(y: list[float]) -> tuple[float, float]:
    """S and two-sided p (normal approximation, tie-corrected variance, continuity correction)."""
    n = len(y)
    s = sum(np.sign(y[j] - y[i]) for i in range(n) for j in range(i + 1, n))
    _, counts = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - sum(c * (c - 1) * (2 * c + 5) for c in counts)) / 18
    if var <= 0:
        return 0.0, 1.0
    z = (s - np.sign(s)) / math.sqrt(var)
    return float(s), math.erfc(abs(z) / math.sqrt(2))


def theil_sen(x: list[float], y: list[float]) -> float:
    slopes = [(y[j] - y[i]) / (x[j] - x[i]) for i in range(len(x)) for j in range(i + 1, len(x)) if x[j] != x[i]]
    return float(np.median(slopes)) if slopes else 0.0


# --------------------------------------------------------------------------- determinism

def test_same_seed_same_bytes_different_seed_different(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d, seed in ((a, 7), (b, 7), (c, 8)):
        write_sample(d, children=40, months=12, seed=seed, end=END, formats=("canonical", "vendor"))
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b and len(files_a) == 5        # 2 canonical, xlsx, csv, truth
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    for rel in files_a:
        if rel.suffix == ".csv":
            assert (a / rel).read_bytes() != (c / rel).read_bytes(), rel
    df1, t1 = generate(children=40, seed=7, end=END)
    df2, t2 = generate(children=40, seed=7, end=END)
    pd.testing.assert_frame_equal(df1, df2)
    assert t1 == t2


# --------------------------------------------------------------------------- shape

def test_shape(gen):
    df, truth = gen
    assert list(df.columns) == COLUMNS + ["on_task", "protests"]   # the contract's, then the wide measures
    assert df["child_id"].nunique() == 150 == truth["children"]
    assert set(df["modality"]) == {"CBT", "OT", "speech", "play"}
    assert set(df["team"]) == {"North", "South", "East"}
    assert df["therapist_id"].nunique() == 12
    assert df["session_date"].min() >= pd.Timestamp("2025-11-01")
    assert df["session_date"].max() <= END_TS
    assert df["session_date"].dt.to_period("M").nunique() == 12
    assert set(df["approach"]) == {"child-led", "directed", "mixed"}
    assert set(df["attendance"]) == {"attended", "cancelled", "late-cancelled", "no-show", "clinician-cancelled"}
    assert set(df["setting"]) == {"clinic", "home", "school", "telehealth", "community"}
    assert set(df["duration_min"].dropna()) <= {30, 45, 50, 60}
    # one therapist, modality, team and date of birth per child
    per_child = df.groupby("child_id")[["therapist_id", "modality", "team", "date_of_birth"]].nunique()
    assert (per_child == 1).all().all()
    # ages 1-17 at the start of the window
    start = pd.Timestamp(truth["start"])
    dob = df.drop_duplicates("child_id")["date_of_birth"]
    age = [start.year - d.year - ((start.month, start.day) < (d.month, d.day)) for d in dob]
    assert min(age) >= 1 and max(age) <= 17
    # 2-4 goals per child, each goal belonging to its child, weights 1-3, levels -3..+2
    goals = df.dropna(subset=["goal_id"])
    n_goals = goals.groupby("child_id")["goal_id"].nunique()
    assert n_goals.min() >= 2 and n_goals.max() <= 4 and len(n_goals) == 150
    assert (goals["goal_id"].str.slice(1, 5) == goals["child_id"].str.slice(1, 5)).all()
    assert set(goals["goal_weight"]) <= {1, 2, 3} and set(goals["gas_level"]) <= {-3, -2, -1, 0, 1, 2}
    assert (goals["gas_level"] == -3).any()
    assert goals.groupby("goal_id")["goal_domain"].nunique().max() == 1
    # a rating session repeats the session columns on each goal row
    multi = goals.groupby("session_id").filter(lambda g: len(g) > 1)
    assert len(multi) > 0
    assert (multi.groupby("session_id")[["child_id", "session_date", "engagement"]].nunique(dropna=False) == 1).all().all()
    # goal ratings only on attended sessions, key (session_id, goal_id) unique
    assert (goals["attendance"] == "attended").all()
    assert not df.duplicated(["session_id", "goal_id"]).any()
    assert truth["rows"] == len(df) and truth["sessions"] == df["session_id"].nunique()


def test_more_children_give_proportionally_more_rows(gen):
    df, _ = gen
    big, truth = generate(children=2000, months=12, seed=7, end=END)
    assert big["child_id"].nunique() == 2000
    assert truth["therapists"] == round(2000 / 12)              # ~1 therapist per 12 children
    assert big["therapist_id"].nunique() >= 0.9 * truth["therapists"]
    ratio = len(big) / len(df)
    assert 2000 / 150 * 0.8 < ratio < 2000 / 150 * 1.25


def test_engagement_only_when_attended(gen):
    df, _ = gen
    att = df["attendance"] == "attended"
    assert df.loc[att, "engagement"].notna().all()
    assert df.loc[~att, "engagement"].isna().all()
    assert df.loc[~att, "duration_min"].isna().all()
    assert df["engagement"].dropna().between(1, 5).all()


# --------------------------------------------------------------------------- planted patterns

def test_planted_groups_are_disjoint(gen):
    _, t = gen
    groups = ["declining", "stalled", "dropped_out", "low_attendance", "rating_gap", "discharged"]
    seen: set[str] = set()
    for g in groups:
        assert t[g], g
        assert not seen & set(t[g]), g
        seen |= set(t[g])
    assert 10 <= len(t["declining"]) <= 14 and 10 <= len(t["stalled"]) <= 14
    assert set(t["stalled_goals"]) == set(t["stalled"])
    assert not set(t["reliable_deterioration"]) & seen


def test_declining_engagement_found_by_mann_kendall_and_only_there(gen):
    df, t = gen
    s = sessions(df)
    w = s[(s["session_date"] > days_before_end(56)) & (s["attendance"] == "attended")]
    flagged = set()
    for child, g in w.sort_values("session_date").groupby("child_id"):
        y = g["engagement"].astype(float).tolist()
        x = (g["session_date"] - END_TS).dt.days.astype(float).tolist()
        if len(y) < 5:
            continue
        _, p = mann_kendall(y)
        slope = theil_sen(x, y) * 7                          # per week
        if child in t["declining"]:
            assert p < 0.05 and slope <= -0.1, (child, p, slope)
            first, last = np.mean(y[:3]), np.mean(y[-3:])
            assert first - last >= 0.99, (child, y)             # at least a point, first vs last 3
        if p < 0.05 and slope < 0:
            flagged.add(child)
    assert flagged == set(t["declining"])


def test_dropouts_have_no_recent_session_everyone_else_does(gen):
    df, t = gen
    last = sessions(df).groupby("child_id")["session_date"].max()
    gone = set(last[last <= days_before_end(30)].index)
    assert set(t["dropped_out"]) <= gone
    assert gone == set(t["dropped_out"]) | set(t["discharged"])
    for c in t["dropped_out"]:
        assert last[c] <= days_before_end(35)
    staying = last.drop(list(gone))
    # weekly or fortnightly children: a session (possibly cancelled) in the last 2-3 weeks
    assert (staying > days_before_end(21)).all()


def test_low_attendance_in_last_eight_weeks(gen):
    df, t = gen
    s = sessions(df)
    w = s[s["session_date"] > days_before_end(56)]
    rate = w.groupby("child_id")["attendance"].agg(lambda a: (a == "attended").mean())
    n = w.groupby("child_id").size()
    low = set(rate[(rate < 0.6) & (n >= 4)].index)
    assert low == set(t["low_attendance"])
    # nobody else is even near the settings threshold (0.75 with 4+ scheduled)
    others = rate[(n >= 4) & ~rate.index.isin(t["low_attendance"])]
    assert (others >= 0.75).all()
    # cancellations cluster in holiday weeks (late December, August)
    s = s.assign(month=s["session_date"].dt.month)
    missed = s.groupby("month")["attendance"].agg(lambda a: (a != "attended").mean())
    assert missed[8] > missed[[3, 4, 5, 6, 7, 9, 10]].mean() and missed[12] > missed[[3, 4, 5, 6, 7, 9, 10]].mean()


def test_rating_gap_children_attend_without_ratings(gen):
    df, t = gen
    s = sessions(df)
    attending = set(s[(s["attendance"] == "attended") & (s["session_date"] > days_before_end(30))]["child_id"])
    rated = df.dropna(subset=["goal_id"]).groupby("child_id")["session_date"].max()
    gap = {c for c in attending if c not in rated.index or rated[c] <= days_before_end(60)}
    assert gap == set(t["rating_gap"])
    assert set(t["rating_gap"]) <= attending


def test_stalled_goals_are_the_only_stalls(gen):
    """A goal still rated in the last 8 weeks whose level is no higher than at the rating
    12+ weeks before its latest one."""
    df, t = gen
    goals = df.dropna(subset=["goal_id"]).sort_values("session_date")
    found: dict[str, list[str]] = {}
    for gid, g in goals.groupby("goal_id"):
        last = g["session_date"].max()
        if last <= days_before_end(56):
            continue
        ref = g[g["session_date"] <= last - pd.Timedelta(weeks=12)]
        if ref.empty:
            continue
        after = g[g["session_date"] > ref["session_date"].iloc[-1]]
        if after["gas_level"].max() <= ref["gas_level"].iloc[-1]:
            found.setdefault(g["child_id"].iloc[0], []).append(gid)
    assert found == t["stalled_goals"]
    for child, gids in t["stalled_goals"].items():
        since = pd.Timestamp(t["stalled_since"][child])
        for gid in gids:
            g = goals[(goals["goal_id"] == gid) & (goals["session_date"] >= since)]
            assert g["gas_level"].nunique() == 1 and len(g) >= 3      # frozen, still rated
            assert g["gas_level"].iloc[0] < 0                          # below the expected level
            assert g["session_date"].max() > days_before_end(21)


def test_goals_improve_over_time(gen):
    df, _ = gen
    goals = df.dropna(subset=["goal_id"]).sort_values("session_date")
    span = goals.groupby("goal_id").agg(first=("gas_level", "first"), last=("gas_level", "last"), n=("gas_level", "size"))
    assert set(span["first"]) <= {-3, -2, -1, 0, 1}
    assert (span.loc[span["n"] >= 4, "last"] > span.loc[span["n"] >= 4, "first"]).mean() > 0.8


def test_reliable_change_matches_rci(gen):
    df, t = gen
    m = df.dropna(subset=["measure"]).sort_values("session_date")
    assert set(m["measure"]) == {"SCAS-P", "COPM-P"}
    assert set(m[m["modality"] == "CBT"]["child_id"]) == set(df[df["modality"] == "CBT"]["child_id"])
    assert m.groupby("session_id").size().max() == 1         # one measure per session
    scas = m[m["measure"] == "SCAS-P"]["measure_score"]
    copm = m[m["measure"] == "COPM-P"]["measure_score"]
    assert scas.between(0, 114).all() and (scas == scas.round()).all()
    assert copm.between(1, 10).all()
    det, imp = set(), set()
    for child, g in m.groupby("child_id"):
        if len(g) < 2:
            continue
        name = g["measure"].iloc[0]
        spec = t["measures"][name]
        rci = 1.96 * math.sqrt(2) * spec["sd"] * math.sqrt(1 - spec["reliability"])
        assert abs(rci - spec["rci_threshold"]) < 1e-3
        worse = (g["measure_score"].iloc[-1] - g["measure_score"].iloc[0]) * (-1 if spec["higher_is_better"] else 1)
        if worse > rci:
            det.add(child)
        elif worse < -rci:
            imp.add(child)
    assert det == set(t["reliable_deterioration"]) and 3 <= len(det) <= 6
    assert imp == set(t["reliable_improvement"]) and len(imp) > len(det)


def test_child_led_effect_is_recovered(gen):
    """Mean within-child (child-led minus directed) engagement difference.

    Planted: per-child effects ~ Normal(0.6, 0.4). Over ~115 children with 3+ sessions of each
    approach the standard error is about 0.045 (between-child SD 0.4 plus within-child noise of
    ~0.6 per session mean), and rounding/clipping to 1..5 attenuates it by ~0.02, so the
    estimate must lie within 0.15 (~3 SE) of 0.6, and within 0.1 of the realised mean of the
    planted effects (which removes the between-child sampling part).
    """
    df, t = gen
    s = sessions(df)
    s = s[(s["attendance"] == "attended") & s["approach"].isin(["child-led", "directed"])]
    g = s.groupby(["child_id", "approach"])["engagement"].agg(["mean", "size"]).unstack()
    ok = (g[("size", "child-led")] >= 3) & (g[("size", "directed")] >= 3)
    diff = (g[("mean", "child-led")] - g[("mean", "directed")])[ok].astype(float)
    assert ok.sum() >= 90
    assert abs(diff.mean() - t["child_led_effect_mean"]) < 0.15
    planted = np.mean([t["child_led_effect"][c] for c in diff.index])
    assert abs(diff.mean() - planted) < 0.1
    assert (diff < 0).sum() >= 5                              # not positive for every child
    assert t["child_led_effect_mean"] == 0.6 and len(t["child_led_effect"]) == 150


# --------------------------------------------------------------------------- written files

def test_truth_file(written):
    out, res, t = written
    for key in ("seed", "children", "months", "end", "child_led_effect_mean", "child_led_effect", "declining",
                "stalled", "stalled_goals", "dropped_out", "low_attendance", "rating_gap",
                "reliable_deterioration", "reliable_improvement", "corrections", "n_corrected_rows",
                "malformed", "n_malformed_rows"):
        assert key in t, key
    assert (t["seed"], t["children"], t["months"], t["end"]) == (7, 150, 12, "2026-10-31")
    assert 10 <= t["n_malformed_rows"] <= 15 and len(t["malformed"]) == t["n_malformed_rows"]
    assert 5 <= t["n_corrected_rows"] <= 15 and len(t["corrections"]) == t["n_corrected_rows"]
    assert res["rows"] == t["rows"]
    assert [Path(f["path"]).name for f in res["files"]] == [
        "export_2026-07.csv", "export_2026-10.csv",
        "appointments_2025-11_2026-10.csv", "appointments_2025-11_2026-10.xlsx"]


def test_split_exports_overlap_and_rebuild_the_generated_rows(written, gen):
    out, _, t = written
    df, _ = gen
    f1, f2 = read_canonical(out, t)
    assert f1["session_date"].max() <= "2026-07-31" and f2["session_date"].min() >= "2026-07-01"
    both = set(f1["session_id"]) & set(f2["session_id"])
    assert len(both) > 100
    assert all(s.startswith("S") for s in both)
    # later file wins per (session_id, goal_id): exactly the generated rows, except the formula cell
    merged = normalise(pd.concat([f1, f2]), t).drop_duplicates(["session_id", "goal_id"], keep="last")
    merged = merged[COLUMNS + ["on_task", "protests"]].sort_values(["session_id", "goal_id"]).reset_index(drop=True)
    expect = as_text(df).sort_values(["session_id", "goal_id"]).reset_index(drop=True)
    assert len(merged) == len(expect)
    diff = merged != expect
    assert diff.drop(columns="team").sum().sum() == 0
    assert diff["team"].sum() == len(t["formula_cells"]) == 1
    assert (merged.loc[diff["team"], "team"] == t["formula_cells"][0]["value"]).all()
    assert t["formula_cells"][0]["value"].startswith("=")
    # corrections: the first file carries the wrong value, the second the final one
    for c in t["corrections"]:
        key1 = f1[(f1["session_id"] == c["session_id"]) & (f1["goal_id"] == c["goal_id"])]
        key2 = f2[(f2["session_id"] == c["session_id"]) & (f2["goal_id"] == c["goal_id"])]
        assert len(key1) == len(key2) == 1, c
        assert key1[c["column"]].iloc[0] == c["first_value"] != c["final_value"] == key2[c["column"]].iloc[0]
    # some spelling variety is present in the raw files
    raw = pd.concat([f1, f2])
    for field, mapping in t["spelling_variants"].items():
        variants = {v for vs in mapping.values() for v in vs}
        assert raw[field].isin(variants).any(), field


def test_engagement_in_files_only_attended_except_malformed(written):
    out, _, t = written
    good = normalise(pd.concat(read_canonical(out, t)), t)
    att = good["attendance"] == "attended"
    assert (good.loc[att, "engagement"] != "").all()
    assert (good.loc[~att, "engagement"] == "").all()
    assert set(good["engagement"]) - {""} <= {"1", "2", "3", "4", "5"}
    assert set(good["gas_level"]) - {""} <= {"-3", "-2", "-1", "0", "1", "2"}
    assert good["session_date"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert (good["child_id"] != "").all()
    # the malformed rows are where truth says, and carry what it says
    raw = {f["_file"].iloc[0]: f for f in read_canonical(out, t, drop_malformed=False)}
    reasons = []
    for m in t["malformed"]:
        row = raw[m["file"]].set_index("_line").loc[m["line"]]
        assert row["session_id"] == m["session_id"]
        reasons.append(m["reason"])
        if m["column"] == "engagement":
            assert row["engagement"] in ("7", "3.5")
        if m["column"] == "gas_level":
            assert row["gas_level"] == "4"
        if m["column"] == "modality":
            assert row["modality"] == "Music Therapy"
        if "before the child's date of birth" in m["reason"]:
            assert row["session_date"] < row["date_of_birth"]
        if m["reason"] == "missing child_id":
            assert row["child_id"] == ""
        if m["reason"] == "exact duplicate row":
            prev = raw[m["file"]].set_index("_line").loc[m["line"] - 1]
            assert prev.drop("_file").equals(row.drop("_file"))
    text = " ".join(reasons)
    for needle in ("Music Therapy", "engagement 7", "gas_level 4", "31/02/2026", "tbc", "missing child_id",
                   "exact duplicate", "before the child's date of birth", "two different child_ids"):
        assert needle in text, needle
    two = [m for m in t["malformed"] if "two different" in m["reason"]]
    assert len(two) == 2 and two[0]["session_id"] == two[1]["session_id"] and two[0]["child_id"] != two[1]["child_id"]


def test_vendor_files(written, gen):
    out, _, t = written
    df, _ = gen
    vdir = out / "vendor"
    csv_path = next(vdir.glob("*.csv"))
    xlsx_path = next(vdir.glob("*.xlsx"))
    raw = csv_path.read_bytes()
    raw.decode("latin-1")
    assert raw.splitlines()[0].decode("latin-1").split(";") == VENDOR_HEADERS
    v = pd.read_csv(csv_path, sep=";", encoding="latin-1", dtype=str, keep_default_na=False)
    assert list(v.columns) == VENDOR_HEADERS and len(v) == len(df) == t["rows"]
    assert v["Date of Service"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    assert v["Client DOB"].str.fullmatch(r"\d{2}/\d{2}/\d{4}").all()
    assert (v["Date of Service"].str.slice(0, 2).astype(int) > 12).any()   # day-first is visible
    assert set(v["Service Type"]) == {"Occupational Therapy", "Speech-Language Pathology", "Play Therapy",
                                      "Cognitive Behavioural Therapy"}
    assert set(v["Session Approach"]) == {"Child Led", "Therapist Directed", "Mixed"}
    assert set(v["Appointment Status"]) == {"Attended", "Cancelled", "Late Cancel", "No Show", "Clinician Cancelled"}
    assert set(v["Location"]) == {"Clinic", "Home Visit", "School", "Telehealth", "Community"}
    assert set(v["Goal Area"]) - {""} <= {d.title() for d in sample.DOMAINS}
    assert v["Client Name"].str.fullmatch(r"Child \d{4}").all()
    assert (v["Client Name"].str.slice(6) == v["Client ID"].str.slice(1)).all()
    assert (v["Appointment ID"] == as_text(df)["session_id"]).all()

    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(xlsx_path))
    assert wb.sheet_names == ["Appointments"]
    rows = wb.get_sheet_by_name("Appointments").to_python()
    assert [str(h) for h in rows[0]] == VENDOR_HEADERS
    assert len(rows) - 1 == len(df)
    first = rows[1]
    assert isinstance(first[VENDOR_HEADERS.index("Date of Service")], (dt.date, dt.datetime))
    assert first[0] == v["Appointment ID"].iloc[0]


def test_single_file_and_cli(tmp_path, capsys):
    rc = sample.main(["--children", "30", "--months", "6", "--seed", "3", "--out", str(tmp_path / "s"),
                      "--end", "2026-06-30", "--single-file"])
    assert rc == 0
    printed = capsys.readouterr().out.strip().splitlines()
    files = list((tmp_path / "s" / "canonical").glob("*.csv"))
    assert [f.name for f in files] == ["export_2026-06.csv"]
    assert len(printed) == 2 and all(line.startswith("wrote ") for line in printed)
    one = pd.read_csv(files[0], dtype=str, keep_default_na=False)
    df, truth = generate(children=30, months=6, seed=3, end=dt.date(2026, 6, 30))
    assert list(one.columns) == COLUMNS + ["on_task", "protests"]
    pd.testing.assert_frame_equal(one, as_text(df).reset_index(drop=True))
    t = json.loads((tmp_path / "s" / "truth.json").read_text())
    assert t["n_malformed_rows"] == 0 and t["n_corrected_rows"] == 0
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", t["end"])
