"""scipy, imported when first used (a load's process need not pay ``scipy.stats``' ~0.6 s CPU
import), and the standard normal's tail and quantile from ``scipy.special`` directly.

``norm_sf(x)`` and ``norm_ppf(q)`` are what ``scipy.stats.norm.sf`` and ``scipy.stats.norm.ppf``
compute for the standard normal (scipy 1.17 ``stats/_continuous_distns.py``: ``_norm_sf(x) =
ndtr(-x)``, ``_norm_ppf(q) = ndtri(q)``; loc 0 and scale 1 change nothing, and ``ndtr``/``ndtri``
give the same edge values, 0/1 and -inf/inf at the ends, NaN outside [0, 1] and for NaN), so
every number is bit for bit the same (``tests/test_lazy_scipy.py`` checks it); ``scipy.special``
alone imports in about a third of ``scipy.stats``' time.

``lazy("scipy.stats")`` is a stand-in for the module that imports it on the first attribute read
(``lazy("scipy.optimize").elementwise`` imports that submodule too).
"""

from __future__ import annotations

import importlib
from types import ModuleType

import numpy as np
from scipy import special


def norm_sf(x):
    """Upper tail of the standard normal, ``scipy.stats.norm.sf(x)`` (Phi(-x), Abramowitz and
    Stegun 26.2.2), as float64 (a scalar for a scalar)."""
    return special.ndtr(-np.asarray(x, dtype=np.float64))


def norm_ppf(q):
    """Quantile of the standard normal, ``scipy.stats.norm.ppf(q)`` (Phi^-1(q)), as float64."""
    return special.ndtri(np.asarray(q, dtype=np.float64))


class _Lazy:
    """A module imported on first use."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attr: str):
        if self._module is None:
            self._module = importlib.import_module(self._name)
        try:
            return getattr(self._module, attr)
        except AttributeError:
            return importlib.import_module(f"{self._name}.{attr}")  # a submodule (optimize.elementwise)

    def __repr__(self) -> str:
        return f"<lazy {self._name}>"


def lazy(name: str) -> _Lazy:
    """``name`` (e.g. ``"scipy.stats"``), imported when an attribute is first read."""
    return _Lazy(name)
