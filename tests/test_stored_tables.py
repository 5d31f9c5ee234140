"""The stored statistics tables go stale when the code behind them changes (issue 11, item 15).

``analytics.freshness.code_key(root)`` hashes what the stored tables depend on: every module of
``analytics/``, every module under ``stats/`` and every SQL file of ``queries/analysis``,
``queries/intermediate`` and ``queries/marts``. The tests copy those into a temporary
project root and edit the copy (the real tree is never touched).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import test_dashboard_support as support
from analytics import freshness
from pipelines import warehouse

ROOT = support.ROOT


def copy_tree(dest: Path) -> Path:
    """The parts of the project the key reads, copied to ``dest`` (a project root)."""
    dest.mkdir(parents=True, exist_ok=True)
    for package in ("analytics", "stats"):
        shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "queries", dest / "queries")
    return dest


def test_the_key_covers_every_stats_module_and_every_analysis_and_model_sql_file():
    files = set(freshness.code_files(ROOT))
    expected = {*(ROOT / "analytics").glob("*.py"), *(ROOT / "stats").glob("*.py"),
                *(ROOT / "queries" / "macros").glob("*.sql"), *(ROOT / "queries" / "analysis").glob("*.sql"),
                *(ROOT / "queries" / "intermediate").glob("*.sql"), *(ROOT / "queries" / "marts").glob("*.sql")}
    assert ROOT / "stats" / "single_case_groups.py" in files
    assert ROOT / "stats" / "paired_groups.py" in files
    assert files == expected
    assert freshness.code_key() == freshness.code_key(ROOT)


def test_a_copy_of_the_tree_has_the_same_key(tmp_path):
    assert freshness.code_key(copy_tree(tmp_path)) == freshness.code_key(ROOT)


EDITS = ["stats/single_case_groups.py", "stats/paired_groups.py", "stats/rci.py",
         "stats/gas.py", "analytics/approach.py", "queries/analysis/measure_pairs.sql",
         "queries/analysis/gas_review_goals.sql", "queries/intermediate/int_sessions.sql",
         "queries/marts/goal_ratings.sql", "queries/macros/filtered_rows.sql"]


@pytest.mark.parametrize("rel", EDITS)
def test_editing_a_file_the_stored_tables_depend_on_changes_the_key(tmp_path, rel):
    before = freshness.code_key(copy_tree(tmp_path / "a"))
    edited = copy_tree(tmp_path / "b")
    with open(edited / rel, "a", encoding="utf-8") as fh:
        fh.write("\n-- a changed method\n" if rel.endswith(".sql") else "\n# a changed method\n")
    assert freshness.code_key(edited) != before


@pytest.mark.parametrize("rel", ["stats/trend_groups.py", "queries/analysis/new_query.sql"])
def test_a_new_file_changes_the_key(tmp_path, rel):
    before = freshness.code_key(copy_tree(tmp_path / "a"))
    edited = copy_tree(tmp_path / "b")
    (edited / rel).write_text("-- new\n" if rel.endswith(".sql") else "# new\n", encoding="utf-8")
    assert freshness.code_key(edited) != before


@pytest.mark.parametrize("gone", ["analytics", "stats", "queries/macros", "queries/analysis",
                                  "queries/intermediate", "queries/marts"])
def test_a_missing_dependency_fails_loudly(tmp_path, gone):
    root = copy_tree(tmp_path)
    target = root / gone
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    with pytest.raises(FileNotFoundError, match="stored tables depend on"):
        freshness.code_key(root)


def test_an_edited_stats_module_stops_the_stored_tables_being_used(tmp_path, monkeypatch, tiny_db):
    """End to end: the tables stored by a load are used while the code is the same, and not
    once a stats module differs (the page then computes from the data with the new code)."""
    db = tiny_db
    same, edited = copy_tree(tmp_path / "same"), copy_tree(tmp_path / "edited")
    with open(edited / "stats" / "single_case_groups.py", "a", encoding="utf-8") as fh:
        fh.write("\n# a changed method\n")
    con = warehouse.connect_reader(db)
    try:
        monkeypatch.setattr(freshness, "CODE_ROOT", same)
        assert freshness.stored_current(con)
        monkeypatch.setattr(freshness, "CODE_ROOT", edited)
        assert not freshness.stored_current(con)
    finally:
        con.close()


@pytest.mark.parametrize("measure", ["COPM-P", "engagement"])
def test_pairs_of_a_measure_are_the_same_from_the_stored_table_or_computed(sample_con, measure):
    """With no filter, approach_pairs reads the stored child_approach_effects; that table holds
    every session-level measure but the standardised ones, so a standardised measure asked for by
    name must be computed, not read as no pairs at all (the `effects --measure COPM-P` command too)."""
    from analytics import _db
    from analytics.approach import approach_pairs, effects, pairs_of
    from analytics.filters import Filters

    assert freshness.stored_current(sample_con)
    fresh = pairs_of(_db.query(sample_con, "approach_sessions", {**Filters().params(), "measure": measure}))
    got = approach_pairs(sample_con, Filters(), measure)
    assert len(fresh) > 0
    pd.testing.assert_frame_equal(got.reset_index(drop=True), fresh.reset_index(drop=True), check_dtype=False,
                                  check_exact=False, rtol=1e-12)
    assert set(effects(sample_con, measure)["child_id"]) == set(fresh["child_id"])


@pytest.mark.parametrize("batch", [1, 97, 5_000])
def test_approach_effects_in_batches_equal_one_call(sample_db, monkeypatch, batch):
    """``child_approach_effects`` computed in batches of whole child x measure groups (the
    stored build's bound on memory, ``stored.EFFECT_BATCH_ROWS``) is the frame of one call over
    every row: same rows, order, values and dtypes (batches of 1 row: one batch per group)."""
    import duckdb
    import pandas as pd

    from analytics import stored

    cmp_ = stored.settings.get().comparison
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        monkeypatch.setattr(stored, "EFFECT_BATCH_ROWS", 10**12)
        whole = stored._approach_effects(con, cmp_.min_sessions_per_approach, cmp_.confidence)
        monkeypatch.setattr(stored, "EFFECT_BATCH_ROWS", batch)
        batched = stored._approach_effects(con, cmp_.min_sessions_per_approach, cmp_.confidence)
    finally:
        con.close()
    assert len(whole) > 100 and whole["eligible"].any()
    pd.testing.assert_frame_equal(batched, whole, check_exact=True)
