"""Test-set metrics from predicted probabilities: one definition for the trainer, the CLI and the Train page."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

import numpy as np

from model.preprocess import images_to_input

if TYPE_CHECKING:
    from model.inference import Predictor
    from training.data import MnistData


@dataclass(frozen=True)
class Evaluation:
    """Accuracy, mean cross-entropy, per-class accuracy and the confusion matrix (rows: true, columns: predicted)."""

    accuracy: float
    loss: float
    per_class_accuracy: list[float]
    confusion: list[list[int]]
    count: int

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Evaluation:
        return cls(**{f.name: values[f.name] for f in fields(cls)})


def evaluate_probabilities(probabilities: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Score ``probabilities`` (N, 10) against integer ``labels`` (N,)."""
    labels = labels.astype(np.int64)
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    per_class = np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)
    picked = probabilities[np.arange(len(labels)), labels]
    loss = float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())
    return Evaluation(accuracy=float((predicted == labels).mean()), loss=loss,
                      per_class_accuracy=[float(a) for a in per_class], confusion=confusion.tolist(),
                      count=int(len(labels)))


def misclassified(predicted: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Indices of the images whose predicted digit is not their label."""
    return np.flatnonzero(np.asarray(predicted) != np.asarray(labels))


def evaluate_on_test(predictor: Predictor, data: MnistData) -> Evaluation:
    """``predictor``'s model scored on the test set of ``data``: what ``training.evaluate`` prints and what the card
    of an uploaded or averaged model records."""
    return evaluate_probabilities(predictor.probabilities(images_to_input(data.x_test)), data.y_test)


def format_report(evaluation: Evaluation) -> str:
    """Plain-text report: accuracy, loss, per-class accuracy and the confusion matrix."""
    lines = [f"test accuracy {evaluation.accuracy:.2%} on {evaluation.count:,} images, loss {evaluation.loss:.4f}",
             "per-class accuracy: " + "  ".join(f"{d}:{a:.2%}" for d, a in enumerate(evaluation.per_class_accuracy)),
             "confusion matrix (rows true, columns predicted):",
             "      " + "".join(f"{d:>6}" for d in range(10))]
    lines += [f"{t:>6}" + "".join(f"{n:>6}" for n in row) for t, row in enumerate(evaluation.confusion)]
    return "\n".join(lines)
