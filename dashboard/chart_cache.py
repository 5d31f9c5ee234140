"""Chart figures kept between reruns: a page's rerun (a click elsewhere on it, the same
filters) draws the figures it drew before without building them again.

Building a figure (``plotly.express``, ``reports.theme.style``, the chart's table) is most of
a warm rerun's time (issue 14: 20-80 ms a chart, 0.15-0.3 s a page at 1M rows), and its
inputs are the cached query results, the same from one rerun to the next. ``kept`` wraps a
chart builder so that the same arguments, compared by value (a frame by its content, as
Streamlit hashes a cached function's arguments) under the same settings, return the figure
built the first time: the same object, not a copy. The arguments are keyed by a hash of
their whole content (``_digest``; Streamlit's own hash samples a frame of 50,000 rows or
more, which could mistake one selection's frame for another's). A kept figure is only read after it is
built (``ui.chart`` sends a copy of it and reads its table): a builder whose figure a page
changes afterwards is not kept. The figures depend on nothing but their arguments and the
settings, so one viewer's figure is never another's unless they asked for the same data.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from pipelines import settings

MAX_FIGURES = 100  # figures kept, least recently used dropped first (a page draws up to ~12)
_BUILDERS: dict[str, Callable[..., Any]] = {}

F = TypeVar("F", bound=Callable[..., Any])


class _Unkeyed(TypeError):
    """An argument ``_digest`` cannot key: the figure is built, not kept."""


def _feed(h: Any, value: Any) -> None:
    """Add ``value`` to the hash ``h``: every row of a frame, every element of an array."""
    if isinstance(value, pd.DataFrame):
        h.update(b"frame" + repr((list(value.columns), [str(t) for t in value.dtypes], value.shape)).encode())
        h.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, pd.Series):
        h.update(b"series" + repr((value.name, str(value.dtype), len(value))).encode())
        h.update(pd.util.hash_pandas_object(value, index=True).to_numpy().tobytes())
    elif isinstance(value, np.ndarray):
        if value.dtype == object:
            _feed(h, list(value.ravel()))
        else:
            h.update(b"array" + repr((str(value.dtype), value.shape)).encode() + value.tobytes())
    elif isinstance(value, (list, tuple)):
        h.update(f"{type(value).__name__}{len(value)}(".encode())
        for v in value:
            _feed(h, v)
        h.update(b")")
    elif isinstance(value, dict):
        h.update(f"dict{len(value)}(".encode())
        for k, v in value.items():
            _feed(h, k)
            _feed(h, v)
        h.update(b")")
    elif value is None or isinstance(value, (str, bytes, bool, int, float, np.generic, dt.date, pd.Timestamp)):
        h.update(f"{type(value).__name__}:{value!r};".encode())
    else:
        raise _Unkeyed(f"cannot key a chart argument of type {type(value).__name__}")


def _digest(args: tuple, kwargs: dict) -> str:
    """A hash of the arguments' whole content (SHA-256)."""
    h = hashlib.sha256()
    _feed(h, (args, sorted(kwargs.items())))
    return h.hexdigest()


@st.cache_resource(max_entries=MAX_FIGURES, show_spinner=False)
def _figure(name: str, settings_key: str, key: str, _args: tuple, _kwargs: dict) -> Any:
    """The figure ``_BUILDERS[name](*_args, **_kwargs)`` builds, kept by ``key`` (``_digest`` of
    the arguments; Streamlit hashes no argument named with a leading underscore)."""
    return _BUILDERS[name](*_args, **_kwargs)


def kept(builder: F) -> F:
    """``builder`` with its figures kept (see the module doc); same signature and result."""
    name = f"{builder.__module__}.{builder.__qualname__}"
    _BUILDERS[name] = builder

    @functools.wraps(builder)
    def build(*args: Any, **kwargs: Any) -> Any:
        try:
            key = _digest(args, kwargs)
        except _Unkeyed:
            return builder(*args, **kwargs)
        return _figure(name, settings.get().fingerprint, key, args, kwargs)

    build.uncached = builder  # type: ignore[attr-defined]
    return build  # type: ignore[return-value]
