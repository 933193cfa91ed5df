"""Predictions from a trained model: ``Predictor(model).predict(image) -> Prediction``.

One Predictor is shared by every dashboard session, so it is built for that: a single image (a stroke, an API
request) goes through the model converted to TensorFlow Lite once, at construction, and batches through a concrete
``tf.function`` traced once with a fixed input signature. Both are safe to call from many threads and skip the
per-call set-up that makes ``model.predict`` cost tens of milliseconds for a single image.
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import threading
import time
import warnings
from collections.abc import Iterator
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


_STDERR_LOCK = threading.Lock()


@contextlib.contextmanager
def _c_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 pointed at /dev/null for the block: what C++ code prints there is dropped (so is anything
    another thread prints in that moment; the block is kept to a few milliseconds)."""
    with _STDERR_LOCK, open(os.devnull, "wb") as null:
        saved = os.dup(2)
        try:
            os.dup2(null.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class OneImageForward:
    """The forward pass of one image at a time — every stroke and every API request — by the model converted to
    TensorFlow Lite, run by its XNNPACK CPU kernels: at batch 1 they beat both the XLA-compiled function and the
    plain graph (``bench/predict_latency.py``); XLA's code pays off only from batches of a few. The same arithmetic
    in another order: outputs agree with Keras's to ~1e-7.

    ``quantized`` converts the weights to int8 (dynamic-range quantization: activations are quantized per call),
    which XNNPACK runs ~5× faster at the price of exactness: on the MNIST test set the probabilities move by up to
    0.025 (median 1e-7) and 1 digit in 10,000 changes. The prediction service, whose job is throughput, asks for it;
    the dashboard does not, since Inspect explains its numbers with the float model's arithmetic.

    An interpreter serves one call at a time, so a few wait in a pool for the threads that need one. A model the
    converter cannot take is run by ``fallback`` instead (the graph function the batches use)."""

    def __init__(self, model: keras.Model, fallback, copies: int | None = None, quantized: bool = False):
        self._fallback = fallback
        self._pool: queue.SimpleQueue | None = None
        try:
            converter = tf.lite.TFLiteConverter.from_keras_model(model)
            if quantized:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]  # no representative data: dynamic range
            with contextlib.redirect_stdout(io.StringIO()):  # Keras's export lists the graph's endpoints
                flat = converter.convert()
        except Exception:  # any layer the converter does not know: the graph function serves
            return
        self._pool = queue.SimpleQueue()
        for _ in range(copies or min(len(os.sched_getaffinity(0)), 4)):
            # "tf.lite.Interpreter is deprecated": LiteRT's package, its successor, cannot share a process with
            # TensorFlow's own TFLite runtime. And TFLite's C++ logger, which no setting quiets, says it "Created
            # TensorFlow Lite XNNPACK delegate for CPU" on the terminal once per process.
            with warnings.catch_warnings(), _c_stderr_silenced():
                warnings.simplefilter("ignore")
                interpreter = tf.lite.Interpreter(model_content=flat, num_threads=1)
                interpreter.allocate_tensors()
            self._pool.put(interpreter)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(1, 28, 28, 1) float32 → the model's (1, outputs) float32."""
        if self._pool is None:
            return self._fallback(tf.constant(x)).numpy()
        interpreter = self._pool.get()
        try:
            interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
            interpreter.invoke()
            return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
        finally:
            self._pool.put(interpreter)


class Predictor:
    """A loaded model plus its forward passes, for one image and for batches; safe to share across threads."""

    def __init__(self, model: keras.Model, name: str = "", quantized: bool = False):
        """``quantized``: one image at a time through int8 weights (see ``OneImageForward``); batches stay float."""
        self.model = model
        self.name = name
        # Batches of any size (a number's candidate parts, a test set) through the plain graph: no AutoGraph (nothing
        # to convert), which parses source with ``ast`` and races with other threads' parsing on CPython 3.11 ("AST
        # constructor recursion depth mismatch", python/cpython#106905).
        self._forward_many = batch_forward(model, INPUT_SHAPE)
        # Converted now, not on a user's first stroke.
        self._forward_one = OneImageForward(model, self._forward_many, quantized=quantized)

    @classmethod
    def load(cls, path: str | Path, quantized: bool = False) -> Predictor:
        """Load a ``.keras`` file (safe mode). Raises ModelFileError naming the file when it is missing or damaged."""
        return cls(load_keras_model(Path(path)), name=Path(path).name, quantized=quantized)

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
        probabilities = self._forward_one(pre.model_input)[0]
        digit = int(np.argmax(probabilities))
        return Prediction(digit, float(probabilities[digit]), probabilities, pre)


class DefaultPredictor:
    """The server's default model (the store's active pointer; the shipped model when that run is missing or
    damaged), reloaded when the pointer or the file changes — for a process without the dashboard's cache (the
    prediction service). ``default()`` is called from request threads: the check, at most every ``recheck_s``,
    and a reload hold a lock; between checks it is one attribute read."""

    def __init__(self, recheck_s: float = 1.0, quantized: bool = False):
        self.recheck_s = recheck_s
        self.quantized = quantized
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
            self._predictor, self._version = Predictor.load(version[1], quantized=self.quantized), version
