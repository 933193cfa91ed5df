"""``streamlit run dashboard/server.py``: the dashboard and its service (``/api/predict``, ``/metrics``) on
one port. Streamlit finds ``app`` below and serves the pages of ``streamlit_app.py`` next to the routes of
``dashboard/api.py``, and gives each browser the id cookie that ownership of runs and drawings rests on
(``dashboard/identity.py``), and turns a failed ``st.login`` into a sentence on the Train page
(``dashboard/login.py``). ``streamlit run dashboard/streamlit_app.py`` still serves the pages alone.

The start is quiet: the terminal shows the URL and what matters, none of TensorFlow's C++ log lines."""

from model.quiet_tensorflow import import_tensorflow_quietly

import_tensorflow_quietly()  # before anything loads TensorFlow: the start shows the URL, not its log lines

import tensorflow as tf  # noqa: E402

# One thread per operation: this process answers many sessions at once, each of its threads runs its own forward
# passes, so splitting one small op over both cores only adds the cost of waking a second thread (a stroke's
# forward pass: 0.62 → 0.37 ms of CPU). Set before any op runs; the training worker sets its own.
tf.config.threading.set_intra_op_parallelism_threads(1)

import streamlit as st  # noqa: E402  (after TensorFlow: see above)
from starlette.middleware import Middleware  # noqa: E402

from dashboard.api import ROUTES  # noqa: E402
from dashboard.identity import BrowserCookie  # noqa: E402
from dashboard.login import LoginOutcome  # noqa: E402

app = st.App("streamlit_app.py", routes=ROUTES, middleware=[Middleware(BrowserCookie), Middleware(LoginOutcome)])
