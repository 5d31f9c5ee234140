"""Imported first by every benchmark script: ``python benchmarks/<script>.py`` puts only
``benchmarks/`` on ``sys.path`` (pytest's ``pythonpath`` does not apply to scripts, and the
project is not installed), so this adds the project root once. ``ROOT`` is that root."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
