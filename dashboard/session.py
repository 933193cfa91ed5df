"""Per-server and per-session state shared by the pages: the model in use and the current input.

Models (their Predictor and Explainer) are loaded once per server with ``st.cache_resource`` and shared
by every session; which model a session uses, and what it last drew or uploaded, live in that
session's own ``st.session_state`` keys (not widget keys, which Streamlit drops when a page is left).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard import access
from dashboard.identity import browser_id
from dashboard.lean_reruns import freeze_loaded_heap
from dashboard.monitoring import Source, timed_prediction
from model.embedding import EmbeddingIndex, EmbeddingMap
from model.explain import Explainer
from model.inference import Prediction, Predictor
from model.number import NumberReading, read_number
from model.preprocess import ImageError, images_to_input, to_model_input
from model.store import SHIPPED_ID, SHIPPED_MODEL, ModelFileError, ModelStore
from training.data import MnistData, load_mnist
from training.drawings import DrawingStore
from training.limits import check_drawing
from training.queue import TrainingQueue

MODEL_KEY = "model_id"
INDEX_DIGITS = 20_000
"""Training digits searched for neighbours: a third of MNIST, indexed once per model in about a third of the 20–40 s
that all 60,000 took for the shipped model on 2 cores (a long first wait on Inspect)."""
MAP_DIGITS = 3000
"""Test digits on the embedding map: enough to show every class's cloud, few enough to draw at once."""
INPUT_KEY = "current_input"


@dataclass(frozen=True)
class CurrentInput:
    """What the session last asked about: a canvas drawing or an upload."""

    image: np.ndarray | bytes
    origin: str
    """'canvas' or the uploaded file's name."""
    is_number: bool = False
    """A whole number (the Draw page's Number mode), read digit by digit."""

    @property
    def source(self) -> Source:
        """Where it came from, as /metrics counts predictions."""
        return Source.CANVAS if self.origin == "canvas" else Source.UPLOAD


def store() -> ModelStore:
    return ModelStore()


def current_model_id() -> str:
    """The session's chosen model, else the server's default."""
    return st.session_state.get(MODEL_KEY) or store().active_id()


@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _load_predictor(model_id: str, path: str, mtime: float) -> Predictor:
    predictor = Predictor.load(path)
    freeze_loaded_heap()
    return predictor


@st.cache_resource(max_entries=4, show_spinner=False)
def _load_explainer(model_id: str, path: str, mtime: float) -> Explainer:
    return Explainer(_load_predictor(model_id, path, mtime).model)


def _session_model() -> tuple[Predictor, tuple[str, str, float]]:
    """The session's Predictor and its cache key (id, path, modification time: a re-saved file is reloaded).

    Runs on every stroke, so it only stats the file and looks the model up in the cache once. A missing or
    damaged run falls back to the shipped model; if even that is unusable the page says so and stops,
    instead of showing a traceback.
    """
    model_id = current_model_id()
    try:
        path = store().model_path(model_id)
        version = (model_id, str(path), path.stat().st_mtime)
        return _load_predictor(*version), version
    except (ModelFileError, OSError) as exc:
        if model_id != SHIPPED_ID:
            st.warning(f"Model {model_id} could not be loaded ({exc}); using the shipped model instead.")
            st.session_state[MODEL_KEY] = SHIPPED_ID
            return _session_model()
        st.error(f"The shipped model cannot be loaded: {exc}. Restore model/weights/default.keras "
                 "(e.g. `git checkout model/weights`) and restart the dashboard.", icon=":material/error:")
        st.stop()


@st.cache_resource(max_entries=4, show_spinner=False)
def _load_server_predictor(model_id: str, path: str, mtime: float) -> Predictor:
    """The pages' Predictor, reached without their "Loading the model…" spinner: the API runs outside any page,
    where a spinner makes Streamlit warn "missing ScriptRunContext". A cached function called from a cached
    function shows no spinner, so this one around the pages' loader keeps the one shared model."""
    return _load_predictor(model_id, path, mtime)


def server_predictor() -> Predictor:
    """The server default's Predictor, from the same cache as the pages' (the API has no session)."""
    model_id = store().active_id()
    try:
        path = store().model_path(model_id)
        return _load_server_predictor(model_id, str(path), path.stat().st_mtime)
    except (ModelFileError, OSError):
        return _load_server_predictor(SHIPPED_ID, str(SHIPPED_MODEL), SHIPPED_MODEL.stat().st_mtime)


def model_version() -> tuple[str, str, float]:
    """The session's model as a cache key (for caches of things computed from it)."""
    return _session_model()[1]


def predictor() -> Predictor:
    return _session_model()[0]


def explainer() -> Explainer:
    """Feature maps and saliency for the same model the session's predictions come from."""
    return _load_explainer(*model_version())


@st.cache_resource(show_spinner="Loading MNIST…")
def mnist() -> MnistData:
    """The MNIST the server found (full set or the bundled sample), loaded once per server."""
    return load_mnist()


@st.cache_data(max_entries=8, show_spinner="Scoring the test set through the preprocessing…")
def test_predictions(model_id: str, path: str, mtime: float) -> np.ndarray:
    """The digit predicted for every MNIST test image through the same path as drawings (to find mistakes)."""
    inputs = np.stack([to_model_input(image).image for image in mnist().x_test])[..., None]
    return _load_predictor(model_id, path, mtime).classify(inputs)


@st.cache_resource(max_entries=2, show_spinner="Placing the MNIST digits in this model's feature space (once per "
                                                "model)…")
def _embedding(model_id: str, path: str, mtime: float) -> tuple[EmbeddingIndex, EmbeddingMap]:
    data = mnist()
    indexed = slice(0, INDEX_DIGITS)
    index = EmbeddingIndex(_load_predictor(model_id, path, mtime).model, data.x_train[indexed], data.y_train[indexed])
    shown = slice(0, MAP_DIGITS)
    return index, EmbeddingMap(index.embed(images_to_input(data.x_test[shown])), data.y_test[shown])


def embedding() -> tuple[EmbeddingIndex, EmbeddingMap]:
    """The session's model's index of the MNIST training digits and its map of MAP_DIGITS test digits."""
    return _embedding(*model_version())


def drawings() -> DrawingStore:
    """The labelled drawings of this server's data directory (opened per call: cheap, and thread-safe)."""
    return DrawingStore()


def drawings_owner() -> str | None:
    """Whose drawings this session sees, edits and learns from: everyone's (None) for the admin, else its
    browser's own."""
    return None if access.is_admin() else browser_id()


def label_drawing(prediction: Prediction, label: int) -> None:
    """Keep the drawing behind ``prediction`` with its true label, owned by this browser (raises LimitExceeded
    when a visitor labels faster than the visitors' limit)."""
    store, owner, limits = drawings(), browser_id(), access.limits()
    if limits is not None:
        check_drawing(store.added_since(owner, 60), limits)
    pre = prediction.preprocessed
    store.add(pre.image, label, raw=pre.source, predicted=prediction.digit, probabilities=prediction.probabilities,
              model=current_model_id(), owner=owner)


def training_queue() -> TrainingQueue:
    """The training jobs of this server's data directory (shared with the worker and any other web server)."""
    return TrainingQueue()


def set_current_input(image: np.ndarray | bytes | None, origin: str = "canvas", is_number: bool = False) -> None:
    if image is None:
        st.session_state.pop(INPUT_KEY, None)
    else:
        st.session_state[INPUT_KEY] = CurrentInput(image, origin, is_number)


def current_input() -> CurrentInput | None:
    return st.session_state.get(INPUT_KEY)


def current_model_input() -> np.ndarray | None:
    """The (28, 28) model input of the session's current single digit, by preprocessing alone (the model is not
    run); None when there is none: nothing drawn, a number, no ink, an unreadable upload."""
    current = current_input()
    if current is None or current.is_number:
        return None
    try:
        return to_model_input(current.image).image
    except ImageError:
        return None


def predict(image: np.ndarray | bytes, source: Source) -> Prediction:
    """The session's model on one image, counted for /metrics (raises ImageError for unreadable uploads)."""
    with timed_prediction(source):
        return predictor().predict(image)


def predict_current() -> Prediction | None:
    """Prediction for the session's current digit (raises ImageError for unreadable uploads)."""
    current = current_input()
    if current is None or current.is_number:
        return None
    return predict(current.image, current.source)


def read_current_number() -> NumberReading | None:
    """The session's current number, digit by digit (None when the current input is not a number)."""
    current = current_input()
    if current is None or not current.is_number:
        return None
    with timed_prediction(current.source):  # (an uploaded number counts as an upload)
        return read_number(predictor(), current.image)


def model_version_of(model_id: str) -> tuple[str, str, float]:
    """Any stored model as a cache key (id, path, modification time), for a page that compares several (raises
    ModelFileError for a run that is gone)."""
    path = store().model_path(model_id)
    return model_id, str(path), path.stat().st_mtime


def predictor_of(version: tuple[str, str, float]) -> Predictor:
    """The Predictor of a model by its cache key, from the same per-server cache as the session's model."""
    return _load_predictor(*version)
