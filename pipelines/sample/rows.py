"""The export rows: one row per (session, rated goal), or one row for a session that rated
no goal, in session order; ids are given here (C0001, T01, S000001, G0001-1)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .arrays import ids, int_col, take
from .constants import APPROACHES, ATTENDANCE, DOMAINS, MEASURE_NAMES, MODALITIES, SETTINGS, TEAMS
from .engagement import Engagement
from .goals import Goals, Ratings
from .people import Children
from .sessions import Delivery, Sessions
from .wide_measures import WideMeasures


def id_columns(kids: Children, goals: Goals) -> tuple[pa.Array, pa.Array, pa.Array]:
    """(child ids, therapist ids, goal ids) by index: "C0001" (at least 4 digits), "T01"
    (at least 2), "G0001-1" (the child's number and the goal's number within the child)."""
    c_width = max(4, len(str(kids.n)))
    child_ids = ids("C", np.arange(kids.n) + 1, c_width)
    ther_ids = ids("T", np.arange(kids.n_ther) + 1, kids.t_width)
    goal_ids = pc.binary_join_element_wise(ids("G", goals.gc + 1, c_width),
                                           pc.cast(pa.array(goals.gj + 1), pa.string()), "-")
    return child_ids, ther_ids, goal_ids


def export_table(kids: Children, ses: Sessions, att: np.ndarray, att_code: np.ndarray, how: Delivery,
                 eng: Engagement, goals: Goals, ratings: Ratings, measure_of_session: np.ndarray,
                 score_of_session: np.ndarray, child_ids: pa.Array, ther_ids: pa.Array,
                 goal_ids: pa.Array, wide: WideMeasures | None = None) -> pa.Table:
    """The canonical export rows (constants.COLUMNS, then the wide measure columns of ``wide``
    when given: on_task, protests) as an arrow table.

    Sessions are numbered in date order (then child); a session's rows are ordered by goal
    number, its goal-less row first. Duration and engagement are empty unless attended; the
    measure and its score sit on the session's first row."""
    n, ci, sd = ses.n, ses.ci, ses.sd
    p_sess, p_goal, lvl = ratings.p_sess, ratings.p_goal, ratings.lvl
    order = np.lexsort((ci, sd))                   # session ids in date order
    sid_num = np.empty(n, np.int64)
    sid_num[order] = np.arange(1, n + 1)
    has_pair = np.bincount(p_sess, minlength=n) > 0
    lone = np.flatnonzero(~has_pair)
    row_sess = np.concatenate([lone, p_sess])
    row_goal = np.concatenate([np.full(len(lone), -1), p_goal])
    row_lvl = np.concatenate([np.zeros(len(lone), np.int64), lvl])
    ro = np.lexsort((np.where(row_goal < 0, -1, goals.gj[np.maximum(row_goal, 0)]), sid_num[row_sess]))
    row_sess, row_goal, row_lvl = row_sess[ro], row_goal[ro], row_lvl[ro]
    first_of_sess = np.ones(len(row_sess), bool)
    first_of_sess[1:] = row_sess[1:] != row_sess[:-1]

    s_width = max(6, len(str(n)))
    rc = ci[row_sess]
    r_att = att[row_sess]
    no_goal = row_goal < 0
    gidx = np.where(no_goal, -1, row_goal)
    r_meas = np.where(first_of_sess, measure_of_session[row_sess], -1)
    r_score = np.where(first_of_sess, score_of_session[row_sess], np.nan)
    return pa.table({
        "session_id": ids("S", sid_num[row_sess], s_width),
        "child_id": take(child_ids, rc),
        "therapist_id": take(ther_ids, kids.ther[rc]),
        "team": take(list(TEAMS), kids.team[rc]),
        "session_date": pa.array(sd[row_sess].astype(np.int32), pa.date32()),
        "modality": take(list(MODALITIES), kids.mod[rc]),
        "approach": take(list(APPROACHES), how.app[row_sess]),
        "date_of_birth": pa.array(kids.dob[rc].astype(np.int32), pa.date32()),
        "attendance": take(list(ATTENDANCE), att_code[row_sess]),
        "duration_min": int_col(how.dur[row_sess], ~r_att),
        "setting": take(list(SETTINGS), how.setting[row_sess]),
        "engagement": int_col(eng.eng[row_sess], ~r_att),
        "goal_id": take(goal_ids, gidx),
        "goal_domain": take(list(DOMAINS), np.where(no_goal, -1, goals.domain[np.maximum(row_goal, 0)])),
        "gas_level": int_col(row_lvl, no_goal),
        "goal_weight": int_col(goals.weight[np.maximum(row_goal, 0)], no_goal),
        "measure": take(list(MEASURE_NAMES), r_meas),
        "measure_score": pa.array(r_score, pa.float64(), mask=np.isnan(r_score)),
        **(wide.columns(row_sess) if wide is not None else {}),
    })
