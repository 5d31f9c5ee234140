"""Crash recovery, precedence by export order, the manifest, audit-first and one-line errors.

Issue 11, items 1, 2, 3, 7 (orphan parquet, good files of a run), 8, 10 and 14. Real DuckDB,
real files and real ``python -m pipelines`` subprocesses; a kill -9 is ``os._exit`` at a fault
point (``PIPELINES_FAULT``), a full disk is an ``OSError(ENOSPC)`` raised at the archive write
(no small file system can be mounted here without privileges).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from access import audit
from analytics import stored
from builders import copy_warehouse
from pipelines import warehouse
from pipelines.load import load, rebuild, status
from pipelines.small_practice import HEADER  # the canonical export's columns, in file order

REPO = Path(__file__).resolve().parent.parent
TODAY = dt.date(2026, 11, 1)
JUL = "export_2026-07-31.csv"
OCT = "export_2026-10-31.csv"


def row(**kw) -> dict:
    base = dict(session_id="S1", child_id="C1", therapist_id="T1", team="North", session_date="2026-06-01",
                modality="OT", approach="child-led", date_of_birth="2019-04-03", attendance="attended",
                duration_min="45", setting="clinic", engagement="4", goal_id="", goal_domain="",
                gas_level="", goal_weight="", measure="", measure_score="")
    base.update(kw)
    return base


def write_csv(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=HEADER)
        w.writeheader()
        w.writerows(rows)
    return path


def july_rows() -> list[dict]:
    return [
        row(session_id="S1", goal_id="G1", goal_domain="motor", gas_level="-1"),
        row(session_id="S1", goal_id="G2", goal_domain="self-care", gas_level="0", goal_weight="2"),
        row(session_id="S2", session_date="2026-06-08", approach="directed", engagement="3"),
        row(session_id="S3", child_id="C2", session_date="2026-06-03", modality="CBT", approach="mixed",
            date_of_birth="2012-09-30", engagement="", attendance="no-show"),
    ]


def october_rows() -> list[dict]:
    """The October export repeats July's period with corrections, and adds a session."""
    return [
        row(session_id="S1", goal_id="G1", goal_domain="motor", gas_level="1", engagement="5"),  # corrected
        row(session_id="S2", session_date="2026-06-08", approach="directed", engagement="5"),     # corrected
        row(session_id="S4", session_date="2026-09-14", engagement="2"),                         # new
    ]


def exports(folder: Path) -> tuple[Path, Path]:
    return write_csv(folder / JUL, july_rows()), write_csv(folder / OCT, october_rows())


def query(db: Path, sql: str, params=None) -> list[tuple]:
    con = warehouse.connect_reader(db)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


RAW_TABLES = ("src_sessions", "src_observations", "src_goals", "src_children")
ENGAGEMENT = "select value from observations where measure = 'engagement' and session_id = $s"


def content(db: Path) -> dict[str, list[tuple]]:
    """What the warehouse says, without the bookkeeping of when and in which order files were loaded."""
    rows = [(name, table, row) for table in RAW_TABLES
            for name, *row in query(db, f"select f.original_name, r.* exclude (file_id, load_seq, export_order) "
                                        f"from {table} as r join files as f using (file_id)")]
    return {
        "rows": sorted(rows, key=repr),
        "sessions": query(db, "select * from sessions order by all"),
        "goal_ratings": query(db, "select * from goal_ratings order by all"),
        "rejects": query(db, "select * exclude (file_id) from rejects order by all"),
        "files": query(db, "select original_name, sha256, rows_read, rows_loaded, rows_rejected from files "
                           "order by sha256"),
    }


def run_cli(*args, env=None, **kw) -> subprocess.CompletedProcess:
    e = dict(os.environ, **(env or {}))
    e.setdefault("PIPELINES_AUDIT", "")  # the default: beside the warehouse
    if not e["PIPELINES_AUDIT"]:
        del e["PIPELINES_AUDIT"]
    return subprocess.run([sys.executable, "-m", "pipelines", *map(str, args)], cwd=REPO, env=e,
                          capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture(scope="module")
def cli_loaded(tmp_path_factory):
    """``cli_loaded(db, name)``: at ``db``, a copy of a warehouse built once per module by real
    ``python -m pipelines load`` calls (with the landing archive, the lock file and the audit
    log those calls leave); the copy is what the same calls would leave at ``db``, without
    running them again. ``name`` is one of ``CLI_BASES``; the test writes its exports itself."""
    built: dict[str, Path] = {}

    def make(db: Path, name: str) -> Path:
        if name not in built:
            write, loads = CLI_BASES[name]
            root = tmp_path_factory.mktemp(f"cli_{name}")
            base = root / "wh" / db.name
            files = write(root / "src")
            for group in loads(files):
                r = run_cli("load", *group, "--db", base, "--quiet")
                assert r.returncode == 0, r.stderr
            built[name] = base
        return copy_warehouse(built[name], db)
    return make


def _tiny_exports(folder: Path) -> list[Path]:
    import test_dashboard_support as support
    return support.write_tiny_practice(folder, n_children=6, weeks=6)


# name -> (write the exports into a folder, the load calls: groups of those files)
CLI_BASES = {
    "july": (lambda folder: list(exports(folder)), lambda files: [[files[0]]]),
    "july_then_october": (lambda folder: list(exports(folder)), lambda files: [[files[0]], [files[1]]]),
    "tiny_first_export": (_tiny_exports, lambda files: [[files[0]]]),
}


def one_line_error(r: subprocess.CompletedProcess) -> str:
    """The single ``error: ...`` line a failed command prints (and nothing like a traceback)."""
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def landing(db: Path) -> Path:
    return warehouse.archive_dir(db)


def manifest(db: Path) -> list[dict]:
    p = landing(db) / "manifest.jsonl"
    if not p.exists():
        return []
    return [json.loads(ln) for ln in p.read_text(encoding="utf-8").splitlines() if ln.strip()]


def snapshot(db: Path) -> dict:
    """Every byte that a load may change: the live file, the landing folder, the folder's names."""
    out = {"names": sorted(p.name for p in db.parent.iterdir() if not p.name.endswith("_audit.sqlite")
                           and not p.name.endswith(("-wal", "-shm")))}
    if db.exists():
        out["db"] = (warehouse.version(db), db.read_bytes())
    if landing(db).is_dir():
        out["landing"] = {p.name: p.read_bytes() for p in sorted(landing(db).iterdir())}
    return out


def assert_consistent(db: Path) -> None:
    """The manifest lists exactly what the warehouse holds, once each, and the landing folder
    holds exactly the archives they reference (no orphan, no missing archive)."""
    shas = [e["sha256"] for e in manifest(db)]
    assert len(shas) == len(set(shas)), "manifest entries duplicated"
    files = dict(query(db, "select sha256, archived_as from files"))
    assert set(shas) == set(files), (sorted(shas), sorted(files))
    parquets = {p.name for p in landing(db).glob("*.parquet")}
    assert parquets == set(files.values())
    assert not list(landing(db).glob("*.partial"))
    assert not list(db.parent.glob(db.name + ".building-*"))


# ---------------------------------------------------------------- item 1: stale artefacts of a crash

def test_stale_spill_folder_and_building_files_of_a_crash_do_not_block_loads(tmp_path, cli_loaded):
    jul, oct_ = exports(tmp_path / "src")
    db = cli_loaded(tmp_path / "p.duckdb", "july")  # what `python -m pipelines load jul --db db` leaves
    spill = db.with_name(db.name + ".building-999.tmp")  # DuckDB's spill folder of a killed load
    spill.mkdir()
    (spill / "duckdb_temp_storage-0.tmp").write_bytes(b"x" * 100)
    db.with_name(db.name + ".building-999").write_bytes(b"half a warehouse")
    db.with_name(db.name + ".building-999.wal").write_bytes(b"wal")
    other = db.with_name(db.name + ".building-notes.txt")  # not ours: left alone
    other.write_text("keep me")
    r = run_cli("load", oct_, "--db", db)
    assert r.returncode == 0, r.stderr
    assert not spill.exists() and not db.with_name(db.name + ".building-999").exists()
    assert not db.with_name(db.name + ".building-999.wal").exists()
    assert other.read_text() == "keep me"
    spill.mkdir()
    r = run_cli("rebuild", "--db", db)
    assert r.returncode == 0, r.stderr
    assert not spill.exists()
    assert query(db, "select count(*) from files")[0][0] == 2


def test_what_a_real_kill_leaves_does_not_block_the_next_load(tmp_path):
    db = tmp_path / "p.duckdb"
    jul, oct_ = exports(tmp_path / "src")
    crashed = run_cli("load", jul, oct_, "--db", db, env={"PIPELINES_FAULT": "after_file:1"})
    assert crashed.returncode == 75
    assert list(tmp_path.glob("p.duckdb.building-*"))  # what the kill left
    db.with_name(db.name + ".building-4242.tmp").mkdir()  # and a spill folder, as a big load leaves
    r = run_cli("load", jul, oct_, "--db", db)
    assert r.returncode == 0, r.stderr
    assert not list(tmp_path.glob("p.duckdb.building-*"))


# ---------------------------------------------------------------- item 2: rebuild keeps the live file

@pytest.fixture()
def practice(cli_loaded):
    """``practice(folder)``: July's and October's exports written to ``folder/src`` and loaded
    by two CLI calls into ``folder/wh/p.duckdb`` (a copy of that state: ``cli_loaded``)."""
    def make(folder: Path) -> Path:
        exports(folder / "src")
        return cli_loaded(folder / "wh" / "p.duckdb", "july_then_october")
    return make


@pytest.mark.parametrize("fault", ["after_file:1", "after_file:2", "before_swap:1"])
def test_rebuild_killed_at_any_moment_leaves_the_live_warehouse_as_it_was(tmp_path, fault, practice):
    db = practice(tmp_path)
    before, files_before = content(db), snapshot(db)
    crashed = run_cli("rebuild", "--db", db, env={"PIPELINES_FAULT": fault})
    assert crashed.returncode == 75, crashed.stderr
    assert db.exists(), "the live warehouse was moved away"
    assert snapshot(db)["db"] == files_before["db"]
    assert snapshot(db)["landing"] == files_before["landing"]
    assert content(db) == before
    r = run_cli("rebuild", "--db", db)
    assert r.returncode == 0, r.stderr
    assert content(db) == before
    assert_consistent(db)


def test_rebuild_killed_after_the_swap_leaves_a_complete_warehouse(tmp_path, practice):
    db = practice(tmp_path)
    before = content(db)
    crashed = run_cli("rebuild", "--db", db, env={"PIPELINES_FAULT": "after_swap:1"})
    assert crashed.returncode == 75
    assert content(db) == before
    assert run_cli("status", "--db", db).returncode == 0
    assert run_cli("rebuild", "--db", db).returncode == 0
    assert content(db) == before
    assert_consistent(db)


def _hold(db: Path, args: list, hold: Path) -> subprocess.Popen:
    env = dict(os.environ, PIPELINES_FAULT="hold_after_file:1", PIPELINES_FAULT_HOLD=str(hold))
    env.pop("PIPELINES_AUDIT", None)
    proc = subprocess.Popen([sys.executable, "-m", "pipelines", *map(str, args)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not Path(str(hold) + ".held").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"the command never reached the hold point (rc {proc.returncode}): {err}")
        time.sleep(0.05)
    return proc


def _tiny_sample(folder: Path) -> list[Path]:
    import test_dashboard_support as support
    return support.write_tiny_practice(folder, n_children=4, weeks=4)


def test_a_dashboard_opened_during_a_rebuild_reads_the_practice_and_never_loads_the_sample(tmp_path, monkeypatch,
                                                                                            practice):
    from dashboard import data

    db = practice(tmp_path)
    before = content(db)
    sample = tmp_path / "sample"
    _tiny_sample(sample)
    monkeypatch.setattr(data, "SAMPLE_DIR", sample)
    monkeypatch.setenv("PIPELINES_DB", str(db))
    proc = _hold(db, ["rebuild", "--db", db], tmp_path / "release")
    try:
        assert db.exists()
        assert content(db) == before  # readers see the old warehouse while the rebuild runs
        data.ensure_warehouse()  # the dashboard's first-start check, mid-rebuild
    finally:
        (tmp_path / "release").touch()
        out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert content(db) == before
    names = {e["original_name"] for e in manifest(db)}
    assert names == {JUL, OCT}
    assert_consistent(db)


def test_first_start_never_loads_the_sample_into_a_practice_warehouse_path(tmp_path, monkeypatch, practice):
    from dashboard import data

    sample = tmp_path / "sample"
    _tiny_sample(sample)
    monkeypatch.setattr(data, "SAMPLE_DIR", sample)

    # (a) the warehouse file is missing but its landing archive lists the practice's files
    db = practice(tmp_path / "a")
    kept = manifest(db)
    db.unlink()
    monkeypatch.setenv("PIPELINES_DB", str(db))
    data.ensure_warehouse()
    assert not db.exists() and manifest(db) == kept
    assert run_cli("rebuild", "--db", db).returncode == 0  # the practice's data comes back
    assert {n for (n,) in query(db, "select original_name from files")} == {JUL, OCT}

    # (b) a practice's first load is running (it holds the lock; no warehouse file yet)
    db = tmp_path / "b" / "p.duckdb"
    db.parent.mkdir()
    lock = open(db.with_name(db.name + ".lock"), "a+")
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, sys, time\n"
                               "f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
                               "print('locked', flush=True); time.sleep(60)", str(lock.name)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("PIPELINES_DB", str(db))
        data.ensure_warehouse()
        assert not db.exists() and not landing(db).exists()
    finally:
        holder.kill()
        holder.wait()
        lock.close()

    # (c) a load's private building file is there (a load in progress, or a crash)
    db = tmp_path / "c" / "p.duckdb"
    db.parent.mkdir()
    db.with_name(db.name + ".building-12345").write_bytes(b"")
    monkeypatch.setenv("PIPELINES_DB", str(db))
    data.ensure_warehouse()
    assert not db.exists() and not manifest(db)

    # (d) a new, empty place: the sample is loaded (the first start still works)
    db = tmp_path / "d" / "p.duckdb"
    monkeypatch.setenv("PIPELINES_DB", str(db))
    data.ensure_warehouse()
    assert db.exists() and {e["original_name"] for e in manifest(db)} == {"export_a.csv", "export_b.csv"}


def test_the_sample_load_refuses_under_the_lock_when_a_practice_got_there_first(tmp_path, practice):
    from pipelines import load as loader

    db = practice(tmp_path)
    before = content(db)
    sample = _tiny_sample(tmp_path / "sample")
    report = loader.load(sample, db=db, only_into_new=True)
    assert not [f for f in report.files if f.status == "loaded"]
    assert content(db) == before and {e["original_name"] for e in manifest(db)} == {JUL, OCT}


# ---------------------------------------------------------------- item 3: precedence by export order

def test_loads_commute_the_newest_export_wins_whatever_the_load_order(tmp_path):
    jul, oct_ = exports(tmp_path / "src")
    a, b = tmp_path / "a" / "p.duckdb", tmp_path / "b" / "p.duckdb"
    load([jul], db=a, today=TODAY)
    load([oct_], db=a, today=TODAY)
    load([oct_], db=b, today=TODAY)
    late = load([jul], db=b, today=TODAY)  # the older export arrives last (a retry, or lost the race)
    assert late.files[0].status == "loaded"
    assert "newer export" in late.files[0].message
    # it says which file holds the rows, and how to load this one as the newer (s7 try-out: a correction
    # said "20 rows loaded" and changed nothing, without saying why)
    assert f"newer export: {oct_.name} (order " in late.files[0].message, late.files[0].message
    assert "give --export-date" in late.files[0].message
    assert content(a) == content(b)
    assert query(b, ENGAGEMENT, {"s": "S2"})[0][0] == 5
    assert query(b, "select gas_level from goal_ratings where goal_id = 'G1'")[0][0] == 1
    assert query(b, ENGAGEMENT, {"s": "S1"})[0][0] == 5
    # both files in one call, in either order
    c, d = tmp_path / "c" / "p.duckdb", tmp_path / "d" / "p.duckdb"
    load([oct_, jul], db=c, today=TODAY)
    load([jul, oct_], db=d, today=TODAY)
    assert content(c) == content(a) == content(d)
    rebuild(b)
    assert content(b) == content(a)
    s = {f["name"]: f for f in status(b)["file_list"]}
    assert s[JUL]["export_order"].startswith("2026-07-31") and s[JUL]["order_from"] == "file name"
    assert s[OCT]["export_order"].startswith("2026-10-31")


def test_without_a_date_in_the_name_the_file_time_orders_exports(tmp_path):
    old = write_csv(tmp_path / "src" / "sessions.csv", july_rows())
    new = write_csv(tmp_path / "src2" / "sessions.csv", october_rows())
    os.utime(old, (dt.datetime(2026, 8, 1).timestamp(),) * 2)
    os.utime(new, (dt.datetime(2026, 11, 1).timestamp(),) * 2)
    db = tmp_path / "p.duckdb"
    load([new], db=db, today=TODAY)
    load([old], db=db, today=TODAY)
    assert query(db, ENGAGEMENT, {"s": "S2"})[0][0] == 5
    orders = {f["export_order"][:10]: f["order_from"] for f in status(db)["file_list"]}
    assert orders == {"2026-08-01": "file modified time", "2026-11-01": "file modified time"}


def test_an_explicit_export_date_orders_the_files_of_that_call(tmp_path):
    # the names say the opposite of the truth; the explicit date wins
    new = write_csv(tmp_path / "src" / "sessions_2026-01-01.csv", october_rows())
    old = write_csv(tmp_path / "src" / "sessions_2026-12-01.csv", july_rows())
    db = tmp_path / "p.duckdb"
    r = run_cli("load", new, "--db", db, "--export-date", "2026-10-31T17:30")
    assert r.returncode == 0, r.stderr
    r = run_cli("load", old, "--db", db, "--export-date", "2026-07-31")
    assert r.returncode == 0, r.stderr
    assert query(db, ENGAGEMENT, {"s": "S2"})[0][0] == 5
    s = json.loads(run_cli("status", "--db", db, "--json").stdout)
    got = {f["name"]: (f["export_order"], f["order_from"]) for f in s["file_list"]}
    assert got == {new.name: ("2026-10-31T17:30:00", "given (--export-date)"),
                   old.name: ("2026-07-31T00:00:00", "given (--export-date)")}
    text = run_cli("status", "--db", db).stdout
    assert "export of 2026-10-31 17:30, given (--export-date)" in text
    bad = run_cli("load", old, "--db", db, "--export-date", "last tuesday")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--export-date" in bad.stderr


def test_a_disk_full_in_one_file_aborts_the_whole_load_and_a_retry_keeps_the_corrections(tmp_path):
    db = tmp_path / "p.duckdb"
    jul, oct_ = exports(tmp_path / "src")
    first = write_csv(tmp_path / "src" / "export_2026-05-31.csv", [row(session_id="S0", session_date="2026-05-04")])
    assert run_cli("load", first, "--db", db).returncode == 0
    before, snap = content(db), snapshot(db)
    r = run_cli("load", oct_, jul, "--db", db, "--quiet", env={"PIPELINES_FAULT": f"enospc_archive:{JUL}"})
    assert r.returncode == 1
    line = one_line_error(r)
    assert JUL in line and "No space left on device" in line and "nothing was changed" in line
    assert snapshot(db) == snap  # October, loaded before July in the same call, was not committed either
    assert content(db) == before
    retry = run_cli("load", jul, oct_, "--db", db)
    assert retry.returncode == 0, retry.stderr
    assert query(db, ENGAGEMENT, {"s": "S2"})[0][0] == 5
    assert query(db, "select gas_level from goal_ratings where goal_id = 'G1'")[0][0] == 1
    assert_consistent(db)


def test_an_unusable_file_still_fails_alone_while_the_others_load(tmp_path):
    db = tmp_path / "p.duckdb"
    jul, oct_ = exports(tmp_path / "src")
    bad = tmp_path / "src" / "photo.csv"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    r = run_cli("load", jul, bad, oct_, "--db", db, "--quiet")
    assert r.returncode == 1
    assert one_line_error(r).startswith("error: photo.csv")
    assert {n for (n,) in query(db, "select original_name from files")} == {JUL, OCT}
    assert_consistent(db)


# ---------------------------------------------------------------- item 7: orphans and the good files of a run

def test_a_file_that_fails_after_archiving_leaves_no_orphan_parquet(tmp_path):
    db = tmp_path / "p.duckdb"
    jul, _ = exports(tmp_path / "src")
    load([jul], db=db, today=TODAY)
    ambiguous = write_csv(tmp_path / "src" / "ambiguous.csv",
                          [row(session_id="A1", session_date="03/04/2026", date_of_birth="02/01/2019")])
    (rep,) = load([ambiguous], db=db, today=TODAY).files
    assert rep.status == "failed" and "day-first or month-first" in rep.message
    assert_consistent(db)


def test_a_failed_rebuild_keeps_every_archive_and_the_live_warehouse(tmp_path, practice):
    db = practice(tmp_path)
    before, snap = content(db), snapshot(db)
    victim = landing(db) / manifest(db)[0]["archived_as"]
    victim.write_bytes(b"PAR1 not really")  # an archive damaged on disk
    damaged = snapshot(db)
    r = run_cli("rebuild", "--db", db, "--quiet")
    assert r.returncode == 1
    line = one_line_error(r)
    assert JUL in line and "nothing was changed" in line
    assert snapshot(db) == damaged and snapshot(db)["db"] == snap["db"]
    assert content(db) == before


def test_a_file_that_breaks_the_statistics_fails_alone_and_the_good_files_load(tmp_path):
    def breaks_on_marker(con):
        if con.execute("select count(*) from src_sessions where therapist_id = 'T-BREAKS'").fetchall()[0][0]:
            raise ValueError("weights must be finite")  # a statistics step failing on one file's value
    db = tmp_path / "p.duckdb"
    jul, oct_ = exports(tmp_path / "src")
    breaker = write_csv(tmp_path / "src" / "export_2026-08-31.csv",
                        [row(session_id="S7", therapist_id="T-BREAKS", session_date="2026-08-03")])
    report = load([jul, breaker, oct_], db=db, today=TODAY, after_build=[*stored.STEPS, breaks_on_marker])
    got = {Path(f.path).name: f for f in report.files}
    assert got[JUL].status == got[OCT].status == "loaded"
    assert got[breaker.name].status == "failed"
    assert breaker.name in got[breaker.name].message and "weights must be finite" in got[breaker.name].message
    assert {n for (n,) in query(db, "select original_name from files")} == {JUL, OCT}
    assert_consistent(db)


def _wide_header(path: Path) -> Path:
    path.write_text(",".join(HEADER) + ",x" + "y" * 140_000 + "\n" + ",".join(row(session_id="W1").values())
                    + ",1\n", encoding="utf-8")
    return path


# issue 11, item 7: each once ended the whole batch with a traceback. Now each file loads with
# its bad value rejected (or, for a header, the oversize column ignored): case -> (writer, loaded, rejected)
BAD_VALUES = {
    "infinite goal weight": (lambda p: write_csv(p, [row(session_id="S8", goal_id="G8", goal_domain="motor",
                                                         gas_level="0", goal_weight="inf", session_date="2026-08-03")]),
                             0, 1),
    "header field over 131072 characters": (_wide_header, 1, 0),
    # issue 13: a measure not in the catalogue (measures.toml) is a rejected row with its reason
    "measure not in the catalogue": (lambda p: write_csv(p, [
        row(session_id="S8", session_date="2026-08-03", measure="NOT-A-MEASURE", measure_score="12"),
        row(session_id="S9", session_date="2026-08-10", measure="NOT-A-MEASURE", measure_score="15")]), 0, 2),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_one_bad_value_does_not_stop_the_good_files_of_the_run(tmp_path, case):
    db = tmp_path / "p.duckdb"
    jul, oct_ = exports(tmp_path / "src")
    write, want_loaded, want_rejected = BAD_VALUES[case]
    bad = write(tmp_path / "src" / "export_2026-08-31.csv")
    r = run_cli("load", jul, bad, oct_, "--db", db, "--quiet")
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 0, r.stderr
    names = {n for (n,) in query(db, "select original_name from files")}
    assert {JUL, OCT, bad.name} <= names
    assert query(db, ENGAGEMENT, {"s": "S2"})[0][0] == 5
    (read, loaded, rejected), = query(db, "select rows_read, rows_loaded, rows_rejected from files "
                                          "where original_name = $n", {"n": bad.name})
    assert (loaded, rejected) == (want_loaded, want_rejected)
    assert loaded + rejected == read
    assert_consistent(db)


@pytest.mark.parametrize("name, expected", [
    ("export_2026-07-31.csv", dt.datetime(2026, 7, 31)),
    ("export_2026-10.csv", dt.datetime(2026, 10, 1)),
    ("Appointments 20260315.xlsx", dt.datetime(2026, 3, 15)),
    ("sessions_2026-01-01_to_2026-06-30.csv", dt.datetime(2026, 6, 30)),   # the end of its period
    ("export_2026_02_28.csv", dt.datetime(2026, 2, 28)),
    ("export_2026-02-31.csv", None),   # not a date: the file's time orders it
    ("client_123456789.csv", None),
    ("sessions.csv", None),
])
def test_the_date_in_a_file_name(name, expected):
    from pipelines.dates import name_date
    assert name_date(name) == expected


# ---------------------------------------------------------------- item 8: the manifest follows the warehouse

@pytest.mark.parametrize("fault", ["after_archive:1", "after_file:1", "before_swap:1", "after_swap:1"])
def test_kill_at_each_moment_of_a_load_keeps_warehouse_and_manifest_consistent(tmp_path, fault, cli_loaded):
    jul, oct_ = exports(tmp_path / "src")
    extra = write_csv(tmp_path / "src" / "export_2026-11-01.csv", [row(session_id="S9", session_date="2026-10-20")])
    db = cli_loaded(tmp_path / "p.duckdb", "july")  # what `python -m pipelines load jul --db db` leaves
    before = content(db)
    crashed = run_cli("load", oct_, extra, "--db", db, env={"PIPELINES_FAULT": fault})
    assert crashed.returncode == 75, crashed.stderr
    have = {s for (s,) in query(db, "select sha256 from files")}
    listed = [e["sha256"] for e in manifest(db)]
    assert set(listed) <= have and len(listed) == len(set(listed))  # never lists what is not loaded
    if fault == "after_swap:1":
        assert len(have) == 3
    else:
        assert content(db) == before
    retry = run_cli("load", oct_, extra, "--db", db)
    assert retry.returncode == 0, retry.stderr
    assert query(db, "select count(*) from files")[0][0] == 3
    assert_consistent(db)
    after = content(db)
    assert run_cli("rebuild", "--db", db).returncode == 0
    assert content(db) == after
    assert_consistent(db)


def _file_loaded_elsewhere(db: Path, f: Path, tmp: Path) -> tuple[dict, Path]:
    """The manifest entry and archive a load of ``f`` writes, made in a scratch copy of ``db``."""
    scratch = tmp / "scratch" / db.name
    scratch.parent.mkdir()
    shutil.copy(db, scratch)
    shutil.copytree(landing(db), landing(scratch))
    load([f], db=scratch, today=TODAY)
    entry = next(e for e in manifest(scratch) if e["original_name"] == f.name)
    return entry, landing(scratch) / entry["archived_as"]


def test_a_manifest_listing_a_file_the_warehouse_lacks_is_reconciled_and_a_retry_does_not_duplicate(tmp_path):
    # the state an old version left after a kill between the manifest append and the swap
    db = tmp_path / "p.duckdb"
    jul, oct_ = exports(tmp_path / "src")
    load([jul], db=db, today=TODAY)
    entry, archive = _file_loaded_elsewhere(db, oct_, tmp_path)
    shutil.copy(archive, landing(db) / archive.name)
    with open(landing(db) / "manifest.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")
    (rep,) = load([oct_], db=db, today=TODAY).files
    assert rep.status == "loaded"  # the file was never loaded: it loads now
    assert_consistent(db)
    assert [e["original_name"] for e in manifest(db)].count(OCT) == 1


def _make_legacy(db: Path) -> None:
    """Turn ``db`` and its manifest into what versions before export ordering wrote."""
    con = warehouse.duckdb.connect(str(db))
    try:
        entries = [json.loads(e) for (e,) in con.execute("select entry from files order by load_seq").fetchall()]
        for col in ("entry", "export_order", "order_from"):
            con.execute(f"alter table files drop column {col}")
        con.execute("drop table warehouse_meta")  # those versions had no layout version either
    finally:
        con.close()
    lines = []
    for e in entries:
        for k in ("export_order", "order_from"):
            e.pop(k)
        lines.append(json.dumps(e))
    (landing(db) / "manifest.jsonl").write_text("\n".join(lines + lines[:1]) + "\n", encoding="utf-8")  # a duplicate


def test_a_warehouse_from_before_export_ordering_rebuilds_and_loads_with_nothing_lost(tmp_path):
    db = tmp_path / "p.duckdb"
    jul, oct_ = exports(tmp_path / "src")
    load([jul], db=db, today=TODAY)
    load([oct_], db=db, today=TODAY)
    before = content(db)
    _make_legacy(db)
    legacy = tmp_path / "legacy"
    shutil.copytree(tmp_path, legacy, ignore=shutil.ignore_patterns("legacy", "src"))

    rebuild(db)  # old manifest format: read, deduplicated, replayed
    assert content(db) == before
    assert_consistent(db)
    orders = {f["name"]: f["order_from"] for f in status(db)["file_list"]}
    assert set(orders.values()) == {"load time (loaded before export order was recorded)"}

    ldb = legacy / db.name  # a load into the old format migrates it in place
    extra = write_csv(tmp_path / "src" / "export_2026-11-01.csv", [row(session_id="S9", session_date="2026-10-20")])
    (rep,) = load([extra], db=ldb, today=TODAY).files
    assert rep.status == "loaded", rep.message
    assert query(ldb, "select count(*) from files")[0][0] == 3
    assert_consistent(ldb)
    rows = content(ldb)["rows"]
    assert {r[0] for r in rows} == {JUL, OCT, extra.name}
    assert [r for r in rows if r[0] != extra.name] == before["rows"]


def test_a_load_into_a_missing_warehouse_with_an_archive_asks_for_a_rebuild(tmp_path, practice):
    db = practice(tmp_path)
    kept = manifest(db)
    db.unlink()
    extra = write_csv(tmp_path / "src" / "export_2026-11-01.csv", [row(session_id="S9", session_date="2026-10-20")])
    r = run_cli("load", extra, "--db", db)
    assert r.returncode == 1
    assert "rebuild" in one_line_error(r)
    assert not db.exists() and manifest(db) == kept


# ---------------------------------------------------------------- item 10: audit first, fail closed

@pytest.fixture()
def tiny(tmp_path, cli_loaded) -> tuple[Path, list[Path]]:
    """A tiny practice's two exports in ``tmp_path/src``, the first loaded by the CLI into
    ``tmp_path/wh/w.duckdb`` (a copy of that state: ``cli_loaded``)."""
    files = _tiny_exports(tmp_path / "src")
    return cli_loaded(tmp_path / "wh" / "w.duckdb", "tiny_first_export"), files


def test_commands_change_and_output_nothing_when_the_audit_log_cannot_be_written(tiny, tmp_path):
    db, files = tiny
    (tmp_path / "audit_is_a_folder").mkdir()
    env = {"PIPELINES_AUDIT": str(tmp_path / "audit_is_a_folder")}
    snap = snapshot(db)
    r = run_cli("load", files[1], "--db", db, env=env)
    assert r.returncode == 1 and "audit log" in one_line_error(r)
    assert snapshot(db) == snap
    r = run_cli("rebuild", "--db", db, env=env)
    assert r.returncode == 1 and "audit log" in one_line_error(r)
    assert snapshot(db) == snap
    r = run_cli("rejects", "--db", db, env=env)
    assert r.returncode == 1 and "audit log" in one_line_error(r) and r.stdout == ""
    out = tmp_path / "pack"
    r = run_cli("meeting-pack", "--team", "North", "--out", out, "--db", db, env=env)
    assert r.returncode == 1 and "audit log" in one_line_error(r)
    assert not out.exists() or not list(out.iterdir())
    assert snapshot(db) == snap


def test_a_load_is_recorded_before_it_changes_anything(tiny, tmp_path):
    db, files = tiny
    log = audit.audit_path(db)
    n = len(audit.read(log))
    crashed = run_cli("load", files[1], "--db", db, env={"PIPELINES_FAULT": "after_swap:1"})
    assert crashed.returncode == 75  # killed once the change was made
    events = audit.read(log)
    assert len(events) == n + 1 and events["action"].iloc[0] == "upload"
    assert json.loads(events["detail"].iloc[0])["files"] == [files[1].name]
    r = run_cli("rebuild", "--db", db, env={"PIPELINES_FAULT": "after_swap:1"})
    assert r.returncode == 75
    assert json.loads(audit.read(log)["detail"].iloc[0])["what"] == "rebuild from the landing archive"


def test_data_page_upload_is_audited_before_it_loads(tmp_path, monkeypatch, tiny_db_copy):
    import test_dashboard_support as support
    from streamlit.testing.v1 import AppTest

    db = tiny_db_copy
    monkeypatch.setenv("PIPELINES_DB", str(db))
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "audit.sqlite"))
    extra = support.write_tiny_practice(tmp_path / "more", n_children=4, weeks=6, seed=3)[0]
    upload = ("new_export.csv", extra.read_bytes().replace(b"C000", b"X000"), "text/csv")

    at = AppTest.from_file(str(REPO / "dashboard" / "streamlit_app.py"), default_timeout=60).run()
    at.switch_page("app_pages/data_loads.py").run()
    assert not at.exception
    (tmp_path / "gone").mkdir()
    snap = snapshot(db)
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "gone"))  # the log cannot be written any more
    at.file_uploader(key="uploads").set_value(upload)
    at.get("form_submit_button")[0].click().run()
    assert any("audit log cannot be written" in e.value for e in at.error)
    assert snapshot(db) == snap  # nothing loaded without its audit event

    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "audit.sqlite"))
    at = AppTest.from_file(str(REPO / "dashboard" / "streamlit_app.py"), default_timeout=60).run()
    at.switch_page("app_pages/data_loads.py").run()
    at.file_uploader(key="uploads").set_value(upload)
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    ev = audit.read(tmp_path / "audit.sqlite", action="upload")
    assert len(ev) == 1 and json.loads(ev["detail"].iloc[0])["files"] == ["new_export.csv"]
    assert "new_export.csv" in [f["name"] for f in status(db)["file_list"]]


# ---------------------------------------------------------------- item 14: one line, not a traceback

def test_a_read_only_warehouse_folder_is_one_line_and_changes_nothing(tmp_path):
    base = Path(tempfile.mkdtemp(prefix="ro-", dir="/tmp"))  # reachable by an unprivileged user
    try:
        os.chmod(base, 0o755)
        db = base / "wh" / "p.duckdb"
        jul, oct_ = exports(base / "src")
        assert run_cli("load", jul, "--db", db).returncode == 0
        (base / "log").mkdir(mode=0o777)
        os.chmod(base / "log", 0o777)
        for p in (base / "src", jul, oct_):
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        snap = snapshot(db)
        for p in [db.parent, landing(db)]:
            os.chmod(p, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        drop: list[str] = []
        if os.geteuid() == 0:  # root writes anywhere: run the command as an unprivileged user
            if not shutil.which("setpriv"):
                pytest.skip("running as root without setpriv: a read-only folder cannot be made")
            drop = [shutil.which("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups"]
        env = dict(os.environ, PIPELINES_AUDIT=str(base / "log" / "audit.sqlite"), HOME=str(base / "log"))
        for args in (("load", oct_, "--quiet"), ("rebuild",)):
            r = subprocess.run([*drop, sys.executable, "-m", "pipelines", *map(str, args), "--db", str(db)],
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


def test_disk_full_while_archiving_is_one_line_and_changes_nothing(tmp_path, cli_loaded):
    jul, oct_ = exports(tmp_path / "src")
    db = cli_loaded(tmp_path / "p.duckdb", "july")  # what `python -m pipelines load jul --db db` leaves
    snap = snapshot(db)
    r = run_cli("load", oct_, "--db", db, "--quiet", env={"PIPELINES_FAULT": f"enospc_archive:{OCT}"})
    assert r.returncode == 1
    line = one_line_error(r)
    assert "No space left on device" in line and OCT in line
    assert snapshot(db) == snap
