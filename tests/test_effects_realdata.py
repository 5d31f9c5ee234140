"""Issue 13 items 8 and 9: real children's session series loaded through the product (the CLI
``load`` with a research profile and the catalogue's on_task / disruptive entries), and the
``effects`` command checked against the published definitions computed here, independently,
on the raw values read from ../shared/realdata (never copied into the project):

* NAP (Parker & Vannest 2009): (#B better than A + 0.5 #ties) / (nA nB);
* Tau (Parker, Vannest, Davis & Sauber 2011): (#B better - #B worse) / (nA nB);
* Tau-U, "A vs. B - trend A" (Parker et al. 2011): (S_AB - S_AA) / (nA nB), S_AA Kendall's S of
  the A series against session order;
* PND (Scruggs, Mastropieri & Casto 1987): share of B points better than every A point;
* Tau-BC (Tarlow 2017): Kendall test of the A trend against session order; when p <= .05 the
  Theil-Sen A line (median pairwise slope, intercept median(a - slope t)) is removed from
  both phases; then Kendall's tau-b between the phase dummy and the scores;
* the NAP interval is Newcombe's (2006) Method 5: its bounds are roots of the score polynomial.

"Better" follows the measure's direction: higher for on-task percent, lower for the
disruptive-behaviour counts. Phase A (baseline) = directed, B (intervention) = child-led.
"""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

REPO = Path(__file__).resolve().parent.parent
REAL = Path(os.environ.get("REALDATA_DIR", REPO.parent.parent / "shared" / "realdata"))
if not (REAL / "Schmidt2007.csv").exists():
    REAL = Path("/work/shared/realdata")
SCHMIDT, MCKISSICK = REAL / "Schmidt2007.csv", REAL / "McKissick.csv"
pytestmark = pytest.mark.skipif(not (SCHMIDT.exists() and MCKISSICK.exists()),
                                reason=f"real data not found in {REAL}")

COMMON = """
[values.approach]
directed = ["A"]
child-led = ["B"]
[defaults]
therapist_id = "T-study"
modality = "play"
[derive.session_id]
from = "session_number"
[derive.session_date]
from = "session_number"
start = "2020-01-06"
step_days = 7
"""
SCHMIDT_PROFILE = """
name = "schmidt2007"
extends = "canonical"
[columns]
child_id = ["Case_pseudonym"]
session_number = ["Session_number"]
approach = ["Condition"]
measure = ["Outcome_descriptor"]
value = ["Outcome"]
[values.measure]
on_task = ["On Task Behavior"]
disruptive = ["Disruptive Behavior"]
""" + COMMON
MCKISSICK_PROFILE = """
name = "mckissick"
extends = "canonical"
[columns]
child_id = ["Case_pseudonym"]
session_number = ["Session_number"]
approach = ["Condition"]
[measures]
disruptive = ["Outcome"]
""" + COMMON
MEASURE = {"On Task Behavior": "on_task", "Disruptive Behavior": "disruptive"}
SIGN = {"on_task": 1.0, "disruptive": -1.0}   # measures.toml: on_task higher, disruptive lower is better


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=300)


def raw_series() -> dict[tuple[str, str], list[tuple[int, str, float]]]:
    """(child, measure) -> [(session number, condition, value as printed in the file)], by session."""
    out: dict[tuple[str, str], list] = defaultdict(list)
    for r in csv.DictReader(open(SCHMIDT, newline="", encoding="utf-8")):
        out[(r["Case_pseudonym"], MEASURE[r["Outcome_descriptor"]])].append(
            (int(r["Session_number"]), r["Condition"], float(r["Outcome"])))
    for r in csv.DictReader(open(MCKISSICK, newline="", encoding="utf-8")):
        out[(r["Case_pseudonym"], "disruptive")].append((int(r["Session_number"]), r["Condition"], float(r["Outcome"])))
    return {k: sorted(v) for k, v in out.items()}


def kendall_s(t: np.ndarray, y: np.ndarray) -> float:
    return float(sum(np.sign(t[j] - t[i]) * np.sign(y[j] - y[i]) for i in range(len(y)) for j in range(i + 1, len(y))))


def published(series: list[tuple[int, str, float]], sign: float) -> dict:
    """The definitions, on the raw values; "better" = higher when sign is +1, lower when -1."""
    order = np.arange(1, len(series) + 1, dtype=float)   # session order within the child and measure
    cond = np.array([c for _, c, _ in series])
    y = np.array([v for _, _, v in series])
    a, b, ta, tb = y[cond == "A"], y[cond == "B"], order[cond == "A"], order[cond == "B"]
    m, n = len(a), len(b)
    better = sum(1 for x in a for z in b if sign * (z - x) > 0)
    worse = sum(1 for x in a for z in b if sign * (z - x) < 0)
    ties = m * n - better - worse
    out = {"n_directed": m, "n_child_led": n, "nap": (better + 0.5 * ties) / (m * n), "tau": (better - worse) / (m * n)}
    out["tau_u"] = ((better - worse) - kendall_s(ta, sign * a)) / (m * n)
    out["pnd"] = float(np.mean(b > a.max())) if sign > 0 else float(np.mean(b < a.min()))
    # Tarlow (2017): test the baseline trend, correct when significant, then tau-b with the phase dummy
    sa, sb = a.copy(), b.copy()
    if stats.kendalltau(ta, a).pvalue <= 0.05:
        slopes = [(a[j] - a[i]) / (ta[j] - ta[i]) for i in range(m) for j in range(i + 1, m)]
        slope = float(np.median(slopes))
        intercept = float(np.median(a - slope * ta))
        sa, sb = a - intercept - slope * ta, b - intercept - slope * tb
    out["tau_bc"] = float(stats.kendalltau(np.r_[np.zeros(m), np.ones(n)], sign * np.r_[sa, sb]).statistic)
    return out


def newcombe_poly(x: float, nap: float, m: int, n: int, z: float) -> float:
    """Newcombe (2006) Method 5: m n (NAP - x)^2 (2 - x)(1 + x) - z^2 x(1 - x)(2 + h + (1 + 2h) x(1 - x))."""
    h = (m + n) / 2 - 1
    return m * n * (nap - x) ** 2 * (2 - x) * (1 + x) - z * z * x * (1 - x) * (2 + h + (1 + 2 * h) * x * (1 - x))


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("real")
    (d / "schmidt2007.toml").write_text(SCHMIDT_PROFILE, encoding="utf-8")
    (d / "mckissick.toml").write_text(MCKISSICK_PROFILE, encoding="utf-8")
    db = d / "real.duckdb"
    for src, prof in ((SCHMIDT, "schmidt2007"), (MCKISSICK, "mckissick")):
        r = cli("load", str(src), "--db", str(db), "--profile", str(d / f"{prof}.toml"), "--quiet")
        assert r.returncode == 0, r.stderr
        assert ", 0 rejected" in r.stdout, r.stdout
    return db


def test_every_real_value_loads_unrounded(loaded):
    from pipelines import warehouse

    con = warehouse.connect_reader(loaded)
    try:
        got = con.execute("select child_id, measure, value from observations order by all").fetchall()
    finally:
        con.close()
    want = sorted((c, mid, v) for (c, mid), s in raw_series().items() for _, _, v in s)
    assert len(got) == len(want) == 172 + 35
    assert got == want   # exact floats: nothing rounded or binned


def test_effects_equal_the_published_definitions_in_both_directions(loaded):
    r = cli("effects", "--db", str(loaded), "--json")
    assert r.returncode == 0, r.stderr
    rows = {(x["child_id"], x["measure"]): x for x in json.loads(r.stdout)}
    series = raw_series()
    assert set(rows) == set(series)                       # one row per child per measure
    assert {mid for _, mid in rows} == {"on_task", "disruptive"}
    z = stats.norm.ppf(0.975)
    for key, s in series.items():
        want, got = published(s, SIGN[key[1]]), rows[key]
        assert (got["n_directed"], got["n_child_led"]) == (want["n_directed"], want["n_child_led"]), key
        for k in ("nap", "tau", "tau_u", "pnd", "tau_bc"):
            assert got[k] == pytest.approx(want[k], abs=1e-9), (key, k, got[k], want[k])
        m, n = want["n_directed"], want["n_child_led"]
        lo, hi = got["nap_lo"], got["nap_hi"]
        assert lo <= got["nap"] <= hi, key
        for bound, trivial in ((lo, 1.0), (hi, 0.0)):
            if bound != trivial and not (got["nap"] in (0.0, 1.0)):
                assert abs(newcombe_poly(bound, got["nap"], m, n, z)) < 1e-7 * m * n, (key, bound)


def test_the_direction_is_what_makes_the_disruptive_effect_positive(loaded):
    """The intervention reduced disruptive behaviour in the published series: with lower =
    better the effects are positive (NAP above 0.5); on-task rose, also positive."""
    r = cli("effects", "--db", str(loaded), "--json", "--measure", "disruptive")
    rows = json.loads(r.stdout)
    assert {x["measure"] for x in rows} == {"disruptive"} and len(rows) == 6
    assert all(x["nap"] > 0.5 and x["tau"] > 0 for x in rows), rows
    r = cli("effects", "--db", str(loaded), "--measure", "on_task")
    lines = r.stdout.splitlines()
    assert lines[0].split("\t") == ["child_id", "measure", "n_child_led", "n_directed", "nap", "nap_lo", "nap_hi",
                                    "tau", "tau_u", "pnd", "tau_bc"]
    assert [ln.split("\t")[:2] for ln in lines[1:]] == [["Albert", "on_task"], ["Faith", "on_task"],
                                                         ["Lilly", "on_task"]]


@pytest.mark.parametrize("measure, message", [
    ("xyz", "measure 'xyz' is not in the catalogue (measures.toml)"),
    ("gas", "measure 'gas' is a goal-level measure"),
])
def test_effects_of_a_measure_it_cannot_compare_is_one_line(loaded, measure, message):
    r = cli("effects", "--db", str(loaded), "--measure", measure)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("error: ") and message in r.stderr and "Traceback" not in r.stderr


def test_effects_on_a_warehouse_of_an_earlier_version_says_to_rebuild(tmp_path):
    from test_migration import legacy_copy

    db = legacy_copy(tmp_path / "old")
    r = cli("effects", "--db", str(db))
    assert r.returncode == 1 and r.stdout == "" and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: ") and f"python -m pipelines rebuild --db {db}" in r.stderr
