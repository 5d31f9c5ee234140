"""Undo a load (issue 16, item 7): ``python -m pipelines unload FILE_OR_SHA`` removes one file's
rows by replaying every other file of the landing archive, so a later file's corrections stand.

Real DuckDB, real files and real ``python -m pipelines`` subprocesses; kills are ``os._exit`` at
a fault point (``PIPELINES_FAULT``, ``pipelines.faults``), as in test_reliability.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from access import audit
from pipelines import warehouse
from pipelines.load import load
from pipelines.unload import UnloadError, find_loaded, unload
from test_reliability import (ENGAGEMENT, JUL, OCT, content, exports, landing, manifest, one_line_error, query,
                              row, run_cli, snapshot, write_csv)

REPO = Path(__file__).resolve().parent.parent
VENDORS = REPO / "data" / "sample" / "vendors"


def gas(db: Path, session: str) -> list[tuple]:
    return query(db, "select goal_id, value from observations where measure = 'gas' and session_id = $s "
                     "order by goal_id", {"s": session})


def sessions(db: Path) -> list[str]:
    return [r[0] for r in query(db, "select session_id from sessions order by 1")]


def file_names(db: Path) -> list[str]:
    return [r[0] for r in query(db, "select original_name from files order by load_seq")]


@pytest.fixture(scope="module")
def both_once(tmp_path_factory) -> Path:
    """July (A) then October (B, correcting S1 and S2 of July and adding S4) loaded by the CLI, once
    per module: each test works on a copy (``both``)."""
    root = tmp_path_factory.mktemp("unload_both")
    jul, oct_ = exports(root / "src")
    db = root / "wh" / "w.duckdb"
    for f in (jul, oct_):
        r = run_cli("load", f, "--db", db, "--quiet")
        assert r.returncode == 0, r.stderr
    return root


@pytest.fixture
def both(tmp_path, both_once) -> tuple[Path, Path, Path]:
    """A copy of ``both_once``'s exports, warehouse, landing archive and audit log: (db, july, october)."""
    for part in ("src", "wh"):
        shutil.copytree(both_once / part, tmp_path / part)
    return tmp_path / "wh" / "w.duckdb", tmp_path / "src" / JUL, tmp_path / "src" / OCT


def assert_consistent_after_unload(db: Path, gone: str) -> None:
    """The manifest lists exactly what the warehouse holds; the unloaded file's archive stays,
    recorded as unloaded in manifest.dropped.jsonl."""
    files = dict(query(db, "select sha256, archived_as from files"))
    assert {e["sha256"] for e in manifest(db)} == set(files)
    assert gone not in files
    dropped = [json.loads(ln) for ln in (landing(db) / "manifest.dropped.jsonl").read_text().splitlines()]
    mine = [d for d in dropped if d["entry"]["sha256"] == gone]
    assert mine and mine[-1]["unloaded"] is True and mine[-1]["reason"].startswith("unloaded at")
    assert (landing(db) / mine[-1]["entry"]["archived_as"]).exists()
    assert not list(db.parent.glob(db.name + ".building-*"))


def test_unload_a_keeps_b_corrections_and_removes_a_other_rows(both):
    db, jul, oct_ = both
    assert gas(db, "S1") == [("G1", 1.0), ("G2", 0.0)]  # G1 corrected by October, G2 only in July
    sha_a = find_loaded(JUL, db)["sha256"]
    r = run_cli("unload", JUL, "--db", db, "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"unloaded {JUL}" in r.stdout
    assert file_names(db) == [OCT]
    assert sessions(db) == ["S1", "S2", "S4"]  # S3 was only in July: gone
    assert gas(db, "S1") == [("G1", 1.0)]  # October's correction stands, July's G2 rating is gone
    assert query(db, ENGAGEMENT, {"s": "S1"}) == [(5.0,)] and query(db, ENGAGEMENT, {"s": "S2"}) == [(5.0,)]
    assert query(db, "select count(*) from children where child_id = 'C2'") == [(0,)]  # only July had C2
    assert_consistent_after_unload(db, sha_a)
    # a later rebuild does not bring July back
    assert run_cli("rebuild", "--db", db, "--quiet").returncode == 0
    assert file_names(db) == [OCT] and sessions(db) == ["S1", "S2", "S4"]


def test_unload_b_brings_a_values_back(both):
    db, jul, oct_ = both
    only_july = content_of([jul], db.parent.parent / "only_july" / "w.duckdb")
    r = run_cli("unload", oct_, "--db", db, "--quiet")  # by its path: matched by content
    assert r.returncode == 0, r.stderr
    assert query(db, ENGAGEMENT, {"s": "S1"}) == [(4.0,)] and query(db, ENGAGEMENT, {"s": "S2"}) == [(3.0,)]
    assert gas(db, "S1") == [("G1", -1.0), ("G2", 0.0)]
    assert sessions(db) == ["S1", "S2", "S3"]
    assert strip_files(content(db)) == strip_files(only_july)  # as if October had never been loaded


def content_of(files: list[Path], db: Path) -> dict:
    for f in files:
        assert run_cli("load", f, "--db", db, "--quiet").returncode == 0
    return content(db)


def strip_files(c: dict) -> dict:
    return {k: v for k, v in c.items() if k != "files"} | {"files": [f[:2] for f in c["files"]]}


def test_unload_then_reload_gives_the_same_warehouse(both):
    db, jul, oct_ = both
    before = content(db)
    sha = find_loaded(JUL, db)["sha256"]
    assert run_cli("unload", sha[:10], "--db", db, "--quiet").returncode == 0  # by a sha256 prefix
    assert content(db) != before
    r = run_cli("load", jul, "--db", db, "--quiet")
    assert r.returncode == 0 and "loaded " in r.stdout and "skipped" not in r.stdout, r.stdout
    assert content(db) == before
    assert {e["sha256"] for e in manifest(db)} == set(dict(query(db, "select sha256, 1 from files")))
    r = run_cli("unload", JUL, "--db", db, "--quiet")  # and again: unloads it a second time
    assert r.returncode == 0, r.stderr
    assert file_names(db) == [OCT]


def test_unload_of_an_appointments_file_leaves_its_session_data_not_linked(tmp_path):
    db = tmp_path / "w.duckdb"
    for f in ("webpt_appointments.csv", "trials_per_target.csv"):
        assert run_cli("load", VENDORS / f, "--db", db, "--quiet").returncode == 0
    assert query(db, "select count(*) from observations") == [(14,)]
    assert query(db, "select count(*) from unlinked_rows") == [(4,)]
    r = run_cli("unload", "webpt_appointments.csv", "--db", db, "--quiet")
    assert r.returncode == 0, r.stderr
    assert query(db, "select count(*) from sessions") == [(0,)]
    assert query(db, "select count(*) from observations") == [(0,)]
    reasons = query(db, "select file, reason from unlinked_rows order by line")
    assert len(reasons) == 18 and {f for f, _ in reasons} == {"trials_per_target.csv"}
    assert all(reason.startswith("no appointment") for _, reason in reasons), reasons[:3]
    rej = run_cli("rejects", "--db", db)
    rows = [r for r in csv.DictReader(rej.stdout.splitlines()) if r["column"] == "not linked"]
    assert len(rows) == 18 and rows[0]["reason"].startswith("no appointment")
    # loading it again links the waiting rows
    assert run_cli("load", VENDORS / "webpt_appointments.csv", "--db", db, "--quiet").returncode == 0
    assert query(db, "select count(*) from observations") == [(14,)]


def test_the_only_file_can_be_unloaded(tmp_path):
    jul, _ = exports(tmp_path / "src")
    db = tmp_path / "w.duckdb"
    load([jul], db=db)
    unload(find_loaded(JUL, db)["sha256"], db)
    assert file_names(db) == [] and sessions(db) == []
    assert manifest(db) == []


@pytest.mark.parametrize("fault", ["after_file:1", "before_swap:1"])
def test_a_kill_mid_unload_leaves_the_live_warehouse_untouched(both, fault):
    db, jul, oct_ = both
    snap = snapshot(db)
    crashed = run_cli("unload", JUL, "--db", db, "--quiet", env={"PIPELINES_FAULT": fault})
    assert crashed.returncode == 75, crashed.stderr  # killed as kill -9 would
    after = snapshot(db)  # a killed writer's private .building files stay until the next writer clears them
    assert after["db"] == snap["db"] and after["landing"] == snap["landing"]
    ev = audit.read(audit.audit_path(db), action="unload")  # recorded before it acted
    assert len(ev) == 1 and json.loads(ev["detail"].iloc[0])["file"] == JUL
    # the next attempt works from the same, untouched state
    r = run_cli("unload", JUL, "--db", db, "--quiet")
    assert r.returncode == 0, r.stderr
    assert file_names(db) == [OCT]


def test_a_kill_right_after_the_swap_leaves_a_complete_unloaded_warehouse(both):
    db, jul, oct_ = both
    sha = find_loaded(JUL, db)["sha256"]
    crashed = run_cli("unload", JUL, "--db", db, "--quiet", env={"PIPELINES_FAULT": "after_swap:1"})
    assert crashed.returncode == 75
    assert file_names(db) == [OCT] and sessions(db) == ["S1", "S2", "S4"]
    # the next command brings the manifest up to date; the archive of July is kept
    assert run_cli("status", "--db", db).returncode == 0
    r = run_cli("rebuild", "--db", db, "--quiet")
    assert r.returncode == 0, r.stderr
    assert file_names(db) == [OCT]
    assert {e["sha256"] for e in manifest(db)} == {find_loaded(OCT, db)["sha256"]}
    assert (landing(db) / f"{sha}.canonical.parquet").exists()
    assert run_cli("load", jul, "--db", db, "--quiet").returncode == 0 and file_names(db) == [OCT, JUL]


def test_a_replay_that_fails_changes_nothing_and_says_which_file(both):
    db, jul, oct_ = both
    sha_b = find_loaded(OCT, db)["sha256"]
    (landing(db) / f"{sha_b}.canonical.parquet").write_bytes(b"not a parquet file")  # October's archive is broken
    snap = snapshot(db)
    r = run_cli("unload", JUL, "--db", db, "--quiet")
    assert r.returncode == 1
    line = one_line_error(r)
    assert line.startswith("error: unload stopped") and OCT in line and "nothing was changed" in line
    assert snapshot(db) == snap
    assert file_names(db) == [JUL, OCT]


def test_no_such_file_is_one_line_and_changes_nothing(both):
    db, jul, oct_ = both
    snap = snapshot(db)
    r = run_cli("unload", "march.csv", "--db", db)
    assert r.returncode == 2
    assert "march.csv: no loaded file has this name or sha256" in one_line_error(r)
    r = run_cli("unload", "march.csv", "--db", db.parent / "nowhere.duckdb")
    assert r.returncode == 1 and "no warehouse at" in one_line_error(r)
    assert snapshot(db) == snap
    assert len(audit.read(audit.audit_path(db), action="unload")) == 0  # nothing to unload, nothing to record
    assert run_cli("unload", JUL, "--db", db, "--quiet").returncode == 0
    r = run_cli("unload", JUL, "--db", db)  # already unloaded: says so, and how to bring it back
    assert r.returncode == 2 and "was unloaded at" in one_line_error(r) and "load the file again" in r.stderr


def _same_prefix_exports(folder: Path) -> tuple[Path, Path]:
    """Two exports whose sha256 begin with the same 4 hex digits (searched by varying a value)."""
    first = write_csv(folder / "a" / "x_2026-07-31.csv", [row(session_id="S1")])
    want = hashlib.sha256(first.read_bytes()).hexdigest()[:4]
    for n in range(2, 500_000):
        second = folder / "b" / "y_2026-08-31.csv"
        write_csv(second, [row(session_id=f"S{n}")])
        if hashlib.sha256(second.read_bytes()).hexdigest()[:4] == want:
            return first, second
    raise AssertionError("no pair found")


def test_an_ambiguous_name_or_sha_prefix_lists_the_candidates(tmp_path):
    a, b = _same_prefix_exports(tmp_path / "src")
    same_name = write_csv(tmp_path / "src" / "c" / a.name, [row(session_id="S9")])  # same name, other content
    db = tmp_path / "wh" / "w.duckdb"
    load([a, b, same_name], db=db)
    prefix = hashlib.sha256(a.read_bytes()).hexdigest()[:4]
    snap = snapshot(db)
    r = run_cli("unload", prefix, "--db", db)
    assert r.returncode == 2
    line = one_line_error(r)
    assert f"{prefix} matches 2 loaded files" in line and a.name in line and b.name in line
    r = run_cli("unload", a.name, "--db", db)
    assert r.returncode == 2 and "matches 2 loaded files" in one_line_error(r)
    assert snapshot(db) == snap
    with pytest.raises(UnloadError):
        find_loaded(a.name, db)
    assert find_loaded(str(a), db)["sha256"] == hashlib.sha256(a.read_bytes()).hexdigest()  # a path: by content


def test_unload_is_refused_when_the_audit_log_cannot_be_written(both, tmp_path):
    db, jul, oct_ = both
    (tmp_path / "audit_is_a_folder").mkdir()
    snap = snapshot(db)
    r = run_cli("unload", JUL, "--db", db, env={"PIPELINES_AUDIT": str(tmp_path / "audit_is_a_folder")})
    assert r.returncode == 1
    line = one_line_error(r)
    assert "audit log" in line and "nothing was unloaded" in line
    assert snapshot(db) == snap


def test_a_read_only_warehouse_folder_is_one_line_and_changes_nothing(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="ro-", dir="/tmp"))  # reachable by an unprivileged user
    try:
        os.chmod(base, 0o755)
        db = base / "wh" / "p.duckdb"
        jul, oct_ = exports(base / "src")
        for f in (jul, oct_):
            assert run_cli("load", f, "--db", db, "--quiet").returncode == 0
        (base / "log").mkdir(mode=0o777)
        os.chmod(base / "log", 0o777)
        snap = snapshot(db)
        ro = stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH
        for p in [db.parent, landing(db)]:
            os.chmod(p, ro)
        drop: list[str] = []
        if os.geteuid() == 0:  # root writes anywhere: run the command as an unprivileged user
            if not shutil.which("setpriv"):
                pytest.skip("running as root without setpriv: a read-only folder cannot be made")
            drop = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups"]
        env = dict(os.environ, PIPELINES_AUDIT=str(base / "log" / "audit.sqlite"), HOME=str(base / "log"))
        r = subprocess.run([*drop, sys.executable, "-m", "pipelines", "unload", JUL, "--db", str(db), "--quiet"],
                           cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 1, r.stderr
        line = one_line_error(r)
        assert str(db.parent) in line and "nothing was changed" in line
        assert snapshot(db) == snap
    finally:
        for p in base.rglob("*"):
            if p.is_dir():
                os.chmod(p, 0o755)
        shutil.rmtree(base, ignore_errors=True)
