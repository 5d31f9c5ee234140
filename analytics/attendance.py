"""Attendance in detail: how often sessions are attended, cancelled in time, cancelled late,
missed (no-show) or cancelled by the clinician, per month, weekday, time of day, therapist,
modality, team or age group, with n and a child-clustered interval (``stats.proportion``).
"""

from __future__ import annotations

import pandas as pd

from analytics import _db
from analytics.filters import Filters, age_rank, resolve
from pipelines import settings
from stats.proportion import clustered_rate_interval

# what a row can be broken down by -> its label on the page
DIMENSIONS: dict[str, str] = {
    "month": "Month", "weekday": "Weekday", "time_of_day": "Time of day", "therapist_id": "Therapist",
    "modality": "Modality", "team": "Team", "age_group": "Age group",
}
# outcome -> (label, what it counts): every scheduled session has exactly one
OUTCOMES: dict[str, tuple[str, str]] = {
    "attended": ("Attended", "the child came"),
    "cancelled": ("Cancelled in time", "cancelled by the family with enough notice"),
    "late_cancelled": ("Late cancelled", "cancelled by the family too late to offer the slot again"),
    "no_show": ("No-show", "the child did not come and nobody cancelled"),
    "clinician_cancelled": ("Cancelled by the clinician", "cancelled on the practice's side"),
}


def attendance_detail(con, f: Filters = Filters(), by: str = "month") -> pd.DataFrame:
    """One row per value of ``by`` (a key of ``DIMENSIONS``) and outcome (a key of ``OUTCOMES``).

    Columns: group, outcome, outcome_label, n_children, scheduled, n_outcome, rate (n_outcome /
    scheduled), rate_lo / rate_hi (the ``comparison.confidence`` interval: Wilson on the
    effective n of sessions clustered in children; NaN for one child), partial (a month the
    period covers only in part; False for other breakdowns). Rows come in the breakdown's
    natural order (months, Monday first, morning first), outcomes in ``OUTCOMES`` order.
    """
    if by not in DIMENSIONS:
        raise ValueError(f"by must be one of {', '.join(DIMENSIONS)}; got {by!r}")
    rf = resolve(con, f)
    df = _db.query(con, "attendance_rates", {**rf.params(), "by": by})
    cols = ["group", "outcome", "outcome_label", "n_children", "scheduled", "n_outcome", "rate", "rate_lo",
            "rate_hi", "partial"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    for c in ("n_children", "scheduled", "n_outcome"):
        df[c] = df[c].astype("int64")
    lo, hi = clustered_rate_interval(df["rate"].to_numpy(float), df["rate_var"].to_numpy(float),
                                     df["scheduled"].to_numpy(float), df["n_children"].to_numpy(float),
                                     settings.get().comparison.confidence)
    df["rate_lo"], df["rate_hi"] = lo, hi
    df["outcome_label"] = df["outcome"].map(lambda o: OUTCOMES[o][0])
    df["partial"] = _partial_months(df["group"], rf) if by == "month" else False
    order = {o: i for i, o in enumerate(OUTCOMES)}
    if by == "age_group":  # the bands' order (0-2, 3-5, 6-12, 13-18), not the labels' alphabetical one
        df["grp_order"] = age_rank(df["group"])
    df = df.assign(_o=df["outcome"].map(order)).sort_values(["grp_order", "group", "_o"], kind="stable")
    return df[cols].reset_index(drop=True)


def _partial_months(months: pd.Series, f: Filters) -> pd.Series:
    """Whether each 'YYYY-MM' month starts before the period or ends after it."""
    start = pd.to_datetime(months + "-01")
    end = start + pd.offsets.MonthEnd(0)
    lo, hi = pd.Timestamp(f.date_from), pd.Timestamp(f.date_to)
    return (start < lo) | (end > hi)
