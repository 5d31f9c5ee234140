"""The dashboard's page tests on Parquet marts made by Spark (``serve-from``'s serving file).

The sample practice is built by ``spark_engine`` (local mode, with the stored statistics) and
served through ``spark_engine.serving`` (DuckDB views over the Parquet files); the page tests
of ``test_dashboard_pages.py`` that read a warehouse run here unchanged with their ``db``
pointing at that serving file. Left out: the tests that load data (upload, first start) or need
another warehouse (no goals, none at all): a Parquet-served dashboard does not load. A
therapist's scoped connection on the served marts sees only that therapist's children, as on a
warehouse. Skipped, with the reason, without pyspark, sqlglot or Java.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from spark_support import require_spark, spark_marts

require_spark()

from access import scope as scope_mod  # noqa: E402
from pipelines import warehouse  # noqa: E402
from spark_engine import serving  # noqa: E402
from test_dashboard_pages import (  # noqa: E402,F401  (the page tests, run here on the Parquet marts)
    con, test_approach_page_matches_analytics, test_child_page_from_url, test_child_page_unknown_child_warns,
    test_data_page_shows_history_and_rejects, test_empty_selection_shows_a_message, test_filters_persist_across_pages,
    test_invalid_url_values_are_ignored_with_a_warning, test_modality_filter_changes_the_numbers,
    test_needs_attention_lists_analytics_flags_with_links, test_overview_headline_matches_analytics,
    test_page_renders_without_exception, test_period_filter_changes_the_numbers, test_url_custom_dates,
    test_url_restores_filters, use_db)


@pytest.fixture(scope="session")
def db(sample_source, sample_truth, tmp_path_factory) -> Path:
    """The serving file of the sample practice's Parquet marts, built by Spark."""
    today = dt.date.fromisoformat(sample_truth["end"]) + dt.timedelta(days=1)
    marts = spark_marts([sample_source / "canonical"], today)
    return serving.write_serving_db(marts, tmp_path_factory.mktemp("served") / "serving.duckdb")


def test_marts_are_views_over_parquet(db):
    reader = warehouse.connect_reader(db)
    try:
        views = {r[0] for r in reader.execute("select view_name from duckdb_views() where not internal "
                                              "and database_name = current_database()").fetchall()}
        sql = reader.execute("select sql from duckdb_views() where view_name = 'sessions' "
                             "and database_name = current_database()").fetchall()[0][0]
    finally:
        reader.close()
    assert {"sessions", "observations", "goal_ratings", "child_flags", "analytics_meta"} <= views
    assert "read_parquet" in sql


def test_a_therapist_sees_only_their_children_on_the_served_marts(db, sample_db):
    reader = warehouse.connect_reader(db)
    duck = warehouse.connect_reader(sample_db)
    try:
        therapist = reader.execute("select min(therapist_id) from sessions").fetchall()[0][0]
        mine = scope_mod.Scope("therapist", therapist_id=therapist)
        scoped = scope_mod.scoped(reader, mine)
        cur = scoped.cursor()
        try:
            seen = {r[0] for r in cur.execute("select distinct child_id from sessions").fetchall()}
            flagged = {r[0] for r in cur.execute("select distinct child_id from child_flags").fetchall()}
        finally:
            cur.close()
        expected = set(scope_mod.scope_children(duck, mine))
        everyone = {r[0] for r in reader.execute("select distinct child_id from sessions").fetchall()}
    finally:
        reader.close()
        duck.close()
    assert seen == expected and seen < everyone
    assert flagged <= expected


def _data_page(path: Path, use_db, monkeypatch, tmp_path):
    from test_dashboard_pages import open_page

    use_db(path)
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "audit.sqlite"))
    at = open_page("data_loads")
    assert not at.exception, at.exception[0].value
    return at


def test_served_marts_hide_uploads_and_undo(db, sample_db, use_db, monkeypatch, tmp_path):
    """Serving Parquet marts, the Data page has no upload form and no "Undo a load" (a load into
    the serving file would write a warehouse over the views): it says loads run on the Spark
    pipeline, and still shows the history and rejected rows. On a warehouse both are there."""
    at = _data_page(db, use_db, monkeypatch, tmp_path)
    said = " ".join(str(i.value) for i in at.info)
    assert not at.get("file_uploader") and not at.get("form_submit_button"), said
    assert "Undo a load" not in [e.label for e in at.expander]
    assert "loads run on the Spark pipeline" in said and "--engine spark" in said, said
    assert at.dataframe, "the load history is still shown"
    at = _data_page(sample_db, use_db, monkeypatch, tmp_path)
    assert at.get("file_uploader") and "Undo a load" in [e.label for e in at.expander]
    assert "Spark pipeline" not in " ".join(str(i.value) for i in at.info)
