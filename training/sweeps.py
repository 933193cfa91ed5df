"""Sweeps: how accuracy falls as digits are shifted, scaled, rotated or drawn thinner and thicker.

Each sweep transforms the 28×28 model inputs themselves — after preprocessing, so nothing re-centres or
re-fits them — step by step, and scores every model at every step: an MLP, which sees 784 unrelated pixels,
falls apart after a shift of two pixels, while convolutions and pooling carry a CNN much further. The neutral
step (no shift, scale 1, 0°, no stroke change) returns the inputs unchanged, so its accuracy is the plain test
accuracy ``python -m training.evaluate`` reports.

Over many test digits the direction alternates by the digit's index (shifted right, down, left, up in turn;
rotated anticlockwise and clockwise in turn), so a curve measures the size of the change, not one direction;
a single drawing is shifted right and rotated anticlockwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from model.preprocess import CENTRE

if TYPE_CHECKING:
    from model.inference import Predictor


class Sweep(StrEnum):
    """What changes along a sweep. ``unit`` is how a step is written, ``steps`` the magnitudes swept (the
    neutral one among them), ``neutral`` the step that leaves the inputs as they are."""

    SHIFT = "shift", "px", tuple(range(9)), 0
    SCALE = "scale", "×", (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5), 1.0
    ROTATE = "rotate", "°", tuple(range(0, 91, 10)), 0
    STROKE = "stroke", "px", (-1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0), 0.0

    def __new__(cls, name: str, unit: str, steps: tuple[float, ...], neutral: float) -> Sweep:
        member = str.__new__(cls, name)
        member._value_ = name
        member.unit, member.steps, member.neutral = unit, steps, neutral
        return member

    def label(self, step: float) -> str:
        """A step as the page and the table write it: ``3 px``, ``1.2×``, ``30°``, ``+0.5 px``."""
        if self is Sweep.STROKE:
            return f"{step:+g} px"
        return f"{step:g}{'' if self.unit in ('×', '°') else ' '}{self.unit}"


def _affine(sweep: Sweep, step: float, count: int) -> np.ndarray:
    """(count, 8) projective transforms, each mapping an output pixel to where it is read in the input."""
    transforms = np.zeros((count, 8), np.float32)
    index = np.arange(count)
    if sweep is Sweep.SHIFT:
        direction = index % 4  # right, down, left, up
        dx = np.select([direction == 0, direction == 2], [step, -step], 0.0)
        dy = np.select([direction == 1, direction == 3], [step, -step], 0.0)
        transforms[:, [0, 4]] = 1.0
        transforms[:, 2], transforms[:, 5] = -dx, -dy
    elif sweep is Sweep.SCALE:
        transforms[:, [0, 4]] = 1.0 / step
        transforms[:, [2, 5]] = CENTRE - CENTRE / step  # about the centre of mass, where MNIST puts it
    else:  # ROTATE, about the centre of mass
        angle = np.where(index % 2 == 0, 1.0, -1.0) * math.radians(step)
        cos, sin = np.cos(angle), np.sin(angle)
        transforms[:, 0], transforms[:, 1], transforms[:, 3], transforms[:, 4] = cos, -sin, sin, cos
        transforms[:, 2] = CENTRE - cos * CENTRE + sin * CENTRE
        transforms[:, 5] = CENTRE - sin * CENTRE - cos * CENTRE
    return transforms


def _restroke(images: np.ndarray, step: float) -> np.ndarray:
    """Strokes thickened (step > 0) or thinned by ``step`` px on each side: repeated 3×3 grey dilations or
    erosions, a fractional step blending the two nearest whole ones."""
    from keras import ops  # here, not at the top: the command line reads ``Sweep`` before any TensorFlow work

    grow = step > 0
    whole, fraction = divmod(abs(step), 1.0)
    x = ops.convert_to_tensor(images)
    stages = [x]
    for _ in range(int(whole) + (fraction > 0)):
        x = ops.max_pool(x, 3, strides=1, padding="same") if grow else -ops.max_pool(-x, 3, strides=1, padding="same")
        stages.append(x)
    low = ops.convert_to_numpy(stages[int(whole)])
    if fraction == 0:
        return low
    return (1 - fraction) * low + fraction * ops.convert_to_numpy(stages[-1])


def transform(inputs: np.ndarray, sweep: Sweep, step: float) -> np.ndarray:
    """Model inputs (N, 28, 28, 1) float32 changed by one step of ``sweep``; the neutral step returns them as they
    are. Shifted, scaled or rotated ink that leaves the frame is lost (zero fills in), as on a real canvas edge."""
    from keras import ops

    inputs = np.asarray(inputs, np.float32)
    if step == sweep.neutral:
        return inputs
    if sweep is Sweep.STROKE:
        changed = _restroke(inputs, step)
    else:
        changed = ops.convert_to_numpy(ops.image.affine_transform(
            inputs, _affine(sweep, step, len(inputs)), interpolation="bilinear", fill_mode="constant",
            data_format="channels_last"))
    return np.clip(changed, 0.0, 1.0).astype(np.float32)


def accuracy_sweep(predictor: Predictor, inputs: np.ndarray, labels: np.ndarray, sweep: Sweep) -> list[float]:
    """The share of ``inputs`` (N, 28, 28, 1) read as their ``labels`` at each of ``sweep.steps``."""
    labels = np.asarray(labels)
    return [float((predictor.classify(transform(inputs, sweep, step)) == labels).mean()) for step in sweep.steps]


def probability_sweep(predictor: Predictor, image: np.ndarray, digit: int, sweep: Sweep) -> list[float]:
    """The probability of ``digit`` for one model input (28, 28) at each of ``sweep.steps`` (one batch)."""
    steps = transformed_steps(image, sweep)
    return [float(p) for p in predictor.probabilities(steps)[:, digit]]


def transformed_steps(image: np.ndarray, sweep: Sweep) -> np.ndarray:
    """One model input (28, 28) at every step of ``sweep``: (steps, 28, 28, 1), for pictures and for scoring."""
    x = np.asarray(image, np.float32)[None, :, :, None]
    return np.concatenate([transform(x, sweep, step) for step in sweep.steps])


@dataclass(frozen=True)
class SweepTable:
    """Accuracy per step per model: what ``training.evaluate --sweep`` prints and the Experiment page plots."""

    sweep: Sweep
    count: int
    """How many test digits each accuracy is over."""
    accuracy: dict[str, list[float]]
    """{model name: accuracy at each of ``sweep.steps``}."""

    def to_dict(self) -> dict:
        return {"sweep": str(self.sweep), "unit": self.sweep.unit, "count": self.count,
                "steps": list(self.sweep.steps), "accuracy": self.accuracy}

    def format(self) -> str:
        """A plain-text table, one row per step and one column per model, in percent as training.evaluate prints."""
        names = list(self.accuracy)
        widths = [max(len(name), 8) for name in names]
        head = f"{self.sweep} ({self.sweep.unit})"
        lines = [f"{head:<14}" + "".join(f"  {name:>{w}}" for name, w in zip(names, widths))]
        for i, step in enumerate(self.sweep.steps):
            cells = "".join(f"  {self.accuracy[name][i]:>{w}.2%}" for name, w in zip(names, widths))
            lines.append(f"{self.sweep.label(step):<14}" + cells)
        return "\n".join(lines)


def sweep_models(predictors: dict[str, Predictor], inputs: np.ndarray, labels: np.ndarray, sweep: Sweep) -> SweepTable:
    """``accuracy_sweep`` for each named model over the same inputs."""
    return SweepTable(sweep, len(inputs), {name: accuracy_sweep(p, inputs, labels, sweep)
                                           for name, p in predictors.items()})
