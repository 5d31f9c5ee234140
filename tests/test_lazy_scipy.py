"""A load does not import scipy.stats or scipy.optimize (issue 14: ~0.6 s CPU of every load's
process went to importing them; the stored build needs only the normal's tail and quantile,
``stats._scipy``), and those two functions give scipy.stats.norm's numbers bit for bit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from stats._scipy import lazy, norm_ppf, norm_sf

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import contextlib, io, json, sys
from pipelines.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "scipy": sorted(m for m in sys.modules if m.startswith("scipy.")
                                                and m.count(".") == 1), "out": out.getvalue()[-2000:]}))
"""

X = np.array([-np.inf, -40.0, -8.5, -1.959963984540054, -1.0, -1e-300, -0.0, 0.0, 5e-324, 0.3, 1.0, 1.6448536269514722,
              2.5, 7.0, 8.3, 38.0, 40.0, np.inf, np.nan])
Q = np.array([-0.1, 0.0, 5e-324, 1e-300, 1e-17, 0.001, 0.025, 0.05, 0.1, 0.3, 0.5, 0.7, 0.95, 0.975, 0.999,
              1 - 1e-16, 1.0, 1.1, np.nan])


def test_a_load_imports_neither_scipy_stats_nor_optimize(tmp_path):
    """Fails before the change: stats/* and analytics/practice imported scipy.stats at module
    level, so the CLI's load (with the stored statistics) imported it."""
    from pipelines import small_practice

    files = small_practice.write_tiny_practice(tmp_path / "exports")
    res = subprocess.run([sys.executable, "-c", PROBE, "load", *map(str, files), "--db", str(tmp_path / "w.duckdb")],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    r = json.loads(res.stdout.strip().splitlines()[-1])
    assert r["code"] == 0, r["out"]
    assert "scipy.special" in r["scipy"]
    assert not {"scipy.stats", "scipy.optimize"} & set(r["scipy"]), r["scipy"]


@pytest.mark.parametrize("x", [*X, X, X.reshape(-1, 1), [0.5, -2.0]], ids=repr)
def test_norm_sf_is_scipy_stats_norm_sf(x):
    ours, theirs = norm_sf(x), sps.norm.sf(x)
    assert type(ours) is type(theirs) and np.shape(ours) == np.shape(theirs)
    np.testing.assert_array_equal(ours, theirs, strict=True)
    assert np.array_equal(np.signbit(ours), np.signbit(theirs))


@pytest.mark.parametrize("q", [*Q, Q, Q.reshape(-1, 1), [0.5, 0.975]], ids=repr)
def test_norm_ppf_is_scipy_stats_norm_ppf(q):
    with np.errstate(invalid="ignore"):
        ours, theirs = norm_ppf(q), sps.norm.ppf(q)
    assert type(ours) is type(theirs) and np.shape(ours) == np.shape(theirs)
    np.testing.assert_array_equal(ours, theirs, strict=True)


def test_lazy_module_reads_through():
    assert lazy("scipy.stats").norm is sps.norm
    from scipy.optimize import elementwise

    assert lazy("scipy.optimize").elementwise.find_root is elementwise.find_root
