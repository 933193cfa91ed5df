"""Entry point: ``streamlit run dashboard/streamlit_app.py`` (port and theme come from .streamlit/config.toml)."""

import streamlit as st

from dashboard.lean_reruns import skip_keras_session_clearing

skip_keras_session_clearing()  # before the first run ends: see dashboard/lean_reruns.py
# Pages live in app_pages/, not pages/: a folder named pages/ switches Streamlit to its older automatic
# multipage mode, where opening /train directly would run that page without this entry script.

# The tab's icon is an emoji, which Streamlit draws in the browser: a :material/…: icon there is fetched from
# fonts.gstatic.com, and nothing should leave the machine unasked (README "Nothing leaves the machine").
st.set_page_config(page_title="Digits — see how a CNN reads your handwriting", page_icon="✏️", layout="wide")
st.navigation([
    st.Page("app_pages/draw.py", title="Draw", icon=":material/draw:", default=True),
    st.Page("app_pages/inspect.py", title="Inspect", icon=":material/biotech:"),
    st.Page("app_pages/experiment.py", title="Experiment", icon=":material/science:"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("app_pages/drawings.py", title="My drawings", icon=":material/photo_library:"),
]).run()
