"""The dashboard pages under Streamlit's AppTest, on the shared warehouse of the sample data
(``dashboard_db`` of conftest.py; the tiny handmade practice when the sample is not there).

Every page renders without an exception, reacts to the filters as ``analytics``
says it should, restores filters from the URL (ignoring invalid values with a warning),
and shows a message, not an exception, when a filter combination has no data.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import test_dashboard_support as support

import analytics  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from pipelines import warehouse  # noqa: E402

APP = str(support.ROOT / "dashboard" / "streamlit_app.py")
PAGES = ["overview", "groups", "approach", "attendance", "child_progress", "needs_attention", "team_meeting", "data_loads"]
TIMEOUT = 60


@pytest.fixture(scope="session")
def db(dashboard_db) -> Path:
    return dashboard_db  # shared, read-only (conftest.py)


@pytest.fixture(scope="session")
def db_no_goals(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("dash_nogoals")
    path, _ = support.build_warehouse(work / "practice.duckdb", work, with_goals=False)
    return path


@pytest.fixture()
def use_db(monkeypatch):
    def _use(path: Path) -> None:
        monkeypatch.setenv("PIPELINES_DB", str(path))
    return _use


@pytest.fixture()
def con(db):
    c = warehouse.connect_reader(db)
    yield c
    c.close()


def app(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if query:
        at.query_params.update(query)
    return at


def open_page(page: str, query: dict | None = None) -> AppTest:
    at = app(query).run()
    assert not at.exception, at.exception[0].value
    at.switch_page(f"app_pages/{page}.py").run()
    return at


def metric(at: AppTest, label: str) -> str:
    for m in at.metric:
        if m.label == label:
            return m.value
    raise AssertionError(f"no metric {label!r}; have {[m.label for m in at.metric]}")


def texts(at: AppTest, kind: str = "info") -> str:
    return " | ".join(str(e.value) for e in getattr(at, kind))


def empty_combination(con) -> tuple[str, str]:
    """A modality and a therapist with no session together (therapists specialise)."""
    opts = analytics.filter_options(con)
    for t in opts["therapists"]:
        for m in opts["modalities"]:
            f = analytics.Filters(modalities=(m,), therapists=(t,))
            if analytics.child_list(con, f).empty:
                return m, t
    pytest.skip("every modality x therapist pair has sessions in this data")


# ---------------------------------------------------------------------------------------------- render

@pytest.mark.parametrize("page", PAGES)
def test_page_renders_without_exception(db, use_db, page):
    use_db(db)
    at = open_page(page)
    assert not at.exception, at.exception[0].value
    assert at.title, f"{page} has no title"


# ---------------------------------------------------------------------------------------------- filters

def test_overview_headline_matches_analytics(db, use_db, con):
    use_db(db)
    at = open_page("overview")
    f = at.session_state["filters"]
    k = analytics.kpis(con, f)["current"]
    assert metric(at, "Sessions") == f"{int(k['sessions']):,}"
    assert metric(at, "Active children") == f"{int(k['active_children']):,}"
    assert metric(at, "Attendance rate") == f"{100 * k['attendance_rate']:.1f}%"


def test_modality_filter_changes_the_numbers(db, use_db, con):
    use_db(db)
    at = open_page("overview")
    before = metric(at, "Sessions")
    modality = analytics.filter_options(con)["modalities"][0]
    at.multiselect(key="f_modality").set_value([modality]).run()
    assert not at.exception
    f = at.session_state["filters"]
    assert f.modalities == (modality,)
    k = analytics.kpis(con, f)["current"]
    assert metric(at, "Sessions") == f"{int(k['sessions']):,}"
    assert metric(at, "Sessions") != before
    # the filter is written to the URL, so the view can be bookmarked
    assert at.query_params.get("modality") == modality


def test_period_filter_changes_the_numbers(db, use_db, con):
    use_db(db)
    at = open_page("overview")
    at.selectbox(key="f_period").set_value("4w").run()
    f = at.session_state["filters"]
    assert (f.date_to - f.date_from).days == 27
    assert f.date_to == analytics.as_of(con)
    k = analytics.kpis(con, f)["current"]
    assert metric(at, "Sessions") == f"{int(k['sessions']):,}"
    assert at.query_params.get("period") == "4w"


def test_url_restores_filters(db, use_db, con):
    use_db(db)
    opts = analytics.filter_options(con)
    mods = list(opts["modalities"][:2])
    team = analytics.child_list(con, analytics.Filters(modalities=tuple(mods)))["team"].mode()[0]
    at = open_page("groups", {"modality": mods, "team": team, "period": "6m"})
    assert not at.exception
    assert at.multiselect(key="f_modality").value == mods
    assert at.multiselect(key="f_team").value == [team]
    assert at.selectbox(key="f_period").value == "6m"
    f = at.session_state["filters"]
    assert f.modalities == tuple(mods) and f.teams == (team,)
    # the grid shown is the analytics grid for those filters
    grid = analytics.group_grid(con, f)
    shown = at.dataframe[0].value
    assert len(shown) == len(grid)
    assert sorted(shown["modality"].unique()) == sorted(grid["modality"].unique())
    assert set(shown["modality"]) <= set(mods)


def test_url_custom_dates(db, use_db, con):
    use_db(db)
    as_of = analytics.as_of(con)
    start = as_of.replace(day=1)
    at = open_page("overview", {"from": start.isoformat(), "to": as_of.isoformat()})
    f = at.session_state["filters"]
    assert (f.date_from, f.date_to) == (start, as_of)
    k = analytics.kpis(con, f)["current"]
    assert metric(at, "Sessions") == f"{int(k['sessions']):,}"


def test_invalid_url_values_are_ignored_with_a_warning(db, use_db):
    use_db(db)
    at = open_page("overview", {"modality": ["Physio", "OT"], "from": "2026-13-45", "period": "decade",
                                "age": "99-100"})
    assert not at.exception
    # at the top of the page, where the reader looks (a narrow window can hide the sidebar)
    warn = " ".join(w.value for w in at.main.warning)
    assert "Physio" in warn and "2026-13-45" in warn and "decade" in warn and "99-100" in warn
    assert at.multiselect(key="f_modality").value == ["OT"]
    assert at.selectbox(key="f_period").value == "3m"


def test_filters_persist_across_pages(db, use_db, con):
    use_db(db)
    at = open_page("overview")
    team = analytics.filter_options(con)["teams"][0]
    at.multiselect(key="f_team").set_value([team]).run()
    at.query_params.clear()  # the navigation menu clears the address; the session keeps the filters
    at.switch_page("app_pages/needs_attention.py").run()
    assert not at.exception
    assert at.multiselect(key="f_team").value == [team]
    assert at.session_state["filters"].teams == (team,)
    assert at.query_params.get("team") == team


# ---------------------------------------------------------------------------------------------- empty

@pytest.mark.parametrize("page", ["overview", "groups", "approach", "child_progress", "needs_attention"])
def test_empty_selection_shows_a_message(db, use_db, con, page):
    use_db(db)
    m, t = empty_combination(con)
    at = open_page(page, {"modality": m, "therapist": t})
    assert not at.exception, at.exception[0].value
    assert at.session_state["filters"].modalities == (m,)
    shown = texts(at, "info") + texts(at, "success")
    assert "No " in shown or "no " in shown, shown


# ---------------------------------------------------------------------------------------------- pages

def test_child_page_from_url(db, use_db, con):
    use_db(db)
    child = analytics.filter_options(con)["children"][2]
    at = open_page("child_progress", {"child": child})
    assert not at.exception
    assert at.selectbox(key="child_pick").value == child
    assert at.query_params.get("child") == child
    # the period follows the sidebar by default (issue 15), and the page says so
    f = at.session_state["filters"]
    assert at.toggle(key="child_whole").value is False
    timeline = analytics.child_timeline(con, child, analytics.Filters(date_from=f.date_from, date_to=f.date_to))
    assert metric(at, "Sessions scheduled") == f"{len(timeline):,}"
    body = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "Showing the sidebar's period" in body
    at.toggle(key="child_whole").set_value(True).run()
    assert metric(at, "Sessions scheduled") == f"{len(analytics.child_timeline(con, child)):,}"
    body = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "Showing the whole history" in body


def test_child_page_unknown_child_warns(db, use_db):
    use_db(db)
    at = open_page("child_progress", {"child": "C9999-unknown"})
    assert not at.exception
    assert "C9999-unknown" in texts(at, "warning")


def test_needs_attention_lists_analytics_flags_with_links(db, use_db, con):
    use_db(db)
    at = open_page("needs_attention", {"period": "all"})
    assert not at.exception
    flags = analytics.flags(con, at.session_state["filters"])
    if flags.empty:
        assert "No child" in texts(at, "success")
        return
    table = at.dataframe[0].value
    assert len(table) == len(flags)
    assert all(u.startswith("child_progress?") and "child=" in u for u in table["page"])


def test_approach_page_matches_analytics(db, use_db, con):
    use_db(db)
    at = open_page("approach", {"period": "all"})
    assert not at.exception
    overall = analytics.approach_effects(con, at.session_state["filters"])
    table = at.dataframe[0].value
    row = table[table["section"] == "All children"].iloc[0]
    assert int(row["n_children"]) == int(overall["n_children"].iloc[0])
    body = " ".join(m.value for m in at.markdown) + texts(at, "info")
    assert "observational" in body and "not" in body


def test_data_page_shows_history_and_rejects(db, use_db):
    use_db(db)
    at = open_page("data_loads")
    assert not at.exception
    history = at.dataframe[0].value
    from pipelines import load
    assert list(history["name"]) == [f["name"] for f in load.status(db)["file_list"]]


def test_data_page_upload_loads_through_the_pipeline(tmp_path, use_db, tiny_db_copy):
    db = tiny_db_copy
    use_db(db)
    before = warehouse.version(db)
    extra = support.write_tiny_practice(tmp_path / "more", n_children=4, weeks=6, seed=3)[0]
    content = extra.read_bytes().replace(b"C000", b"X000")
    at = open_page("data_loads")
    at.file_uploader(key="uploads").set_value(("new_export.csv", content, "text/csv"))
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, at.exception[0].value
    said = f"errors: {texts(at, 'error')}; warnings: {texts(at, 'warning')}; success: {texts(at, 'success')}"
    assert "new_export.csv" in " ".join(str(d.value.to_dict()) for d in at.dataframe), said
    assert warehouse.version(db) != before, said
    from pipelines import load
    assert "new_export.csv" in [f["name"] for f in load.status(db)["file_list"]]


def test_missing_goal_data_is_explained_not_an_error(db_no_goals, use_db):
    use_db(db_no_goals)
    at = open_page("overview")
    assert not at.exception
    assert "No GAS ratings" in texts(at, "caption") + texts(at, "info")
    at.switch_page("app_pages/child_progress.py").run()
    assert not at.exception
    assert "No GAS ratings" in texts(at, "info")
    at.switch_page("app_pages/groups.py").run()
    assert not at.exception


def test_first_start_loads_the_sample(tmp_path, use_db, monkeypatch):
    from dashboard import data

    sample = tmp_path / "sample"
    support.write_tiny_practice(sample, n_children=6, weeks=8)
    monkeypatch.setattr(data, "SAMPLE_DIR", sample)
    db = tmp_path / "fresh" / "practice.duckdb"
    use_db(db)
    at = open_page("overview")
    assert not at.exception, at.exception[0].value
    assert db.exists()
    assert metric(at, "Active children")
    at.switch_page("app_pages/data_loads.py").run()
    assert "sample data" in texts(at, "warning")


def test_no_warehouse_and_no_sample_points_to_the_data_page(tmp_path, use_db, monkeypatch):
    from dashboard import data

    monkeypatch.setattr(data, "SAMPLE_DIR", tmp_path / "nothing")
    use_db(tmp_path / "none" / "practice.duckdb")
    at = open_page("overview")
    assert not at.exception
    assert "No data is loaded yet" in texts(at, "info")
    at.switch_page("app_pages/data_loads.py").run()
    assert not at.exception


def test_is_sample_data(tmp_path):
    from dashboard import data

    sample = tmp_path / "canonical"
    support.write_tiny_practice(sample, n_children=2, weeks=2)
    assert data.is_sample_data(["export_a.csv", "export_b.csv"], sample)
    assert data.is_sample_data(["export_b.csv"], sample)
    assert not data.is_sample_data(["export_a.csv", "clinic_march.csv"], sample)
    assert not data.is_sample_data([], sample)
    assert not data.is_sample_data(["export_a.csv"], tmp_path / "missing")
