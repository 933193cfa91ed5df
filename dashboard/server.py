"""``streamlit run dashboard/server.py``: the dashboard and its service (``/api/predict``, ``/metrics``) on
one port. Streamlit finds ``app`` below and serves the pages of ``streamlit_app.py`` next to the routes of
``dashboard/api.py``, and gives each browser the id cookie that ownership of runs and drawings rests on
(``dashboard/identity.py``), and turns a failed ``st.login`` into a sentence on the Train page
(``dashboard/login.py``). ``streamlit run dashboard/streamlit_app.py`` still serves the pages alone.

The start is quiet: the terminal shows the URL and what matters, none of TensorFlow's C++ log lines."""

import os
import re
import tempfile

# Before TensorFlow loads: its C++ INFO and WARNING lines (XLA's service and clusters, cpu_feature_guard) stay off.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

_BEFORE_ABSL_INIT = re.compile(rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written "
                               rb"to STDERR|I\d{4} [\d:.]+ +\d+ port\.cc:\d+\] oneDNN custom operations are on\. .*")
"""What TensorFlow 2.21 writes while it loads whatever TF_CPP_MIN_LOG_LEVEL says: absl's banner and the
oneDNN notice, logged before absl is initialised, once per library. (TF_ENABLE_ONEDNN_OPTS=0 silences
them too, but changes Inspect's feature maps and saliency in the sixth decimal.)"""


def _load_tensorflow() -> None:
    """Import TensorFlow now, before serving (the pages and the API need it anyway), dropping the lines of
    ``_BEFORE_ABSL_INIT`` from what it writes to stderr meanwhile; anything else is passed on unchanged."""
    saved = os.dup(2)
    with tempfile.TemporaryFile() as written:
        os.dup2(written.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            written.seek(0)
            for line in written.read().splitlines(keepends=True):
                if not _BEFORE_ABSL_INIT.fullmatch(line.rstrip(b"\r\n")):
                    os.write(2, line)


_load_tensorflow()

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
