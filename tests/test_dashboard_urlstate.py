"""The filter <-> URL mapping of the dashboard (no app run needed)."""

from __future__ import annotations

import datetime as dt

from dashboard import ui

OPTS = {"modalities": ["CBT", "OT", "speech", "play"], "age_groups": ["0-2", "3-5", "6-12", "13-18"],
        "teams": ["North", "South", "=cmd|' /C calc'!A0"], "therapists": ["T01", "T02"],
        "approaches": ["child-led", "directed", "mixed"], "children": ["C0001"],
        "min_date": dt.date(2025, 11, 3), "max_date": dt.date(2026, 10, 30),
        "measures": ["engagement", "on_task", "protests"]}


def test_round_trip():
    state = {"period": "custom", "from": dt.date(2026, 1, 1), "to": dt.date(2026, 3, 31),
             "modality": ["OT", "speech"], "age": ["3-5"], "team": ["=cmd|' /C calc'!A0"], "therapist": [],
             "approach": ["child-led"], "measure": "on_task", "compare": "year_before"}
    url = ui.state_to_url(state)
    assert url["from"] == ["2026-01-01"] and url["modality"] == ["OT", "speech"] and "therapist" not in url
    assert url["compare"] == ["year_before"]
    assert url["measure"] == ["on_task"]
    back, warnings = ui.state_from_url(url, OPTS)
    assert warnings == []
    assert back == state


def test_defaults_leave_the_url_clean():
    state, warnings = ui.state_from_url({}, OPTS)
    assert warnings == [] and state["period"] == ui.DEFAULT_PERIOD
    assert ui.state_to_url(state) == {}


def test_invalid_values_are_dropped_and_named():
    state, warnings = ui.state_from_url(
        {"modality": ["OT", "Physio"], "period": ["fortnight"], "from": ["2026-02-30"], "age": ["3-5,99"]}, OPTS)
    assert state["modality"] == ["OT"] and state["age"] == ["3-5"] and state["period"] == ui.DEFAULT_PERIOD
    text = " ".join(warnings)
    assert "Physio" in text and "fortnight" in text and "2026-02-30" in text and "99" in text


def test_reversed_dates_are_ignored():
    state, warnings = ui.state_from_url({"from": ["2026-05-01"], "to": ["2026-01-01"]}, OPTS)
    assert state["period"] == ui.DEFAULT_PERIOD and warnings


def test_one_date_is_completed_from_the_data():
    state, _ = ui.state_from_url({"from": ["2026-06-01"]}, OPTS)
    assert (state["period"], state["from"], state["to"]) == ("custom", dt.date(2026, 6, 1), dt.date(2026, 10, 30))


def test_relative_periods_end_at_the_latest_session():
    d_from, d_to = ui.period_dates({"period": "4w"}, OPTS)
    assert d_to == OPTS["max_date"] and (d_to - d_from).days == 27
    assert ui.period_dates({"period": "all"}, OPTS) == (OPTS["min_date"], OPTS["max_date"])


def test_dates_outside_the_data_are_said_not_silently_moved():
    """A link for January 2020 showed 3 Nov 2025 - 3 Nov 2025 (the dates clamped to the data) with no
    word of it (s7 screenshots); dates inside the data say nothing."""
    state, warnings = ui.state_from_url({"from": ["2020-01-01"], "to": ["2020-01-31"]}, OPTS)
    assert state["period"] == "custom"
    (w,) = warnings
    assert "1 Jan 2020 – 31 Jan 2020" in w and "3 Nov 2025 – 30 Oct 2026" in w and "no session falls" in w, w
    _, warnings = ui.state_from_url({"from": ["2026-09-01"], "to": ["2027-03-31"]}, OPTS)
    (w,) = warnings
    assert "showing 1 Sep 2026 – 30 Oct 2026." in w, w
    _, warnings = ui.state_from_url({"from": ["2026-01-01"], "to": ["2026-03-31"]}, OPTS)
    assert warnings == []
