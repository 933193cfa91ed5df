"""Fooling the network: targeted PGD reaches its target within the budget (L∞, L2, only adding ink) on the
shipped CNN and an MLP, never exceeds the budget, says so when it cannot, and the command line's saved input
reads as the target when checked independently with Keras."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from PIL import Image

from harness import run_module
from harness.synthetic_drawings import stroke_digit
from model.attack import MARGIN, Attacker, Norm
from model.preprocess import to_model_input
from model.store import SHIPPED_MODEL

DIGITS = (0, 3, 4, 7)


@pytest.fixture(scope="module")
def drawings() -> np.ndarray:
    return np.stack([to_model_input(stroke_digit(d)).image for d in DIGITS])


@pytest.fixture(scope="module")
def attacker(predictor) -> Attacker:
    return Attacker(predictor.model)


@pytest.mark.parametrize("norm", list(Norm))
@pytest.mark.parametrize("only_add_ink", [False, True])
def test_each_drawing_is_read_as_its_target_within_the_budget(attacker, drawings, norm, only_add_ink):
    targets = [(d + 5) % 10 for d in DIGITS]
    results = attacker.attack(drawings, targets, norm, only_add_ink=only_add_ink)
    for result, original, target in zip(results, drawings, targets):
        assert result.reached and int(np.argmax(result.after)) == target
        assert result.after[target] - np.sort(result.after)[-2] >= MARGIN * 0.9
        assert result.distance <= norm.default_budget
        assert result.distance == pytest.approx(float(norm.distance(original[None], result.adversarial[None])[0]))
        assert result.adversarial.dtype == np.float32 and 0 <= result.adversarial.min() <= result.adversarial.max() <= 1
        assert np.array_equal(result.original, original) and result.steps < 100
        np.testing.assert_allclose(result.after, attacker.probabilities(result.adversarial[None])[0], atol=1e-6)
        if only_add_ink:
            assert result.perturbation.min() >= 0


def test_a_tiny_budget_is_honoured_and_honestly_not_reached(attacker, drawings):
    for norm, budget in ((Norm.LINF, 0.01), (Norm.L2, 0.05)):
        for result in attacker.attack(drawings, 8, norm, budget, steps=20):
            assert not result.reached and int(np.argmax(result.after)) == int(np.argmax(result.before))
            assert 0 < result.distance <= budget and result.steps == 20


def test_the_smallest_budget_reaches_and_half_of_it_does_not(attacker, drawings):
    budgets = attacker.smallest_budgets(drawings[:2], [2, 2], Norm.L2)
    assert all(b is not None and 0 < b < Norm.L2.largest for b in budgets)
    for x, budget in zip(drawings[:2], budgets):
        assert attacker.attack(x[None], [2], Norm.L2, budget, steps=50)[0].reached
        assert not attacker.attack(x[None], [2], Norm.L2, budget / 2, steps=50)[0].reached


def test_an_mlp_is_fooled_too(mlp, drawings):
    results = Attacker(mlp).attack(drawings, [1] * len(DIGITS), Norm.L2)
    assert all(r.reached and r.distance <= Norm.L2.default_budget for r in results if r.before.argmax() != 1)


def test_the_command_line_saves_an_input_that_keras_reads_as_the_target(tmp_path):
    drawing = tmp_path / "seven.png"
    Image.fromarray(stroke_digit(7)).save(drawing)
    out = tmp_path / "adv"  # (no .npy: saved under exactly this name)
    done = run_module("model.attack", str(drawing), "--target", "3", "--norm", "l2", "--budget", "3",
                      "--steps", "80", "--out", str(out))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {"file", "original", "target", "reached", "norm", "distance", "probabilities", "out"} <= set(report)
    assert report["original"] == 7 and report["target"] == 3 and report["reached"] and report["norm"] == "l2"
    adversarial = np.load(report["out"])
    assert adversarial.shape == (28, 28) and adversarial.dtype == np.float32
    model = keras.saving.load_model(SHIPPED_MODEL, compile=False)
    probabilities = np.asarray(model(adversarial[None, :, :, None], training=False))[0]
    assert int(np.argmax(probabilities)) == 3
    np.testing.assert_allclose(probabilities, report["probabilities"], atol=1e-5)
    original = to_model_input(drawing).image
    distance = float(np.sqrt(((adversarial.astype(np.float64) - original) ** 2).sum()))
    assert distance == pytest.approx(report["distance"]) and distance <= 3


def test_the_command_line_says_what_is_wrong(tmp_path):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((50, 50), 255, np.uint8)).save(blank)
    done = run_module("model.attack", str(blank), "--target", "1")
    assert done.returncode == 1 and "no ink" in json.loads(done.stdout)["error"]
    assert run_module("model.attack", str(blank), "--target", "12").returncode == 2  # argparse: not a digit


def test_a_model_ending_in_its_own_softmax_layer_is_attacked_through_its_outputs(drawings):
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10),
                              keras.layers.Softmax()])
    result = Attacker(model).attack(drawings[:1], [int(np.argmin(model(drawings[:1, :, :, None])[0]))], Norm.L2)[0]
    assert result.reached and result.distance <= Norm.L2.default_budget
