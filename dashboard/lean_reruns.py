"""Keep Streamlit's per-run clean-ups from costing every stroke hundreds of milliseconds.

Streamlit reruns the page script for every stroke on the canvas, and after *every* run it does two
things meant for notebooks-style apps that rebuild their models each run:

* ``_clean_problem_modules`` calls ``keras.backend.clear_session()`` whenever Keras is imported. With
  TensorFlow loaded that runs a full ``gc.collect()`` over TensorFlow's heap and throws away its
  kernel cache — ~0.4 s of CPU under the GIL per run, for every session. This app builds no model in
  a script run: its models are loaded once per server (``st.cache_resource``) and shared, so there is
  no per-run Keras state to clear, and clearing it is pure cost.
* ``runner.postScriptGC`` runs ``gc.collect(2)`` after each run. It is switched off in
  ``.streamlit/config.toml``; Python's own generational collector still frees cycles, and
  ``freeze_loaded_heap`` moves the long-lived TensorFlow/Keras objects out of its reach so its
  occasional full collections stay cheap.

``tests/test_lean_reruns.py`` fails if a script run starts paying for either again, and
``bench/load.py`` measures the server CPU per stroke against a page holding only the canvas.
"""

from __future__ import annotations

import gc
import sys

from streamlit.runtime.scriptrunner import script_runner


def _close_pyplot_figures() -> None:
    """What Streamlit's clean-up does besides Keras: close pyplot figures left open by a run."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


def skip_keras_session_clearing() -> None:
    """Replace Streamlit's per-run module clean-up with one that leaves Keras alone (idempotent)."""
    script_runner._clean_problem_modules = _close_pyplot_figures


def freeze_loaded_heap() -> None:
    """Move everything alive now (TensorFlow, Keras, the first model) to the permanent generation.

    Called after a model is loaded; acts only the first time, while nothing is frozen yet: later
    automatic full collections then walk only what script runs allocate, not TensorFlow's hundreds of
    thousands of long-lived objects. Models loaded later are not frozen, so evicting them from the
    cache frees them.
    """
    if gc.get_freeze_count() == 0:
        gc.collect()
        gc.freeze()
