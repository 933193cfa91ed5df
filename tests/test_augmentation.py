"""Training-time augmentation: every layer changes images only while training, keeps the ink, and each varies."""

from __future__ import annotations

import numpy as np
import pytest

from training.augmentation import RandomStrokeWidth, RandomWarp, build_augmentation
from training.hyperparams import Hyperparams


@pytest.fixture(scope="module")
def digits(sample):
    return (sample.x_test[:64].astype("float32") / 255.0)[..., None]


def test_inference_leaves_images_alone(digits):
    augment = build_augmentation(Hyperparams(augment=True, seed=1))
    assert np.array_equal(np.asarray(augment(digits, training=False)), digits)


def test_training_changes_every_image_but_keeps_its_ink(digits):
    out = np.asarray(build_augmentation(Hyperparams(augment=True, seed=1))(digits, training=True))
    assert out.shape == digits.shape
    changed = np.abs(out - digits).reshape(len(digits), -1).max(axis=1)
    assert (changed > 0.2).mean() > 0.9
    ratio = out.reshape(len(digits), -1).sum(axis=1) / digits.reshape(len(digits), -1).sum(axis=1)
    assert ratio.min() > 0.3 and ratio.max() < 3.5, "a digit is neither erased nor smeared over the frame"


def test_elastic_bends_strokes_by_a_pixel_or_two_each_image_its_own_way(digits):
    elastic_only = RandomWarp(rotation=0, zoom=0, slant=0, shift=0, seed=2)
    out = np.asarray(elastic_only(digits, training=True))
    moved = np.abs(out - digits).reshape(len(digits), -1).sum(axis=1)
    assert np.median(moved) > 0.1 * np.median(digits.reshape(len(digits), -1).sum(axis=1))
    assert len(np.unique(np.round(moved, 3))) > 50, "every image gets its own field"
    # strokes stretch and squeeze a little, but none vanishes or smears
    ratio = out.sum(axis=(1, 2, 3)) / digits.sum(axis=(1, 2, 3))
    assert ratio.min() > 0.5 and ratio.max() < 2.0
    # it is not a shift: the centre of ink stays put, give or take a pixel
    rows = np.arange(28)[None, :, None, None]
    centre = lambda x: (x * rows).sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3))  # noqa: E731
    assert np.median(np.abs(centre(out) - centre(digits))) < 0.7


def test_stroke_width_thickens_and_thins(digits):
    out = np.asarray(RandomStrokeWidth(1.0, seed=3)(digits, training=True))
    ratio = out.sum(axis=(1, 2, 3)) / digits.sum(axis=(1, 2, 3))
    assert ratio.max() > 1.3 and ratio.min() < 0.9


def test_slant_shears_both_ways(digits):
    slant_only = RandomWarp(rotation=0, zoom=0, shift=0, alpha=0, seed=4)
    out = np.asarray(slant_only(digits, training=True))
    cols = np.arange(28)[None, None, :, None]

    def lean(x):  # how far the top half's ink sits right of the bottom half's
        mid = lambda part: (part * cols).sum(axis=(1, 2, 3)) / np.maximum(part.sum(axis=(1, 2, 3)), 1e-6)  # noqa: E731
        return mid(x[:, :14]) - mid(x[:, 14:])

    change = lean(out) - lean(digits)
    assert change.max() > 1.5 and change.min() < -1.5


def test_one_resampling_keeps_strokes_sharp(digits):
    """The warp interpolates once: the darkest pixels stay nearly as dark as the original's."""
    out = np.asarray(RandomWarp(seed=5)(digits, training=True))
    peak = lambda x: np.sort(x.reshape(len(x), -1), axis=1)[:, -20:].mean(axis=1)  # noqa: E731
    assert np.median(peak(out) / peak(digits)) > 0.9


def test_a_model_fits_through_the_augmentation_and_saves_without_it(sample):
    """Inside ``fit`` the batch size is unknown: the warp must trace without it; the saved model is bare."""
    from training.loop import train

    result = train(Hyperparams(augment=True, epochs=1, batch_size=32, train_size=2000, seed=3), sample)
    assert result.error is None and result.test.accuracy > 0.6
    assert all("augmentation" not in layer.name for layer in result.model.layers)
