"""`python -m pipelines --help` and `status` start without importing pandas (issue 14: both
under 0.3 s; the time itself is printed by benchmarks/bench_cli.py, not asserted here): the
modules a command imports are checked, in a fresh interpreter each."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import contextlib, io, json, sys
from pipelines.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:  # --help
        code = exc.code
print(json.dumps({"code": code, "heavy": sorted(m for m in ("pandas", "scipy", "streamlit", "plotly", "pyarrow")
                                                 if m in sys.modules),
                  "ours": sorted(m for m in sys.modules if m.startswith("pipelines.")), "out": out.getvalue()[:2000]}))
"""


def _probe(*args: str) -> dict:
    res = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_help_imports_no_pandas():
    r = _probe("--help")
    assert r["code"] == 0 and "status" in r["out"]
    assert r["heavy"] == []


def test_status_imports_no_pandas(tiny_db):
    r = _probe("status", "--db", str(tiny_db))
    assert r["code"] == 0 and "sessions" in r["out"], r
    assert r["heavy"] == []


def test_status_imports_only_what_it_reads(tiny_db):
    """`status` reads the warehouse: not the load's readers, profiles and models, nor the settings
    (pipelines.status on its own; LoadAborted and SettingsError from pipelines.errors)."""
    r = _probe("status", "--db", str(tiny_db))
    assert r["code"] == 0, r
    assert not {"pipelines.load", "pipelines.settings", "pipelines.ingest", "pipelines.transform",
                "pipelines.profiles"} & set(r["ours"]), r["ours"]
    assert "pipelines.status" in r["ours"]


def test_status_outputs_match_load_status(tiny_db):
    """load.status is the same function as before (the dashboard and scripts call it there)."""
    from pipelines import load, status

    assert load.status is status.status
    s = status.status(tiny_db)
    assert s["sessions"] > 0 and s["children"] > 0 and s["file_list"]
