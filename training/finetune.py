"""Fine-tune a trained model on users' labelled drawings, mixed with MNIST so it does not forget.

A quarter of the drawings is held out to measure what the fine-tuning bought; MNIST test accuracy
is measured before and after to see what it cost. A drop of more than ``runs.MAX_MNIST_DROP`` flags
the result, and the dashboard then asks before making it the default.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import keras
import numpy as np

from model.preprocess import images_to_input
from training.data import MnistData
from training.drawings import REPEAT, LabelledDrawings
from training.hyperparams import Hyperparams
from training.loop import Progress, StopFlag, TrainResult, train
from training.metrics import evaluate_probabilities
from training.runs import FineTuneReport
from training.snapshots import SnapshotRecorder

EPOCHS = 3
LEARNING_RATE = 5e-4
"""Peak learning rate of a fine-tuning run. The shipped model learned from MNIST, styled and restyled digits under
heavy augmentation and moves less per step than one trained on MNIST alone did: at 2e-4 it barely learned a style
it misreads (tests/test_finetune.py; the README's table has the figures)."""
MNIST_IMAGES = 12000
"""MNIST images mixed into every fine-tuning epoch (the drawings are oversampled alongside)."""
HOLD_OUT = 0.25


def fine_tune_settings(base: Hyperparams) -> Hyperparams:
    """The model's own architecture, a few gentle epochs over a slice of MNIST."""
    return replace(base, epochs=EPOCHS, learning_rate=LEARNING_RATE, schedule="cosine", train_size=MNIST_IMAGES,
                   validation_fraction=0.0)


def split_drawings(images: np.ndarray, labels: np.ndarray, seed: int = 0,
                   ) -> tuple[LabelledDrawings, np.ndarray, np.ndarray]:
    """(drawings to learn from, held-out images, held-out labels); nothing is held out below 4 drawings."""
    order = np.random.default_rng(seed).permutation(len(images))
    n_held = int(len(images) * HOLD_OUT) if len(images) >= 4 else 0
    held, fit = order[:n_held], order[n_held:]
    return LabelledDrawings(images[fit], labels[fit]), images[held], labels[held]


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float | None:
    if len(images) == 0:
        return None
    return evaluate_probabilities(model.predict(images_to_input(images), batch_size=1024, verbose=0), labels).accuracy


def fine_tune(model: keras.Model, base: Hyperparams, data: MnistData, images: np.ndarray, labels: np.ndarray,
              weight: int = REPEAT, on_progress: Callable[[Progress], None] | None = None,
              stop: StopFlag | None = None, snapshots: SnapshotRecorder | None = None,
              pause: Callable[[], None] | None = None) -> tuple[TrainResult, FineTuneReport | None]:
    """Train a copy of ``model`` on the drawings (``weight``× oversampled) mixed with MNIST (watched by
    ``snapshots``, if given; ``pause`` as for ``train``).

    The model passed in is never modified. The report is None when the run failed or was stopped.
    """
    learn_from, held_images, held_labels = split_drawings(images, labels, base.seed)
    learn_from = replace(learn_from, weight=weight)
    before_drawings, before_mnist = accuracy(model, held_images, held_labels), accuracy(model, data.x_test, data.y_test)
    result = train(fine_tune_settings(base), data, on_progress, stop, drawings=learn_from, start_from=model,
                   snapshots=snapshots, pause=pause)
    if result.error or result.stopped or result.test is None:
        return result, None
    return result, FineTuneReport(before_drawings, accuracy(result.model, held_images, held_labels),
                                  len(held_images), before_mnist, result.test.accuracy)
