"""The custom period's From and To dates in the sidebar, as two text boxes (YYYY-MM-DD).

Not ``st.date_input``: its typed text reached the app only when the calendar pop-up closed
(a click elsewhere), so Enter did nothing, and that first click, on a page link say, only closed
the pop-up. Here the boxes are a form: Enter (or *Apply dates*) sends both dates; leaving a box
sends nothing, so the next click (a page link) is the only thing the app hears. A date typed
but not applied is dropped when the page changes. The
dates live in ``st.session_state["f_range"]`` (a (from, to) tuple) as before; the address
keeps them (``?period=custom&from=...&to=...``, ``dashboard.ui``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import streamlit as st

KEYS = ("f_from_text", "f_to_text")


def _typed(lo: dt.date, hi: dt.date, also: Callable[[], None]) -> None:
    """The boxes into ``f_range``: within lo..hi and in order; a box that does not read as
    YYYY-MM-DD keeps its date and a warning says so."""
    ss = st.session_state
    old = ss.get("f_range") or (lo, hi)
    got = []
    for wkey, label, prev in ((KEYS[0], "From", old[0]), (KEYS[1], "To", old[-1])):
        text = str(ss.get(wkey) or "").strip()
        try:
            got.append(min(max(dt.date.fromisoformat(text), lo), hi))
        except ValueError:
            ss["_date_error"] = f"{label}: “{text}” is not a date written YYYY-MM-DD; {prev.isoformat()} is kept."
            got.append(prev)
    ss["f_range"] = (min(got), max(got))
    also()


def draw(lo: dt.date, hi: dt.date, also: Callable[[], None]) -> None:
    """From and To boxes showing ``f_range`` (set it first), in a form: Enter in a box (or
    *Apply dates*) applies both and calls ``also``. Leaving a box sends nothing, so a click
    on a page link right after typing is never raced by a rerun of this page."""
    rng = st.session_state["f_range"]
    for wkey, d in zip(KEYS, (rng[0], rng[-1])):
        st.session_state[wkey] = d.isoformat()
    with st.form("f_dates", border=False, enter_to_submit=True):
        c_from, c_to = st.columns(2)
        c_from.text_input("From", key=KEYS[0], max_chars=10, help="YYYY-MM-DD; Enter applies it")
        c_to.text_input("To", key=KEYS[1], max_chars=10, help="YYYY-MM-DD; Enter applies it")
        st.form_submit_button("Apply dates", on_click=_typed, args=(lo, hi, also), width="stretch",
                              icon=":material/event:")
    if msg := st.session_state.pop("_date_error", None):
        st.warning(msg, icon=":material/event_busy:")
