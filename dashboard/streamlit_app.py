"""Entry point: ``streamlit run dashboard/streamlit_app.py``.

Sets the page up once, loads the sample on a first start (no warehouse yet), draws the
sidebar filter bar (shared by every page and mirrored in the URL) and runs the chosen page.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="Therapy progress", page_icon=":material/child_care:", layout="wide")

from dashboard import data, ui  # noqa: E402

PAGES = {
    "Practice": [
        st.Page(ui.PAGE_FILES["overview"], title="Practice overview", icon=":material/monitoring:", default=True),
        st.Page(ui.PAGE_FILES["groups"], title="Modalities and age groups", icon=":material/grid_view:"),
        st.Page(ui.PAGE_FILES["approach"], title="Child-led vs directed", icon=":material/compare_arrows:"),
    ],
    "Children": [
        st.Page(ui.PAGE_FILES["child"], title="Child progress", icon=":material/child_care:"),
        st.Page(ui.PAGE_FILES["attention"], title="Needs attention", icon=":material/flag:"),
    ],
    "Team": [
        st.Page(ui.PAGE_FILES["meeting"], title="Team meeting pack", icon=":material/groups:"),
    ],
    "Data": [
        st.Page(ui.PAGE_FILES["data"], title="Data", icon=":material/database:"),
    ],
}

page = st.navigation(PAGES)
data.ensure_warehouse()
ui.filter_bar()
page.run()
