"""Sweeps: each transform does what it says to the 28×28 inputs, the neutral step is the plain test accuracy,
convolutions survive a shift an MLP does not, and ``training.evaluate --sweep`` prints the same numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from harness import run_module
from harness.synthetic_drawings import stroke_digit
from model.inference import Predictor
from model.preprocess import images_to_input, to_model_input
from model.store import SHIPPED_MODEL
from training.metrics import evaluate_probabilities
from training.sweeps import Sweep, SweepTable, accuracy_sweep, probability_sweep, transform, transformed_steps

COUNT = 300


@pytest.fixture(scope="module")
def digits(sample) -> tuple[np.ndarray, np.ndarray]:
    return images_to_input(sample.x_test[:COUNT]), sample.y_test[:COUNT]


def bar() -> np.ndarray:
    """A vertical bar through the centre, as a batch of one model input."""
    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, 6:23, 13:16] = 1.0
    return image


def centre(images: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(images.shape[1:3])
    mass = images[0, :, :, 0]
    return float((rows * mass).sum() / mass.sum()), float((cols * mass).sum() / mass.sum())


@pytest.mark.parametrize("sweep", list(Sweep))
def test_the_neutral_step_leaves_the_inputs_as_they_are(sweep, digits):
    assert sweep.neutral in sweep.steps
    assert np.array_equal(transform(digits[0], sweep, sweep.neutral), digits[0])


def test_a_shift_moves_the_ink_by_whole_pixels_in_turn_right_down_left_up():
    images = np.repeat(bar(), 4, axis=0)
    moved = transform(images, Sweep.SHIFT, 3)
    assert np.array_equal(moved[0, :, 3:], images[0, :, :-3])  # right, exactly: no re-centring, no blur
    assert np.array_equal(moved[1, 3:], images[1, :-3])  # down
    assert np.array_equal(moved[2, :, :-3], images[2, :, 3:])  # left
    assert moved.dtype == np.float32 and moved.max() <= 1 and moved.min() >= 0


def test_rotation_scale_and_stroke_width():
    turned = transform(bar(), Sweep.ROTATE, 90)[0, :, :, 0]
    assert np.flatnonzero(turned.max(axis=0) > 0.5).size > 12 and np.flatnonzero(turned.max(axis=1) > 0.5).size <= 4
    halved = transform(bar(), Sweep.SCALE, 0.5)[0, :, :, 0]
    rows = np.flatnonzero(halved.max(axis=1) > 0.3)
    assert 7 <= rows.size <= 10 and abs(centre(transform(bar(), Sweep.SCALE, 0.5))[0] - centre(bar())[0]) < 1
    masses = [transform(bar(), Sweep.STROKE, step).sum() for step in Sweep.STROKE.steps]
    assert masses == sorted(masses) and masses[0] < bar().sum() < masses[-1]


def test_at_the_neutral_step_the_accuracy_is_the_test_accuracy_and_a_shift_costs_it(predictor, digits):
    inputs, labels = digits
    shift = accuracy_sweep(predictor, inputs, labels, Sweep.SHIFT)
    assert shift[0] == evaluate_probabilities(predictor.probabilities(inputs), labels).accuracy
    assert shift[-1] < shift[0] - 0.3
    assert all(later <= earlier + 0.02 for earlier, later in zip(shift, shift[1:]))  # monotone enough to teach


def test_convolutions_survive_a_shift_that_an_mlp_does_not(predictor, mlp, digits):
    inputs, labels = digits
    cnn = accuracy_sweep(predictor, inputs, labels, Sweep.SHIFT)
    dense = accuracy_sweep(Predictor(mlp), inputs, labels, Sweep.SHIFT)
    assert dense[3] / dense[0] < cnn[3] / cnn[0] - 0.1  # what three pixels cost each, relative to its best


def test_a_drawing_s_probability_at_every_step(predictor):
    image = to_model_input(stroke_digit(4)).image
    steps = transformed_steps(image, Sweep.ROTATE)
    assert steps.shape == (len(Sweep.ROTATE.steps), 28, 28, 1) and np.array_equal(steps[0, :, :, 0], image)
    curve = probability_sweep(predictor, image, 4, Sweep.ROTATE)
    assert len(curve) == len(Sweep.ROTATE.steps)
    assert curve[0] == pytest.approx(float(predictor.predict(stroke_digit(4)).probabilities[4]), abs=1e-5)
    assert curve[-1] < curve[0]


def test_the_table_and_its_json():
    table = SweepTable(Sweep.SCALE, 10, {"a": [0.5] * 11, "b": [1.0] * 11})
    lines = table.format().splitlines()
    assert lines[0].split() == ["scale", "(×)", "a", "b"] and lines[6].split() == ["1×", "50.00%", "100.00%"]
    assert table.to_dict()["steps"][5] == 1.0 and table.to_dict()["unit"] == "×"


def test_the_command_line_prints_step_by_model_accuracies():
    done = run_module("training.evaluate", "--sweep", "shift", "--models", "default", str(SHIPPED_MODEL),
                      "--count", "200", "--json")
    assert done.returncode == 0, done.stderr
    table = json.loads(done.stdout)
    assert table["sweep"] == "shift" and table["count"] == 200 and table["steps"] == list(range(9))
    by_id, by_path = table["accuracy"]["default"], table["accuracy"][str(SHIPPED_MODEL)]
    assert by_id == by_path and len(by_id) == 9 and by_id[0] > by_id[-1]
    text = run_module("training.evaluate", "--sweep", "rotate", "--count", "50")
    assert text.returncode == 0 and "rotate (°)" in text.stdout and "90°" in text.stdout
    missing = run_module("training.evaluate", "--sweep", "scale", "--models", "no-such-run")
    assert missing.returncode == 2 and "no-such-run" in missing.stderr
