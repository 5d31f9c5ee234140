"""A deterministic, seeded synthetic practice: canonical (and vendor) exports plus a truth file.

Longer than 500 lines because the practice model (``_build``) and the writers of its export
formats are still one module; they are to be split into ``pipelines/sample/`` (the practice
model and the writers) by issue 12, item 7.

``generate()`` builds the canonical export rows of a practice of ``children`` children over
``months`` months ending on ``end``, with planted patterns the analytics should find
(declining engagement, stalled goals, drop-outs, low attendance, rating gaps, reliable change
on standardised measures, a child-led engagement effect of known size). Everything is
vectorised with numpy/pyarrow (no loop per session), so 50,000 children (~2M rows) take
seconds. The same seed gives byte-identical files.

``write_sample()`` writes the files: the canonical export as two overlapping monthly exports
with corrections, malformed rows and spelling variety (``split=True``), or one clean file;
the vendor format as an .xlsx ("Appointments" sheet) and a semicolon Latin-1 CSV; and
``truth.json`` describing what was planted.

    python -m pipelines.sample --children 150 --months 12 --seed 7 --out data/sample --format both
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

COLUMNS = [
    "session_id", "child_id", "therapist_id", "team", "session_date", "modality", "approach",
    "date_of_birth", "attendance", "duration_min", "setting", "engagement", "goal_id",
    "goal_domain", "gas_level", "goal_weight", "measure", "measure_score",
]

TEAMS = ("North", "South", "East")
MODALITIES = ("CBT", "OT", "speech", "play")
CBT, OT, SPEECH, PLAY = range(4)
# specialisms of therapists by position (cycled for larger practices); every modality is
# offered in every team
SPECS = (
    (SPEECH,), (OT,), (CBT,), (PLAY, OT),                 # North  T01-T04
    (SPEECH, PLAY), (OT,), (CBT,), (SPEECH,),             # South  T05-T08
    (OT, SPEECH), (PLAY,), (CBT, PLAY), (CBT,),           # East   T09-T12
)
APPROACHES = ("child-led", "directed", "mixed")
ATTENDANCE = ("attended", "cancelled", "late-cancelled", "no-show", "clinician-cancelled")
SETTINGS = ("clinic", "home", "school", "telehealth", "community")
DOMAINS = ("communication", "motor", "self-care", "emotional regulation", "social", "play",
           "cognition", "behaviour", "feeding", "sensory")
# goal domains by modality: (domain names, probabilities)
MODALITY_DOMAINS = {
    CBT: (("emotional regulation", "behaviour", "social", "cognition"), (0.5, 0.2, 0.2, 0.1)),
    OT: (("motor", "self-care", "sensory", "feeding"), (0.4, 0.3, 0.2, 0.1)),
    SPEECH: (("communication", "feeding", "social"), (0.75, 0.1, 0.15)),
    PLAY: (("social", "play", "emotional regulation", "behaviour"), (0.35, 0.35, 0.2, 0.1)),
}
# standardised measures (reference/measures.csv); rci = 1.96 * sqrt(2) * SD * sqrt(1 - r)
MEASURES = {
    "SCAS-P": {"sd": 17.0, "reliability": 0.89, "higher_is_better": False, "lo": 0.0, "hi": 114.0, "decimals": 0},
    "COPM-P": {"sd": 1.4, "reliability": 0.84, "higher_is_better": True, "lo": 1.0, "hi": 10.0, "decimals": 1},
}
MEASURE_NAMES = ("SCAS-P", "COPM-P")

CHILD_LED_EFFECT_MEAN = 0.6
CHILD_LED_EFFECT_SD = 0.4

# planted groups (disjoint) and their share of children
NONE, DECLINE, STALL, DROPOUT, LOWATT, GAP, DISCHARGED = range(7)
GROUP_SHARES = ((DECLINE, 0.08), (STALL, 0.08), (DROPOUT, 0.05), (LOWATT, 0.06), (GAP, 0.05),
                (DISCHARGED, 0.03))

# spelling variety accepted by profiles/canonical.toml, applied to a small share of sessions
SPELLING_VARIANTS = {
    "modality": {"OT": ["Occupational Therapy"], "speech": ["SLP", "Speech-Language"],
                 "play": ["Play Therapy"], "CBT": ["Cognitive Behavioural Therapy"]},
    "approach": {"child-led": ["child led"], "directed": ["therapist-directed", "adult-led"]},
    "attendance": {"no-show": ["No Show"], "late-cancelled": ["Late Cancel"]},
}
VARIANT_SHARE = 0.03

VENDOR_HEADERS = {
    "session_id": "Appointment ID", "child_id": "Client ID", "client_name": "Client Name",
    "therapist_id": "Clinician", "team": "Team", "session_date": "Date of Service",
    "modality": "Service Type", "approach": "Session Approach", "date_of_birth": "Client DOB",
    "attendance": "Appointment Status", "duration_min": "Duration (mins)", "setting": "Location",
    "engagement": "Engagement Rating", "goal_id": "Goal Ref", "goal_domain": "Goal Area",
    "gas_level": "GAS Score", "goal_weight": "Goal Weighting", "measure": "Outcome Measure",
    "measure_score": "Outcome Score",
}
VENDOR_VALUES = {
    "modality": {"OT": "Occupational Therapy", "speech": "Speech-Language Pathology",
                 "play": "Play Therapy", "CBT": "Cognitive Behavioural Therapy"},
    "approach": {"child-led": "Child Led", "directed": "Therapist Directed", "mixed": "Mixed"},
    "attendance": {"attended": "Attended", "cancelled": "Cancelled", "late-cancelled": "Late Cancel",
                   "no-show": "No Show", "clinician-cancelled": "Clinician Cancelled"},
    "setting": {"clinic": "Clinic", "home": "Home Visit", "school": "School",
                "telehealth": "Telehealth", "community": "Community"},
}
EXCEL_MAX_ROWS = 1_048_576
FORMULA_TEXT = "=cmd|' /C calc'!A0"

_EPOCH = np.datetime64("1970-01-01", "D")


# ----------------------------------------------------------------------------- helpers

def _days(d: dt.date) -> int:
    return int((np.datetime64(d, "D") - _EPOCH).astype(np.int64))


def _iso(days: int) -> str:
    return str(_EPOCH + np.timedelta64(int(days), "D"))


def _month_start(end: dt.date, months: int) -> dt.date:
    idx = end.year * 12 + (end.month - 1) - (months - 1)
    return dt.date(idx // 12, idx % 12 + 1, 1)


def _month_end(first: dt.date) -> dt.date:
    nxt = dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def _month_day(days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    return m.astype(np.int64) % 12 + 1, (d - m.astype("datetime64[D]")).astype(np.int64) + 1


def _choice_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of a (n, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def _starts(keys: np.ndarray) -> np.ndarray:
    """Index of the first element of each element's run (keys sorted)."""
    n = len(keys)
    first = np.ones(n, bool)
    first[1:] = keys[1:] != keys[:-1]
    return np.maximum.accumulate(np.where(first, np.arange(n), 0))


def _cumcount(keys: np.ndarray) -> np.ndarray:
    return np.arange(len(keys)) - _starts(keys)


def _group_last(keys: np.ndarray) -> np.ndarray:
    n = len(keys)
    last = np.ones(n, bool)
    last[:-1] = keys[1:] != keys[:-1]
    return last


def _rand_rank(rng: np.random.Generator, idx: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """idx shuffled within groups of keys[idx] (grouped by key) and each element's rank there."""
    order = np.lexsort((rng.random(len(idx)), keys[idx]))
    s = idx[order]
    return s, _cumcount(keys[s])


def _mann_kendall(child: np.ndarray, values: np.ndarray, days: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-child Mann-Kendall n, Z (no continuity correction), Z (continuity corrected) and
    Theil-Sen slope (per day).

    child is sorted (rows in time order within child); returns arrays over unique children.
    """
    uniq, inv = np.unique(child, return_inverse=True)
    pos = _cumcount(inv)
    k = int(pos.max()) + 1 if len(pos) else 1
    x = np.full((len(uniq), k), np.nan)
    x[inv, pos] = values
    d = np.zeros((len(uniq), k))
    d[inv, pos] = days
    valid = ~np.isnan(x)
    s = np.zeros(len(uniq))
    slopes = []
    for i in range(k):
        for j in range(i + 1, k):
            both = valid[:, i] & valid[:, j] & (d[:, j] != d[:, i])
            diff = np.nan_to_num(x[:, j] - x[:, i])
            s += np.where(both, np.sign(diff), 0.0)
            slopes.append(np.where(both, diff / np.where(both, d[:, j] - d[:, i], 1), np.nan))
    if slopes:
        sl = np.stack(slopes, axis=1)
        has = ~np.isnan(sl).all(axis=1)
        slope = np.zeros(len(uniq))
        slope[has] = np.nanmedian(sl[has], axis=1)
    else:
        slope = np.zeros(len(uniq))
    n = valid.sum(axis=1).astype(float)
    ties = np.zeros(len(uniq))
    for v in np.unique(values):
        c = (x == v).sum(axis=1).astype(float)
        ties += c * (c - 1) * (2 * c + 5)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    sd = np.sqrt(np.where(var > 0, var, np.inf))
    return uniq, n, s / sd, (s - np.sign(s)) / sd, slope


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    txt = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, txt, "")


def _take(values, idx: np.ndarray) -> pa.Array:
    """values[idx] as an arrow array; idx < 0 gives null."""
    arr = values if isinstance(values, pa.Array) else pa.array(values)
    mask = idx < 0
    return arr.take(pa.array(np.where(mask, 0, idx), mask=mask))


def _int_col(values: np.ndarray, null: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.int64), pa.int64(), mask=null)


# ----------------------------------------------------------------------------- generator

def _build(children: int, months: int, seed: int, end: dt.date) -> tuple[pa.Table, dict]:
    if children < 1:
        raise ValueError("children must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    rng = np.random.default_rng(seed)
    N = int(children)
    end_d = _days(end)
    start_date = _month_start(end, months)
    ws = _days(start_date)
    span = end_d - ws + 1
    ar = np.arange(N)

    # --- children -------------------------------------------------------------------
    age_w = np.array([3, 6, 8, 9, 9, 9, 8, 8, 7, 6, 6, 5, 5, 4, 3, 3, 2], float)
    age = rng.choice(np.arange(1, 18), size=N, p=age_w / age_w.sum())
    dob = ws - np.round((age + rng.uniform(0.03, 0.97, N)) * 365.25).astype(np.int64)
    bracket = np.select([age <= 3, age <= 7, age <= 12], [0, 1, 2], 3)
    mod_p = np.array([[0.00, 0.25, 0.60, 0.15],     # CBT, OT, speech, play by age bracket
                      [0.05, 0.30, 0.35, 0.30],
                      [0.45, 0.20, 0.12, 0.23],
                      [0.80, 0.10, 0.05, 0.05]])
    mod = _choice_rows(rng, mod_p[bracket])

    n_ther = max(12, int(round(N / 12)))
    t_width = max(2, len(str(n_ther)))
    ther_team = (np.arange(n_ther) * 3) // n_ther
    ther_specs = [SPECS[i % len(SPECS)] for i in range(n_ther)]
    ther = np.zeros(N, np.int64)
    for m in range(4):
        offering = np.array([i for i, sp in enumerate(ther_specs) if m in sp])
        sel = np.flatnonzero(mod == m)
        ther[sel] = offering[rng.integers(0, len(offering), len(sel))]
    team = ther_team[ther]

    # --- planted groups (disjoint) ----------------------------------------------------
    grp = np.full(N, NONE)
    perm = rng.permutation(N)
    at = 0
    for g, share in GROUP_SHARES:
        k = min(int(math.floor(share * N + 0.5)), N - at)
        grp[perm[at:at + k]] = g
        at += k

    # --- tenure ----------------------------------------------------------------------
    pre = rng.random(N) < 0.45
    cstart = np.where(pre, ws - rng.integers(7, 281, N),
                      ws + (rng.random(N) * max(span - 21, 1)).astype(np.int64))
    ce = np.full(N, end_d, np.int64)
    dlo, dhi = ws + 16 * 7, end_d - 8 * 7
    dlo = min(dlo, dhi)
    disc = grp == DISCHARGED
    ce[disc] = rng.integers(dlo, dhi + 1, disc.sum())
    drop = grp == DROPOUT
    ce[drop] = end_d - rng.integers(35, 61, drop.sum())
    limit = np.full(N, np.iinfo(np.int64).max)
    limit[np.isin(grp, (DECLINE, STALL, LOWATT))] = end_d - 20 * 7
    limit[grp == GAP] = end_d - 26 * 7
    limit[drop] = ce[drop] - 12 * 7
    limit[disc] = ce[disc] - 16 * 7
    late = cstart > limit
    cstart[late] = limit[late] - rng.integers(0, 57, late.sum())
    weekly = rng.random(N) < 0.7
    weekly[np.isin(grp, (DECLINE, STALL, LOWATT, GAP))] = True
    wday = rng.integers(0, 5, N)
    phase = rng.integers(0, 2, N)

    # --- scheduled sessions: child x week grid --------------------------------------
    week0 = ws - (ws + 3) % 7                      # Monday on or before the window start
    W = (end_d - week0) // 7 + 1
    wk = np.arange(W)
    grid = (week0 + 7 * wk[None, :] + wday[:, None]).astype(np.int64)
    first_day = np.maximum(cstart, ws)
    ok = (grid >= first_day[:, None]) & (grid <= ce[:, None])
    ok &= weekly[:, None] | (((wk[None, :] + phase[:, None]) % 2) == 0)
    ci, wi = np.nonzero(ok)
    sd = grid[ci, wi]
    del grid, ok
    n = len(ci)
    resched = rng.random(n) < 0.08
    nd = week0 + 7 * wi + rng.integers(0, 5, n)
    resched &= (nd >= first_day[ci]) & (nd <= ce[ci])
    sd = np.where(resched, nd, sd)
    g_s = grp[ci]
    first_row = _cumcount(ci) == 0
    last_row = _group_last(ci)
    rev = np.zeros(n, np.int64)                    # sessions remaining after this one
    rev[::-1] = _cumcount(ci[::-1])

    # --- attendance ------------------------------------------------------------------
    month, day = _month_day(sd)
    holiday = ((month == 12) & (day >= 20)) | ((month == 1) & (day <= 3))
    cluster = rng.random(N) < 0.25
    base = np.where(cluster, rng.beta(3, 14, N), rng.beta(2, 30, N))
    n_ep = rng.poisson(np.where(cluster, 1.2, 0.2))
    ep_child = np.repeat(ar, n_ep)
    ep_start = rng.integers(0, W, len(ep_child))
    ep_len = rng.integers(2, 5, len(ep_child))
    episode = np.zeros((N, W), np.float32)
    for off in range(4):
        m = off < ep_len
        w = ep_start[m] + off
        keep = w < W
        episode[ep_child[m][keep], w[keep]] = 0.7
    p_miss = base[ci] + 0.35 * holiday + 0.15 * (month == 8) + episode[ci, wi]
    del episode
    win8 = sd > end_d - 56
    p_miss = np.where(win8 & (g_s == LOWATT), 0.6, p_miss)
    p_miss = np.where((g_s == DROPOUT) & (rev < 3), 0.6, p_miss)
    miss = rng.random(n) < np.clip(p_miss, 0, 0.95)
    miss[first_row] = False                        # intake is attended

    # last 8 weeks: everyone not planted keeps >= 80% attendance
    normal = ~np.isin(g_s, (LOWATT, DROPOUT, DISCHARGED))
    nsched = np.bincount(ci[win8], minlength=N)
    allowed = np.floor(0.2 * nsched).astype(np.int64)
    s_idx, rank = _rand_rank(rng, np.flatnonzero(win8 & normal & miss), ci)
    miss[s_idx[rank >= allowed[ci[s_idx]]]] = False
    # low attendance: under 60% in the last 8 weeks, but the last session attended
    low_win = win8 & (g_s == LOWATT)
    miss[low_win & last_row] = False
    max_att = np.ceil(0.6 * nsched).astype(np.int64) - 1
    s_idx, rank = _rand_rank(rng, np.flatnonzero(low_win & ~miss & ~last_row), ci)
    miss[s_idx[rank >= (max_att[ci[s_idx]] - 1)]] = True
    att = ~miss

    miss_p = np.array([0.42, 0.18, 0.28, 0.12])
    miss_p_hol = np.array([0.30, 0.10, 0.20, 0.40])
    mtype = _choice_rows(rng, np.where(holiday[:, None], miss_p_hol, miss_p)) + 1
    att_code = np.where(att, 0, mtype)

    # --- approach, duration, setting -------------------------------------------------
    app_p = rng.dirichlet([2.0, 2.0, 1.0], N)
    app = _choice_rows(rng, app_p[ci])
    dur_opts = {CBT: ([50, 60], [0.7, 0.3]), OT: ([45, 60], [0.6, 0.4]),
                SPEECH: ([30, 45], [0.6, 0.4]), PLAY: ([45, 50], [0.5, 0.5])}
    std_dur = np.zeros(N, np.int64)
    for m, (vals, p) in dur_opts.items():
        sel = np.flatnonzero(mod == m)
        std_dur[sel] = rng.choice(vals, size=len(sel), p=p)
    dur = np.where(rng.random(n) < 0.9, std_dur[ci], rng.choice([30, 45, 50, 60], size=n))
    set_p = {CBT: [0.50, 0.05, 0.10, 0.30, 0.05], OT: [0.55, 0.15, 0.20, 0.05, 0.05],
             SPEECH: [0.50, 0.10, 0.20, 0.15, 0.05], PLAY: [0.60, 0.10, 0.15, 0.05, 0.10]}
    main_set = _choice_rows(rng, np.array([set_p[m] for m in range(4)])[mod])
    other = (main_set[ci] + rng.integers(1, 5, n)) % 5
    setting = np.where(rng.random(n) < 0.88, main_set[ci], other)

    # --- engagement ------------------------------------------------------------------
    declining = grp == DECLINE
    eng_base = np.clip(rng.normal(3.0, 0.35, N), 2.3, 3.6)
    eng_base[declining] = np.clip(rng.normal(3.8, 0.2, declining.sum()), 3.5, 4.1)
    effect = rng.normal(CHILD_LED_EFFECT_MEAN, CHILD_LED_EFFECT_SD, N)
    decline_from = end_d - rng.integers(56, 71, N)
    drop_size = rng.uniform(2.2, 2.6, N)
    frac = np.clip((sd - decline_from[ci]) / (end_d - decline_from[ci]), 0, 1)
    fixed = (eng_base[ci] + effect[ci] * ((app == 0) + 0.5 * (app == 2))
             - np.where(g_s == DECLINE, drop_size[ci] * frac, 0.0))
    noise = rng.normal(0, 0.45, n)
    eng = np.clip(np.rint(fixed + noise), 1, 5)
    # the trend window: last 8 weeks before `end` (or before the last session of children
    # who left). Decliners must show a significant fall (Mann-Kendall, continuity corrected,
    # two-sided p < .05, Theil-Sen slope under -0.1 a week), nobody else may come near one (uncorrected z > -1.4): noise is
    # redrawn for the children that miss, and as a last resort their window is sorted.
    last_sd = np.full(N, -1, np.int64)
    last_sd[ci[last_row]] = sd[last_row]
    anchor = np.where(ce == end_d, end_d, last_sd)
    rows = np.flatnonzero((sd > anchor[ci] - 56) & att)
    for it in range(101):                          # after the first pass only misses are re-checked
        uniq, cnt, z, zcc, slope = _mann_kendall(ci[rows], eng[rows], sd[rows])
        bad = np.where(declining[uniq], (cnt >= 5) & ((zcc > -1.96) | (slope * 7 > -0.1)),
                       (cnt >= 3) & (z < -1.4))
        if not bad.any():
            break
        redo = rows[np.isin(ci[rows], uniq[bad])]
        if it < 100:
            eng[redo] = np.clip(np.rint(fixed[redo] + rng.normal(0, 0.45, len(redo))), 1, 5)
        else:
            sign = np.where(declining[ci[redo]], -1, 1)
            o = np.lexsort((sign * eng[redo], ci[redo]))
            eng[redo] = eng[redo][o]
        rows = redo

    # --- goals -----------------------------------------------------------------------
    ng = rng.choice([2, 3, 4], size=N, p=[0.35, 0.4, 0.25])
    G = int(ng.sum())
    gc = np.repeat(ar, ng)
    goff = np.concatenate([[0], np.cumsum(ng)[:-1]])
    gj = np.arange(G) - goff[gc]
    is_last = gj == ng[gc] - 1
    L0 = np.where(rng.random(G) < 0.75, -2, -1)
    F = rng.choice([0, 1, 2], size=G, p=[0.3, 0.45, 0.25])
    steps = F - L0
    step_days = rng.uniform(35, 63, G)             # one GAS level per 5-9 weeks
    g_dur = steps * step_days
    gs = np.where(cstart[gc] < ws, np.maximum(cstart[gc], ws - rng.uniform(0, 0.6, G) * g_dur), cstart[gc])
    progress = np.where(disc[gc], rng.uniform(1.05, 1.3, G), rng.uniform(0.75, 0.95, G))
    gs_last = np.maximum(cstart[gc], ce[gc] - g_dur * progress)
    # rating-gap children: the last goal is set 6+ weeks before the ratings stop (so it is
    # rated a few times) and still open when they stop
    gap_cut = end_d - rng.integers(65, 96, N)
    gl = (grp[gc] == GAP) & is_last
    L0[gl] = -2
    steps = F - L0
    g_dur = steps * step_days
    gs_last[gl] = np.maximum(cstart[gc][gl], gap_cut[gc][gl] - np.maximum(g_dur[gl] * rng.uniform(0.6, 0.85, gl.sum()), 42))
    gs = np.where(is_last, gs_last, gs).astype(float)
    # discharged children achieve all their goals before leaving
    fix = disc[gc] & ~is_last & (gs + g_dur > ce[gc] - 7)
    step_days[fix] = np.maximum(14, (ce[gc][fix] - 7 - gs[fix]) / steps[fix] * rng.uniform(0.8, 0.95, fix.sum()))
    # stalled goals: no change from their last rating before `stall_from` (16-22 weeks before
    # the end) on, while still being rated (the freeze date is set once ratings are known)
    freeze = np.full(G, np.inf)
    stall_from = end_d - rng.integers(16 * 7, 22 * 7 + 1, N)
    stall_last = (grp[gc] == STALL) & is_last
    stall_first = (grp[gc] == STALL) & (gj == 0) & ~is_last & (rng.random(G) < 0.5)
    stalled_goal = stall_last | stall_first
    # a stall is a concern: frozen below the expected level (at -2 or -1)
    L0[stalled_goal] = -2
    gs[stalled_goal] = np.maximum(cstart[gc][stalled_goal],
                                  stall_from[gc][stalled_goal] - rng.uniform(0.3, 1.9, stalled_goal.sum()) * step_days[stalled_goal])
    g_domain = np.zeros(G, np.int64)
    for m, (names, p) in MODALITY_DOMAINS.items():
        sel = np.flatnonzero(mod[gc] == m)
        g_domain[sel] = np.array([DOMAINS.index(x) for x in names])[rng.choice(len(names), size=len(sel), p=p)]
    g_weight = rng.choice([1, 2, 3], size=G, p=[0.75, 0.18, 0.07])

    # --- rating sessions -------------------------------------------------------------
    k_weekly = rng.choice([2, 3, 4], size=N, p=[0.35, 0.4, 0.25])
    k_fort = rng.choice([2, 3], size=N, p=[0.6, 0.4])
    k = np.where(weekly, k_weekly, k_fort)
    k[np.isin(grp, (STALL, GAP))] = 2
    # attended index within child: cumulative count of attended rows minus those before the child
    cs = np.cumsum(att)
    a_idx = cs - (cs[_starts(ci)] - att[_starts(ci)]) - 1
    rating = att & (a_idx % k[ci] == 0)
    rating &= ~((g_s == GAP) & (sd > gap_cut[ci]))
    att_rows = np.flatnonzero(att)
    last_att = np.full(N, -1, np.int64)
    last_att[ci[att_rows]] = att_rows              # last write wins: rows are in time order
    last_rating = np.full(N, -1, np.int64)
    r_rows = np.flatnonzero(rating)
    last_rating[ci[r_rows]] = sd[r_rows]
    force = (grp != GAP) & (last_att >= 0) & (
        (last_rating < end_d - 21) | np.isin(grp, (DROPOUT, DISCHARGED)))
    rating[last_att[force]] = True

    # --- goal ratings: (rating session, active goal) pairs ---------------------------
    r_rows = np.flatnonzero(rating)
    p_sess = np.repeat(r_rows, ng[ci[r_rows]])
    p_goal = goff[ci[p_sess]] + _cumcount(p_sess)
    t = sd[p_sess]
    keep = t >= gs[p_goal]
    p_sess, p_goal, t = p_sess[keep], p_goal[keep], t[keep]
    sg = stalled_goal[p_goal]
    before = sg & (t <= stall_from[gc[p_goal]])
    latest = np.full(G, -np.inf)
    np.maximum.at(latest, p_goal[before], t[before])
    earliest = np.full(G, np.inf)
    np.minimum.at(earliest, p_goal[sg], t[sg])
    freeze[stalled_goal] = np.where(np.isfinite(latest), latest, earliest)[stalled_goal]
    lvl = L0[p_goal] + np.floor((np.minimum(t, freeze[p_goal]) - gs[p_goal]) / step_days[p_goal]).astype(np.int64)
    lvl = np.minimum(lvl, F[p_goal])
    # a goal is rated until the first rating at its final level (achieved, then closed)
    first_at_F = np.full(G, np.iinfo(np.int64).max)
    at_F = lvl == F[p_goal]
    np.minimum.at(first_at_F, p_goal[at_F], t[at_F])
    keep = t <= first_at_F[p_goal]
    p_sess, p_goal, t, lvl = p_sess[keep], p_goal[keep], t[keep], lvl[keep]
    # occasional deterioration below baseline (-3), long before the end, never on stalled goals
    dip = (lvl == -2) & (t < end_d - 140) & ~stalled_goal[p_goal] & (rng.random(len(lvl)) < 0.04)
    lvl = np.where(dip, -3, lvl)

    # --- standardised measures -------------------------------------------------------
    m_code = np.full(N, -1)
    m_code[mod == CBT] = 0
    m_code[(mod == OT) & (rng.random(N) < 0.5)] = 1
    m_code[(mod == PLAY) & (age >= 6) & (rng.random(N) < 0.2)] = 0
    measured = m_code >= 0
    first_att = np.full(N, -1, np.int64)
    first_att[ci[att_rows[::-1]]] = sd[att_rows[::-1]]
    mrows = att_rows[measured[ci[att_rows]]]
    q = (sd[mrows] - first_att[ci[mrows]]) // 91
    newq = np.ones(len(mrows), bool)
    newq[1:] = (ci[mrows][1:] != ci[mrows][:-1]) | (q[1:] != q[:-1])
    mrows = mrows[newq]                            # first attended session of each quarter
    m_first = np.full(N, -1, np.int64)
    m_first[ci[mrows[::-1]]] = sd[mrows[::-1]]
    m_last = np.full(N, -1, np.int64)
    m_last[ci[mrows]] = sd[mrows]
    m_count = np.bincount(ci[mrows], minlength=N)
    eligible = np.flatnonzero(measured & (grp == NONE) & (first_day <= end_d - 26 * 7) & (m_count >= 2))
    n_det = min(len(eligible), max(1, int(math.floor(0.03 * N + 0.5))))
    det = np.zeros(N, bool)
    if n_det:
        det[rng.choice(eligible, size=n_det, replace=False)] = True
    imp = measured & ~det & (rng.random(N) < 0.5)
    rci = np.array([1.96 * math.sqrt(2) * MEASURES[mn]["sd"] * math.sqrt(1 - MEASURES[mn]["reliability"])
                    for mn in MEASURE_NAMES])
    bad_sign = np.array([-1.0 if MEASURES[mn]["higher_is_better"] else 1.0 for mn in MEASURE_NAMES])
    mc = np.maximum(m_code, 0)
    delta = np.where(det, rng.uniform(1.3, 1.8, N), np.where(imp, -rng.uniform(1.2, 2.0, N),
                                                             rng.uniform(-0.5, 0.5, N))) * rci[mc] * bad_sign[mc]
    scas_base = np.where(det, rng.normal(38, 8, N), np.where(imp, rng.normal(48, 9, N), rng.normal(40, 10, N)))
    scas_base = np.clip(scas_base, np.where(imp, 38, 15), np.where(det, 70, 80))
    copm_base = np.where(det, rng.normal(5.8, 0.5, N), np.where(imp, rng.normal(4.0, 0.7, N), rng.normal(4.5, 1.0, N)))
    copm_base = np.clip(copm_base, np.where(det, 5.0, 2.0), np.where(det, 7.0, np.where(imp, 6.0, 8.0)))
    m_base = np.where(m_code == 0, scas_base, copm_base)
    mchild = ci[mrows]
    span_m = np.maximum(m_last[mchild] - m_first[mchild], 1)
    mfrac = (sd[mrows] - m_first[mchild]) / span_m
    inner = (sd[mrows] != m_first[mchild]) & (sd[mrows] != m_last[mchild])
    err_sd = np.array([MEASURES[mn]["sd"] * math.sqrt(1 - MEASURES[mn]["reliability"]) for mn in MEASURE_NAMES])
    score = m_base[mchild] + delta[mchild] * mfrac + inner * rng.normal(0, 0.5, len(mrows)) * err_sd[mc[mchild]]
    lo = np.array([MEASURES[mn]["lo"] for mn in MEASURE_NAMES])[mc[mchild]]
    hi = np.array([MEASURES[mn]["hi"] for mn in MEASURE_NAMES])[mc[mchild]]
    score = np.clip(score, lo, hi)
    score = np.where(m_code[mchild] == 0, np.round(score), np.round(score, 1))
    measure_of_session = np.full(n, -1)
    measure_of_session[mrows] = m_code[mchild]
    score_of_session = np.full(n, np.nan)
    score_of_session[mrows] = score

    # --- assemble rows ---------------------------------------------------------------
    order = np.lexsort((ci, sd))                   # session ids in date order
    sid_num = np.empty(n, np.int64)
    sid_num[order] = np.arange(1, n + 1)
    has_pair = np.bincount(p_sess, minlength=n) > 0
    lone = np.flatnonzero(~has_pair)
    row_sess = np.concatenate([lone, p_sess])
    row_goal = np.concatenate([np.full(len(lone), -1), p_goal])
    row_lvl = np.concatenate([np.zeros(len(lone), np.int64), lvl])
    ro = np.lexsort((np.where(row_goal < 0, -1, gj[np.maximum(row_goal, 0)]), sid_num[row_sess]))
    row_sess, row_goal, row_lvl = row_sess[ro], row_goal[ro], row_lvl[ro]
    first_of_sess = np.ones(len(row_sess), bool)
    first_of_sess[1:] = row_sess[1:] != row_sess[:-1]
    R = len(row_sess)

    c_width = max(4, len(str(N)))
    s_width = max(6, len(str(n)))
    child_ids = _ids("C", ar + 1, c_width)
    ther_ids = _ids("T", np.arange(n_ther) + 1, t_width)
    goal_ids = pc.binary_join_element_wise(_ids("G", gc + 1, c_width), pc.cast(pa.array(gj + 1), pa.string()), "-")
    rc = ci[row_sess]
    r_att = att[row_sess]
    no_goal = row_goal < 0
    gidx = np.where(no_goal, -1, row_goal)
    r_meas = np.where(first_of_sess, measure_of_session[row_sess], -1)
    r_score = np.where(first_of_sess, score_of_session[row_sess], np.nan)
    table = pa.table({
        "session_id": _ids("S", sid_num[row_sess], s_width),
        "child_id": _take(child_ids, rc),
        "therapist_id": _take(ther_ids, ther[rc]),
        "team": _take(list(TEAMS), team[rc]),
        "session_date": pa.array(sd[row_sess].astype(np.int32), pa.date32()),
        "modality": _take(list(MODALITIES), mod[rc]),
        "approach": _take(list(APPROACHES), app[row_sess]),
        "date_of_birth": pa.array(dob[rc].astype(np.int32), pa.date32()),
        "attendance": _take(list(ATTENDANCE), att_code[row_sess]),
        "duration_min": _int_col(dur[row_sess], ~r_att),
        "setting": _take(list(SETTINGS), setting[row_sess]),
        "engagement": _int_col(eng[row_sess], ~r_att),
        "goal_id": _take(goal_ids, gidx),
        "goal_domain": _take(list(DOMAINS), np.where(no_goal, -1, g_domain[np.maximum(row_goal, 0)])),
        "gas_level": _int_col(row_lvl, no_goal),
        "goal_weight": _int_col(g_weight[np.maximum(row_goal, 0)], no_goal),
        "measure": _take(list(MEASURE_NAMES), r_meas),
        "measure_score": pa.array(r_score, pa.float64(), mask=np.isnan(r_score)),
    })

    # --- truth -----------------------------------------------------------------------
    cid = child_ids.to_pylist()
    has_rows = np.bincount(ci, minlength=N) > 0

    def ids(mask: np.ndarray) -> list[str]:
        return [cid[i] for i in np.flatnonzero(mask & has_rows)]

    gid = goal_ids.to_pylist()
    # a stalled goal counts when it stayed flat for 12+ weeks, 3+ ratings, still rated lately
    after = stalled_goal[p_goal] & (t >= freeze[p_goal])
    n_after = np.bincount(p_goal[after], minlength=G)
    last_t = np.full(G, -np.inf)
    np.maximum.at(last_t, p_goal[after], t[after])
    stall_ok = stalled_goal & (n_after >= 3) & (last_t >= end_d - 56) & (last_t - freeze >= 84)
    stalled_goals: dict[str, list[str]] = {}
    stalled_since: dict[str, int] = {}
    for g in np.flatnonzero(stall_ok):
        c = cid[gc[g]]
        stalled_goals.setdefault(c, []).append(gid[g])
        stalled_since[c] = min(stalled_since.get(c, int(freeze[g])), int(freeze[g]))
    m_change = np.full(N, np.nan)
    first_score = np.full(N, np.nan)
    last_score = np.full(N, np.nan)
    first_score[mchild[::-1]] = score[::-1]
    last_score[mchild] = score
    two = m_count >= 2
    m_change[two] = (last_score[two] - first_score[two]) * bad_sign[mc[two]]   # > 0 = worse
    rel_det = two & (m_change > rci[mc])
    rel_imp = two & (m_change < -rci[mc])
    truth = {
        "seed": int(seed),
        "children": N,
        "months": int(months),
        "start": start_date.isoformat(),
        "end": end.isoformat(),
        "rows": R,
        "sessions": n,
        "children_with_sessions": int(has_rows.sum()),
        "therapists": n_ther,
        "teams": list(TEAMS),
        "child_led_effect_mean": CHILD_LED_EFFECT_MEAN,
        "child_led_effect_sd": CHILD_LED_EFFECT_SD,
        "child_led_effect_sample_mean": round(float(effect[has_rows].mean()), 4),
        "child_led_effect": {cid[i]: round(float(effect[i]), 4) for i in np.flatnonzero(has_rows)},
        "declining": ids(grp == DECLINE),
        "declining_since": {cid[i]: _iso(decline_from[i]) for i in np.flatnonzero((grp == DECLINE) & has_rows)},
        "stalled": sorted(stalled_goals),
        "stalled_goals": {c: stalled_goals[c] for c in sorted(stalled_goals)},
        "stalled_since": {c: _iso(stalled_since[c]) for c in sorted(stalled_goals)},
        "dropped_out": ids(grp == DROPOUT),
        "low_attendance": ids(grp == LOWATT),
        "rating_gap": ids(grp == GAP),
        "discharged": ids(grp == DISCHARGED),
        "reliable_deterioration": ids(rel_det),
        "reliable_improvement": ids(rel_imp),
        "measures": {mn: {"sd": MEASURES[mn]["sd"], "reliability": MEASURES[mn]["reliability"],
                          "higher_is_better": MEASURES[mn]["higher_is_better"],
                          "rci_threshold": round(float(rci[i]), 4)} for i, mn in enumerate(MEASURE_NAMES)},
        "spelling_variants": {},
        "exports": [],
        "overlap": None,
        "corrections": [],
        "n_corrected_rows": 0,
        "malformed": [],
        "n_malformed_rows": 0,
        "formula_cells": [],
    }
    return table, truth


def generate(children: int = 150, months: int = 12, seed: int = 7,
             end: dt.date = dt.date(2026, 10, 31)) -> tuple[pd.DataFrame, dict]:
    """Canonical export rows (COLUMNS, in order) of a synthetic practice, and what was planted."""
    table, truth = _build(children, months, seed, end)
    df = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype()}.get,
                         date_as_object=False, split_blocks=True, self_destruct=True)
    del table
    return df[COLUMNS], truth


# ----------------------------------------------------------------------------- writing

def _quote(arr: pa.Array, delim: str) -> pa.Array:
    needs = pc.match_substring_regex(arr, f'[{delim}"\\r\\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(arr, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, arr)


def _quote_py(v: str, delim: str) -> str:
    return '"' + v.replace('"', '""') + '"' if any(c in v for c in (delim, '"', "\r", "\n")) else v


def _text_columns(table: pa.Table, date_format: str = "%Y-%m-%d") -> dict[str, pa.Array]:
    """Every column as text (null = empty cell)."""
    out = {}
    for name in table.column_names:
        col = table[name].combine_chunks()
        if pa.types.is_date(col.type):
            col = pc.strftime(col, format=date_format)
        elif not pa.types.is_string(col.type):
            col = pc.cast(col, pa.string())
        out[name] = col
    return out


def _line_array(cols: dict[str, pa.Array], delim: str) -> pa.Array:
    """One CSV line (without the newline) per row."""
    arrays = [_quote(c, delim) for c in cols.values()]
    line = pc.binary_join_element_wise(*arrays, delim, null_handling="replace", null_replacement="")
    return pc.cast(line, pa.large_string())


def _write_lines(path: Path, header: str, lines: pa.Array, encoding: str = "utf-8") -> None:
    """Write header + each line + "\n" (straight from the arrow buffer, no per-row Python)."""
    with open(path, "wb") as fh:
        fh.write((header + "\n").encode(encoding))
        if len(lines) == 0:
            return
        nl = pa.scalar("\n", pa.large_string())
        line = pc.binary_join_element_wise(pc.cast(lines, pa.large_string()), nl, pa.scalar("", pa.large_string()))
        offsets = np.frombuffer(line.buffers()[1], dtype=np.int64)[line.offset:line.offset + len(line) + 1]
        body = memoryview(line.buffers()[2])[offsets[0]:offsets[-1]]
        fh.write(body if encoding == "utf-8" else bytes(body).decode("utf-8").encode(encoding))


def _write_csv(path: Path, cols: dict[str, pa.Array], headers: list[str], delim: str, encoding: str = "utf-8") -> None:
    _write_lines(path, delim.join(_quote_py(h, delim) for h in headers), _line_array(cols, delim), encoding)


def _np(mask) -> np.ndarray:
    """An arrow boolean result as a numpy bool array (null = False)."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), bool)


def _row_text(cols: dict[str, pa.Array], i: int) -> dict[str, str]:
    return {k: ("" if v[i].as_py() is None else v[i].as_py()) for k, v in cols.items()}


def _apply_variants(cols: dict[str, pa.Array], rng: np.random.Generator) -> None:
    sess = pc.dictionary_encode(cols["session_id"]).indices.to_numpy()
    n_sess = int(sess.max()) + 1 if len(sess) else 0
    for field, mapping in SPELLING_VARIANTS.items():
        u = rng.random(n_sess)[sess]
        which = rng.integers(0, 2, n_sess)[sess]
        col = cols[field]
        for orig, variants in mapping.items():
            hit = _np(pc.equal(col, orig)) & (u < VARIANT_SHARE)
            for vi, variant in enumerate(variants):
                m = hit & ((which % len(variants)) == vi)
                if m.any():
                    col = pc.if_else(pa.array(m), pa.scalar(variant), col)
        cols[field] = col


def _subset(cols: dict[str, pa.Array], mask: np.ndarray) -> dict[str, pa.Array]:
    m = pa.array(mask)
    return {k: pc.filter(v, m) for k, v in cols.items()}


def _set(cols: dict[str, pa.Array], name: str, i: int, value: str | None) -> None:
    mask = np.zeros(len(cols[name]), bool)
    mask[i] = True
    cols[name] = pc.replace_with_mask(cols[name], pa.array(mask), pa.array([value], pa.string()))


def _write_split(table: pa.Table, truth: dict, out: Path, seed: int) -> list[dict]:
    """Two overlapping canonical exports with corrections, malformed rows and spelling variety."""
    rng = np.random.default_rng([seed, 20261031])
    start = dt.date.fromisoformat(truth["start"])
    end = dt.date.fromisoformat(truth["end"])
    months = truth["months"]
    cols = _text_columns(table)
    _apply_variants(cols, rng)
    truth["spelling_variants"] = {f: dict(m) for f, m in SPELLING_VARIANTS.items()}

    m1 = max(1, min(months - 1, int(round(0.75 * months))))   # file 1: months 1..m1, file 2: m1..months
    overlap_first = _month_start(end, months - m1 + 1)      # first day of month m1 (in both files)
    overlap_last = _month_end(overlap_first)
    f1_name = f"export_{overlap_first:%Y-%m}.csv"
    f2_name = f"export_{end:%Y-%m}.csv"
    days = table["session_date"].combine_chunks().cast(pa.int32()).to_numpy()
    in1 = days <= _days(overlap_last)
    in2 = days >= _days(overlap_first)
    both = in1 & in2
    idx1 = np.flatnonzero(in1)
    idx2 = np.flatnonzero(in2)
    f1 = _subset(cols, in1)
    f2 = _subset(cols, in2)
    pos1 = {int(r): i for i, r in enumerate(idx1)}                 # table row -> line index in file 1

    # --- corrections: file 1 has the wrong value, file 2 (loaded later) the final one ----
    goal = _np(table["goal_id"].combine_chunks().is_null())         # True = no goal
    att = _np(pc.equal(cols["attendance"], "attended"))
    sess = pc.dictionary_encode(cols["session_id"]).indices.to_numpy()
    single = np.bincount(sess, minlength=int(sess.max()) + 1)[sess] == 1
    eng = table["engagement"].combine_chunks().to_numpy(zero_copy_only=False)
    gas = table["gas_level"].combine_chunks().to_numpy(zero_copy_only=False)
    clean_variant = _np(pc.is_in(cols["attendance"], value_set=pa.array(ATTENDANCE)))
    pool_single = np.flatnonzero(both & goal & single & att & clean_variant)
    pool_goal = np.flatnonzero(both & ~goal)
    picks = rng.permutation(pool_single)
    eng_rows, att_rows = picks[:4], picks[4:7]
    gas_rows = rng.permutation(pool_goal)[:3]
    corrections = []
    for r in sorted(eng_rows):
        final = int(eng[r])
        wrong = final - 1 if final > 1 and (final == 5 or rng.random() < 0.5) else final + 1
        _set(f1, "engagement", pos1[int(r)], str(wrong))
        corrections.append({"column": "engagement", "row": int(r), "first": str(wrong), "final": str(final)})
    for r in sorted(gas_rows):
        final = int(gas[r])
        wrong = final + 1 if final <= -2 or (final < 2 and rng.random() < 0.5) else final - 1
        _set(f1, "gas_level", pos1[int(r)], str(wrong))
        corrections.append({"column": "gas_level", "row": int(r), "first": str(wrong), "final": str(final)})
    for r in sorted(att_rows):
        i = pos1[int(r)]
        _set(f1, "attendance", i, "no-show")
        _set(f1, "engagement", i, None)
        _set(f1, "duration_min", i, None)
        corrections.append({"column": "attendance", "row": int(r), "first": "no-show", "final": "attended",
                            "note": "first export had no engagement/duration for this row"})
    sid = cols["session_id"]
    gidc = cols["goal_id"]
    truth["corrections"] = [
        {"session_id": sid[c["row"]].as_py(), "goal_id": gidc[c["row"]].as_py() or "",
         "column": c["column"], "first_file": f1_name, "first_value": c["first"],
         "corrected_in": f2_name, "final_value": c["final"], **({"note": c["note"]} if "note" in c else {})}
        for c in sorted(corrections, key=lambda c: c["row"])]
    truth["n_corrected_rows"] = len({c["row"] for c in corrections})

    # --- a formula-looking team (valid text, must load as plain text) ------------------
    only1 = np.flatnonzero(in1 & ~in2 & goal & single)
    frow = int(rng.choice(only1)) if len(only1) else int(idx1[0])
    fpos = int(np.searchsorted(idx1, frow))
    _set(f1, "team", fpos, FORMULA_TEXT)
    truth["formula_cells"] = [{"file": f1_name, "session_id": sid[frow].as_py(), "goal_id": "",
                               "column": "team", "value": FORMULA_TEXT,
                               "note": "valid row; the cell must load and be shown as plain text"}]

    # --- malformed rows (extra rows; the valid data is untouched) ---------------------
    next_sid = [truth["sessions"]]
    width = len(sid[0].as_py()) - 1

    def new_sid() -> str:
        next_sid[0] += 1
        return "S" + str(next_sid[0]).zfill(width)

    def base_row(c: dict[str, pa.Array], need_goal: bool = False, other_than: str | None = None) -> dict[str, str]:
        g = _np(c["goal_id"].is_null())
        a = _np(pc.equal(c["attendance"], "attended"))
        ok = a & (~g if need_goal else g)
        if other_than is not None:
            ok &= _np(pc.not_equal(c["child_id"], other_than))
        pool = np.flatnonzero(ok)
        if not len(pool):
            pool = np.arange(len(c["session_id"]))
        row = _row_text(c, int(rng.choice(pool)))
        row.update(measure="", measure_score="")
        return row

    bad1: list[tuple[dict[str, str], str, str]] = []
    bad2: list[tuple[dict[str, str], str, str]] = []
    r = base_row(f1); r.update(session_id=new_sid(), modality="Music Therapy")
    bad1.append((r, "modality", "unknown modality 'Music Therapy'"))
    r = base_row(f1); r.update(session_id=new_sid(), engagement="7")
    bad1.append((r, "engagement", "engagement 7 outside 1-5"))
    r = base_row(f1); r.update(session_id=new_sid(), session_date="31/02/2026")
    bad1.append((r, "session_date", "session_date '31/02/2026' is not a date"))
    only1_pos = np.flatnonzero(~both[idx1])
    dup1 = int(rng.choice(only1_pos)) if len(only1_pos) else 0
    bad1.append((_row_text(f1, dup1), "", "exact duplicate row"))
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
    only2_pos = np.flatnonzero(~both[idx2])
    dup2 = int(rng.choice(only2_pos)) if len(only2_pos) else 0
    bad2.append((_row_text(f2, dup2), "", "exact duplicate row"))

    del cols, sid, gidc, sess                       # only the two file tables are needed now
    written = []
    malformed = []
    files = [(f1_name, f1, bad1, dup1), (f2_name, f2, bad2, dup2)]
    del f1, f2
    while files:
        name, fcols, bad, dup = files.pop(0)
        body = _line_array(fcols, ",")
        del fcols
        nrows = len(body)
        extra = pa.array([",".join(_quote_py(row[c], ",") for c in COLUMNS) for row, _, _ in bad], pa.large_string())
        # a duplicate sits right after its original; the other bad rows at random places
        at = rng.integers(0, max(nrows, 1), len(bad)).astype(float) + 0.5
        at[[j for j, b in enumerate(bad) if b[2] == "exact duplicate row"]] = dup + 0.5
        keys = np.concatenate([np.arange(nrows, dtype=float), at])
        order = np.argsort(keys, kind="stable")
        lines = pa.concat_arrays([body, extra]).take(pa.array(order))
        line_no = np.empty(len(order), np.int64)
        line_no[order] = np.arange(len(order)) + 2          # header is line 1
        for j, (row, col, reason) in enumerate(bad):
            malformed.append({"file": name, "line": int(line_no[nrows + j]), "session_id": row["session_id"],
                              "child_id": row["child_id"], "column": col, "reason": reason})
        path = out / name
        _write_lines(path, ",".join(COLUMNS), lines)
        n_lines = len(lines)
        del body, lines
        first = start if name == f1_name else overlap_first
        last = overlap_last if name == f1_name else end
        written.append({"path": str(path), "format": "canonical", "rows": n_lines,
                        "valid_rows": nrows, "malformed_rows": len(bad),
                        "covers": [first.isoformat(), last.isoformat()]})
        truth["exports"].append({"file": name, "from": first.isoformat(), "to": last.isoformat(),
                                 "rows": n_lines, "malformed_rows": len(bad)})
    truth["overlap"] = {"from": overlap_first.isoformat(), "to": overlap_last.isoformat(),
                        "rows": int(both.sum())}
    truth["malformed"] = malformed
    truth["n_malformed_rows"] = len(malformed)
    return written


def _vendor_columns(table: pa.Table) -> dict[str, pa.Array]:
    out: dict[str, pa.Array] = {}
    for name in COLUMNS:
        col = table[name].combine_chunks()
        if name in VENDOR_VALUES:
            enc = pc.dictionary_encode(col)
            mapped = pa.array([VENDOR_VALUES[name][v] for v in enc.dictionary.to_pylist()], pa.string())
            col = mapped.take(enc.indices)
        elif name == "goal_domain":
            col = pc.utf8_title(col)
        out[VENDOR_HEADERS[name]] = col
        if name == "child_id":
            out[VENDOR_HEADERS["client_name"]] = pc.binary_join_element_wise(
                "Child", pc.utf8_slice_codeunits(col, 1), " ")
    return out


def _write_vendor(table: pa.Table, out: Path, stem: str, kinds: tuple[str, ...] = ("xlsx", "csv")) -> list[dict]:
    cols = _vendor_columns(table)
    written = []
    n = table.num_rows
    if "csv" in kinds:
        text = _text_columns(pa.table(cols), date_format="%d/%m/%Y")
        path = out / f"{stem}.csv"
        _write_csv(path, text, list(text), ";", encoding="latin-1")
        written.append({"path": str(path), "format": "vendor-csv", "rows": n})
    if "xlsx" in kinds:
        if n + 1 > EXCEL_MAX_ROWS:
            raise ValueError(f"{n} rows do not fit one Excel sheet ({EXCEL_MAX_ROWS - 1} rows at most); "
                             "use the canonical format or fewer children")
        import xlsxwriter

        path = out / f"{stem}.xlsx"
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        wb.set_properties({"title": "Appointments", "author": "pipelines.sample",
                           "created": dt.datetime(2000, 1, 1)})
        ws = wb.add_worksheet("Appointments")
        bold = wb.add_format({"bold": True})
        datef = wb.add_format({"num_format": "dd/mm/yyyy"})
        headers = list(cols)
        ws.write_row(0, 0, headers, bold)
        date_cols = {headers.index(VENDOR_HEADERS["session_date"]), headers.index(VENDOR_HEADERS["date_of_birth"])}
        data = [cols[h].to_pylist() for h in headers]
        for j in date_cols:
            data[j] = [dt.datetime(d.year, d.month, d.day) for d in data[j]]
        for i in range(n):
            for j in range(len(headers)):
                v = data[j][i]
                if v is None:
                    continue
                if j in date_cols:
                    ws.write_datetime(i + 1, j, v, datef)
                elif isinstance(v, str):
                    ws.write_string(i + 1, j, v)
                else:
                    ws.write_number(i + 1, j, v)
        wb.close()
        written.append({"path": str(path), "format": "vendor-xlsx", "rows": n})
    return written


def write_sample(out_dir, children: int = 150, months: int = 12, seed: int = 7,
                 end: dt.date = dt.date(2026, 10, 31), formats=("canonical",), split: bool = True) -> dict:
    """Write the sample files under out_dir (canonical/, vendor/, truth.json); return what was written.

    formats: any of "canonical", "vendor" ("both" is accepted too). split=True writes the
    canonical export as two overlapping files with corrections and malformed rows; split=False
    writes one clean file. The vendor export is always one clean file for the whole period.
    """
    if isinstance(formats, str):
        formats = (formats,)
    formats = set(formats)
    if "both" in formats:
        formats |= {"canonical", "vendor"}
    unknown = formats - {"canonical", "vendor", "both"}
    if unknown:
        raise ValueError(f"unknown format(s): {', '.join(sorted(unknown))}")
    out = Path(out_dir)
    table, truth = _build(children, months, seed, end)
    if "vendor" in formats and table.num_rows + 1 > EXCEL_MAX_ROWS:
        raise ValueError(f"{table.num_rows} rows do not fit one Excel sheet; use --format canonical")
    files: list[dict] = []
    start = dt.date.fromisoformat(truth["start"])
    if "canonical" in formats:
        cdir = out / "canonical"
        cdir.mkdir(parents=True, exist_ok=True)
        if split and months >= 2:
            files += _write_split(table, truth, cdir, seed)
        else:
            path = cdir / f"export_{end:%Y-%m}.csv"
            _write_csv(path, _text_columns(table), COLUMNS, ",")
            files.append({"path": str(path), "format": "canonical", "rows": table.num_rows,
                          "covers": [start.isoformat(), end.isoformat()]})
            truth["exports"].append({"file": path.name, "from": start.isoformat(), "to": end.isoformat(),
                                     "rows": table.num_rows, "malformed_rows": 0})
    if "vendor" in formats:
        vdir = out / "vendor"
        vdir.mkdir(parents=True, exist_ok=True)
        files += _write_vendor(table, vdir, f"appointments_{start:%Y-%m}_{end:%Y-%m}")
    out.mkdir(parents=True, exist_ok=True)
    tpath = out / "truth.json"
    tpath.write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    return {"out_dir": str(out), "rows": table.num_rows, "sessions": truth["sessions"],
            "children": truth["children_with_sessions"], "files": files, "truth": str(tpath)}


# ----------------------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pipelines sample",
                                description="Write a deterministic synthetic practice export and its truth file.")
    p.add_argument("--children", type=int, default=150)
    p.add_argument("--months", type=int, default=12)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", required=True, help="output folder (canonical/, vendor/, truth.json)")
    p.add_argument("--end", type=dt.date.fromisoformat, default=dt.date(2026, 10, 31),
                   help="last day of the period, YYYY-MM-DD (default 2026-10-31)")
    p.add_argument("--format", choices=("canonical", "vendor", "both"), default="canonical")
    p.add_argument("--single-file", action="store_true",
                   help="one clean canonical file instead of two overlapping exports with corrections and malformed rows")
    args = p.parse_args(argv)
    if args.children < 1 or args.months < 1:
        p.error("--children and --months must be at least 1")
    formats = ("canonical", "vendor") if args.format == "both" else (args.format,)
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


if __name__ == "__main__":
    raise SystemExit(main())
