"""The audit log (``access.audit``): append-only, hash-chained, safe with several writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sqlite3
from pathlib import Path

import pytest

from access import audit


def test_records_and_reads_back_newest_first(tmp_path):
    p = tmp_path / "audit.sqlite"
    audit.record("sign_in", "a@p.example", role="therapist", detail={"mode": "oidc"}, path=p)
    audit.record("view", "a@p.example", role="therapist", page="Child progress", child_id="C0007", path=p)
    audit.record("export", "b@p.example", role="lead", page="Needs attention", detail={"rows": 3}, path=p)
    log = audit.read(p)
    assert log["action"].tolist() == ["export", "view", "sign_in"]
    head = {"seq": 2, "hash": log.loc[1, "hash"]}  # an export carries the head of the log before it
    assert json.loads(log.loc[0, "detail"]) == {"rows": 3, "log_head": head}
    assert audit.read(p, child_id="C0007")["actor"].tolist() == ["a@p.example"]
    assert audit.read(p, actor="b@p.example", action="export")["page"].tolist() == ["Needs attention"]
    assert audit.read(p, actor="' or 1=1 --").empty  # a value, never SQL
    assert audit.actors(p) == ["a@p.example", "b@p.example"]
    assert audit.verify(p) == (True, 3, None)


@pytest.mark.parametrize("statement", [
    "update audit_log set actor = 'someone else'",
    "delete from audit_log",
    "delete from audit_log where seq = 1",
])
def test_changes_and_deletions_are_refused(tmp_path, statement):
    p = tmp_path / "audit.sqlite"
    audit.record("view", "a@p.example", page="Practice overview", path=p)
    con = sqlite3.connect(p)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute(statement)
    con.close()
    assert len(audit.read(p)) == 1


def test_an_edit_behind_its_back_breaks_the_chain(tmp_path):
    p = tmp_path / "audit.sqlite"
    for i in range(5):
        audit.record("view", "a@p.example", child_id=f"C{i}", path=p)
    con = sqlite3.connect(p)
    con.execute("drop trigger audit_log_no_update")
    con.execute("update audit_log set child_id = 'C9' where seq = 3")
    con.commit()
    con.close()
    assert audit.verify(p) == (False, 5, 3)  # (intact, events read, first event failing a check)
    assert audit.verify(p).problems == ["Event 3 does not match its hash: it was edited."]


def test_unknown_action_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record("peek", "a@p.example", path=tmp_path / "a.sqlite")


WRITER = """
import sys
from pathlib import Path
from access import audit
for i in range(40):
    audit.record("view", sys.argv[2], page="p", child_id=str(i), path=Path(sys.argv[1]))
"""


def test_several_processes_append_without_breaking_the_chain(tmp_path):
    p = tmp_path / "audit.sqlite"
    root = Path(__file__).resolve().parent.parent
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(p), f"user{k}@p.example"], cwd=root,
                              stderr=subprocess.PIPE, text=True) for k in range(3)]
    for pr in procs:
        _, err = pr.communicate(timeout=120)
        assert pr.returncode == 0, err
    assert audit.verify(p) == (True, 120, None)
    assert audit.read(p)["actor"].value_counts().tolist() == [40, 40, 40]


def test_default_path_sits_beside_the_warehouse(tmp_path, monkeypatch):
    monkeypatch.delenv("PIPELINES_AUDIT", raising=False)
    monkeypatch.setenv("PIPELINES_DB", str(tmp_path / "practice.duckdb"))
    assert audit.audit_path() == tmp_path / "practice_audit.sqlite"


def test_command_line_loads_and_exports_are_recorded(tmp_path, monkeypatch):
    import test_dashboard_support as support

    monkeypatch.delenv("PIPELINES_AUDIT", raising=False)
    files = support.write_tiny_practice(tmp_path / "src", n_children=6, weeks=6)
    db = tmp_path / "w.duckdb"
    run = [sys.executable, "-m", "pipelines"]
    env = {k: v for k, v in os.environ.items() if k != "PIPELINES_AUDIT"}
    subprocess.run([*run, "load", str(files[0]), "--db", str(db), "--quiet"], check=True, cwd=support.ROOT, env=env,
                   capture_output=True)
    out = subprocess.run([*run, "rejects", "--db", str(db)], check=True, cwd=support.ROOT, env=env,
                         capture_output=True, text=True).stdout
    log = audit.read(tmp_path / "w_audit.sqlite")
    assert log["action"].tolist() == ["export", "upload"]
    assert log["actor"].str.startswith("cli:").all()
    assert json.loads(log["detail"][0])["rows"] == len(out.strip().splitlines()) - 1
    assert json.loads(log["detail"][1])["files"] == [files[0].name]


# ----------------------------------------------------------------------------- truncation and renumbering
# The chain alone cannot see events removed from its end: nothing after them is left to break.
# Loads anchor the head of the log (its last seq and hash) in the warehouse, sign-ins and exports
# carry the head inside the log, and SQLite keeps its own counter of numbers issued.


@pytest.fixture(scope="module")
def export_file(tmp_path_factory) -> Path:
    import test_dashboard_support as support

    return support.write_tiny_practice(tmp_path_factory.mktemp("exports"), n_children=4, weeks=6)[0]


@pytest.fixture()
def anchored(tmp_path, monkeypatch, export_file) -> tuple[Path, Path]:
    """A log of 10 events, then a real load of the warehouse beside it (which anchors event 10);
    returns (log, warehouse)."""
    from pipelines import load

    monkeypatch.delenv("PIPELINES_AUDIT", raising=False)
    db = tmp_path / "w.duckdb"
    log = audit.audit_path(db)
    audit.record("sign_in", "lead@p.example", role="lead", detail={"mode": "oidc"}, path=log)
    for i in range(7):
        audit.record("view", "lead@p.example", role="lead", page="Child progress", child_id=f"C{i}", path=log)
    audit.record("export", "lead@p.example", role="lead", page="Needs attention", detail={"rows": 3}, path=log)
    audit.record("upload", "cli:someone", page="cli load", detail={"files": [export_file.name]}, path=log)
    report = load.load([export_file], db=db)
    assert not report.failed, report.failed
    return log, db


def tamper(log: Path, *statements: str, reset_counter: bool = True) -> None:
    """Edit the log as someone holding the file would: triggers dropped, then ``statements``;
    ``reset_counter`` also sets SQLite's autoincrement counter back to the last seq left."""
    con = sqlite3.connect(log)
    con.execute("drop trigger if exists audit_log_no_update")
    con.execute("drop trigger if exists audit_log_no_delete")
    for s in statements:
        con.execute(s)
    if reset_counter and con.execute("select 1 from sqlite_master where name = 'audit_log'").fetchone():
        con.execute("update sqlite_sequence set seq = (select coalesce(max(seq), 0) from audit_log) "
                    "where name = 'audit_log'")
    con.commit()
    con.close()


def test_an_untouched_log_checks_out_against_its_anchors(anchored):
    log, db = anchored
    res = audit.verify(log, db=db)
    assert res == (True, 10, None) and res.intact and not res.problems
    assert res.last_seq == 10 and res.issued == 10
    assert res.warehouse_anchors == 1 and res.latest_anchor.seq == 10
    assert res.event_heads == 2  # the sign-in and the export carry the head before them
    said = " ".join(res.checked)
    assert "hash chain" in said and "1 to 10" in said and "anchor" in said


TRUNCATIONS = {
    "the last event": "delete from audit_log where seq = (select max(seq) from audit_log)",
    "the last 5 events": "delete from audit_log where seq > (select max(seq) - 5 from audit_log)",
    "every event": "delete from audit_log",
    "the table": "drop table audit_log",
}


@pytest.mark.parametrize("reset_counter", [False, True], ids=["counter-left", "counter-reset"])
@pytest.mark.parametrize("what", list(TRUNCATIONS))
def test_deleting_from_the_end_is_reported(anchored, what, reset_counter):
    log, db = anchored
    tamper(log, TRUNCATIONS[what], reset_counter=reset_counter)
    res = audit.verify(log, db=db)
    assert not res.intact, res
    assert res.first_broken == res.last_seq + 1  # the first event missing
    text = " ".join(res.problems)
    if what == "the table":
        assert "no audit_log table" in text
    assert "the log ends at event" in text and "event 10" in text


def test_a_deleted_log_file_is_reported(anchored):
    log, db = anchored
    log.unlink()
    res = audit.verify(log, db=db)
    assert not res.intact and res.rows == 0
    assert any("no log at" in p for p in res.problems) and any("event 10" in p for p in res.problems)


def test_a_log_started_afresh_after_the_anchor_is_reported(anchored):
    """Dropped and recreated (as the next page view would), then written past the anchored seq:
    numbering and chain look perfect; only the anchored hash at event 10 tells."""
    log, db = anchored
    tamper(log, "drop table audit_log")
    for i in range(12):
        audit.record("view", "someone@p.example", page="Practice overview", path=log)
    res = audit.verify(log, db=db)
    assert not res.intact and res.last_seq == 12
    assert any("Event 10 is not the event the load" in p for p in res.problems)


@pytest.mark.parametrize("statements", [
    ("update audit_log set seq = seq + 100",),
    ("update audit_log set seq = -seq", "update audit_log set seq = -seq * 2"),
    ("delete from audit_log where seq = 1", "update audit_log set seq = seq - 1"),
    ("delete from audit_log where seq = 4", "update audit_log set seq = seq - 1 where seq > 4"),
], ids=["shifted", "gaps", "first-deleted-renumbered", "middle-deleted-renumbered"])
def test_renumbered_events_are_reported(anchored, statements):
    log, db = anchored
    tamper(log, *statements)
    res = audit.verify(log, db=db)
    assert not res.intact, res
    assert res.first_broken is not None


def test_renumbering_alone_is_reported_without_any_anchor(tmp_path):
    """No warehouse at all: seq must still run 1, 2, 3, ... and SQLite's counter must agree."""
    p = tmp_path / "audit.sqlite"
    for i in range(5):
        audit.record("view", "a@p.example", child_id=f"C{i}", path=p)
    tamper(p, "update audit_log set seq = seq + 10", reset_counter=False)
    res = audit.verify(p)
    assert not res.intact and res.first_broken == 11
    assert any("numbered" in x for x in res.problems)


def test_deleting_the_last_event_is_seen_by_sqlites_counter_even_without_a_warehouse(tmp_path):
    p = tmp_path / "audit.sqlite"
    for i in range(5):
        audit.record("view", "a@p.example", child_id=f"C{i}", path=p)
    tamper(p, "delete from audit_log where seq = 5", reset_counter=False)
    res = audit.verify(p)
    assert not res.intact and res.first_broken == 5
    assert any("issued numbers up to 5" in x for x in res.problems)


@pytest.mark.parametrize("heads_too", [False, True], ids=["chain-rewritten", "chain-and-heads-rewritten"])
def test_a_wholesale_rewrite_up_to_the_anchor_is_reported(anchored, heads_too):
    """Someone edits event 3 and recomputes every hash after it, so the chain is perfect again.
    The head the export (event 9) carries gives it away, unless that is rewritten too; event
    10's hash is no longer the one the load anchored either way."""
    log, db = anchored
    con = sqlite3.connect(log)
    con.execute("drop trigger audit_log_no_update")
    rows = con.execute("select seq, at, actor, role, action, page, child_id, detail from audit_log order by seq"
                       ).fetchall()
    prev, prev_seq = "", 0
    for seq, at, actor, role, action, page, child, detail in rows:
        if seq == 3:
            child = "C9"
        if heads_too and detail and "log_head" in detail:
            detail = json.dumps({**json.loads(detail), "log_head": {"seq": prev_seq, "hash": prev or None}},
                                ensure_ascii=False, sort_keys=True)
        h = audit._row_hash(prev, at, actor, role, action, page, child, detail)
        con.execute("update audit_log set child_id = ?, detail = ?, prev_hash = ?, hash = ? where seq = ?",
                    (child, detail, prev, h, seq))
        prev, prev_seq = h, seq
    con.commit()
    con.close()
    res = audit.verify(log, db=db)
    assert not res.intact
    assert any("Event 10 is not the event the load" in p for p in res.problems)
    assert any("Event 9 recorded the log's head" in p for p in res.problems) != heads_too
    assert len(res.problems) == (1 if heads_too else 2)


def test_verify_reads_the_log_without_changing_it(anchored):
    log, db = anchored
    tamper(log, "drop table audit_log")
    audit.verify(log, db=db)
    con = sqlite3.connect(log)
    assert con.execute("select count(*) from sqlite_master where name = 'audit_log'").fetchone() == (0,)
    con.close()


def test_sign_ins_and_exports_carry_the_head_before_them(tmp_path):
    p = tmp_path / "audit.sqlite"
    audit.record("view", "a@p.example", page="p", path=p)
    audit.record("export", "a@p.example", page="p", detail={"rows": 1}, path=p)
    log = audit.read(p).set_index("seq")
    head = json.loads(log.loc[2, "detail"])["log_head"]
    assert head == {"seq": 1, "hash": log.loc[1, "hash"]}
    assert json.loads(log.loc[2, "detail"])["rows"] == 1


def test_the_anchors_survive_a_fresh_warehouse(anchored, tmp_path):
    """A rebuild writes a new warehouse: the anchors of the live one are carried into it."""
    from pipelines import warehouse

    log, db = anchored
    audit.record("view", "a@p.example", page="p", path=log)
    fresh = tmp_path / "fresh.duckdb"
    with warehouse.writer(fresh) as con:
        assert audit.anchor_into(con, log, previous=db) == (11, audit.read(log)["hash"].iloc[0])
    con = warehouse.connect_reader(fresh)
    try:
        assert [r[0] for r in con.execute("select seq from audit_anchor order by seq").fetchall()] == [10, 11]
    finally:
        con.close()


def test_a_rebuild_keeps_the_anchors_and_adds_its_own(anchored):
    from pipelines import load, warehouse

    log, db = anchored
    audit.record("view", "a@p.example", page="p", path=log)
    report = load.rebuild(db)
    assert not report.failed, report.failed
    con = warehouse.connect_reader(db)
    try:
        assert [r[0] for r in con.execute("select seq from audit_anchor order by anchored_at").fetchall()] == [10, 11]
    finally:
        con.close()
    tamper(log, TRUNCATIONS["the last 5 events"])
    assert any("anchored event 11" in p for p in audit.verify(log, db=db).problems)


def test_a_log_that_cannot_be_read_stops_the_anchor_with_a_clear_error(tmp_path):
    from pipelines import warehouse

    bad = tmp_path / "audit.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(audit.AuditUnavailable, match="cannot be read"):
        with warehouse.writer(tmp_path / "w.duckdb") as con:
            audit.anchor_into(con, bad)


# ----------------------------------------------------------------------------- the honest limits


def test_limit_events_after_the_last_anchor_deleted_with_the_counter_reset_go_unseen(anchored):
    """Documented limit (README, Audit log): events recorded after the latest load are protected
    only by SQLite's counter, which whoever holds the file can reset; no anchor covers them, so
    deleting them and resetting the counter is not detected (the next load anchors the shorter log)."""
    log, db = anchored
    for i in range(3):
        audit.record("view", "a@p.example", child_id=f"X{i}", path=log)  # events 11-13, after the load
    tamper(log, "delete from audit_log where seq > 10", reset_counter=True)
    assert audit.verify(log, db=db).intact


def test_limit_someone_who_also_rewrites_the_warehouse_goes_unseen(anchored):
    """Documented limit: whoever can write both the log and the warehouse can remove the anchors
    too (here: the anchor table emptied), and then a truncation with the counter reset is not seen."""
    import duckdb

    log, db = anchored
    con = duckdb.connect(str(db))
    con.execute("delete from audit_anchor")
    con.close()
    tamper(log, "delete from audit_log where seq > 5", reset_counter=True)
    assert audit.verify(log, db=db).intact


# ----------------------------------------------------------------------------- the Audit log page


def _audit_page(log: Path, db: Path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    import test_dashboard_support as support

    monkeypatch.setenv("PIPELINES_DB", str(db))
    monkeypatch.setenv("PIPELINES_AUDIT", str(log))
    at = AppTest.from_file(str(support.ROOT / "dashboard" / "streamlit_app.py"), default_timeout=60).run()
    assert not at.exception, at.exception[0].value
    at.switch_page("app_pages/audit_log.py").run()
    assert not at.exception, at.exception[0].value
    return at


def test_the_page_says_what_it_checked(anchored, monkeypatch):
    log, db = anchored
    at = _audit_page(log, db, monkeypatch)
    assert not at.error
    said = " ".join(s.value for s in at.success) + " ".join(c.value for c in at.caption)
    assert "intact" in said and "hash chain" in said and "anchor" in said and "event 10" in said
    assert "Not detected" in said  # the limits are stated on the page, not only in the README


def test_the_page_reports_a_truncation(anchored, monkeypatch):
    log, db = anchored
    tamper(log, TRUNCATIONS["the last 5 events"], reset_counter=True)
    at = _audit_page(log, db, monkeypatch)
    assert not at.success or not any("intact" in s.value for s in at.success)
    text = " ".join(e.value for e in at.error)
    assert "event 10" in text and "the log ends at event" in text
