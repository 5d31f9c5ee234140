"""The practice model: ``build`` draws a whole practice from one seeded generator, concern by
concern (people, sessions, engagement, goals, measures), and returns its export rows and the
truth of what was planted. ``generate`` is the same as a pandas DataFrame.

The draws happen in one fixed order, so the same arguments give the same rows, byte for byte;
a new draw belongs at the end of its step, and changes every later number (and the files in
``data/sample/``, which must then be regenerated on purpose).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from . import engagement, goals, measures, people, rows, sessions, truth, wide_measures
from .constants import COLUMNS


def build(children: int, months: int, seed: int, end: dt.date,
          reference: str | Path | None = None) -> tuple[pa.Table, dict]:
    """(canonical export rows as an arrow table, the truth dict) of a practice of ``children``
    children over ``months`` months ending on ``end``; ``reference`` is the measure table
    (the measures catalogue, ``measures.toml``, by default)."""
    if children < 1:
        raise ValueError("children must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    specs = measures.measure_specs(reference)
    rng = np.random.default_rng(seed)
    N = int(children)
    win = people.window(months, end)

    age, dob, mod = people.children(rng, N, win)
    ther, team, n_ther, t_width = people.therapists(rng, mod)
    kids = people.Children(n=N, age=age, dob=dob, mod=mod, ther=ther, team=team, n_ther=n_ther, t_width=t_width)
    grp = people.planted_groups(rng, N)
    ten = people.tenure(rng, win, grp)

    ses = sessions.schedule(rng, win, ten, grp)
    att, att_code = sessions.attendance(rng, win, N, ses)
    how = sessions.delivery(rng, mod, ses)
    eng = engagement.engagement(rng, win, grp, ten, ses, att, how.app)

    plan = goals.plan_goals(rng, win, grp, mod, ten)
    rating = goals.rating_sessions(rng, win, grp, ten, ses, att, plan.gap_cut)
    ratings = goals.goal_ratings(rng, win, plan, ses, rating)
    meas = measures.measures(rng, win, kids, grp, ten, ses, att, specs)

    wide = wide_measures.wide_measures(seed, win, ten, ses, att, how.app)  # a generator of its own

    child_ids, ther_ids, goal_ids = rows.id_columns(kids, plan)
    measure_of_session, score_of_session = meas.per_session(ses.n)
    table = rows.export_table(kids, ses, att, att_code, how, eng, plan, ratings, measure_of_session,
                              score_of_session, child_ids, ther_ids, goal_ids, wide)
    has_rows = np.bincount(ses.ci, minlength=N) > 0
    cid = child_ids.to_pylist()
    planted = truth.planted_truth(seed, win, kids, grp, has_rows, table.num_rows, ses.n, eng, plan, ratings,
                                  meas, cid, goal_ids.to_pylist())
    planted["measures_planted"] = wide_measures.planted(wide, has_rows, cid)
    return table, planted


def generate(children: int = 150, months: int = 12, seed: int = 7,
             end: dt.date = dt.date(2026, 10, 31)) -> tuple[pd.DataFrame, dict]:
    """Canonical export rows (COLUMNS, in order, then the wide measures on_task and protests) of
    a synthetic practice, and what was planted."""
    table, planted = build(children, months, seed, end)
    df = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype()}.get,
                         date_as_object=False, split_blocks=True, self_destruct=True)
    del table
    return df[COLUMNS + list(wide_measures.WIDE_MEASURES)], planted
