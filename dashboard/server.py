"""``streamlit run dashboard/server.py``: the dashboard and its service (``/api/predict``, ``/metrics``) on
one port. Streamlit finds ``app`` below and serves the pages of ``streamlit_app.py`` next to the routes of
``dashboard/api.py``. ``streamlit run dashboard/streamlit_app.py`` still serves the pages alone."""

import streamlit as st

from dashboard.api import ROUTES

app = st.App("streamlit_app.py", routes=ROUTES)
