"""The Data page's upload result and its "Undo this load" (issue 16, item 7), under Streamlit's
AppTest on a private copy of the tiny practice's warehouse: this file's rejected rows with
their reasons right there, counts that add up, no "None" cells, plain messages; undo by a lead,
confirmed and audited, through the same function as ``python -m pipelines unload``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from access import audit
from pipelines import load
from test_reliability import row, write_csv

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "streamlit_app.py")


@pytest.fixture()
def page(tiny_db_copy, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINES_DB", str(tiny_db_copy))
    monkeypatch.setenv("PIPELINES_AUDIT", str(tmp_path / "audit.sqlite"))

    def open_() -> AppTest:
        at = AppTest.from_file(APP, default_timeout=90).run()
        at.switch_page("app_pages/data_loads.py").run()
        assert not at.exception, at.exception[0].value
        return at
    return open_


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    at.file_uploader(key="uploads").set_value((name, content, "text/csv"))
    at.get("form_submit_button")[0].click().run()
    assert not at.exception, at.exception[0].value
    return at


def plain(markdown: str) -> str:
    return markdown.replace("\\", "")  # the page escapes Markdown in file names (march\_export.csv)


def all_text(at: AppTest) -> str:
    return " | ".join(str(e.value) for kind in ("error", "warning", "success", "info") for e in getattr(at, kind))


def bad_rows_file(tmp_path: Path) -> bytes:
    rows = [row(session_id=f"U{i}", child_id="X1", session_date=f"2026-03-0{i}") for i in range(1, 6)]
    rows += [row(session_id="U6", child_id="X1", session_date="2026-13-40"),          # not a date
             row(session_id="U7", child_id="X1", engagement="nine"),                  # not a score
             row(session_id="U8", child_id="X1", session_date="someday", duration_min="long")]  # two problems
    return write_csv(tmp_path / "bad.csv", rows).read_bytes()


def test_an_upload_with_bad_rows_shows_its_own_rejects_and_counts_that_add_up(page, tmp_path, tiny_db_copy):
    at = upload(page(), "march_export.csv", bad_rows_file(tmp_path))
    said = [plain(w.value) for w in at.warning if "march_export.csv" in plain(w.value)]
    assert len(said) == 1, all_text(at)
    assert "8 rows read: 5 loaded, 3 rejected" in said[0]
    assert said[0].count("march_export.csv") == 1
    assert not any("march_export.csv" in plain(s.value) for s in at.success)  # not a green "loaded"
    problems = next(d.value for d in at.dataframe if list(d.value.columns) == ["file", "line", "column", "value",
                                                                                   "reason"])
    assert set(problems["file"]) == {"march_export.csv"}  # this file's rows only, not older rejects
    assert problems["line"].nunique() == 3 and len(problems) == 4  # 3 rows, 4 problems (one row has two)
    assert sorted(problems["line"].unique()) == [7, 8, 9]
    assert all(problems["reason"].str.len() > 0)
    for d in at.dataframe:  # no cell of the page reads "None"
        assert not (d.value.astype(str) == "None").any().any(), d.value
    f = next(f for f in load.status(tiny_db_copy)["file_list"] if f["name"] == "march_export.csv")
    assert f["rows_read"] == f["rows_loaded"] + f["rows_rejected"] == 8


def test_a_file_that_cannot_be_read_says_what_is_wrong_and_what_to_do(page, tiny_db_copy):
    before = [f["name"] for f in load.status(tiny_db_copy)["file_list"]]
    at = upload(page(), "broken.csv", b"\x00\x01\x02\x03 not an export \x00" * 20)
    errors = [plain(e.value) for e in at.error]
    assert len(errors) == 1, all_text(at)
    assert errors[0].count("broken.csv") == 1  # one file name, said once
    assert "could not be loaded" in errors[0] and "load it again" in errors[0]
    assert "None" not in errors[0]
    assert [f["name"] for f in load.status(tiny_db_copy)["file_list"]] == before


def test_a_file_with_the_wrong_columns_says_so_plainly(page):
    at = upload(page(), "wrong.csv", b"foo,bar\n1,2\n")
    errors = [plain(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].count("wrong.csv") == 1, all_text(at)
    assert "not found" in errors[0] and "foo" in errors[0] and "Mapping profile" in errors[0]
    assert "closest headers" not in errors[0]  # pipeline terms stay out of the page


def test_a_lead_undoes_a_load_after_confirming_and_it_is_audited(page, tmp_path, tiny_db_copy):
    at = upload(page(), "march_export.csv", bad_rows_file(tmp_path))
    files = load.status(tiny_db_copy)["file_list"]
    target = next(f for f in files if f["name"] == "march_export.csv")
    at = page()
    at.selectbox(key="undo_file").set_value(target["sha256"]).run()
    at.button(key="undo_ask").click().run()
    assert any("Undo the load of **march_export.csv**?" in plain(w.value) for w in at.warning)
    at.button(key="undo_no").click().run()  # cancel: nothing changes
    assert "march_export.csv" in [f["name"] for f in load.status(tiny_db_copy)["file_list"]]
    assert len(audit.read(tmp_path / "audit.sqlite", action="unload")) == 0
    at.selectbox(key="undo_file").set_value(target["sha256"]).run()
    at.button(key="undo_ask").click().run()
    at.button(key="undo_yes").click().run()
    assert not at.exception, at.exception[0].value
    assert any("march_export.csv was unloaded" in plain(s.value) for s in at.success), all_text(at)
    after = [f["name"] for f in load.status(tiny_db_copy)["file_list"]]
    assert after == [f["name"] for f in files if f["name"] != "march_export.csv"]
    ev = audit.read(tmp_path / "audit.sqlite", action="unload")
    assert len(ev) == 1 and json.loads(ev["detail"].iloc[0]) == {"file": "march_export.csv",
                                                                  "sha256": target["sha256"]}
