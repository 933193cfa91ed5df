"""Train the CNN: ``train(hp, data, on_progress, stop) -> TrainResult``.

Plain ``model.fit`` with one callback that reports progress a few times per epoch, stops between
batches when asked, waits between batches while its caller says so (``pause``: the worker gives way to a class
drawing), ends the run on a NaN loss, and shows the network to a snapshot recorder after every batch
(``training.snapshots``: the Train page's Watch it learn). Used by the CLI and the Train page alike.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import keras
import numpy as np

from model.network import build_classifier
from model.preprocess import images_to_input
from training.augmentation import build_augmentation
from training.data import MnistData
from training.drawings import LabelledDrawings
from training.hyperparams import HyperparamError, Hyperparams
from training.metrics import Evaluation, evaluate_probabilities
from training.snapshots import SnapshotRecorder

REPORTS_PER_EPOCH = 20


class StopFlag(Protocol):
    """Anything with ``is_set()`` — a ``threading.Event`` in practice."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Progress:
    """One progress report. ``val_*`` are set only on the report that ends an epoch (and a validation set exists)."""

    epoch: int
    """1-based epoch in progress."""
    epochs: int
    step: int
    """Batches done in this epoch."""
    steps_per_epoch: int
    loss: float
    accuracy: float
    images_per_second: float
    eta_s: float
    epoch_end: bool = False
    val_loss: float | None = None
    val_accuracy: float | None = None

    @property
    def fraction(self) -> float:
        """Share of the whole run done, 0..1."""
        return ((self.epoch - 1) * self.steps_per_epoch + self.step) / (self.epochs * self.steps_per_epoch)


def learning_curve(progress: list[Progress], metric: str) -> list[tuple[float, float, str]]:
    """(fractional epoch, value, 'training' | 'validation') points of ``metric`` ('loss' or 'accuracy'):
    training points within epochs (Keras's running mean), validation points at each epoch's end."""
    points = []
    for p in progress:
        epoch = (p.epoch - 1) + p.step / p.steps_per_epoch
        points.append((epoch, getattr(p, metric), "training"))
        if p.epoch_end and p.val_loss is not None:
            points.append((epoch, getattr(p, f"val_{metric}"), "validation"))
    return points


@dataclass
class TrainResult:
    """What a run produced. ``model`` is the bare classifier (no augmentation), ready to save or predict."""

    model: keras.Model
    hyperparams: Hyperparams
    history: list[Progress] = field(default_factory=list)
    test: Evaluation | None = None
    test_predicted: np.ndarray | None = None
    """The model's digit for every test image (for showing its mistakes)."""
    stopped: bool = False
    """The user stopped the run before its last epoch."""
    error: str | None = None
    """Why the run failed (NaN loss); the model is then not worth keeping."""
    batches: int = 0
    """Gradient steps taken, over all epochs."""
    seconds: float = 0.0
    images_per_second: float = 0.0
    data_source: str = ""

    @property
    def epoch_history(self) -> list[Progress]:
        return [p for p in self.history if p.epoch_end]


class _RunCallback(keras.callbacks.Callback):
    """Reports progress, honours the stop flag and ``pause`` between batches, catches NaN losses, and lets
    ``snapshots`` watch the network learn."""

    def __init__(self, result: TrainResult, images: int, batch_size: int,
                 on_progress: Callable[[Progress], None] | None, stop: StopFlag | None,
                 snapshots: SnapshotRecorder | None, pause: Callable[[], None] | None = None):
        super().__init__()
        self.result, self.epoch_images, self.batch_size = result, images, batch_size
        self.steps = math.ceil(images / batch_size)
        self.on_progress, self.stop, self.snapshots, self.pause = on_progress, stop, snapshots, pause
        self.every = max(1, self.steps // REPORTS_PER_EPOCH)
        self.started = time.perf_counter()
        self.images = 0
        self.epoch = 0

    def on_train_begin(self, logs=None):
        if self.snapshots is not None:
            self.snapshots.start(self.result.model)  # the classifier, not the augmenting wrapper being fitted

    def on_train_end(self, logs=None):
        if self.snapshots is not None and self.result.error is None:
            self.snapshots.finish(self.images)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def _report(self, step: int, logs: dict, epoch_end: bool = False) -> None:
        elapsed = time.perf_counter() - self.started
        speed = self.images / elapsed if elapsed > 0 else 0.0
        epochs = self.result.hyperparams.epochs
        remaining = (epochs - self.epoch) * self.steps + (self.steps - step)
        progress = Progress(
            epoch=self.epoch, epochs=epochs, step=step, steps_per_epoch=self.steps,
            loss=float(logs.get("loss", math.nan)), accuracy=float(logs.get("accuracy", math.nan)),
            images_per_second=speed, eta_s=remaining * self.batch_size / speed if speed else math.inf,
            epoch_end=epoch_end,
            val_loss=float(logs["val_loss"]) if "val_loss" in logs else None,
            val_accuracy=float(logs["val_accuracy"]) if "val_accuracy" in logs else None,
        )
        self.result.history.append(progress)
        if self.on_progress:
            self.on_progress(progress)

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        step = batch + 1
        self.images += min(self.batch_size, self.epoch_images - batch * self.batch_size)
        self.result.batches += 1
        if not math.isfinite(float(logs.get("loss", 0.0))):
            self.result.error = (f"Loss became NaN/infinite in epoch {self.epoch}, batch {step}: the run diverged. "
                                 "Lower the learning rate or switch on batch normalisation.")
            self.model.stop_training = True
            return
        if self.pause is not None:
            self.pause()
        if self.stop is not None and self.stop.is_set():
            self.result.stopped = True
            self.model.stop_training = True
        if step % self.every == 0 and step != self.steps:
            self._report(step, logs)
        if self.snapshots is not None:
            self.snapshots.seen(self.images)

    def on_epoch_end(self, epoch, logs=None):
        if self.result.error is None:
            self._report(self.steps, logs or {}, epoch_end=True)


def learning_rate_schedule(hp: Hyperparams, total_steps: int):
    if hp.schedule == "one_cycle":  # Keras's cosine decay with a linear warm-up is exactly the one-cycle shape
        warmup = max(1, round(total_steps * 0.25))
        return keras.optimizers.schedules.CosineDecay(hp.learning_rate / 25, max(1, total_steps - warmup), alpha=1e-3,
                                                      warmup_target=hp.learning_rate, warmup_steps=warmup)
    if hp.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(hp.learning_rate, total_steps)
    if hp.schedule == "warmup_cosine":
        warmup = max(1, total_steps // 10)
        return keras.optimizers.schedules.CosineDecay(hp.learning_rate / 20, total_steps - warmup,
                                                      warmup_target=hp.learning_rate, warmup_steps=warmup)
    return hp.learning_rate


def make_optimizer(hp: Hyperparams, total_steps: int) -> keras.optimizers.Optimizer:
    """``hp``'s optimiser with its learning-rate schedule spread over ``total_steps`` gradient steps."""
    lr = learning_rate_schedule(hp, total_steps)
    if hp.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=0.9, nesterov=True)
    if hp.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    return keras.optimizers.Adam(lr)


def split_training_data(hp: Hyperparams, data: MnistData, drawings: LabelledDrawings | None = None,
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeded shuffle, cut to ``train_size``, hold out ``validation_fraction``, then add ``drawings`` to the
    fitting part (oversampled) — as model inputs."""
    order = np.random.default_rng(hp.seed).permutation(len(data.x_train))[: hp.train_size]
    n_val = int(round(len(order) * hp.validation_fraction))
    fit_idx, val_idx = order[n_val:], order[:n_val]
    x = images_to_input(data.x_train)
    x_fit, y_fit = x[fit_idx], data.y_train[fit_idx]
    if drawings is not None and len(drawings.images):
        x_fit = np.concatenate([x_fit] + [images_to_input(drawings.images)] * drawings.weight)
        y_fit = np.concatenate([y_fit] + [drawings.labels.astype(y_fit.dtype)] * drawings.weight)
    return x_fit, y_fit, x[val_idx], data.y_train[val_idx]


def train(hp: Hyperparams, data: MnistData, on_progress: Callable[[Progress], None] | None = None,
          stop: StopFlag | None = None, drawings: LabelledDrawings | None = None,
          start_from: keras.Model | None = None, snapshots: SnapshotRecorder | None = None,
          pause: Callable[[], None] | None = None) -> TrainResult:
    """Fit the network of ``hp`` to ``data`` (plus ``drawings``) and score it on the test set.

    A fresh network, or — fine-tuning — one starting from ``start_from``'s weights (same architecture).
    ``snapshots``, if given, records the first layer and a probe digit's reading as the network learns.
    Raises HyperparamError for impossible settings. A NaN loss ends the run with ``result.error`` set;
    a stop request ends it after the current batch with ``result.stopped`` set (the partial model is
    still evaluated so the caller can decide whether to keep it). ``pause``, if given, is called after every
    batch and returns when the run may go on.
    """
    hp.validate()
    keras.utils.set_random_seed(hp.seed)
    x_fit, y_fit, x_val, y_val = split_training_data(hp, data, drawings)
    classifier = build_classifier(hp.network)
    if start_from is not None:
        if [w.shape for w in start_from.weights] != [w.shape for w in classifier.weights]:
            raise HyperparamError("the starting model's architecture does not match these settings")
        classifier.set_weights(start_from.get_weights())
    fitted = keras.Sequential([keras.Input(classifier.input_shape[1:]), build_augmentation(hp), classifier]) \
        if hp.augment else classifier
    steps = math.ceil(len(x_fit) / hp.batch_size)
    if hp.label_smoothing > 0:  # Keras's sparse cross-entropy cannot smooth: one-hot targets instead
        y_fit, y_val = keras.utils.to_categorical(y_fit, 10), keras.utils.to_categorical(y_val, 10)
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=hp.label_smoothing)
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]  # the name progress reports read
    else:
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    fitted.compile(optimizer=make_optimizer(hp, steps * hp.epochs), loss=loss, metrics=metrics)
    result = TrainResult(model=classifier, hyperparams=hp, data_source=data.source)
    callback = _RunCallback(result, len(x_fit), hp.batch_size, on_progress, stop, snapshots, pause)
    started = time.perf_counter()
    fitted.fit(x_fit, y_fit, batch_size=hp.batch_size, epochs=hp.epochs, verbose=0, shuffle=True,
               validation_data=(x_val, y_val) if len(x_val) else None, callbacks=[callback])
    result.seconds = time.perf_counter() - started
    result.images_per_second = callback.images / result.seconds if result.seconds else 0.0
    if result.error is None:
        probabilities = classifier.predict(images_to_input(data.x_test), batch_size=1024, verbose=0)
        result.test = evaluate_probabilities(probabilities, data.y_test)
        result.test_predicted = probabilities.argmax(axis=1)
    return result

