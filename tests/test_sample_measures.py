"""The sample's wide measures (issue 13 item 7, single-file shape): on_task (percent, higher is
better) and protests (count, lower is better) for some children, each with a planted child-led
effect (truth.json ``measures_planted``), recovered through the analytics on the loaded sample."""

from __future__ import annotations

import numpy as np
import pytest

import analytics
from pipelines import warehouse


@pytest.fixture(scope="module")
def con(sample_db):
    c = warehouse.connect_reader(sample_db)
    yield c
    c.close()


@pytest.fixture(scope="module")
def planted(sample_truth) -> dict:
    return sample_truth["measures_planted"]


def test_the_measured_children_and_nobody_else_have_values(con, planted):
    for m in ("on_task", "protests"):
        got = set(con.execute("select distinct child_id from observations where measure = $m", {"m": m}).df()["child_id"])
        assert got == set(planted[m]["children"]) and len(got) >= 30, m


def test_the_planted_on_task_effect_is_recovered(con, planted):
    pairs = analytics.approach_pairs(con, measure="on_task")
    elig = pairs[pairs["eligible"]]
    assert len(elig) >= 25
    effect = elig["child_id"].map(planted["on_task"]["children"])
    # per child: the child-led minus directed mean follows the planted effect (noise SD 8 per session)
    assert np.corrcoef(elig["diff"], effect)[0, 1] > 0.3
    e = analytics.approach_effects(con, measure="on_task").iloc[0]
    assert bool(e["estimated"]) and e["n_children"] == len(elig)
    assert e["ci_lo"] <= effect.mean() <= e["ci_hi"], (e["ci_lo"], effect.mean(), e["ci_hi"])
    assert e["nap_ci_lo"] > 0.5                                    # child-led more on task


def test_the_planted_protest_reduction_is_recovered_in_the_measures_direction(con, planted):
    pairs = analytics.approach_pairs(con, measure="protests")
    elig = pairs[pairs["eligible"]]
    assert len(elig) >= 25
    expected = elig["child_id"].map(lambda c: planted["protests"]["children"][c]["expected_difference"])
    e = analytics.approach_effects(con, measure="protests").iloc[0]
    assert e["sign"] == -1 and e["mean_diff"] < 0                  # fewer protests child-led
    assert e["ci_lo"] <= expected.mean() <= e["ci_hi"], (e["ci_lo"], expected.mean(), e["ci_hi"])
    assert e["nap_ci_lo"] > 0.5 and (elig["better"] == -elig["diff"]).all()   # NAP oriented: lower is better


def test_no_outcome_worsening_is_planted_and_none_is_flagged(con):
    fl = analytics.flags(con)
    assert not (fl["flag"] == "outcome_worsening").any(), fl[fl["flag"] == "outcome_worsening"]


def test_practice_figures_per_measure_on_the_sample(con, planted):
    k = analytics.kpis(con, measure="protests")["current"]
    assert k["n_children_values"] == len(planted["protests"]["children"])
    assert 0 <= k["value_ci_lo"] <= k["mean_value"] <= k["value_ci_hi"]
    g = analytics.group_grid(con, measure="on_task")
    assert g["n_values"].sum() == analytics.kpis(con, measure="on_task")["current"]["n_values"]
