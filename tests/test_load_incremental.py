"""A monthly increment loaded into a warehouse gives the same warehouse as a full rebuild.

The base export and a month's increment (new sessions plus corrections of earlier ones: a
changed rating, an emptied cell, a session moved to another child; ``pipelines.increments``)
are loaded one after the other; the result is compared, row for row, table by table, with a
warehouse that loaded both files at once and with ``rebuild`` of the incremental one.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

import analytics
from pipelines import increments, incremental, sample
from pipelines.load import load, rebuild

# what differs between two builds of the same data by design: when and how it was loaded
BOOKKEEPING = {"files", "load_runs", "warehouse_meta", "analytics_meta", "audit_anchor", "build_state"}
TODAY = dt.date(2026, 11, 15)


def _tables(con) -> list[str]:
    return sorted(r[0] for r in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'main' "
        "and not internal").fetchall())


def _differences(a: Path, b: Path) -> dict[str, str]:
    """Per table of ``a`` or ``b`` (bookkeeping aside): how it differs, as rows only one side has."""
    con = duckdb.connect()
    con.execute("attach $p as a (read_only)", {"p": str(a)})
    con.execute("attach $p as b (read_only)", {"p": str(b)})
    found: dict[str, str] = {}
    con.execute("use a")
    ta = set(_tables(con))
    con.execute("use b")
    tb = set(_tables(con))
    con.execute("use memory")
    for t in sorted((ta | tb) - BOOKKEEPING):
        if t not in ta or t not in tb:
            found[t] = "only in " + ("a" if t in ta else "b")
            continue
        cols_a = con.execute(f"select * from a.{t} limit 0").description
        cols_b = con.execute(f"select * from b.{t} limit 0").description
        if [c[0] for c in cols_a] != [c[0] for c in cols_b]:
            found[t] = "columns differ"
            continue
        # doubles to 9 decimals: DuckDB's parallel sums are not bit-stable from run to run
        sel = ", ".join(f'round("{c[0]}", 9) as "{c[0]}"' if str(c[1]) in ("DOUBLE", "FLOAT") else f'"{c[0]}"'
                        for c in cols_a)
        n_a, n_b = (con.execute(f"select count(*) from {s}.{t}").fetchall()[0][0] for s in ("a", "b"))
        only_a = con.execute(f"select count(*) from (select {sel} from a.{t} except all select {sel} from b.{t})").fetchall()[0][0]
        only_b = con.execute(f"select count(*) from (select {sel} from b.{t} except all select {sel} from a.{t})").fetchall()[0][0]
        if only_a or only_b or n_a != n_b:
            example = con.execute(f"select {sel} from a.{t} except all select {sel} from b.{t} limit 1").fetchall()
            found[t] = f"{n_a} vs {n_b} rows, {only_a} only in a, {only_b} only in b; e.g. {example}"
    con.close()
    return found


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> tuple[Path, Path, tuple[int, int]]:
    work = tmp_path_factory.mktemp("increment")
    df, _ = sample.generate(children=40, months=6, seed=5, end=dt.date(2026, 10, 31))
    whole = work / "whole.csv"
    df.to_csv(whole, index=False)
    # the export date in each name orders them (the increment is the newer export)
    base, inc = work / "export_2026-10-01.csv", work / "export_2026-11-01.csv"
    counts = increments.split_last_month(whole, base, inc)
    return base, inc, counts


def _loaded(files: list[Path], db: Path, incremental_build: bool = False) -> Path:
    report = load(files, db=db, today=TODAY, after_build=analytics.STEPS)
    assert [f.status for f in report.files] == ["loaded"] * len(files), [f.message for f in report.files]
    assert report.timings.get("marts_incremental", 0.0) == float(incremental_build), report.timings
    # CPU seconds per phase beside the wall ones (the benchmark prints CPU ratios from them)
    assert all(report.timings[k] >= 0 for k in ("files_cpu_s", "models_cpu_s", "statistics_cpu_s")), report.timings
    return db


def test_the_increment_is_a_month_and_corrections(exports):
    base, inc, (n_base, n_inc) = exports
    assert 0.05 < n_inc / n_base < 0.4
    con = duckdb.connect()
    earlier = con.execute("select count(*) from read_csv($i, all_varchar = true) where cast(session_date as date) < "
                          "(select min(cast(session_date as date)) + 0 from read_csv($i, all_varchar = true) "
                          " where session_id not in (select session_id from read_csv($b, all_varchar = true)))",
                          {"i": str(inc), "b": str(base)}).fetchall()[0][0]
    assert earlier > 0  # corrections of sessions the base already has


@pytest.mark.parametrize("share", [None, 1.0], ids=["month-whole-build", "month-incremental-build"])
def test_incremental_load_equals_loading_both_at_once_and_rebuild(exports, tmp_path, monkeypatch, share):
    """The month touches almost every child: by default the build is whole (cheaper); with
    ``MAX_SHARE`` raised the same load takes the incremental path, and both equal a full build."""
    base, inc, _ = exports
    if share is not None:
        monkeypatch.setattr(incremental, "MAX_SHARE", share)
    step = _loaded([base], tmp_path / "step" / "w.duckdb")
    _loaded([inc], step, incremental_build=share is not None)
    assert not analytics.stored.LAST_BUILD["incremental"]  # a new month moves the as-of date: every child
    both = _loaded([base, inc], tmp_path / "both" / "w.duckdb")
    assert _differences(step, both) == {}
    # the increment changed something: the base alone differs from it
    alone = _loaded([base], tmp_path / "alone" / "w.duckdb")
    changed = _differences(alone, both)
    assert {"sessions", "observations", "child_trends", "child_flags"} <= set(changed)
    # and a rebuild of the incremental warehouse from its landing archive gives it again
    report = rebuild(step, after_build=analytics.STEPS)
    assert all(f.status == "loaded" for f in report.files)
    assert _differences(step, both) == {}


def test_a_few_childrens_corrections_rebuild_only_them(exports, tmp_path):
    """Corrections of one child's sessions and one session moved to it from another child (who
    appears in the file only through that session's old row): an incremental build, equal to
    loading both files at once."""
    base, _inc, _ = exports
    fix = tmp_path / "export_2026-10-15.csv"
    con = duckdb.connect()
    con.execute("create table b as select * from read_csv($p, all_varchar = true)", {"p": str(base)})
    kids = [r[0] for r in con.execute("select distinct child_id from b order by 1 limit 2").fetchall()]
    moved = con.execute("select min(session_id) from b where child_id = $k", {"k": kids[1]}).fetchall()[0][0]
    con.execute("copy (select * replace (case when session_id = $s then $k0 else child_id end as child_id, "
                "case when engagement is not null then cast(6 - cast(engagement as integer) as varchar) end "
                "as engagement) from b where (child_id = $k0 and hash(session_id) % 3 = 0) or session_id = $s) "
                "to $p (header, delimiter ',')", {"s": moved, "k0": kids[0], "p": str(fix)})
    con.close()
    step = _loaded([base], tmp_path / "step" / "w.duckdb")
    _loaded([fix], step, incremental_build=True)
    assert analytics.stored.LAST_BUILD["incremental"]  # the same as-of date: the statistics too
    both = _loaded([base, fix], tmp_path / "both" / "w.duckdb")
    assert _differences(step, both) == {}
    alone = _loaded([base], tmp_path / "alone" / "w.duckdb")
    assert {"sessions", "observations", "children"} <= set(_differences(alone, both))


def test_a_new_child_numbered_before_the_others_renumbers_them(exports, tmp_path):
    """A new child whose id sorts before every other one: its child_key is 1, every other child's
    number moves up one (child_keys is a dense rank of child_id), and the untouched children's rows
    are renumbered in place, so the incremental build equals loading both files at once."""
    base, _inc, _ = exports
    new = tmp_path / "export_2026-10-15.csv"
    con = duckdb.connect()
    con.execute("create table b as select * from read_csv($p, all_varchar = true)", {"p": str(base)})
    first = con.execute("select min(child_id) from b").fetchall()[0][0]
    con.execute("copy (select * replace ('A' || child_id as child_id, 'A' || session_id as session_id) from b "
                "where child_id = $k) to $p (header, delimiter ',')", {"k": first, "p": str(new)})
    con.close()
    step = _loaded([base], tmp_path / "step" / "w.duckdb")
    with duckdb.connect(str(step), read_only=True) as c:
        before = dict(c.execute("select child_id, child_key from child_keys").fetchall())
    _loaded([new], step, incremental_build=True)
    with duckdb.connect(str(step), read_only=True) as c:
        after = dict(c.execute("select child_id, child_key from child_keys").fetchall())
    assert after["A" + first] == 1 and all(after[k] == v + 1 for k, v in before.items())
    both = _loaded([base, new], tmp_path / "both" / "w.duckdb")
    assert _differences(step, both) == {}
