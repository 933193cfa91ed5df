"""``bench/train_refresh.py``'s server: the dashboard's Train page alone, with "Watch it learn" left out when
``BENCH_WITHOUT_SNAPSHOTS`` is set — the yardstick for what the section adds to a refresh.

Both kinds of round run this same entry, so the only difference between them is the section.
"""

import os

import streamlit as st

from dashboard import snapshots
from dashboard.lean_reruns import skip_keras_session_clearing
from harness import ROOT

skip_keras_session_clearing()  # as dashboard/streamlit_app.py does
if os.environ.get("BENCH_WITHOUT_SNAPSHOTS"):
    snapshots.live = snapshots.replay = lambda *args: None  # the page looks them up at call time
st.set_page_config(layout="wide")
st.navigation([st.Page(str(ROOT / "dashboard" / "app_pages" / "train.py"), title="Train", url_path="train")]).run()
