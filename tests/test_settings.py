"""Settings (``pipelines.settings``): the shipped file equals the defaults, every section and key is
typed and checked with a one-line error naming file, section and key, an edited file is picked
up, and the pages follow an edited file in their text and in their figures alike."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import test_dashboard_support as support

import analytics
from pipelines import settings, warehouse
from reports import meeting_pack as mp

ROOT = support.ROOT
SHIPPED = ROOT / "settings.toml"
APP = str(ROOT / "dashboard" / "streamlit_app.py")
TIMEOUT = 60


def edited(tmp_path: Path, name: str = "settings.toml", **changes: str) -> Path:
    """A copy of the shipped settings.toml with ``key = value`` lines replaced (each key must be there)."""
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    for key, value in changes.items():
        hits = [i for i, line in enumerate(lines) if line.startswith(f"{key} = ")]
        assert len(hits) == 1, key
        lines[hits[0]] = f"{key} = {value}"
    out = tmp_path / name
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


# ------------------------------------------------------------------------------------ the file

def test_the_defaults_are_the_shipped_file():
    shipped = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    defaults = settings.Settings()
    # every section and key of settings.toml is a field, and every field is in settings.toml
    assert set(shipped) == {"age_groups", *settings.SECTIONS}
    for name, cls in settings.SECTIONS.items():
        assert set(shipped[name]) == {f.name for f in dataclasses.fields(cls)}, name
    # with the same values: the field defaults are the shipped settings
    assert defaults.as_dict() == {**shipped, "access": {**shipped["access"],
                                                        "trusted_issuers": tuple(shipped["access"]["trusted_issuers"])}}
    assert settings.get(SHIPPED) == defaults
    assert settings.Settings() == settings.parse({})      # an empty file is the defaults


def test_the_file_is_chosen_by_argument_then_environment_then_the_project(tmp_path, monkeypatch):
    monkeypatch.delenv("PIPELINES_SETTINGS", raising=False)
    assert settings.path() == SHIPPED and settings.get().source == "settings.toml"
    alt = edited(tmp_path, dropout_days="21")
    monkeypatch.setenv("PIPELINES_SETTINGS", str(alt))
    assert settings.get().flags.dropout_days == 21
    assert settings.get(SHIPPED).flags.dropout_days == 30


def test_a_key_left_out_takes_its_default(tmp_path):
    f = tmp_path / "partial.toml"
    f.write_text("[flags]\ndropout_days = 45\n", encoding="utf-8")
    s = settings.get(f)
    assert s.flags.dropout_days == 45
    assert s.flags.rating_gap_days == settings.FlagSettings().rating_gap_days
    assert s.privacy == settings.PrivacySettings() and s.age_groups == settings.DEFAULT_AGE_GROUPS


def test_an_edited_file_is_picked_up(tmp_path):
    f = edited(tmp_path, small_cell_min="5")
    first = settings.get(f)
    assert settings.get(f) is first                      # cached while the file is unchanged
    edited(tmp_path, small_cell_min="8")
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))   # an editor's save a second later
    assert settings.get(f).privacy.small_cell_min == 8
    assert settings.get(f).fingerprint != first.fingerprint


def test_types_are_kept():
    s = settings.get(SHIPPED)
    assert isinstance(s.uploads.max_mb, float) and isinstance(s.uploads.max_rows, int)
    assert s.age_groups[0] == ("0-2", 0, 2) and s.age_groups[1].label == "3-5"
    assert [g.label for g in s.age_groups] == ["0-2", "3-5", "6-12", "13-18"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.flags.dropout_days = 3  # type: ignore[misc]


BAD = [  # (replace this line, with this, the words the one-line error must hold)
    ("dropout_days = 30", 'dropout_days = "30"', ['[flags] dropout_days = "30"', "whole number"]),
    ("dropout_days = 30", "dropout_days = 30.5", ["[flags] dropout_days = 30.5", "whole number"]),
    ("dropout_days = 30", "dropout_days = true", ["[flags] dropout_days = true", "whole number"]),
    ("dropout_days = 30", "dropout_days = 0", ["[flags] dropout_days = 0", "at least 1"]),
    ("attendance_min_rate = 0.75", "attendance_min_rate = 75", ["[flags] attendance_min_rate = 75", "from 0 to 1"]),
    ("confidence = 0.95", "confidence = 1", ["[comparison] confidence = 1", "between 0 and 1"]),
    ("confidence = 0.95", 'confidence = "95%"', ['[comparison] confidence = "95%"', "number"]),
    ("small_cell_min = 5", "small_cell_min = 1", ["[privacy] small_cell_min = 1", "at least 2"]),
    ("expected_level = 0", "expected_level = 3", ["[gas] expected_level = 3", "from -2 to 2"]),
    ("max_mb = 50", "max_mb = -1", ["[uploads] max_mb = -1", "above 0"]),
    ("trusted_issuers = []", 'trusted_issuers = "https://a.example"', ["[access] trusted_issuers", "list of texts"]),
    ("dropout_days = 30", "dropout_dayz = 30", ["[flags] dropout_dayz", "unknown setting", "dropout_days"]),
    ("[flags]", "[flag]", ["[flag]", "unknown section"]),
    ('"3-5" = [3, 5]', '"3-5" = [5, 3]', ['[age_groups] "3-5" = [5, 3]', "lowest first"]),
    ('"3-5" = [3, 5]', '"3-5" = [3]', ['[age_groups] "3-5" = [3]', "[lowest age, highest age]"]),
    ('"3-5" = [3, 5]', '"3-5" = [2, 5]', ['[age_groups] "3-5" = [2, 5]', 'overlaps "0-2"']),
    ("dropout_days = 30", "dropout_days = ", ["not valid TOML", "line"]),
]


@pytest.mark.parametrize("line, replacement, words", BAD, ids=[b[1] for b in BAD])
def test_a_bad_value_is_one_line_naming_file_section_and_key(tmp_path, line, replacement, words):
    text = SHIPPED.read_text(encoding="utf-8")
    assert text.count(line) == 1, line
    f = tmp_path / "bad.toml"
    f.write_text(text.replace(line, replacement), encoding="utf-8")
    with pytest.raises(settings.SettingsError) as err:
        settings.get(f)
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith(f"{f}: "), msg
    for w in words:
        assert w in msg, (w, msg)


def test_a_missing_file_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_SETTINGS", str(tmp_path / "nowhere.toml"))
    with pytest.raises(settings.SettingsError, match=r"nowhere\.toml: the settings file cannot be read .*"
                                                     r"\$PIPELINES_SETTINGS names it"):
        settings.get()


def test_the_command_line_says_what_is_wrong_in_one_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(SHIPPED.read_text(encoding="utf-8").replace("dropout_days = 30", 'dropout_days = "x"'),
                   encoding="utf-8")
    export = support.write_tiny_practice(tmp_path / "exports", n_children=3, weeks=2)[0]
    db = tmp_path / "w.duckdb"
    env = {**os.environ, "PIPELINES_SETTINGS": str(bad), "PIPELINES_AUDIT": str(tmp_path / "audit.jsonl")}
    run = subprocess.run([sys.executable, "-m", "pipelines", "load", str(export), "--db", str(db)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines == [f'error: {bad}: [flags] dropout_days = "x": expected a whole number of at least 1'], run.stderr
    assert not db.exists()                               # nothing was loaded


def test_the_dashboard_says_what_is_wrong_and_shows_nothing_else(tmp_path, monkeypatch):
    bad = edited(tmp_path, name="bad.toml", small_cell_min='"five"')
    monkeypatch.setenv("PIPELINES_SETTINGS", str(bad))
    monkeypatch.setenv("PIPELINES_DB", str(tmp_path / "none.duckdb"))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Practice settings cannot be read"]
    assert [c.value for c in at.code] == [f'{bad}: [privacy] small_cell_min = "five": expected a whole number of '
                                          "at least 2"]
    assert not at.metric and not at.dataframe


# ------------------------------------------------------------------------------------ pages follow

@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("settings_pages")
    path, _ = support.build_warehouse(work / "practice.duckdb", work)
    return path


def open_page(page: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    at.run()
    assert not at.exception, at.exception[0].value
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception[0].value
    return at


def text_of(at: AppTest) -> str:
    return " | ".join(str(e.value) for kind in ("caption", "markdown", "info") for e in getattr(at, kind))


def flags_now(db: Path, f) -> pd.DataFrame:
    con = warehouse.connect_reader(db)
    try:
        return analytics.flags(con, f)
    finally:
        con.close()


def test_needs_attention_text_and_flags_follow_the_settings(db, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB", str(db))
    monkeypatch.delenv("PIPELINES_SETTINGS", raising=False)
    before = open_page("needs_attention", {"period": "all"})   # the defaults, cached by the dashboard
    f = before.session_state["filters"]
    default_flags = flags_now(db, f)
    assert "attendance under 75%" in text_of(before) and "over the last 8 weeks" in text_of(before)

    monkeypatch.setenv("PIPELINES_SETTINGS", str(edited(
        tmp_path, attendance_min_rate="0.95", engagement_window_weeks="6", gas_stall_weeks="10",
        dropout_days="21", rating_gap_days="45")))
    new_flags = flags_now(db, f)
    assert len(new_flags) != len(default_flags)     # the change matters in this data
    at = open_page("needs_attention", {"period": "all"})
    body = text_of(at)
    for words in ("over the last 6 weeks", "stalled for 10 weeks", "attendance under 95%", "no session for 21 days",
                  "no goal rating for 45 days"):
        assert words in body, (words, body)
    table = at.dataframe[0].value
    assert len(table) == len(new_flags)
    assert sorted(zip(table["child_id"], table["flag"])) == sorted(zip(new_flags["child_id"], new_flags["flag"]))
    low = table[table["flag"] == "low_attendance"]
    assert len(low) and (low["threshold"] == 0.95).all() and low["reason"].str.contains("below 95%").all()


def shared_pack_cells(at: AppTest) -> str:
    """The page's table cells: its markdown tables (``layout.static_table``, escapes removed),
    grids and tables."""
    tables = [str(m.value).replace("\\", "") for m in at.markdown if str(m.value).startswith("| ")]
    return " ".join(tables + [df.value.to_csv() for df in at.dataframe] + [str(t.value) for t in at.table])


def test_team_meeting_small_cells_follow_the_settings(db, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB", str(db))
    monkeypatch.delenv("PIPELINES_SETTINGS", raising=False)

    def shared(k: int) -> tuple[AppTest, mp.MeetingPack]:
        at = open_page("team_meeting")
        at.toggle(key="mp_suppress").set_value(True).run()
        assert not at.exception, at.exception[0].value
        con = warehouse.connect_reader(db)
        try:
            f = at.session_state["filters"]  # the pack's team and period are the sidebar's
            pack = mp.build_pack(con, team=f.teams[0], date_from=f.date_from, date_to=f.date_to,
                                 suppress_small_cells=True)
        finally:
            con.close()
        assert pack.small_cell_min == k
        return at, pack

    at5, _ = shared(5)
    assert "fewer than 5 children show as \\<5" in " ".join(str(i.value) for i in at5.info)
    monkeypatch.setenv("PIPELINES_SETTINGS", str(edited(tmp_path, small_cell_min="40")))
    at, pack = shared(40)
    info = " ".join(str(i.value) for i in at.info)
    assert "fewer than 40 children show as \\<40" in info, info
    cells = shared_pack_cells(at)
    assert "<40" in cells and "<5" not in cells
    caseload = pack.caseload
    assert (caseload["n_children"].astype(str) == "<40").any()   # the computation hid what k = 5 showed
