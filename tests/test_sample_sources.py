"""The sample writes what the shipped files say: the vendor files follow the profile
(``profiles/vendor_pms.toml`` through ``pipelines.profiles``: headers, date format, sheet,
value spellings), the measures follow the catalogue ``measures.toml`` (SD, reliability,
direction), and both command lines (``python -m pipelines sample`` and
``python -m pipelines.sample``) take every flag and write the same files.

Edited copies of the profile and the catalogue in tmp_path show the writers follow them;
an edited vendor file is loaded back with the real loader. Real files, real DuckDB."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import numpy as np
import pytest

import stats
from pipelines import measures as catalogue
from pipelines import profiles
from pipelines.load import load
from pipelines.sample import COLUMNS, build
from pipelines.sample import canonical, measures, vendor

ROOT = Path(__file__).resolve().parent.parent
END = dt.date(2026, 6, 30)
TODAY = dt.date(2026, 7, 1)


@pytest.fixture(scope="module")
def small():
    """A 40-child, 6-month practice: (arrow table, truth)."""
    return build(40, 6, 3, END)


def edited_copy(src: Path, dest: Path, *replacements: tuple[str, str]) -> Path:
    """A copy of src with each (old, new) replaced once; fails if an old text is not there."""
    text = src.read_text(encoding="utf-8")
    for old, new in replacements:
        assert old in text, f"{old!r} not in {src}"
        text = text.replace(old, new, 1)
    dest.write_text(text, encoding="utf-8")
    return dest


def read_vendor_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding=vendor.CSV_ENCODING) as fh:
        return list(csv.DictReader(fh, delimiter=vendor.CSV_DELIMITER))


def xlsx_sheet(path: Path) -> tuple[list[str], list[list]]:
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    rows = wb.get_sheet_by_name(wb.sheet_names[0]).to_python()
    return wb.sheet_names, rows


def expected_headers(profile: profiles.Profile) -> list[str]:
    heads = [profile.columns[c][0] for c in COLUMNS]
    heads.insert(COLUMNS.index("child_id") + 1, vendor.NAME_HEADER)
    return heads


# --------------------------------------------------------------------------- the vendor profile

def test_vendor_files_are_written_in_the_shipped_profile(small, tmp_path):
    table, _ = small
    vendor.write_vendor(table, tmp_path, "v")
    prof = profiles.load("vendor_pms")
    spelled = profiles.spellings("vendor_pms")
    rows = read_vendor_csv(tmp_path / "v.csv")
    assert list(rows[0]) == expected_headers(prof)
    assert len(rows) == table.num_rows
    date_header = prof.columns["session_date"][0]
    dates = [dt.datetime.strptime(r[date_header], prof.date_format).date() for r in rows]
    assert dates == table["session_date"].to_pylist()
    for fld, by_value in spelled.items():
        written = {r[prof.columns[fld][0]] for r in rows} - {""}
        assert written and written <= set(by_value.values()), fld
    sheets, sheet_rows = xlsx_sheet(tmp_path / "v.xlsx")
    assert sheets == [prof.sheet]
    assert [str(h) for h in sheet_rows[0]] == expected_headers(prof)


def test_vendor_writer_follows_an_edited_profile_and_the_loader_reads_it_back(small, tmp_path):
    table, truth = small
    copy = edited_copy(ROOT / "profiles" / "vendor_pms.toml", tmp_path / "my_pms.toml",
                       ('session_date = ["Date of Service"]', 'session_date = ["Visit Date"]'),
                       ('date_format = "%d/%m/%Y"', 'date_format = "%m/%d/%Y"'),
                       ('sheet = "Appointments"', 'sheet = "Visits"'),
                       ('home = ["Home Visit"]', 'home = ["Domiciliary", "Home Visit"]'))
    out = tmp_path / "out"
    out.mkdir()
    vendor.write_vendor(table, out, "v", profile=copy)

    rows = read_vendor_csv(out / "v.csv")
    assert "Visit Date" in rows[0] and "Date of Service" not in rows[0]
    assert [dt.datetime.strptime(r["Visit Date"], "%m/%d/%Y").date() for r in rows] == \
        table["session_date"].to_pylist()
    places = {r["Location"] for r in rows}
    assert "Domiciliary" in places and "Home Visit" not in places
    sheets, sheet_rows = xlsx_sheet(out / "v.xlsx")
    assert sheets == ["Visits"] and "Visit Date" in [str(h) for h in sheet_rows[0]]
    with zipfile.ZipFile(out / "v.xlsx") as zf:
        assert 'formatCode="mm/dd/yyyy"' in zf.read("xl/styles.xml").decode()

    # the loader, given the same edited profile, reads both files back to the generated sessions
    for name in ("v.csv", "v.xlsx"):
        db = tmp_path / f"{name}.duckdb"
        (rep,) = load([out / name], db=db, profile=str(copy), today=TODAY).files
        assert rep.status == "loaded", rep.message
        assert rep.dropped_columns == [vendor.NAME_HEADER]
        with duckdb.connect(str(db), read_only=True) as con:
            n, first, last = con.execute("select count(*), min(session_date), max(session_date) from sessions").fetchall()[0]
            settings = {r[0] for r in con.execute("select distinct setting from sessions").fetchall()}
        assert n == truth["sessions"]
        assert (first, last) == (min(table["session_date"].to_pylist()), max(table["session_date"].to_pylist()))
        assert "home" in settings


def test_a_profile_that_would_keep_the_name_column_or_has_no_date_format_is_refused(tmp_path):
    keeps = tmp_path / "keeps.toml"
    keeps.write_text((ROOT / "profiles" / "vendor_pms.toml").read_text(encoding="utf-8")
                     + '\n[privacy]\ndrop_columns = ["guardian"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"keeps\.toml.*Client Name"):
        vendor.vendor_format(keeps)
    auto = edited_copy(ROOT / "profiles" / "vendor_pms.toml", tmp_path / "auto.toml",
                       ('date_format = "%d/%m/%Y"', 'date_format = "auto"'))
    with pytest.raises(ValueError, match=r"auto\.toml.*date_format"):
        vendor.vendor_format(auto)


def test_spelling_variants_must_be_ones_the_canonical_profile_accepts(tmp_path):
    canonical.check_variants(profiles.load("canonical"))       # the shipped profile accepts them all
    narrowed = edited_copy(ROOT / "profiles" / "canonical.toml", tmp_path / "narrow.toml",
                           ('"slp", ', ''))
    with pytest.raises(ValueError, match=r"narrow\.toml.*'SLP'.*'speech'"):
        canonical.check_variants(profiles.load(str(narrowed)))


# --------------------------------------------------------------------------- the measure reference

def test_measures_are_the_catalogues():
    ref = stats.measure_reference(catalogue.rci_reference()).set_index("measure")
    specs = measures.measure_specs()
    assert [s.name for s in specs] == ["SCAS-P", "COPM-P"]
    for s in specs:
        assert (s.sd, s.reliability, s.higher_is_better) == \
            (ref.at[s.name, "sd"], ref.at[s.name, "reliability"], bool(ref.at[s.name, "higher_is_better"]))
        # 1.96 * S_diff; stats uses z = 1.95996..., so the two agree to 0.01%
        assert s.rci_threshold == pytest.approx(stats.reliable_change_threshold(s.sd, s.reliability), rel=1e-4)


def test_an_edited_catalogue_changes_the_sample(tmp_path):
    ref = edited_copy(ROOT / "measures.toml", tmp_path / "measures.toml",
                      ("sd = 17.0\nreliability = 0.89", "sd = 25.0\nreliability = 0.80"),
                      ('direction = "higher"\nlevel = "session"\nattended_only = false\nsd = 1.4',
                       'direction = "lower"\nlevel = "session"\nattended_only = false\nsd = 1.4'))
    shipped_table, shipped = build(60, 12, 5, END)
    edited_table, edited = build(60, 12, 5, END, reference=ref)
    assert shipped["measures"]["SCAS-P"] == {"sd": 17.0, "reliability": 0.89, "higher_is_better": False,
                                             "rci_threshold": round(1.96 * math.sqrt(2) * 17.0 * math.sqrt(0.11), 4)}
    assert edited["measures"]["SCAS-P"] == {"sd": 25.0, "reliability": 0.80, "higher_is_better": False,
                                            "rci_threshold": round(1.96 * math.sqrt(2) * 25.0 * math.sqrt(0.20), 4)}
    assert edited["measures"]["COPM-P"]["higher_is_better"] is False
    # the scores are drawn from the reference: the same seed gives other SCAS-P scores
    def scores(table, name):
        m = np.array(table["measure"].to_pylist(), dtype=object) == name
        return np.array(table["measure_score"].to_pylist(), dtype=object)[m]
    assert len(scores(shipped_table, "SCAS-P")) and not np.array_equal(scores(shipped_table, "SCAS-P"),
                                                                       scores(edited_table, "SCAS-P"))


def test_a_bad_catalogue_is_named_with_its_measure_and_key(tmp_path):
    bad = edited_copy(ROOT / "measures.toml", tmp_path / "bad.toml", ("sd = 1.4", 'sd = "wide"'))
    with pytest.raises(ValueError, match=r"bad\.toml: measure 'COPM-P': sd = 'wide': expected a \(finite\) number"):
        measures.measure_specs(bad)
    text = (ROOT / "measures.toml").read_text(encoding="utf-8")
    start = text.index("[measure.COPM-P]")
    lacking = tmp_path / "lacking.toml"
    lacking.write_text(text[:start] + text[text.index("[measure.", start + 1):], encoding="utf-8")
    with pytest.raises(ValueError, match=r"lacking\.toml: no \[measure\.ID\] table with sd and reliability for "
                                         r"measure\(s\) COPM-P"):
        build(10, 3, 1, END, reference=lacking)


# --------------------------------------------------------------------------- both command lines

@pytest.mark.parametrize("split", [True, False])
def test_both_command_lines_take_every_flag_and_write_the_same_files(tmp_path, split):
    flags = ["--children", "25", "--months", "4", "--seed", "5", "--end", "2026-04-30", "--format", "both"]
    if not split:
        flags.append("--single-file")
    outs = {}
    for name, module in (("cli", ["-m", "pipelines", "sample"]), ("package", ["-m", "pipelines.sample"])):
        out = tmp_path / name
        res = subprocess.run([sys.executable, *module, *flags, "--out", str(out)], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        assert re.search(r"wrote .*truth\.json \(\d+ children, \d+ sessions, \d+ rows\)", res.stdout)
        outs[name] = {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert outs["cli"] == outs["package"]
    names = sorted(str(p) for p in outs["cli"])
    canonical_files = ["canonical/export_2026-03.csv", "canonical/export_2026-04.csv"] if split \
        else ["canonical/export_2026-04.csv"]
    assert names == sorted(canonical_files + ["truth.json", "vendor/appointments_2026-01_2026-04.csv",
                                              "vendor/appointments_2026-01_2026-04.xlsx"])
    truth = json.loads(outs["cli"][Path("truth.json")])
    assert (truth["children"], truth["months"], truth["seed"], truth["end"]) == (25, 4, 5, "2026-04-30")
    assert (truth["n_malformed_rows"] > 0) == split


def test_bad_flags_are_refused_by_both_command_lines():
    for module in (["-m", "pipelines", "sample"], ["-m", "pipelines.sample"]):
        res = subprocess.run([sys.executable, *module, "--children", "0", "--out", "/nonexistent/x"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
        assert res.returncode == 2 and "at least 1" in res.stderr + res.stdout
