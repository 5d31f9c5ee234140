"""The audit log (``pipelines.audit``): append-only, hash-chained, safe with several writers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sqlite3
from pathlib import Path

import pytest

from pipelines import audit


def test_records_and_reads_back_newest_first(tmp_path):
    p = tmp_path / "audit.sqlite"
    audit.record("sign_in", "a@p.example", role="therapist", detail={"mode": "oidc"}, path=p)
    audit.record("view", "a@p.example", role="therapist", page="Child progress", child_id="C0007", path=p)
    audit.record("export", "b@p.example", role="lead", page="Needs attention", detail={"rows": 3}, path=p)
    log = audit.read(p)
    assert log["action"].tolist() == ["export", "view", "sign_in"]
    assert json.loads(log.loc[0, "detail"]) == {"rows": 3}
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
    assert audit.verify(p) == (False, 3, 3)


def test_unknown_action_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record("peek", "a@p.example", path=tmp_path / "a.sqlite")


WRITER = """
import sys
from pathlib import Path
from pipelines import audit
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
