"""``streamlit run dashboard/server.py``: the dashboard and its service (``/api/predict``, ``/metrics``) on
one port. Streamlit finds ``app`` below and serves the pages of ``streamlit_app.py`` next to the routes of
``dashboard/api.py``, and gives each browser the id cookie that ownership of runs and drawings rests on
(``dashboard/identity.py``). ``streamlit run dashboard/streamlit_app.py`` still serves the pages alone."""

import streamlit as st
from starlette.middleware import Middleware

from dashboard.api import ROUTES
from dashboard.identity import BrowserCookie

app = st.App("streamlit_app.py", routes=ROUTES, middleware=[Middleware(BrowserCookie)])
