"""Averaging networks' weights (training/average.py): the mean of every weight, one architecture only."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from model.network import build_classifier
from training.average import average_weights, averaged_card
from training.hyperparams import PRESETS


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


def test_the_card_lists_the_ingredients_instead_of_one_runs_history(tmp_path):
    cards = [{"hyperparams": {"dense_units": 16}, "command": "first", "test": {"accuracy": 0.9}, "history": [1],
              "train_seconds": 5.0},
             {"hyperparams": {"dense_units": 16}, "command": "second", "test": {"accuracy": 0.95}}]
    card = averaged_card(cards, [tmp_path / "a.keras", tmp_path / "b.keras"], {"accuracy": 0.96}, "average")
    assert card["hyperparams"] == {"dense_units": 16} and card["test"] == {"accuracy": 0.96}
    assert "history" not in card and "train_seconds" not in card and card["command"] == "average"
    assert [(i["command"], i["test_accuracy"]) for i in card["averaged_from"]] == [("first", 0.9), ("second", 0.95)]
