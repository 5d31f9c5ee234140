"""Practice settings (``settings.toml``): age groups, minimum n, needs-attention thresholds."""

from __future__ import annotations

import functools
import os
import tomllib
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent.parent / "settings.toml"


@functools.cache
def _load(path: str) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def load(path: str | Path | None = None) -> dict:
    """The settings as a dict: ``path``, ``$PIPELINES_SETTINGS`` or the project's settings.toml."""
    return _load(str(path or os.environ.get("PIPELINES_SETTINGS") or DEFAULT))


def age_groups(settings: dict | None = None) -> list[tuple[str, int, int]]:
    """(label, lowest age, highest age) in order of age."""
    s = settings or load()
    groups = [(name, int(lo), int(hi)) for name, (lo, hi) in s["age_groups"].items()]
    return sorted(groups, key=lambda g: g[1])
