"""Augmentation: random shift, rotation, scale and stroke width, applied while training only.

A stack of Keras preprocessing layers that the training loop puts in front of the classifier while
fitting; it is never part of a saved model, so saved models need no custom layer to load.
"""

from __future__ import annotations

import keras
from keras import layers, ops

from training.hyperparams import Hyperparams


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
