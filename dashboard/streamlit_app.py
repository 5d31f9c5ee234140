"""Entry point: ``streamlit run dashboard/streamlit_app.py``.

Sets the page up once, stops with one line when settings.toml cannot be used, admits the
viewer (``auth.gate``: sign-in, access list, or the local single-user mode), loads the sample
on a first start (no warehouse yet), draws the sidebar filter bar (shared by every page and
mirrored in the URL; a page hides the filters it does not use: ``ui.PAGE_FILTERS``), sets the
page's stylesheet (``layout.page_style``), records the page view in the audit log and runs
the chosen page. The audit and access pages are registered for leads only.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only dashboard/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

st.set_page_config(page_title="Therapy progress", page_icon=":material/child_care:", layout="wide")

from dashboard import auth, data, layout, ui  # noqa: E402
from pipelines import measures, settings  # noqa: E402

try:  # every page and figure asks the settings and the measures: a file that cannot be used stops here
    settings.get()
    measures.catalogue()
except settings.SettingsError as exc:  # a MeasuresError is one too
    st.title("Practice settings cannot be read", anchor=False)
    st.error("A settings file cannot be used (settings.toml or measures.toml), so no page is shown until it is "
             "fixed (or `$PIPELINES_SETTINGS` / `$PIPELINES_MEASURES` names a good one):", icon=":material/error:")
    st.code(str(exc), language=None, wrap_lines=True)
    st.stop()

viewer = auth.gate()  # stops the run here unless someone may see data

PAGES = {
    "Practice": [
        st.Page(ui.PAGE_FILES["overview"], title="Practice overview", icon=":material/monitoring:", default=True),
        st.Page(ui.PAGE_FILES["groups"], title="Modalities and age groups", icon=":material/grid_view:"),
        st.Page(ui.PAGE_FILES["approach"], title="Child-led vs directed", icon=":material/compare_arrows:"),
        st.Page(ui.PAGE_FILES["attendance"], title="Attendance", icon=":material/event_available:"),
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

if viewer.is_lead:
    PAGES["Data"] += [
        st.Page(ui.PAGE_FILES["audit"], title="Audit log", icon=":material/policy:"),
        st.Page(ui.PAGE_FILES["access"], title="Access", icon=":material/manage_accounts:"),
    ]

# pages that record their own view (with the child, the pack or the log filters they show)
SELF_RECORDING = {ui.CHILD_URL_PATH, "team_meeting", "audit_log", "access"}
ADMIN_PAGES = {"audit_log", "access"}
page = st.navigation(PAGES)
if viewer.mode == "local":  # a served dashboard never loads the sample into a practice's warehouse
    data.ensure_warehouse()
data.stop_if_outdated()  # a warehouse of an earlier version: how to rebuild it, and no page
auth.sidebar()
layout.page_style()
if page.url_path not in ADMIN_PAGES:  # the audit and access pages do not use the filters
    ui.filter_bar(page.url_path)
if page.url_path not in SELF_RECORDING:
    auth.log_view(page.title, detail=ui.url_params_for_audit())
page.run()
