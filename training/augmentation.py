"""Augmentation: random shift, rotation, scale, slant, elastic distortion and stroke width, while training only.

A stack of Keras preprocessing layers that the training loop puts in front of the classifier while
fitting; it is never part of a saved model, so saved models need no custom layer to load.
"""

from __future__ import annotations

import keras
import numpy as np
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


class RandomWarp(layers.Layer):
    """Rotation, zoom, slant, shift and an elastic distortion in one resampling (training only).

    People tilt, size, slant and place their digits anywhere, and their strokes bend in ways no affine map makes:
    Simard et al.'s (2003) elastic field — uniform noise in [-1, 1], blurred by a Gaussian of ``sigma`` px and
    scaled by up to ``alpha`` — bends strokes by a pixel or two without breaking them (α 34, σ 4 on 28×28).
    All of it is one sampling grid and one bilinear interpolation: a stack of Keras's RandomRotation, RandomZoom,
    RandomShear, RandomTranslation and RandomElasticTransform resamples five times and blurs the strokes far past
    anything the canvas draws (and that elastic layer draws its x and y fields from one seed: pixels move only
    diagonally). Every range is scaled by ``strength``.
    """

    def __init__(self, strength: float = 1.0, rotation: float = 12.0, zoom: float = 0.12, slant: float = 0.3,
                 shift: float = 0.08, alpha: float = 34.0, sigma: float = 4.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.strength, self.rotation, self.zoom, self.slant, self.shift = strength, rotation, zoom, slant, shift
        self.alpha, self.sigma = alpha, sigma
        self.seed_generator = keras.random.SeedGenerator(seed)
        taps = np.arange(-int(3 * sigma), int(3 * sigma) + 1, dtype=np.float32)
        gauss = np.exp(-0.5 * (taps / sigma) ** 2)
        self.kernel = (gauss / gauss.sum()).astype(np.float32)

    def _elastic_field(self, batch, height: int, width: int):
        """(batch, height, width, 2): each image's smooth random displacement, in pixels (dy, dx)."""
        noise = keras.random.uniform((batch, height, width, 2), -1.0, 1.0, seed=self.seed_generator)
        size = len(self.kernel)
        across = ops.tile(ops.reshape(self.kernel, (1, size, 1, 1)), (1, 1, 2, 1))
        down = ops.tile(ops.reshape(self.kernel, (size, 1, 1, 1)), (1, 1, 2, 1))
        field = ops.depthwise_conv(ops.depthwise_conv(noise, across, padding="same"), down, padding="same")
        return field * keras.random.uniform((batch, 1, 1, 1), 0.0, self.alpha * self.strength,
                                            seed=self.seed_generator)

    def call(self, images, training=False):
        if not training or self.strength == 0:
            return images
        batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
        s = self.strength

        def uniform(extent: float):
            return keras.random.uniform((batch, 1, 1), -extent * s, extent * s, seed=self.seed_generator)

        angle, zoom, slant = uniform(np.deg2rad(self.rotation)), 1.0 + uniform(self.zoom), uniform(self.slant)
        shift_y, shift_x = uniform(self.shift * height), uniform(self.shift * width)
        y, x = ops.meshgrid(ops.arange(height, dtype="float32"), ops.arange(width, dtype="float32"), indexing="ij")
        # Where each output pixel comes from: undo the zoom, the rotation, the slant, the shift, then bend.
        cy, cx = (height - 1) / 2, (width - 1) / 2
        dy, dx = (y - cy) / zoom, (x - cx) / zoom
        cos, sin = ops.cos(angle), ops.sin(angle)
        dy, dx = cos * dy - sin * dx, sin * dy + cos * dx
        dx = dx + slant * dy
        field = self._elastic_field(batch, height, width)
        source_y = cy + dy - shift_y + field[..., 0]
        source_x = cx + dx - shift_x + field[..., 1]
        return _bilinear(images[..., 0], source_y, source_x)[..., None]

    def get_config(self):
        return {**super().get_config(), "strength": self.strength, "rotation": self.rotation, "zoom": self.zoom,
                "slant": self.slant, "shift": self.shift, "alpha": self.alpha, "sigma": self.sigma}


def _bilinear(images, rows, cols):
    """Sample (batch, H, W) ``images`` at fractional (batch, H, W) ``rows``, ``cols``; zero outside the frame.

    By hand, with gathers, because ``ops.image.map_coordinates`` needs a known batch size, which a model being
    fitted does not have.
    """
    batch, height, width = ops.shape(images)[0], images.shape[1], images.shape[2]
    flat = ops.reshape(images, (-1,))
    first = ops.reshape(ops.arange(batch) * height * width, (-1, 1, 1))
    row0, col0 = ops.floor(rows), ops.floor(cols)
    out = ops.zeros_like(rows)
    for dr, dc in ((0, 0), (0, 1), (1, 0), (1, 1)):
        r, c = row0 + dr, col0 + dc
        weight = (1 - ops.abs(rows - r)) * (1 - ops.abs(cols - c))
        inside = ops.cast((r >= 0) & (r <= height - 1) & (c >= 0) & (c <= width - 1), images.dtype)
        index = first + ops.cast(ops.clip(r, 0, height - 1), "int32") * width + ops.cast(ops.clip(c, 0, width - 1),
                                                                                        "int32")
        out = out + weight * inside * ops.take(flat, index)
    return out


def build_augmentation(hp: Hyperparams) -> keras.Sequential:
    """One warp (rotation ±12°, zoom ±12 %, slant ±30 %, shift ±8 %, elastic α 34 σ 4), then stroke width, each
    range scaled by ``hp.augment_strength``."""
    s, seed = hp.augment_strength, hp.seed
    return keras.Sequential([
        RandomWarp(s, seed=seed, name="warp"),
        RandomStrokeWidth(s, seed=seed + 3, name="stroke_width"),
    ], name="augmentation")
