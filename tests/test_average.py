"""Averaging networks' weights (training/average.py): the mean of every weight, one architecture only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from model.network import build_classifier
from training.average import average_weights, averaged_card
from training.hyperparams import PRESETS
from training.metrics import evaluate_probabilities
from training.runs import RunRecord


def _network(dense_units: int, fill: float):
    model = build_classifier(replace(PRESETS["Quick"], architecture="mlp", dense_units=dense_units).network)
    model.set_weights([np.full(w.shape, fill, np.float32) for w in model.get_weights()])
    return model


def test_the_average_holds_the_mean_of_every_weight_and_leaves_the_models_alone():
    a, b = _network(16, 1.0), _network(16, 4.0)
    averaged = average_weights([a, b])
    assert averaged is not a and averaged is not b
    assert all(np.allclose(w, 2.5) for w in averaged.get_weights())
    assert all(np.allclose(w, 1.0) for w in a.get_weights())
    x = np.random.default_rng(0).random((3, 28, 28, 1), np.float32)
    assert averaged.predict(x, verbose=0).shape == (3, 10)


def test_networks_of_different_architectures_are_refused():
    with pytest.raises(ValueError, match="different architectures"):
        average_weights([_network(16, 1.0), _network(32, 1.0)])


def test_the_card_lists_the_ingredients_instead_of_one_runs_history_and_reads_back_the_same(tmp_path):
    settings = replace(PRESETS["Quick"], dense_units=16).to_dict()
    epoch = {"epoch": 1, "loss": 0.5, "accuracy": 0.9, "val_loss": None, "val_accuracy": None}
    right, half = np.eye(10, dtype=np.float32), np.eye(10, dtype=np.float32)[[0, 1, 2, 3, 4, 0, 0, 0, 0, 0]]
    first, second, average = (evaluate_probabilities(p, np.arange(10)).to_dict() for p in (half, right, right))
    made = {"count": 20, "weight": 1, "per_digit": [2] * 10, "source": "styled.npz + restyled.npz"}
    cards = [{"hyperparams": settings, "command": "first", "test": first, "history": [epoch], "epochs_completed": 1,
              "train_seconds": 5.0, "drawings": made},
             {"hyperparams": settings, "command": "second", "test": second, "epochs_completed": 2,
              "train_seconds": 2.5}]
    card = averaged_card(cards, [tmp_path / "a.keras", tmp_path / "b.keras"],
                         evaluate_probabilities(right, np.arange(10)), "average")
    assert card["hyperparams"] == settings and card["test"] == average and card["command"] == "average"
    assert card["history"] == [] and card["epochs_completed"] == 3 and card["train_seconds"] == 7.5
    assert [(i["command"], i["test_accuracy"]) for i in card["averaged_from"]] == [("first", 0.5), ("second", 1.0)]
    assert [i["drawings"] for i in card["averaged_from"]] == [made, None], "what each learned from besides MNIST"
    assert RunRecord.from_dict(card).to_dict() == card
    del cards[1]["train_seconds"]
    unknown = averaged_card(cards, [tmp_path / "a.keras", tmp_path / "b.keras"],
                            evaluate_probabilities(right, np.arange(10)), "average")
    assert unknown["epochs_completed"] == 3 and "train_seconds" not in unknown, "a sum with an unknown part is unknown"
