"""Predictions from a trained model: ``Predictor(model).predict(image) -> Prediction``.

One Predictor is shared by every dashboard session, so it is built for that: the forward pass is an
XLA-compiled concrete ``tf.function`` traced once (at construction) with a fixed input signature,
which is thread-safe to call concurrently and skips the per-call set-up that makes ``model.predict``
cost tens of milliseconds for a single image.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from model.network import INPUT_SHAPE
from model.preprocess import ImageSource, NoDigit, Preprocessed, to_model_input
from model.store import SHIPPED_ID, SHIPPED_MODEL, ModelFileError, ModelStore, load_keras_model

UNSURE_BELOW = 0.6
"""Confidence under which the dashboard says "not sure" and shows the top three."""
BATCH = 512


@dataclass(frozen=True)
class Prediction:
    """The answer for one image. ``digit`` is None when the image holds no digit (see ``no_digit``)."""

    digit: int | None
    confidence: float
    probabilities: np.ndarray = field(repr=False)
    """Ten softmax probabilities; all zeros when there is no digit."""
    preprocessed: Preprocessed = field(repr=False)

    @property
    def no_digit(self) -> NoDigit | None:
        """Why there is no digit; None when there is one."""
        return self.preprocessed.empty_reason

    @property
    def is_unsure(self) -> bool:
        return self.digit is not None and self.confidence < UNSURE_BELOW

    def top(self, k: int = 3) -> list[tuple[int, float]]:
        """The k most likely digits with their probabilities, most likely first."""
        order = np.argsort(self.probabilities)[::-1][:k]
        return [(int(d), float(self.probabilities[d])) for d in order]

    def to_dict(self) -> dict:
        return {"digit": self.digit, "confidence": round(self.confidence, 6),
                "probabilities": [round(float(p), 6) for p in self.probabilities]}


def batch_forward(model: keras.Model, shape: tuple[int, ...]):
    """``model``'s inference on float32 batches (N, *shape) of any N, as one concrete graph function."""
    return tf.function(lambda x: model(x, training=False), autograph=False,
                       input_signature=[tf.TensorSpec((None, *shape), tf.float32)]).get_concrete_function()


def in_batches(forward, inputs: np.ndarray, outputs: int) -> np.ndarray:
    """``forward`` (from ``batch_forward``) over any number of inputs, BATCH at a time: (N, outputs) float32."""
    inputs = np.asarray(inputs, dtype=np.float32)
    if len(inputs) == 0:
        return np.zeros((0, outputs), np.float32)
    return np.concatenate([forward(tf.constant(inputs[i:i + BATCH])).numpy() for i in range(0, len(inputs), BATCH)])


class Predictor:
    """A loaded model plus a compiled forward pass; safe to share across threads."""

    def __init__(self, model: keras.Model, name: str = ""):
        self.model = model
        self.name = name
        # XLA-compiled (conv, batch norm and ReLU fused): ~35 % faster than the plain graph at batch 1. No
        # AutoGraph (nothing to convert): it parses source with ``ast``, which races with other threads' parsing
        # on CPython 3.11 ("AST constructor recursion depth mismatch", python/cpython#106905).
        self._forward = tf.function(lambda x: model(x, training=False), jit_compile=True, autograph=False,
                                    input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32)],
                                    ).get_concrete_function()
        self._forward(tf.zeros((1, 28, 28, 1)))  # compile now, not on some user's first stroke
        # Batches of any size (a number's candidate parts, a test set) through the plain graph: XLA compiles once per
        # input shape, and each new batch size would cost a compilation (~40 ms).
        self._forward_many = batch_forward(model, INPUT_SHAPE)

    @classmethod
    def load(cls, path: str | Path) -> Predictor:
        """Load a ``.keras`` file (safe mode). Raises ModelFileError naming the file when it is missing or damaged."""
        return cls(load_keras_model(Path(path)), name=Path(path).name)

    def probabilities(self, inputs: np.ndarray) -> np.ndarray:
        """Softmax outputs (N, 10) for model inputs (N, 28, 28, 1), in batches of BATCH."""
        return in_batches(self._forward_many, inputs, outputs=10)

    def classify(self, inputs: np.ndarray) -> np.ndarray:
        """The predicted digit (N,) for each of a batch of model inputs (N, 28, 28, 1)."""
        return self.probabilities(inputs).argmax(axis=1)

    def predict(self, image: ImageSource | Preprocessed) -> Prediction:
        """Preprocess one image (unless already done) and classify it; no digit when there is no ink."""
        pre = image if isinstance(image, Preprocessed) else to_model_input(image)
        if pre.is_empty:
            return Prediction(None, 0.0, np.zeros(10, np.float32), pre)
        probabilities = self._forward(tf.constant(pre.model_input)).numpy()[0]
        digit = int(np.argmax(probabilities))
        return Prediction(digit, float(probabilities[digit]), probabilities, pre)


class DefaultPredictor:
    """The server's default model (the store's active pointer; the shipped model when that run is missing or
    damaged), reloaded when the pointer or the file changes — for a process without the dashboard's cache (the
    prediction service). ``default()`` is called from request threads: the check, at most every ``recheck_s``,
    and a reload hold a lock; between checks it is one attribute read."""

    def __init__(self, recheck_s: float = 1.0):
        self.recheck_s = recheck_s
        self._lock = threading.Lock()
        self._version: tuple[str, str, float] | None = None
        self._predictor: Predictor | None = None
        self._checked = -recheck_s

    def __call__(self) -> Predictor:
        if self._predictor is None or time.monotonic() - self._checked >= self.recheck_s:
            with self._lock:
                self._refresh()
        return self._predictor

    def _refresh(self) -> None:
        store = ModelStore()
        model_id = store.active_id()
        try:
            path = store.model_path(model_id)
            self._load((model_id, str(path), path.stat().st_mtime))
        except (ModelFileError, OSError):
            self._load((SHIPPED_ID, str(SHIPPED_MODEL), SHIPPED_MODEL.stat().st_mtime))
        self._checked = time.monotonic()

    def _load(self, version: tuple[str, str, float]) -> None:
        """Load the model of ``version`` (id, path, modification time) unless it is the one held."""
        if version != self._version:
            self._predictor, self._version = Predictor.load(version[1]), version
