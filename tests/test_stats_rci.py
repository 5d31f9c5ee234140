"""Reliable Change Index (Jacobson & Truax 1991)."""

import math

import numpy as np
import pandas as pd
import pytest

import stats
from stats.rci import (
    DETERIORATED,
    IMPROVED,
    NO_CHANGE,
    classify_change,
    measure_reference,
    rci,
    rci_category,
    reliable_change_threshold,
    standard_error_of_difference,
    standard_error_of_measurement,
)

from pipelines import measures  # noqa: E402

# the reference the analytics pass: the catalogue's standardised measures (measures.toml)
REF = measures.rci_reference()

RCI_WORKED = [
    # (x1, x2, sd, r, SE, S_diff, RCI) -- hand computations of SE = SD sqrt(1-r), S_diff = sqrt(2) SE
    (30, 20, 7.5, 0.88, 7.5 * math.sqrt(0.12), 7.5 * math.sqrt(0.24), -10 / (7.5 * math.sqrt(0.24))),
    (50, 65, 10.0, 0.75, 5.0, 5 * math.sqrt(2), 15 / (5 * math.sqrt(2))),
    (40, 40, 17.0, 0.89, 17 * math.sqrt(0.11), 17 * math.sqrt(0.22), 0.0),
]


@pytest.mark.parametrize("x1, x2, sd, r, se, s_diff, expected", RCI_WORKED)
def test_rci_worked(x1, x2, sd, r, se, s_diff, expected):
    assert standard_error_of_measurement(sd, r) == pytest.approx(se)
    assert standard_error_of_difference(sd, r) == pytest.approx(s_diff)
    assert rci(x1, x2, sd, r) == pytest.approx(expected)


def test_rci_hand_values_rounded():
    assert round(standard_error_of_measurement(7.5, 0.88), 4) == 2.5981
    assert round(standard_error_of_difference(7.5, 0.88), 4) == 3.6742
    assert round(rci(30, 20, 7.5, 0.88), 4) == -2.7217
    assert round(rci(50, 65, 10, 0.75), 4) == 2.1213


def test_reliable_change_threshold_published():
    # CECPfuns (Evans) test: getRCIfromSDandAlpha(7.5, .8, conf = .95) == 9.296925484568419
    assert reliable_change_threshold(7.5, 0.8, confidence=0.95) == pytest.approx(9.296925484568419, rel=1e-12)


CATEGORIES = [
    # (rci, higher_is_better, category)
    (2.5, True, IMPROVED),
    (2.5, False, DETERIORATED),
    (-2.5, True, DETERIORATED),
    (-2.5, False, IMPROVED),
    (1.96, True, NO_CHANGE),  # the criterion is |RCI| > 1.96
    (-1.96, False, NO_CHANGE),
    (0.0, True, NO_CHANGE),
    (float("nan"), True, None),
]


@pytest.mark.parametrize("value, hib, expected", CATEGORIES)
def test_rci_category(value, hib, expected):
    assert rci_category(value, higher_is_better=hib) == expected


def test_arrays_and_nan():
    out = rci(np.array([30, 30, np.nan]), np.array([20, 31, 20]), 7.5, 0.88)
    assert out.shape == (3,) and math.isnan(out[2])
    assert out[0] == pytest.approx(rci(30, 20, 7.5, 0.88))


@pytest.mark.parametrize("sd, r", [(0.0, 0.8), (-1.0, 0.8), (7.5, 1.0), (7.5, -0.1)])
def test_invalid_parameters_raise(sd, r):
    with pytest.raises(ValueError):
        rci(1, 2, sd, r)


def test_the_catalogue_gives_the_reference():
    ref = measure_reference(REF)
    assert {"measure", "full_name", "sd", "reliability", "higher_is_better", "source"} <= set(ref.columns)
    assert ref["higher_is_better"].dtype == bool
    row = ref.set_index("measure").loc["SCAS-P"]
    assert row["sd"] == 17.0 and row["reliability"] == 0.89 and not row["higher_is_better"]
    assert ref.set_index("measure").loc["COPM-P", "higher_is_better"]


def test_a_bad_reference_table_is_refused():
    def table(rows):
        return pd.DataFrame(rows, columns=["measure", "sd", "reliability", "higher_is_better"])
    with pytest.raises(ValueError, match="more than once"):
        measure_reference(table([("A", 1, 0.8, True), ("A", 2, 0.8, False)]))
    with pytest.raises(ValueError, match="true/false"):
        measure_reference(table([("A", 1, 0.8, "maybe")]))
    with pytest.raises(ValueError, match="reliability"):
        measure_reference(table([("A", 1, 1.2, True)]))
    with pytest.raises(ValueError, match="lacks columns"):
        measure_reference(pd.DataFrame({"measure": ["A"]}))


def test_classify_change_uses_reference_and_keeps_rows():
    df = pd.DataFrame(
        {
            "child_id": ["a", "b", "c", "d", "e", "f"],
            "measure": ["SCAS-P", "SCAS-P", "COPM-P", "COPM-P", "UNKNOWN", "FOCUS-34"],
            "score_before": [40, 40, 3.0, 6.0, 10, 100],
            "score_after": [25, 20, 7.0, 2.0, 30, np.nan],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    out = stats.classify_change(df, reference=REF)
    assert out.index.tolist() == df.index.tolist()
    assert out["child_id"].tolist() == df["child_id"].tolist()
    s_diff_scas = math.sqrt(2) * 17 * math.sqrt(1 - 0.89)
    assert out.loc[10, "rci"] == pytest.approx(-15 / s_diff_scas)  # -1.88: not reliable
    assert out.loc[10, "rci_category"] == NO_CHANGE
    assert out.loc[11, "rci"] == pytest.approx(-20 / s_diff_scas)  # -2.51, lower is better
    assert out.loc[11, "rci_category"] == IMPROVED
    assert out.loc[12, "rci_category"] == IMPROVED  # COPM higher is better, +4 / 0.79
    assert out.loc[13, "rci_category"] == DETERIORATED
    assert pd.isna(out.loc[14, "rci_category"]) and math.isnan(out.loc[14, "rci"])
    assert pd.isna(out.loc[15, "rci_category"])
    assert out.loc[11, "change"] == -20 and out.loc[11, "s_diff"] == pytest.approx(s_diff_scas)


def test_classify_change_with_custom_reference_and_columns():
    ref = pd.DataFrame({"measure": ["M"], "sd": [7.5], "reliability": [0.88], "higher_is_better": [False]})
    df = pd.DataFrame({"instrument": ["M", "M"], "pre": [30.0, 30.0], "post": [20.0, 27.0]})
    out = classify_change(df, before="pre", after="post", measure="instrument", reference=ref)
    assert out["rci"].round(4).tolist() == [-2.7217, -0.8165]
    assert out["rci_category"].tolist() == [IMPROVED, NO_CHANGE]


# ----------------------------------------------------------------------------- measures not in the reference
# pandas 3 reads DuckDB results with Arrow-backed strings; a lookup where no measure is in the
# reference gave a null[pyarrow] column whose fillna raised ArrowInvalid (issue 11, item 7).


def _arrow_frame(measures, before, after):
    import duckdb

    con = duckdb.connect()
    try:
        return con.execute("select unnest($m) as measure, unnest($b)::double as first_score, "
                           "unnest($a)::double as last_score",
                           {"m": measures, "b": before, "a": after}).df()
    finally:
        con.close()


@pytest.mark.parametrize("measures", [["XYZ-99"], ["XYZ-99", "ABC-1"], ["XYZ-99", "SCAS-P"]])
def test_measures_not_in_the_reference_get_no_rci_and_no_error(measures):
    df = _arrow_frame(measures, [40.0] * len(measures), [20.0] * len(measures))
    assert str(df["measure"].dtype) in ("str", "string")  # what DuckDB gives pandas 3
    out = classify_change(df, reference=REF, before="first_score", after="last_score")
    unknown = df["measure"] != "SCAS-P"
    assert out.loc[unknown, "rci"].isna().all() and out.loc[unknown, "s_diff"].isna().all()
    assert out.loc[unknown, "rci_category"].isna().all() and out.loc[unknown, "higher_is_better"].isna().all()
    assert out.loc[~unknown, "rci_category"].tolist() == [IMPROVED] * int((~unknown).sum())


def test_explicit_arrow_dtypes_are_accepted():
    df = pd.DataFrame({"measure": pd.Series(["XYZ-99", None, "COPM-P"], dtype="string[pyarrow]"),
                       "score_before": pd.Series([1.0, 2.0, 3.0], dtype="double[pyarrow]"),
                       "score_after": pd.Series([5.0, 2.0, 7.0], dtype="double[pyarrow]")})
    out = classify_change(df, reference=REF)
    assert out["rci_category"].isna().tolist() == [True, True, False]
    assert out.loc[2, "rci_category"] == IMPROVED


def test_a_load_whose_measure_is_not_in_the_catalogue_rejects_those_rows_and_says_why(tmp_path):
    """A real load of a CSV whose outcome measure is not in the catalogue (issue 13): the rows
    naming it are rejected with the reason, the rest loads, nothing already loaded changes, and
    the statistics run (before: a traceback, ``ArrowInvalid`` in stats/rci.py)."""
    import csv

    import test_dashboard_support as support
    import analytics
    from analytics import stored
    from pipelines import load, warehouse

    src = support.write_tiny_practice(tmp_path / "src", n_children=8, weeks=10)[0]
    db = tmp_path / "w.duckdb"
    first = load.load([src], db=db, after_build=stored.STEPS)
    assert not first.failed, [f.message for f in first.failed]

    def state() -> tuple:
        con = warehouse.connect_reader(db)
        try:
            return tuple(con.execute(f"select * from {t} order by all").fetchall()
                         for t in ("sessions", "observations", "measures", "measure_change"))
        finally:
            con.close()
    before = state()
    with open(src, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    renamed = [dict(r, measure="XYZ-99", session_id="N" + r["session_id"]) for r in rows if r["measure"]]
    assert len(renamed) >= 2
    other = tmp_path / "src" / "unknown_measure.csv"
    with open(other, "w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(renamed)
    (rep,) = load.load([other], db=db, after_build=stored.STEPS).files
    assert rep.status == "loaded" and (rep.rows_loaded, rep.rows_rejected) == (0, len(renamed)), rep.message
    con = warehouse.connect_reader(db)
    try:
        reasons = con.execute("select distinct column_name, value, reason from rejects "
                              "where file_name = 'unknown_measure.csv'").fetchall()
        assert reasons == [("measure", "XYZ-99", "measure 'XYZ-99' is not in the catalogue (measures.toml)")]
        live = analytics.reliable_change(con, analytics.Filters(date_from="2000-01-01"))  # computed, not stored
        assert "XYZ-99" not in set(live["measure"])
    finally:
        con.close()
    assert state() == before
