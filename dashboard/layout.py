"""The frame of a page: rows of key numbers and grids of charts that wrap when the page is
narrow, and the page's one stylesheet.

At 800 px with the sidebar open the main area is about 450 px wide: three key numbers or
two charts side by side there cut their labels ("Attendance r…") and titles. A row of
key numbers (``metric_row`` of ``metric_card``) is a wrapping horizontal container of cards
as wide as their text, so it breaks onto more rows instead; a chart grid (``chart_grid``)
holds chart boxes at least 22rem wide (``PAGE_CSS``), so two charts share a row only where
each gets 22rem. Charts themselves (with their table) are ``ui.chart``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import streamlit as st

from dashboard.text import md_escape

# the page's one stylesheet: every box in a chart grid is at least 22rem wide (or the whole width),
# so a grid of charts (``chart_grid``) wraps to one a row where two would be cut. Streamlit's
# ``st-key-<key>`` class is its documented hook for styling a keyed container; the grid's items
# are its direct children.
# A static table (``static_table``) breaks a long word rather than run past its container's edge (but
# never in its first column, the row's name: a child id, a therapist, a month; nor in the headers of the
# meeting page's attention table).
PAGE_CSS = ("<style>[class*='st-key-grid_'] > div { min-width: min(100%, 22rem); }"
            "[class*='st-key-table_'] th, [class*='st-key-table_'] td { overflow-wrap: anywhere; hyphens: auto; }"
            "[class*='st-key-table_'] td:first-child { overflow-wrap: normal; }"
            "[class*='st-key-table_mp_attention'] td:not(:nth-child(3)) { overflow-wrap: break-word; }"
            # the attention table's headers keep their words whole ("Severit y" at 1300 px): its flags
            # column breaks long words, so the table still fits at 800 px (a33b8b8 did this for every
            # header, and the wide tables ran past the page)
            "[class*='st-key-table_mp_attention'] th { overflow-wrap: break-word; hyphens: manual; }</style>")


def page_style() -> None:
    """The page's stylesheet (``PAGE_CSS``), once per run before the page draws."""
    st.html(PAGE_CSS)


@contextmanager
def chart_grid(key: str) -> Iterator[Any]:
    """A row of charts that wraps: two (or more) a row where each gets 22rem, else one a row.
    Use as ``with layout.chart_grid("trends") as grid: ui.chart(fig, key, where=grid)``."""
    with st.container(horizontal=True, key=f"grid_{key}", gap="medium") as grid:
        yield grid


@contextmanager
def metric_row(key: str) -> Iterator[Any]:
    """A row of key numbers (``metric_card``) that wraps onto more rows when the page is narrow,
    so no label or value is ever cut off."""
    with st.container(horizontal=True, key=f"metrics_{key}", gap="small") as row:
        yield row


# A page draws at most this many rows of a static table: a markdown table of thousands of rows
# (a large practice's flagged children or met goals) took the browser over a minute to lay out.
# The rest are in the downloads, which always hold every row.
PAGE_ROWS = 50


def rows_left_out(total: int, shown: int, where: str) -> str:
    """The caption under a table cut to its first ``shown`` of ``total`` rows, saying where the rest are."""
    return f"Showing the first {shown:,} of {total:,} rows. {where}"


def static_table(frame: Any, key: str, caption: str | None = None, *, total: int | None = None,
                 rest_in: str = "Every row is in the downloads above (HTML, PDF, Excel).") -> None:
    """A table drawn with the page's text (a markdown table: no grid component that fills in
    seconds after the run) whose text wraps within the page's width, so no column is cut off
    at 800 px. Cells are markdown: escape text not meant as markdown (``text.md_escape``:
    it escapes ``|`` too); the headers are escaped here. At most ``PAGE_ROWS`` rows are drawn;
    when ``frame`` (or the ``total`` rows it was cut from) has more, a caption says how many
    and where the rest are (``rest_in``)."""
    def row(cells: Any) -> str:
        return "| " + " | ".join(str(c).replace("\n", " ") for c in cells) + " |"

    total = len(frame) if total is None else total
    shown = frame.head(PAGE_ROWS)
    lines = [row(md_escape(c) for c in shown.columns), row(["---"] * len(shown.columns)),
             *(row(r) for r in shown.itertuples(index=False))]
    with st.container(key=f"table_{key}"):
        st.markdown("\n".join(lines))
        if total > len(shown):
            st.caption(rows_left_out(total, len(shown), rest_in))
        if caption:
            st.caption(caption)


def metric_card(label: str, value: Any, delta: Any = None, *, note: str | None = None, **kwargs: Any) -> None:
    """One key number in a bordered card as wide as its text (``st.metric``; ``kwargs`` go to
    it), with an optional caption under it (what it counts, its n). Inside ``metric_row``."""
    with st.container(border=True, width="content"):
        st.metric(label, value, delta, **kwargs)
        if note:
            st.caption(note)
