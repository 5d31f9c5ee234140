"""Chart figures kept between reruns: a page's rerun (a click elsewhere on it, the same
filters) draws the figures it drew before without building them again.

Building a figure (``plotly.express``, ``reports.theme.style``, the chart's table) is most of
a warm rerun's time (issue 14: 20-80 ms a chart, 0.15-0.3 s a page at 1M rows), and its
inputs are the cached query results, the same from one rerun to the next. ``kept`` wraps a
chart builder so that the same arguments, compared by value (a frame by its content, as
Streamlit hashes a cached function's arguments) under the same settings, return the figure
built the first time: the same object, not a copy. A kept figure is only read after it is
built (``ui.chart`` sends a copy of it and reads its table): a builder whose figure a page
changes afterwards is not kept. The figures depend on nothing but their arguments and the
settings, so one viewer's figure is never another's unless they asked for the same data.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from pipelines import settings

MAX_FIGURES = 100  # figures kept, least recently used dropped first (a page draws up to ~12)
_BUILDERS: dict[str, Callable[..., Any]] = {}

F = TypeVar("F", bound=Callable[..., Any])


@st.cache_resource(max_entries=MAX_FIGURES, show_spinner=False)
def _figure(name: str, settings_key: str, args: tuple, kwargs: dict) -> Any:
    """The figure ``_BUILDERS[name](*args, **kwargs)`` builds, kept by its arguments' values."""
    return _BUILDERS[name](*args, **kwargs)


def kept(builder: F) -> F:
    """``builder`` with its figures kept (see the module doc); same signature and result."""
    name = f"{builder.__module__}.{builder.__qualname__}"
    _BUILDERS[name] = builder

    @functools.wraps(builder)
    def build(*args: Any, **kwargs: Any) -> Any:
        return _figure(name, settings.get().fingerprint, args, kwargs)

    build.uncached = builder  # type: ignore[attr-defined]
    return build  # type: ignore[return-value]
