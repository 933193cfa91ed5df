"""Fine-tuning on drawings the model misreads: real training on the bundled MNIST sample."""

from __future__ import annotations

import json

import numpy as np

from harness.synthetic_drawings import stroke_digit
from model.preprocess import to_model_input
from model.store import SHIPPED_MODEL
from training.finetune import fine_tune
from training.hyperparams import Hyperparams
from training.runs import MAX_MNIST_DROP


def sideways_drawings() -> tuple[np.ndarray, np.ndarray]:
    """A distinctive style the shipped model mostly misreads: digits written turned 90°."""
    images, labels = [], []
    for digit in range(10):
        for slant in (-0.2, 0.0, 0.2, 0.35):
            for pen in (12, 18, 26):
                pre = to_model_input(np.rot90(stroke_digit(digit, "centre", "large", pen=pen, slant=slant)))
                images.append((pre.image * 255 + 0.5).astype(np.uint8))
                labels.append(digit)
    return np.stack(images), np.array(labels, np.uint8)


def test_fine_tuning_learns_the_style_without_forgetting_mnist(predictor, sample):
    images, labels = sideways_drawings()
    base = Hyperparams.from_dict(json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())["hyperparams"])
    before_weights = [w.copy() for w in predictor.model.get_weights()]
    result, report = fine_tune(predictor.model, base, sample, images, labels)
    assert report is not None and report.held_out == 30
    assert report.drawings_before < 0.6, "the style must be one the model gets wrong to begin with"
    assert report.drawings_after >= report.drawings_before + 0.3
    assert report.mnist_before - report.mnist_after <= MAX_MNIST_DROP and not report.flagged
    assert all(np.array_equal(a, b) for a, b in zip(before_weights, predictor.model.get_weights())), \
        "the serving model must not change"
