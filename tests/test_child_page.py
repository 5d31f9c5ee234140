"""The child page as a story (issue 15) and its report download (AppTest): goal panels with
their charts, the comparison sentence before the methods, and a typed display name that goes
into the downloaded file and nowhere else (warehouse, audit log, Streamlit's caches)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import test_dashboard_support as support
from builders import copy_warehouse

APP = str(support.ROOT / "dashboard" / "streamlit_app.py")
CHILD = "C0008"
NAME = "Philippa Wrenfeather-Oddly"


@pytest.fixture()
def db(sample_db, tmp_path, monkeypatch) -> Path:
    path = copy_warehouse(sample_db, tmp_path / sample_db.name)   # its own audit log
    monkeypatch.setenv("PIPELINES_DB", str(path))
    return path


def _open() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"child": CHILD, "period": "all"})
    at.run()
    at.switch_page("app_pages/child_progress.py").run()
    assert not at.exception, at.exception[0].value
    return at


def _cached_bytes() -> bytes:
    """Everything Streamlit's st.cache_data holds in this process, pickled."""
    from streamlit.runtime.caching.cache_data_api import _data_caches

    out = []
    for caches in list(_data_caches._function_caches.values()):
        for cache in list(caches.values()):
            try:
                out.append(pickle.dumps(vars(cache.storage), protocol=5))
            except Exception:  # noqa: BLE001 - an unpicklable part: its text
                out.append(repr(vars(cache.storage)).encode())
    return b"".join(out)


def test_child_page_tells_the_story_with_goal_panels_and_the_sentence_first(db):
    at = _open()
    body = " ".join(m.value for m in at.markdown)
    assert "Goal G0008-1" in body and "baseline" in body
    assert "How this is computed" in [e.label for e in at.expander]
    assert "Comparing each child-led session with each directed one" in body and "pairs of sessions" not in body
    assert "Vannest" in body and "Scruggs" in body       # the methods' references, behind the expander
    assert any(c.proto.id for c in at.get("plotly_chart"))


def test_typed_name_goes_into_the_file_only(db):
    at = _open()
    at.text_input(key="cr_name").input(NAME).run()
    at.text_area(key="cr_narrative").input("Settled well this term.").run()
    assert not at.exception
    makers = at.session_state["_export_makers"]
    html = makers["child report html"]().decode("utf-8")
    assert NAME in html and "Settled well this term." in html
    docx = makers["child report docx"]()
    from docx import Document
    import io
    assert NAME in " ".join(p.text for p in Document(io.BytesIO(docx)).paragraphs)
    # nowhere else: the warehouse and everything beside it (audit log, landing archive), the caches
    for p in sorted(db.parent.rglob("*")):
        if p.is_file():
            assert NAME.encode() not in p.read_bytes(), p
    assert NAME.encode() not in _cached_bytes()
    for cache_dir in (Path.cwd() / ".streamlit" / "cache", Path.home() / ".streamlit" / "cache"):
        if cache_dir.is_dir():
            for p in cache_dir.rglob("*"):
                assert not p.is_file() or NAME.encode() not in p.read_bytes(), p
    # the audit log says a report for this child was made, with a typed name
    from access import audit
    log = audit.read(path=audit.audit_path(db), action="export", child_id=CHILD)
    assert len(log) >= 2 and '"display_name_typed": true' in str(log["detail"].iloc[0]).replace("True", "true")


def test_gas_t_chart_follows_the_sidebar_period(db):
    """The page says it shows the sidebar's period: the GAS T-score chart did show every review
    month of the child's history under "Showing the sidebar's period"."""
    import json

    axes = []

    def review_months(at: AppTest) -> list[str]:
        for c in at.get("plotly_chart"):
            spec = json.loads(c.proto.spec)
            if "GAS T-score" in str(spec["layout"].get("title", {}).get("text", "")):
                axes.append(spec["layout"]["xaxis"])
                return sorted({str(x)[:7] for t in spec["data"] for x in (t.get("x") or [])})
        return []

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update({"child": CHILD, "period": "3m"})
    at.run()
    at.switch_page("app_pages/child_progress.py").run()
    assert not at.exception, at.exception[0].value
    shown = " ".join(c.value for c in at.caption)
    assert "Showing the sidebar's period" in shown and "progress report" in shown
    months = review_months(at)
    whole = review_months(_open())
    assert whole and len(months) < len(whole), (months, whole)
    assert all(m >= "2026-07" for m in months), months
    # three review months under a month format: one tick a month, not "Aug 2026, Aug 2026, Sep 2026, ..."
    assert axes[0].get("dtick") == "M1" or "%d" in axes[0].get("tickformat", ""), axes[0]
