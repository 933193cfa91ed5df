"""Where a digit sits in the model's own space: its nearest training digits, and a map of the test set.

The space is the input of the output layer (``probabilities``): the last hidden layer, whose features the
network has learned to make the ten digits separable. Two digits close there are what the model considers
alike, whatever their pixels say.

* ``EmbeddingIndex`` holds the (L2-normalised) features of a set of images, computed once per model, and
  finds the nearest to a new input by cosine distance: one matrix product, ~1 ms for 60,000 digits.
* ``EmbeddingMap`` is a PCA of test digits' features to two dimensions. PCA rather than t-SNE or UMAP: it is
  a fixed linear projection, so a new drawing lands exactly where its features put it (UMAP's placement of
  new points is an approximation, and t-SNE has none); it is deterministic, computed in a fraction of a
  second with NumPy, and needs no extra dependency. The price: classes overlap more on it than on a UMAP.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from model.preprocess import images_to_input

BATCH = 512


def feature_extractor(model: keras.Model) -> keras.Model:
    """``model`` cut before its output layer (the last dense one: ``probabilities`` in this project's networks,
    whatever its name in a model trained elsewhere): image → last hidden features."""
    output = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)][-1]
    return keras.Model(model.inputs, output.input)


def _normalised(features: np.ndarray) -> np.ndarray:
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-9)


@dataclass(frozen=True)
class Neighbour:
    index: int
    """Position in the indexed images."""
    label: int
    distance: float
    """Cosine distance, 0 (same direction) to 2 (opposite)."""


class EmbeddingIndex:
    """Features of ``images`` (uint8 (N, 28, 28), MNIST layout) under ``model``, for nearest-neighbour queries."""

    def __init__(self, model: keras.Model, images: np.ndarray, labels: np.ndarray):
        extractor = feature_extractor(model)
        self._features_of = tf.function(lambda x: extractor(x, training=False), autograph=False,
                                        input_signature=[tf.TensorSpec((None, 28, 28, 1), tf.float32)])
        self.labels = np.asarray(labels)
        self.features = _normalised(self.embed(images_to_input(images)))

    def embed(self, inputs: np.ndarray) -> np.ndarray:
        """Features (N, D) of model inputs (N, 28, 28, 1), in batches."""
        inputs = np.asarray(inputs, np.float32)
        return np.concatenate([self._features_of(tf.constant(inputs[i:i + BATCH])).numpy()
                               for i in range(0, len(inputs), BATCH)])

    def nearest(self, model_input: np.ndarray, k: int = 8) -> list[Neighbour]:
        """The ``k`` indexed digits closest to one model input (1, 28, 28, 1), closest first."""
        query = _normalised(self.embed(model_input))[0]
        distances = 1.0 - self.features @ query
        order = np.argpartition(distances, min(k, len(distances) - 1))[:k]
        order = order[np.argsort(distances[order])]
        return [Neighbour(int(i), int(self.labels[i]), float(distances[i])) for i in order]


class EmbeddingMap:
    """A 2-D PCA of features (N, D) with their labels; ``place`` puts new features on the same axes."""

    def __init__(self, features: np.ndarray, labels: np.ndarray):
        self.mean = features.mean(axis=0)
        _, singular, vt = np.linalg.svd(features - self.mean, full_matrices=False)
        self.axes = vt[:2]
        self.explained = float((singular[:2] ** 2).sum() / (singular ** 2).sum())
        """Share of the features' variance the two axes show."""
        self.points = self.place(features)
        self.labels = np.asarray(labels)

    def place(self, features: np.ndarray) -> np.ndarray:
        return (features - self.mean) @ self.axes.T
