"""Alerts as a workflow (``access.alerts`` and the Needs attention page).

The store: the state of a flag comes from its append-only history; a snooze ends on its
date (a given "today"); a flag that fires again is new with its old history; the key holds
the measure; an action outside the viewer's scope is refused; every action is in the audit
log before it is stored, and nothing is stored when the log cannot be written; two
processes writing at once lose nothing; the store outlives loads and rebuilds.

The page (Streamlit's AppTest on a real warehouse, real SQLite files in tmp): acknowledging
hides a flag and "Show handled" shows it; a snoozed flag comes back after its date with its
history; a flag that fired again comes back as new with the old history; a therapist acts on
their own children, recorded with their role; the CSV has readable headers and safe cells;
the chips and "Show handled" live in the address.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import test_dashboard_support as support

import analytics
from access import access_list, alerts, audit
from access.scope import Scope
from pipelines import load as loader, warehouse

APP = str(support.ROOT / "dashboard" / "streamlit_app.py")
TIMEOUT = 60
AS_OF = dt.date(2026, 10, 30)
AUTH = {"client_id": "dashboard", "client_secret": "s", "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "c" * 32, "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}


def flag(child: str = "C001", code: str = "rating_gap", since: dt.date = dt.date(2026, 9, 1),
         as_of: dt.date = AS_OF, measure: str = "") -> alerts.Flag:
    return alerts.Flag(child, code, measure, since, as_of)


def frame(*flags: alerts.Flag, with_measure: bool = False) -> pd.DataFrame:
    """A flags frame as ``analytics.flags`` gives it (the columns the workflow reads)."""
    out = pd.DataFrame({"child_id": [f.child_id for f in flags], "flag": [f.flag for f in flags],
                        "since": pd.to_datetime([f.since for f in flags]),
                        "as_of": pd.to_datetime([f.as_of for f in flags])})
    if with_measure:
        out["measure"] = [f.measure or None for f in flags]
    return out


@pytest.fixture()
def files(tmp_path) -> dict[str, Path]:
    return {"path": tmp_path / "alerts.sqlite", "audit_log": tmp_path / "audit.sqlite"}


LEAD = {"actor": "lead@p.example", "scope": Scope.everything(), "children": None}


# ----------------------------------------------------------------------------- state from history


def test_state_comes_from_the_history(files):
    a, b = flag("C001"), flag("C002", "low_attendance")
    fl = frame(a, b)
    assert alerts.states(fl, alerts.history(path=files["path"]), AS_OF)["status"].tolist() == ["new", "new"]
    alerts.act("assign", [a], assignee="T04", assignees=["T04", "sam@p.example"], **LEAD, **files)
    alerts.act("acknowledge", [a], note="Called the family; next visit booked", **LEAD, **files)
    s = alerts.states(fl, alerts.history(path=files["path"]), AS_OF)
    assert s.loc[0, ["status", "handled", "assignee", "note"]].tolist() == [
        "acknowledged", True, "T04", "Called the family; next visit booked"]
    assert s.loc[0, "last_action"].startswith("acknowledged by lead@p.example on ")
    assert s.loc[1, ["status", "handled", "assignee"]].tolist() == ["new", False, ""]  # the other flag untouched
    alerts.act("reopen", [a], **LEAD, **files)
    s = alerts.states(fl, alerts.history(path=files["path"]), AS_OF)
    assert s.loc[0, ["status", "handled", "assignee", "actions"]].tolist() == ["open", False, "T04", 3]
    alerts.act("assign", [a], assignee="", assignees=["T04"], **LEAD, **files)  # nobody
    assert alerts.states(fl, alerts.history(path=files["path"]), AS_OF).loc[0, "assignee"] == ""
    assert alerts.history(path=files["path"])["action"].tolist() == ["assign", "acknowledge", "reopen", "assign"]


@pytest.mark.parametrize("statement", ["update alert_actions set actor = 'x'", "delete from alert_actions"])
def test_the_history_is_append_only(files, statement):
    alerts.act("acknowledge", [flag()], **LEAD, **files)
    con = sqlite3.connect(files["path"])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute(statement)
    con.close()
    assert len(alerts.history(path=files["path"])) == 1


def test_a_snooze_ends_on_its_date(files):
    f = flag()
    today = dt.date(2026, 11, 2)
    until = today + dt.timedelta(days=7)
    alerts.act("snooze", [f], until=until, on=today, **LEAD, **files)
    hist = alerts.history(path=files["path"])
    fl = frame(f)
    day_before = alerts.states(fl, hist, until - dt.timedelta(days=1)).iloc[0]
    assert (day_before["status"], day_before["handled"]) == ("snoozed", True)
    assert day_before["status_text"] == f"snoozed until {until}"
    on_the_day = alerts.states(fl, hist, until).iloc[0]
    assert (on_the_day["status"], on_the_day["handled"]) == ("back", False)
    assert on_the_day["status_text"] == f"back: snooze ended {until}"
    assert on_the_day["last_action"].startswith(f"snoozed until {until} by lead@p.example")
    shown = alerts.history_table(fl, hist)
    assert shown[["what", "episode"]].values.tolist() == [[f"snoozed until {until}", "this time"]]


@pytest.mark.parametrize("until, words", [(None, "needs a date"), (dt.date(2026, 11, 2), "after today"),
                                          (dt.date(2026, 10, 1), "after today")])
def test_a_snooze_needs_a_date_after_today(files, until, words):
    with pytest.raises(alerts.AlertInvalid, match=words):
        alerts.act("snooze", [flag()], until=until, on=dt.date(2026, 11, 2), **LEAD, **files)
    assert alerts.history(path=files["path"]).empty and audit.read(files["audit_log"]).empty


def test_a_flag_that_fires_again_is_new_with_its_old_history(files):
    first = flag(since=dt.date(2026, 9, 1), as_of=AS_OF)
    alerts.act("acknowledge", [first], note="seen", **LEAD, **files)
    hist = alerts.history(path=files["path"])
    # the same firing a load later (its evidence began before the acknowledgement): still handled
    later = flag(since=dt.date(2026, 10, 15), as_of=dt.date(2026, 11, 20))
    assert alerts.states(frame(later), hist, dt.date(2026, 11, 21)).loc[0, "status"] == "acknowledged"
    # cleared and fired again: a since after the acknowledgement's data -> new, with the old history
    again = flag(since=dt.date(2026, 11, 10), as_of=dt.date(2026, 11, 20))
    s = alerts.states(frame(again), hist, dt.date(2026, 11, 21)).iloc[0]
    assert (s["status"], s["handled"], s["actions"], s["earlier"], s["note"]) == ("again", False, 0, 1, "")
    assert s["status_text"] == "new again (fired since 2026-11-10)"
    assert s["last_action"].startswith("earlier: acknowledged by lead@p.example")
    past = alerts.history_table(frame(again), hist)
    assert past[["what", "note", "episode"]].values.tolist() == [
        ["acknowledged", "seen", "earlier (flag since 2026-09-01)"]]


def test_the_key_holds_the_measure(files):
    sdq, copm = flag("C001", "reliable_deterioration", measure="SDQ"), flag("C001", "reliable_deterioration",
                                                                               measure="COPM")
    alerts.act("acknowledge", [sdq], **LEAD, **files)
    hist = alerts.history(path=files["path"])
    assert alerts.states(frame(sdq, copm, with_measure=True), hist, AS_OF)["status"].tolist() == [
        "acknowledged", "new"]
    assert hist["measure"].tolist() == ["SDQ"]
    # flags without a measure column key on "" (one history per child and code)
    plain = flag("C001", "reliable_deterioration")
    assert alerts.flag_keys(frame(plain)) == [("C001", "reliable_deterioration", "")]
    assert alerts.states(frame(plain), hist, AS_OF)["status"].tolist() == ["new"]


def test_assign_only_to_someone_offered(files):
    with pytest.raises(alerts.AlertInvalid, match="not on the access list"):
        alerts.act("assign", [flag()], assignee="stranger@else.example", assignees=["T04"], **LEAD, **files)
    with pytest.raises(alerts.AlertInvalid, match="choose the person"):
        alerts.act("assign", [flag()], assignee=None, assignees=["T04"], **LEAD, **files)
    with pytest.raises(alerts.AlertInvalid, match="at most 280"):
        alerts.act("note", [flag()], note="x" * 281, **LEAD, **files)
    assert not files["path"].exists() and audit.read(files["audit_log"]).empty


# ----------------------------------------------------------------------------- scope


@pytest.mark.parametrize("who", [
    {"actor": "ther@p.example", "scope": Scope("therapist", therapist_id="T01")},
    {"actor": "sup@p.example", "scope": Scope("supervisor", ("North",))},
])
def test_an_action_outside_the_scope_is_refused(files, who):
    mine, theirs = flag("C001"), flag("C002")
    with pytest.raises(alerts.AlertRefused, match="C002: not among the children you can see"):
        alerts.act("acknowledge", [mine, theirs], children={"C001"}, **who, **files)
    with pytest.raises(alerts.AlertRefused):  # no children given: nothing is in scope
        alerts.act("acknowledge", [mine], children=None, **who, **files)
    assert not files["path"].exists() and audit.read(files["audit_log"]).empty  # nothing recorded or stored
    alerts.act("acknowledge", [mine], children={"C001"}, **who, **files)  # their own child
    alerts.act("acknowledge", [theirs], **LEAD, **files)                 # a lead: any child
    hist = alerts.history(path=files["path"])
    assert hist[["child_id", "actor", "role"]].values.tolist() == [
        ["C001", who["actor"], who["scope"].role], ["C002", "lead@p.example", "lead"]]


# ----------------------------------------------------------------------------- audit first, fail closed


def test_every_action_is_in_the_audit_log_before_it_is_stored(files, tmp_path):
    f = flag("C007", "possible_dropout")
    seqs = alerts.act("snooze", [f], until=dt.date(2026, 12, 24), note="=1+1", on=dt.date(2026, 12, 1), **LEAD,
                      **files)
    ev = audit.read(files["audit_log"], action="alert")
    assert len(ev) == 1 and ev.loc[0, "child_id"] == "C007" and ev.loc[0, "actor"] == "lead@p.example"
    assert json.loads(ev.loc[0, "detail"]) == {"flag": "possible_dropout", "since": "2026-09-01",
                                               "as_of": "2026-10-30", "action": "snooze", "until": "2026-12-24",
                                               "note": "=1+1"}
    row = alerts.history(path=files["path"]).iloc[0]
    assert int(row["seq"]) == seqs[0] and int(row["audit_seq"]) == int(ev.loc[0, "seq"])
    # the store cannot be written: the audit event is there already (it came first)
    (tmp_path / "store_is_a_dir").mkdir()
    with pytest.raises(sqlite3.OperationalError):
        alerts.act("acknowledge", [f], path=tmp_path / "store_is_a_dir", audit_log=files["audit_log"],
                   **LEAD)
    assert audit.read(files["audit_log"], action="alert")["detail"].map(
        lambda d: json.loads(d)["action"]).tolist() == ["acknowledge", "snooze"]


def test_no_audit_log_no_action(files, tmp_path):
    (tmp_path / "log_is_a_dir").mkdir()
    with pytest.raises(alerts.AlertNotRecorded, match="cannot be written"):
        alerts.act("acknowledge", [flag()], path=files["path"], audit_log=tmp_path / "log_is_a_dir", **LEAD)
    assert not files["path"].exists()
    assert alerts.history(path=files["path"]).empty


WRITER = """
import datetime as dt, sys
from pathlib import Path
from access import alerts
from access.scope import Scope
store, log, who = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
for i in range(30):
    f = alerts.Flag(f"C{i:03d}", "rating_gap", "", dt.date(2026, 9, 1), dt.date(2026, 10, 30))
    alerts.act("note", [f], actor=who, scope=Scope.everything(), children=None, note=f"{who} {i}", path=store,
               audit_log=log)
"""


def test_two_processes_writing_at_once_lose_no_action(files):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(files["path"]), str(files["audit_log"]),
                               f"user{k}@p.example"], cwd=support.ROOT, stderr=subprocess.PIPE, text=True)
             for k in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    hist = alerts.history(path=files["path"])
    assert len(hist) == 60 and hist["seq"].tolist() == list(range(1, 61))
    assert set(hist["note"]) == {f"user{k}@p.example {i}" for k in range(2) for i in range(30)}
    ev = audit.read(files["audit_log"], action="alert")
    assert len(ev) == 60 and set(hist["audit_seq"].astype(int)) == set(ev["seq"].astype(int))
    assert audit.verify(files["audit_log"]).intact
    notes = alerts.states(frame(*[flag(f"C{i:03d}") for i in range(30)]), hist, AS_OF)
    assert (notes["actions"] == 2).all()


# ----------------------------------------------------------------------------- outside the warehouse


def test_the_store_sits_beside_the_warehouse_and_outlives_loads(tmp_path, monkeypatch):
    db, _ = support.build_warehouse(tmp_path / "w" / "practice.duckdb", tmp_path, prefer_sample=False)
    monkeypatch.setenv("PIPELINES_DB", str(db))
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "audit.sqlite"))
    monkeypatch.delenv("PIPELINES_ALERTS", raising=False)
    assert alerts.alerts_path() == db.with_name("practice_alerts.sqlite")
    con = warehouse.connect_reader(db)
    try:
        fl = analytics.flags(con, analytics.Filters())
    finally:
        con.close()
    if fl.empty:
        pytest.skip("the tiny practice has no flag")
    alerts.act("acknowledge", alerts.flags_from_frame(fl.head(1)), **LEAD)
    before = warehouse.version(db)
    extra = support.write_tiny_practice(tmp_path / "more", n_children=3, weeks=4, seed=5)[0]
    assert not loader.load([extra], db=db).failed
    loader.rebuild(db)
    assert warehouse.version(db) != before
    assert alerts.history()[["child_id", "action"]].values.tolist() == [[fl.loc[0, "child_id"], "acknowledge"]]
    monkeypatch.setenv("PIPELINES_ALERTS", str(tmp_path / "elsewhere.sqlite"))
    assert alerts.alerts_path() == tmp_path / "elsewhere.sqlite" and alerts.history().empty


# ----------------------------------------------------------------------------- the page


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("alerts_page")
    path, _ = support.build_warehouse(work / "practice.duckdb", work)
    return path


@pytest.fixture(scope="module")
def all_flags(db) -> pd.DataFrame:
    con = warehouse.connect_reader(db)
    try:
        fl = analytics.flags(con, analytics.Filters())
    finally:
        con.close()
    if fl.empty:
        pytest.skip("no flags in this data")
    return fl


@pytest.fixture()
def env(db, tmp_path, monkeypatch) -> dict[str, Path]:
    monkeypatch.setenv("PIPELINES_DB", str(db))
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "audit.sqlite"))
    monkeypatch.setenv("PIPELINES_ALERTS", str(tmp_path / "alerts.sqlite"))
    return {"audit": tmp_path / "audit.sqlite", "alerts": tmp_path / "alerts.sqlite", "tmp": tmp_path}


def page(query: dict | None = None, at: AppTest | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT) if at is None else at
    at.query_params.update({"period": "all", **(query or {})})
    at.run()
    assert not at.exception, at.exception[0].value
    at.switch_page("app_pages/needs_attention.py").run()
    assert not at.exception, at.exception[0].value
    return at


def table(at: AppTest):
    return next(d for d in at.dataframe if (d.key or "").startswith("na_table_"))


def shown(at: AppTest) -> pd.DataFrame:
    return table(at).value


def tick(at: AppTest, *keys: tuple[str, str]) -> AppTest:
    """Tick the rows of these (child, flag code) in the table, as a click on their boxes does."""
    t = shown(at)
    rows = [int(i) for i, (c, f) in enumerate(zip(t["child_id"], t["flag"])) if (c, f) in keys]
    assert len(rows) == len(keys), (keys, rows)
    at.session_state[table(at).key] = {"selection": {"rows": rows, "columns": []}}
    at.run()
    assert not at.exception, at.exception[0].value
    return at


def press(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, at.exception[0].value
    return at


def history_shown(at: AppTest) -> pd.DataFrame:
    """The history table shown under the selection (the page's second table)."""
    others = [d for d in at.dataframe if not (d.key or "").startswith("na_table_")]
    assert len(others) == 1, [d.key for d in at.dataframe]
    return others[0].value


def keys_of(df: pd.DataFrame) -> list[tuple[str, str]]:
    return list(zip(df["child_id"].astype(str), df["flag"].astype(str)))


def said(at: AppTest) -> str:
    return " | ".join(str(e.value) for kind in ("success", "info", "warning", "error") for e in getattr(at, kind))


def test_acknowledge_hides_the_flag_and_show_handled_shows_it(env, all_flags):
    at = page()
    first = keys_of(shown(at))[0]
    assert len(shown(at)) == len(all_flags)
    press(tick(at, first), "Acknowledge")
    assert "Acknowledged 1 flag: hidden from the list" in said(at)
    assert first not in keys_of(shown(at)) and len(shown(at)) == len(all_flags) - 1
    assert "1 handled flag hidden" in " ".join(c.value for c in at.caption)
    at.toggle(key="na_handled").set_value(True).run()
    t = shown(at)
    row = t[[k == first for k in keys_of(t)]].iloc[0]
    assert row["status_text"] == "acknowledged" and row["last_action"].startswith("acknowledged by local-user")
    assert at.query_params.get("handled") == "1"
    # stored, and recorded in the audit log first
    hist = alerts.history(path=env["alerts"])
    assert keys_of(hist) == [first] and hist.loc[0, "action"] == "acknowledge"
    ev = audit.read(env["audit"], action="alert")
    assert ev["child_id"].tolist() == [first[0]] and int(hist.loc[0, "audit_seq"]) == int(ev.loc[0, "seq"])
    # reopen brings it back to the list
    press(tick(at, first), "Reopen")
    at.toggle(key="na_handled").set_value(False).run()
    assert first in keys_of(shown(at))


def test_a_snoozed_flag_comes_back_after_its_date_with_its_history(env, all_flags, monkeypatch):
    today = dt.date(2026, 12, 1)
    monkeypatch.setattr(alerts, "today", lambda: today)
    at = page()
    target = keys_of(shown(at))[1]
    tick(at, target)
    until = today + dt.timedelta(days=3)
    at.date_input(key="na_until").set_value(until)
    at.text_input(key="na_note").set_value("Review after the family's holiday")
    press(at, "Snooze")
    assert f"Snoozed 1 flag until {until}" in said(at)
    assert target not in keys_of(shown(at))
    monkeypatch.setattr(alerts, "today", lambda: until - dt.timedelta(days=1))
    at.run()
    assert target not in keys_of(shown(at))   # still snoozed the day before
    monkeypatch.setattr(alerts, "today", lambda: until)
    at.run()
    t = shown(at)
    row = t[[k == target for k in keys_of(t)]].iloc[0]
    assert row["status_text"] == f"back: snooze ended {until}"
    assert row["note"] == "Review after the family's holiday"
    assert row["last_action"].startswith(f"snoozed until {until} by local-user")
    tick(at, target)
    past = history_shown(at)
    assert past[["what", "note", "episode"]].values.tolist() == [
        [f"snoozed until {until}", "Review after the family's holiday", "this time"]]


def test_a_flag_that_fired_again_comes_back_as_new_with_the_old_history(env, all_flags):
    row = all_flags.iloc[0]
    since = pd.Timestamp(row["since"]).date()
    # acknowledged weeks ago, on data from before this firing began
    measure = alerts.flag_keys(all_flags.iloc[[0]])[0][2]   # a flag's key includes its measure
    old = alerts.Flag(str(row["child_id"]), str(row["flag"]), measure, since - dt.timedelta(days=60),
                      since - dt.timedelta(days=30))
    alerts.act("acknowledge", [old], note="Resolved with the family", path=env["alerts"],
               audit_log=env["audit"], **LEAD)
    at = page()
    t = shown(at)
    key = (str(row["child_id"]), str(row["flag"]))
    mine = t[[k == key for k in keys_of(t)]].iloc[0]
    assert mine["status_text"] == f"new again (fired since {since})"
    assert mine["last_action"].startswith("earlier: acknowledged by lead@p.example")
    tick(at, key)
    past = history_shown(at)
    assert past[["what", "note", "episode"]].values.tolist() == [
        ["acknowledged", "Resolved with the family", f"earlier (flag since {old.since})"]]


def test_assign_and_note_show_in_the_list(env, all_flags):
    at = page()
    a, b = keys_of(shown(at))[:2]
    tick(at, a, b)
    people = at.selectbox(key="na_assignee").options
    therapist = str(all_flags["therapist_id"].dropna().iloc[0])
    assert therapist in people
    at.selectbox(key="na_assignee").set_value(therapist)
    at.text_input(key="na_note").set_value("Discuss on Thursday")
    press(at, "Assign")
    t = shown(at)
    both = t[[k in (a, b) for k in keys_of(t)]]
    assert both["assignee"].tolist() == [therapist, therapist] and both["status_text"].tolist() == ["open", "open"]
    assert both["note"].tolist() == ["Discuss on Thursday"] * 2


def test_the_csv_has_readable_headers_and_safe_cells(env, all_flags):
    at = page()
    first = keys_of(shown(at))[0]
    tick(at, first)
    at.text_input(key="na_note").set_value("=HYPERLINK(\"http://x.example\")")
    press(at, "Add note")
    content = at.session_state["_export_makers"]["needs-attention flags (CSV)"]()
    raw = content.decode("utf-8-sig")
    csv = pd.read_csv(io.StringIO(raw), dtype=str, keep_default_na=False)
    assert list(csv.columns)[:10] == ["Child", "Flag", "Severity", "Why", "Since", "Status", "Assigned to", "Note",
                                      "Last action", "Based on (n)"]
    assert not {"severity_label", "value", "n", "child_id", "title", "reason"} & set(csv.columns)
    assert len(csv) == len(all_flags)
    assert csv["Based on (n)"].str.fullmatch(r"\d*").all(), csv["Based on (n)"].unique()  # "3", not "3.0"
    assert csv["Since"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(csv["Severity"]) <= {"high", "medium", "low"}
    noted = csv[csv["Child"] == first[0]]
    assert "'=HYPERLINK(\"http://x.example\")" in set(noted["Note"])   # never run as a formula
    assert not csv.isin(["None", "nan", "NaN", "NaT", "<NA>"]).any().any()  # a missing value is an empty cell
    ev = audit.read(env["audit"], action="export")
    assert len(ev) == 1 and json.loads(ev.loc[0, "detail"])["rows"] == len(csv)


def test_the_chips_and_show_handled_are_in_the_address(env, all_flags):
    codes = list(dict.fromkeys(all_flags["flag"]))
    code = codes[-1]
    at = page({"flag": code, "severity": "bogus", "handled": "1"})
    assert at.pills(key="na_kinds").value == [code]
    assert at.toggle(key="na_handled").value is True
    assert set(shown(at)["flag"]) == {code}
    assert "severity bogus is unknown" in " ".join(w.value for w in at.warning)
    assert at.query_params.get("flag") == code and "severity" not in at.query_params
    # a chip clicked is written to the address
    at.pills(key="na_kinds").select(codes[0]).run()
    assert at.query_params.get("flag") == [code, codes[0]]
    assert set(shown(at)["flag"]) == {code, codes[0]}
    at.pills(key="na_sevs").select("high").run()
    assert at.query_params.get("severity") == "high"
    assert set(shown(at)["severity_label"]) == {"high"}
    at.toggle(key="na_handled").set_value(False).run()
    assert "handled" not in at.query_params
    # a bookmarked address restores the same view in a new session
    again = page({"flag": [code, codes[0]], "severity": "high"})
    assert at.pills(key="na_kinds").value == again.pills(key="na_kinds").value
    assert keys_of(shown(again)) == keys_of(shown(at))


def test_an_audit_log_that_cannot_be_written_saves_nothing(env, monkeypatch):
    at = page()
    first = keys_of(shown(at))[0]
    tick(at, first)
    (env["tmp"] / "gone").mkdir()
    monkeypatch.setenv("PIPELINES_AUDIT", str(env["tmp"] / "gone"))
    press(at, "Acknowledge")
    assert "Not saved" in said(at) and "audit log" in said(at)
    assert first in keys_of(shown(at))
    assert alerts.history(path=env["alerts"]).empty


# ----------------------------------------------------------------------------- a therapist, signed in


def test_a_therapist_acts_on_their_own_children(env, db, all_flags, monkeypatch):
    con = warehouse.connect_reader(db)
    try:
        sessions = con.execute("select distinct child_id, therapist_id, team from wh.sessions").df()
    finally:
        con.close()
    tid = str(all_flags["therapist_id"].value_counts().index[0])
    mine = set(sessions.loc[sessions["therapist_id"] == tid, "child_id"])
    child = next(c for c in all_flags["child_id"] if c in mine)
    other_team = next((t for t in sorted(sessions["team"].unique())
                       if child not in set(sessions.loc[sessions["team"] == t, "child_id"])), None)
    users = [access_list.User("lead@p.example", "lead"), access_list.User("ther@p.example", "therapist",
                                                                          therapist_id=tid)]
    if other_team:
        users.append(access_list.User("sup@p.example", "supervisor", (other_team,)))
    monkeypatch.setenv("PIPELINES_ACCESS", str(access_list.save(users, env["tmp"] / "access.toml")))
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user.clear()
    at.user["is_logged_in"], at.user["email"], at.user["email_verified"] = True, "ther@p.example", True
    at = page(at=at)
    assert set(shown(at)["child_id"]) <= mine
    code = str(all_flags.loc[all_flags["child_id"] == child, "flag"].iloc[0])
    tick(at, (child, code))
    offered = at.selectbox(key="na_assignee").options
    assert "ther@p.example" in offered and "lead@p.example" in offered
    assert "sup@p.example" not in offered  # cannot see this child: not offered
    press(at, "Acknowledge")
    hist = alerts.history(path=env["alerts"])
    assert hist[["child_id", "flag", "actor", "role"]].values.tolist() == [[child, code, "ther@p.example",
                                                                            "therapist"]]
    ev = audit.read(env["audit"], action="alert")
    assert ev[["actor", "role", "child_id"]].values.tolist() == [["ther@p.example", "therapist", child]]
