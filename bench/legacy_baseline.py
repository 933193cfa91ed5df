"""The project we replace, rebuilt for comparison: its 12k-parameter CNN and its squash-the-canvas input.

Keras 3 cannot load the seed's legacy HDF5 as a model, so the same architecture is built here and
its weights are read with h5py. Its serving code — the whole canvas resized to 28×28, no cropping or
centring — is ``model.legacy.legacy_input`` (the Experiment page shows it too).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import keras
from keras import layers

LEGACY_MODEL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "seed" / "model.h5"


def load_legacy_model(path: Path = LEGACY_MODEL) -> keras.Model:
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 5, activation="relu", name="conv2d_1"), layers.MaxPooling2D(2),
        layers.Conv2D(16, 5, activation="relu", name="conv2d_2"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(32, activation="relu", name="dense_1"),
        layers.BatchNormalization(name="batch_normalization_1"), layers.Dense(10, activation="softmax", name="dense_2"),
    ])
    with h5py.File(path, "r") as f:
        weights = f["model_weights"]
        for layer in model.layers:
            if layer.weights:
                group = weights[layer.name][layer.name]
                layer.set_weights([group[w.name.split("/")[-1] + ":0"][()] for w in layer.weights])
    return model

