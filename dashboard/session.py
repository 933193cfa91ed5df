"""Per-server and per-session state shared by the pages: the model in use and the current input.

The Predictor for each model is loaded once per server (``st.cache_resource``) and shared by every
session; which model a session uses, and what it last drew or uploaded, live in that session's own
``st.session_state`` keys (not widget keys, which Streamlit drops when a page is left).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from model.predictor import Prediction, Predictor
from model.store import SHIPPED_ID, ModelFileError, ModelStore

MODEL_KEY = "model_id"
INPUT_KEY = "current_input"


@dataclass(frozen=True)
class CurrentInput:
    """What the session last asked about: a canvas drawing or an upload."""

    image: np.ndarray | bytes
    origin: str
    """'canvas' or the uploaded file's name."""


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _load_predictor(model_id: str, path: str, mtime: float) -> Predictor:
    """One compiled Predictor per model file version, shared by all sessions (mtime busts the cache)."""
    return Predictor.load(path)


def store() -> ModelStore:
    return ModelStore()


def current_model_id() -> str:
    """The session's chosen model, else the server's default."""
    return st.session_state.get(MODEL_KEY) or store().active_id()


def predictor() -> Predictor:
    """The Predictor for this session's model; a missing or damaged run falls back to the shipped model."""
    model_id = current_model_id()
    try:
        info = store().get(model_id)
        return _load_predictor(info.id, str(info.path), info.path.stat().st_mtime)
    except (ModelFileError, OSError) as exc:
        if model_id == SHIPPED_ID:
            raise
        st.warning(f"Model {model_id} could not be loaded ({exc}); using the shipped model instead.")
        st.session_state[MODEL_KEY] = SHIPPED_ID
        shipped = store().shipped()
        return _load_predictor(shipped.id, str(shipped.path), shipped.path.stat().st_mtime)


def set_current_input(image: np.ndarray | bytes | None, origin: str = "canvas") -> None:
    if image is None:
        st.session_state.pop(INPUT_KEY, None)
    else:
        st.session_state[INPUT_KEY] = CurrentInput(image, origin)


def current_input() -> CurrentInput | None:
    return st.session_state.get(INPUT_KEY)


def predict_current() -> Prediction | None:
    """Prediction for the session's current input (raises ImageError for unreadable uploads)."""
    current = current_input()
    return None if current is None else predictor().predict(current.image)
