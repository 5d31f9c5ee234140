"""One child's story for the child page and the child's progress report: the child's record
(episode of care), each goal as the goals source defines it with where it stands (baseline,
current, trend with its interval, met / stalled / no recent rating), the goal-level
observations (GAS levels, percent correct of trial-based goals) and the phase lines (where
the approach changed, a goal started, was met or was stopped).

Statistics come from ``stats``: the per-goal trend is the Theil-Sen slope with Sen's
interval and the Mann-Kendall test (Theil 1950; Sen 1968; Mann 1945; Kendall 1975),
``stats.trend.trends_grouped``, in levels (or percentage points) per week. "Stalled" is the
rule of the needs-attention flag ``gas_stalled`` (``analytics.attention``), "no recent
rating" the flag's ``[flags] rating_gap_days``.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from analytics import _db
from analytics.filters import Filters, as_date
from pipelines import settings
from stats.trend import trends_grouped

MET, STALLED, NO_RECENT, NO_RATING, IN_PROGRESS, STOPPED, MASTERED = (
    "met", "stalled", "no recent rating", "no rating in the period", "in progress", "discontinued", "mastered")
LEVELS = (("level_m3", -3), ("level_m2", -2), ("level_m1", -1), ("level_0", 0), ("level_p1", 1), ("level_p2", 2))
PHASE_MIN_RUN = 3   # sessions in a row of one approach before it counts as a phase


def child_record(con, child_id: str) -> dict:
    """The child's record from the children mart: episode_id, referral_date, discharge_date,
    discharge_reason, discharge_kind, first/last session, last_attended, modality,
    therapist_id, team (the latest); ``{}`` when the child is not in the warehouse (or not
    in the connection's scope)."""
    df = _db.query(con, "child_record", {**Filters().params(), "child_id": child_id})
    if df.empty:
        return {}
    r = df.iloc[0].to_dict()
    return {k: (None if _missing(v) else v) for k, v in r.items()}


def child_goal_observations(con, child_id: str, f: Filters = Filters()) -> pd.DataFrame:
    """One row per goal-level observation of the child in the filter: goal_uid, goal_id,
    measure, session_id, session_date, value, trials_correct, trials_total,
    percent_correct (trial-based goals), approach."""
    return _db.query(con, "child_goal_observations", {**f.params(), "child_id": child_id})


def mastery_threshold(criterion: object) -> tuple[float | None, int]:
    """The percent and the number of sessions in a mastery criterion ("80% over 3 sessions"
    -> (80.0, 3)); (None, 1) when it names no percent; sessions default to 1."""
    if _missing(criterion):
        return None, 1
    text = str(criterion)
    pct = re.search(r"(\d+(?:\.\d+)?)\s*%", text)
    n = re.search(r"(\d+)\s*(?:consecutive\s+)?(?:sessions|days|probes|times)", text)
    return (float(pct.group(1)) if pct else None), (int(n.group(1)) if n else 1)


def _trend(obs: pd.DataFrame, y: str, conf: float) -> pd.DataFrame:
    cols = ["goal_uid", "n", "slope_per_week", "slope_lo", "slope_hi", "p_value"]
    d = obs.dropna(subset=[y])
    if d.empty:
        return pd.DataFrame(columns=cols)
    d = d.assign(_weeks=(pd.to_datetime(d["session_date"]) - pd.Timestamp("2000-01-01")).dt.days / 7.0)
    tr = trends_grouped(d, "goal_uid", "_weeks", y, confidence=conf)
    return tr.rename(columns={"slope": "slope_per_week"})[cols]


def child_goals(con, child_id: str, f: Filters = Filters()) -> pd.DataFrame:
    """One row per goal of the child (the goals source's goals, and goals seen only in
    ratings), in goal order:

    goal_uid, goal_id, domain, goal_text, level_m3 .. level_p2 (what each GAS level means,
    when the source gives it), has_text (goal text or a level description given),
    baseline_text, target, mastery_criterion, measure, kind ("gas" or "trials"),
    start_date, met_date, discontinued_date (the source's), n_ratings, first_date,
    baseline (first level or percent in the filter), last_date, current (latest),
    slope_per_week with slope_lo / slope_hi (Theil-Sen with Sen's interval at
    ``[comparison] confidence``) and trend_p (Mann-Kendall), first_met_date (first rating
    at or above the expected level; for trials the first session of the mastery
    criterion met), mastery_percent, mastery_sessions, status (met, mastered, stalled, no
    recent rating, no rating in the period, discontinued, in progress), status_date (when
    met, mastered or last rated) and status_reason (in words).

    "No recent rating": the latest rating is more than ``[flags] rating_gap_days`` before
    the period's end (``f.date_to``; with an open period, the child's latest goal
    observation). "Stalled": rated over at least ``gas_stall_weeks``, below the expected
    level and not above its level that many weeks before the latest rating (the
    ``gas_stalled`` flag's rule). "Mastered": the last ``mastery_sessions`` sessions at or
    above ``mastery_percent`` (read from the criterion's text, e.g. "80% over 3 sessions")."""
    cfg = settings.get()
    exp, conf = cfg.gas.expected_level, cfg.comparison.confidence
    stall_days, gap_days = 7 * cfg.flags.gas_stall_weeks, cfg.flags.rating_gap_days
    defs = _db.query(con, "child_goal_list", {**Filters().params(), "child_id": child_id})
    obs = child_goal_observations(con, child_id, f)
    summ = _db.query(con, "goal_summary", {**f.params(), "child_id": child_id, "expected_level": exp,
                                           "stall_days": stall_days})
    cols = ["goal_uid", "goal_id", "domain", "goal_text", *[c for c, _ in LEVELS], "has_text", "baseline_text",
            "target", "mastery_criterion", "measure", "kind", "start_date", "met_date", "discontinued_date",
            "n_ratings", "first_date", "baseline", "last_date", "current", "slope_per_week", "slope_lo", "slope_hi",
            "trend_p", "first_met_date", "mastery_percent", "mastery_sessions", "status", "status_date",
            "status_reason"]
    uids = list(dict.fromkeys(list(defs["goal_uid"]) + list(obs["goal_uid"].dropna())))
    if not uids:
        return pd.DataFrame(columns=cols)
    out = pd.DataFrame({"goal_uid": uids}).merge(defs.drop(columns=["child_id"]), on="goal_uid", how="left")
    seen = obs.drop_duplicates("goal_uid").set_index("goal_uid")
    out["goal_id"] = out["goal_id"].fillna(out["goal_uid"].map(seen["goal_id"]))
    out["measure"] = out["measure"].fillna(out["goal_uid"].map(seen["measure"]))
    trials_goals = set(obs.loc[obs["trials_total"].notna(), "goal_uid"])
    out["kind"] = np.where(out["goal_uid"].isin(trials_goals) | (out["measure"] == "goal_trials"), "trials", "gas")
    out = out.rename(columns={"goal_domain": "domain", "baseline": "baseline_text"})
    if "domain" in summ:
        out["domain"] = out["domain"].fillna(out["goal_uid"].map(summ.set_index("goal_uid")["domain"]))
    text_cols = ["goal_text", *[c for c, _ in LEVELS]]
    out["has_text"] = out[text_cols].notna().any(axis=1)

    # GAS goals: baseline, current, met and stalled from goal_summary; trend from the ratings
    gas_obs = obs[(obs["measure"] == "gas") & obs["value"].notna()]
    tr_gas = _trend(gas_obs, "value", conf).set_index("goal_uid")
    s = summ.set_index("goal_uid") if len(summ) else pd.DataFrame()
    # trial goals: percent correct, mastery from the criterion
    tri = obs[obs["percent_correct"].notna()].sort_values(["goal_uid", "session_date", "session_id"])
    tr_tri = _trend(tri, "percent_correct", conf).set_index("goal_uid")
    end = as_date(f.date_to) if f.date_to is not None else None
    last_any = pd.to_datetime(obs["session_date"]).max() if len(obs) else pd.NaT
    period_end = pd.Timestamp(end) if end is not None else last_any
    rows = []
    for _, g in out.iterrows():   # one child's goals: a handful
        uid = g["goal_uid"]
        r = dict.fromkeys(["n_ratings", "first_date", "baseline", "last_date", "current", "slope_per_week",
                           "slope_lo", "slope_hi", "trend_p", "first_met_date", "mastery_percent",
                           "mastery_sessions"])
        stalled = False
        if g["kind"] == "trials":
            t = tri[tri["goal_uid"] == uid]
            pct, k = mastery_threshold(g.get("mastery_criterion"))
            r.update(mastery_percent=pct, mastery_sessions=k)
            if len(t):
                r.update(n_ratings=len(t), first_date=t["session_date"].iloc[0], baseline=t["percent_correct"].iloc[0],
                         last_date=t["session_date"].iloc[-1], current=t["percent_correct"].iloc[-1])
                if pct is not None:
                    ok = (t["percent_correct"] >= pct).astype(int).to_numpy()
                    run = pd.Series(ok).groupby((ok == 0).cumsum()).cumsum().to_numpy()
                    hit = np.flatnonzero(run >= k)
                    if hit.size:
                        r["first_met_date"] = t["session_date"].iloc[hit[0]]
                    mastered_now = bool(len(ok) >= k and ok[-k:].all())
                else:
                    mastered_now = False
            else:
                mastered_now = False
            if uid in tr_tri.index:
                tt = tr_tri.loc[uid]
                r.update(slope_per_week=tt["slope_per_week"], slope_lo=tt["slope_lo"], slope_hi=tt["slope_hi"],
                         trend_p=tt["p_value"])
            met_now = mastered_now
        else:
            if len(s) and uid in s.index:
                q = s.loc[uid]
                r.update(n_ratings=int(q["n_ratings"]), first_date=q["first_date"], baseline=q["first_level"],
                         last_date=q["last_date"], current=q["last_level"],
                         first_met_date=q["first_met_date"] if bool(q["met"]) else None)
                span = (pd.Timestamp(q["last_date"]) - pd.Timestamp(q["first_date"])).days
                ref = q["reference_level"]
                stalled = bool(span >= stall_days and q["last_level"] < exp
                               and not _missing(ref) and q["last_level"] <= ref)
                met_now = bool(q["at_expected_now"])
            else:
                met_now = False
            if uid in tr_gas.index:
                tt = tr_gas.loc[uid]
                r.update(slope_per_week=tt["slope_per_week"], slope_lo=tt["slope_lo"], slope_hi=tt["slope_hi"],
                         trend_p=tt["p_value"])
        status, when, why = _status(g, r, met_now, stalled, period_end, gap_days, exp, cfg.flags.gas_stall_weeks)
        r.update(status=status, status_date=when, status_reason=why)
        rows.append(r)
    res = pd.concat([out.reset_index(drop=True), pd.DataFrame(rows)], axis=1)
    for c in cols:
        if c not in res:
            res[c] = None
    return res[cols].sort_values("goal_id", kind="stable").reset_index(drop=True)


def _status(g: pd.Series, r: dict, met_now: bool, stalled: bool, period_end, gap_days: int, exp: int,
            stall_weeks: int) -> tuple[str, object, str]:
    trials = g["kind"] == "trials"
    if not _missing(g.get("discontinued_date")) and (period_end is pd.NaT or _missing(period_end)
                                                     or pd.Timestamp(g["discontinued_date"]) <= period_end):
        return STOPPED, g["discontinued_date"], f"discontinued on {_day(g['discontinued_date'])}"
    if r["last_date"] is None or _missing(r["last_date"]):
        return NO_RATING, None, "not rated in this period"
    last = pd.Timestamp(r["last_date"])
    if not _missing(period_end) and (pd.Timestamp(period_end) - last).days > gap_days:
        return NO_RECENT, r["last_date"], f"last rated on {_day(last)}, more than {gap_days} days before the period's end"
    if met_now:
        first = r.get("first_met_date")
        if trials:
            return MASTERED, first, ("mastery criterion met" + (f" since {_day(first)}" if not _missing(first) else ""))
        return MET, first, (f"at or above the expected level ({exp:+d})".replace("(+0)", "(0)")
                            + (f", first on {_day(first)}" if not _missing(first) else ""))
    if stalled:
        return STALLED, r["last_date"], (f"below the expected level and no better than {stall_weeks} weeks before "
                                         "the latest rating")
    return IN_PROGRESS, r["last_date"], f"last rated on {_day(last)}"


def child_phases(con, child_id: str, f: Filters = Filters()) -> pd.DataFrame:
    """Where something changed for the child, in date order: date, kind ("approach", "goal
    started", "goal met", "goal discontinued"), goal_id (goal lines) and label. An approach
    phase is a run of at least ``PHASE_MIN_RUN`` sessions planned with one approach (attended or not); a line
    marks the first session of a phase whose approach differs from the phase before."""
    tl = _db.query(con, "filtered_sessions", {**f.params(), "child_id": child_id})
    rows: list[dict] = []
    if len(tl):
        a = tl[tl["approach"].notna()].sort_values(["session_date"], kind="stable")
        if len(a):
            ap = a["approach"].astype(str).to_numpy()
            start = np.r_[True, ap[1:] != ap[:-1]]
            run_id = np.cumsum(start)
            sizes = pd.Series(run_id).map(pd.Series(run_id).value_counts()).to_numpy()
            prev = None
            for i in np.flatnonzero(start):
                if sizes[i] < PHASE_MIN_RUN:
                    continue
                if prev is not None and ap[i] != prev:
                    rows.append({"date": a["session_date"].iloc[i], "kind": "approach", "goal_id": None,
                                 "label": f"{ap[i]} from here"})
                prev = ap[i]
    goals = _db.query(con, "child_goal_list", {**Filters().params(), "child_id": child_id})
    lo = pd.Timestamp(f.date_from) if f.date_from else None
    hi = pd.Timestamp(f.date_to) if f.date_to else None
    for col, kind in (("start_date", "goal started"), ("met_date", "goal met"), ("discontinued_date", "goal discontinued")):
        for _, g in goals[goals[col].notna()].iterrows():
            d = pd.Timestamp(g[col])
            if (lo is None or d >= lo) and (hi is None or d <= hi):
                rows.append({"date": d, "kind": kind, "goal_id": g["goal_id"], "label": f"{g['goal_id']} {kind[5:]}"})
    df = pd.DataFrame(rows, columns=["date", "kind", "goal_id", "label"])
    if len(df):
        df["date"] = pd.to_datetime(df["date"])
    return df.sort_values("date", kind="stable").reset_index(drop=True)


def _missing(v: object) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _day(v: object) -> str:
    """A date in words as the page and report write it: "5 Jan 2026" (empty when missing)."""
    d = as_date(v)
    return f"{d.day} {d:%b %Y}" if isinstance(d, dt.date) else ""
