"""The CNN, built from hyperparameters — the one place that says what the network is.

The classifier is a plain functional Keras model of built-in layers only, so a saved ``.keras`` file loads
anywhere with ``keras.saving.load_model(path)`` in safe mode, without importing this project.
Augmentation is a separate stack of Keras preprocessing layers that the trainer puts in front of the
classifier while fitting; it acts only in training and is never part of a saved model.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from training.hyperparams import Hyperparams

INPUT_SHAPE = (28, 28, 1)


def build_classifier(hp: Hyperparams) -> keras.Model:
    """Conv blocks (conv → [batch norm] → ReLU, then 2×2 max-pool) → dense → dropout → softmax over 10 digits.

    Batch-norm momentum is 0.9 rather than Keras's 0.99 so that short runs (one epoch on the bundled
    sample is ~50 steps) end with usable moving statistics.
    """
    inputs = keras.Input(shape=INPUT_SHAPE, name="image")
    x = inputs
    for block in range(1, hp.conv_blocks + 1):
        width = hp.filters * 2 ** (block - 1)
        for index in range(1, hp.convs_per_block + 1):
            name = f"conv{block}_{index}"  # model/explain.py finds feature maps by these names
            x = layers.Conv2D(width, hp.kernel_size, padding="same", use_bias=not hp.batch_norm, name=name)(x)
            if hp.batch_norm:
                x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
            x = layers.ReLU(name=f"{name}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(hp.dense_units, activation="relu", name="dense")(x)
    x = layers.Dropout(hp.dropout, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


class RandomStrokeWidth(layers.Layer):
    """Randomly thicken or thin the strokes of each image (training only).

    People draw with pens of any width, and a small digit drawn with a thick pen ends up bolder after
    fitting to 20×20 than anything in MNIST. Blends each image with its 3×3 grey dilation (thicker)
    or erosion (thinner) by a random amount in ``[-0.6, 1] × strength``.
    """

    def __init__(self, strength: float = 1.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.strength = strength
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=False):
        if not training or self.strength == 0:
            return images
        amount = keras.random.uniform((ops.shape(images)[0], 1, 1, 1), -0.6 * self.strength, self.strength,
                                      seed=self.seed_generator)
        amount = ops.clip(amount, -1.0, 1.0)
        thick = ops.max_pool(images, 3, strides=1, padding="same")
        thin = -ops.max_pool(-images, 3, strides=1, padding="same")
        return images + ops.relu(amount) * (thick - images) + ops.relu(-amount) * (thin - images)

    def get_config(self):
        return {**super().get_config(), "strength": self.strength}


def build_augmentation(hp: Hyperparams) -> keras.Sequential:
    """Shift, rotation, scale and stroke width, each range scaled by ``hp.augment_strength``."""
    s, seed = hp.augment_strength, hp.seed
    return keras.Sequential([
        layers.RandomRotation(12 / 360 * s, fill_mode="constant", seed=seed, name="rotate"),
        layers.RandomZoom(0.12 * s, fill_mode="constant", seed=seed + 1, name="zoom"),
        layers.RandomTranslation(0.08 * s, 0.08 * s, fill_mode="constant", seed=seed + 2, name="shift"),
        RandomStrokeWidth(s, seed=seed + 3, name="stroke_width"),
    ], name="augmentation")
