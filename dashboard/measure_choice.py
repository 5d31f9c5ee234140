"""The outcome measure of the filter bar (``dashboard.ui``): which session measures of the
catalogue it offers, on which pages, from and to the address (``?measure=on_task``), and the
chosen measure's catalogue entry, name and unit for the pages."""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from dashboard import data
from dashboard.text import md_escape

DEFAULT_MEASURE = "engagement"
# pages (url paths) that show an outcome: the filter bar offers the measure there ("": the
# overview, the default page, has the empty path)
MEASURE_PAGES = ("", "overview", "groups", "approach", "needs_attention")


def measure_choices() -> list[dict]:
    """The outcome measures with values (``analytics.measure_options``), engagement first."""
    try:
        return list(data.call("measure_options") or [])
    except FileNotFoundError:
        return []


def measure() -> str:
    """This run's outcome measure (a catalogue id; ``engagement`` by default)."""
    state = st.session_state.get("filter_state") or {}
    return state.get("measure") or DEFAULT_MEASURE


def measure_meta(measure_id: str | None = None):
    """The catalogue entry (``pipelines.measures.Measure``) of ``measure_id`` (default: this run's)."""
    from pipelines.measures import catalogue

    return catalogue()[measure_id or measure()]


def measure_title(measure_id: str | None = None) -> str:
    """A measure's name with its unit, from the catalogue: "On task (% of intervals)",
    "Protests (protests per session)"."""
    m = measure_meta(measure_id)
    return f"{m.label} ({m.unit})"


def measure_from_url(qp: dict[str, list[str]], opts: dict, warnings: list[str]) -> str:
    """The measure a link asks for (``opts["measures"]``: those with values), else the default with a
    warning sentence (the value escaped) added to ``warnings``."""
    if not qp.get("measure"):
        return DEFAULT_MEASURE
    m = qp["measure"][-1]
    if m in (opts.get("measures") or [DEFAULT_MEASURE]):
        return m
    warnings.append(f"Ignored from the link: measure {md_escape(m)} is not a session measure with values in "
                    "this data (measures.toml).")
    return DEFAULT_MEASURE


def measure_selector(page: str | None, on_change: Callable[[], Any]) -> None:
    """The "Outcome measure" box of the filter bar on a page of ``MEASURE_PAGES`` (when there is a
    choice); elsewhere the chosen measure is kept (``st.session_state["f_measure"]``) for the others."""
    choices = {m["measure"]: m for m in measure_choices()}
    if st.session_state.get("f_measure") not in choices:
        st.session_state["f_measure"] = DEFAULT_MEASURE if DEFAULT_MEASURE in choices or not choices \
            else next(iter(choices))
    if (page or "") in MEASURE_PAGES and len(choices) > 1:
        st.selectbox("Outcome measure", list(choices), key="f_measure", on_change=on_change,
                     format_func=lambda m: f"{choices[m]['label']} ({choices[m]['unit']})",
                     help="The measure the outcome figures, trends, flags and comparisons show, with its unit "
                          "and which way is better (measures.toml).")
