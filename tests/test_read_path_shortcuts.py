"""The shortcuts the pages take at 1M rows (issue 14) give exactly what the long way gives:

* ``analytics.attended_by`` (one query for every ``by2`` value) = ``kpis_by`` with the filter
  narrowed to that value (the meeting pack's child-led sessions per therapist);
* ``analytics.approach.approach_effects_in`` (one query split by date) = ``approach_effects``
  on each span (the quarterly gap);
* ``approach_effects``' light pairing = the full ``approach_pairs`` summarised;
* ``stats.paired_groups.paired_summaries_grouped`` (shared resample indices) = one
  ``paired_summary_grouped`` per column, also where the columns' missing values differ.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

import analytics
from analytics import approach as ap
from stats.paired_groups import paired_summaries_grouped, paired_summary_grouped


@pytest.fixture(scope="module")
def period(sample_con) -> analytics.Filters:
    hi = analytics.filter_options(sample_con)["max_date"]
    return analytics.Filters(date_from=hi - dt.timedelta(days=180), date_to=hi)


def test_attended_by_equals_kpis_by_on_each_value(sample_con, period):
    got = analytics.attended_by(sample_con, period, "therapist_id", "approach")
    assert len(got) and got["approach"].nunique() > 1
    for approach in sorted(got["approach"].unique()):
        want = analytics.kpis_by(sample_con, replace(period, approaches=(approach,)), "therapist_id")
        mine = got[got["approach"] == approach].set_index("therapist_id")
        want = want.set_index("therapist_id")
        assert sorted(mine.index) == sorted(want.index), approach
        for col in ("sessions", "attended"):
            assert mine.loc[want.index, col].tolist() == want[col].tolist(), (approach, col)


def test_attended_by_child_led_adds_up_to_the_kpis_of_the_scope(sample_con, period):
    got = analytics.attended_by(sample_con, period, "therapist_id", "approach")
    k = analytics.kpis(sample_con, replace(period, approaches=("child-led",)))["current"]
    assert int(got.loc[got["approach"] == "child-led", "attended"].sum()) == k["attended"] > 0


def test_effects_in_spans_equal_effects_on_each_span(sample_con, period):
    mid = period.date_from + dt.timedelta(days=90)
    spans = [(period.date_from, mid), (mid + dt.timedelta(days=1), period.date_to), (mid, mid)]
    got = ap.approach_effects_in(sample_con, period, spans)
    assert len(got) == 3
    for (lo, hi), g in zip(spans, got):
        want = analytics.approach_effects(sample_con, replace(period, date_from=lo, date_to=hi))
        pd.testing.assert_frame_equal(g, want, check_exact=True)
    assert got[0]["n_children"].iloc[0] > 0


@pytest.mark.parametrize("by", [None, "modality", "age_group"])
def test_light_pairing_summarises_as_the_full_one(sample_con, period, by):
    full = ap._with_measure(ap._summarise_pairs(analytics.approach_pairs(sample_con, period), by, "diff", with_nap=True),
                            "engagement")
    pd.testing.assert_frame_equal(analytics.approach_effects(sample_con, period, by=by), full, check_exact=True)


def test_paired_summaries_grouped_equal_one_call_per_column():
    rng = np.random.default_rng(7)
    n = 400
    df = pd.DataFrame({"g": rng.choice(["a", "b", "c", "d"], n, p=[0.5, 0.3, 0.15, 0.05]),
                       "x": rng.normal(0.3, 1, n), "y": rng.normal(-0.1, 0.5, n)})
    df["z"] = df["x"].where(rng.random(n) > 0.2)  # other rows missing: other group sizes
    got = paired_summaries_grouped(df, "g", ["x", "y", "z"], resamples=500, seed=11)
    for col in ("x", "y", "z"):
        pd.testing.assert_frame_equal(got[col], paired_summary_grouped(df, "g", col, resamples=500, seed=11),
                                      check_exact=True)
    assert not got["x"]["ci_lo"].equals(got["z"]["ci_lo"])
