"""The Streamlit app (layer 5, the top): ``streamlit_app.py``, the pages in ``app_pages/``, the
cached data access (``data``), the filter bar and messages (``ui``), charts and sign-in
(``auth``). See docs/architecture.md."""
