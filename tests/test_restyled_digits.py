"""Restyled digits: each pen, hand and scanner change does what it says, the digit survives it, the CLI's file
trains."""

from __future__ import annotations

import numpy as np
import pytest

from model.preprocess import centre_of_mass
from training.drawings import load_drawings
from training.restyled_digits import (
    DELIVERIES,
    PEN_AND_HAND,
    binary_scan,
    bold,
    few_pixels,
    form_counts,
    hairline,
    main,
    restyle,
    slanted,
    training_set,
)


@pytest.fixture(scope="module")
def digits(sample):
    """Twenty MNIST training digits of the bundled sample, two of each digit, and their labels."""
    picks = np.concatenate([np.flatnonzero(sample.y_train == d)[:2] for d in range(10)])
    return sample.x_train[picks], sample.y_train[picks]


def _ink(image: np.ndarray) -> int:
    return int((np.asarray(image) > 127).sum())


def test_a_bold_pen_adds_ink_and_a_hairline_takes_it_away(digits):
    rng = np.random.default_rng(0)
    for image in digits[0]:
        assert _ink(bold(image.astype(np.float32), rng)) > 1.2 * _ink(image)
        assert _ink(hairline(image.astype(np.float32), rng)) < _ink(image)


def test_slanting_moves_the_top_of_a_one_sideways(digits):
    images, labels = digits
    one = images[labels == 1][0].astype(np.float32)

    def lean(image: np.ndarray) -> tuple[float, int]:
        """(how far the top is right of the foot, the height), in pixels."""
        rows = np.flatnonzero(image.max(axis=1) > 127)
        top_x = np.flatnonzero(image[rows[0] + 1] > 127).mean()
        foot_x = np.flatnonzero(image[rows[-1] - 1] > 127).mean()
        return top_x - foot_x, rows[-1] - rows[0]

    (before, height), (after, _) = lean(one), lean(slanted(one, np.random.default_rng(3)))
    assert abs(after - before) > 0.2 * height


def test_a_binary_scan_is_black_and_white_and_fits_its_box(digits):
    rng = np.random.default_rng(1)
    for image in digits[0]:
        scan = binary_scan(image.astype(np.float32), rng)
        assert set(np.unique(scan)) <= {0.0, 255.0}
        assert max(scan.shape) <= 32 + 2 * 2 and min(scan.shape) >= 1


def test_a_few_pixels_scan_is_small_and_has_seventeen_grey_levels_at_most(digits):
    rng = np.random.default_rng(2)
    for image in digits[0]:
        scan = few_pixels(image.astype(np.float32), rng)
        assert max(scan.shape) <= 16 + 2
        assert len(np.unique(scan)) <= 17


def test_form_counts_are_uci_block_counts_of_normalised_ink(digits):
    """NIST's normalisation as UCI's digits show it: every digit as tall as the box, none wider than 6 of its 8
    columns, about 30 % ink whatever the digit (UCI's own: 25–36 %, 5th–95th percentile), 17 levels."""
    rng = np.random.default_rng(3)
    shares = []
    for image in digits[0]:
        counts = form_counts(image, rng)
        assert counts.shape == (8, 8) and counts.dtype == np.uint8
        assert set(np.unique(counts)) <= {round(k * 255 / 16) for k in range(17)}
        ink = counts > 0
        assert ink[0].any() and ink[-1].any(), "as tall as the box"
        assert not ink[:, 0].any() and not ink[:, -1].any(), "no wider than 20 of its 32 px"
        shares.append(counts.sum() / 255 / 64)
    assert 0.26 <= np.mean(shares) <= 0.34 and min(shares) >= 0.12 and max(shares) <= 0.45
    one = digits[0][digits[1] == 1][0]
    assert abs(form_counts(one).sum() - form_counts(digits[0][digits[1] == 8][0]).sum()) < 0.05 * 64 * 255, \
        "a 1 as much ink as an 8: the pen is normalised"


def test_a_named_delivery_delivers_every_digit(digits):
    rng = np.random.default_rng(5)
    named = [restyle(image, rng, "block counts") for image in digits[0]]
    assert all(p.shape == (8, 8) for p in named)


def test_restyled_pictures_come_in_both_polarities_and_every_change_is_used(digits):
    rng = np.random.default_rng(4)
    pictures = [restyle(image, rng) for image in digits[0] for _ in range(5)]
    assert all(p.dtype == np.uint8 and p.ndim == 2 for p in pictures)
    paper = [np.median(np.concatenate([p[0], p[-1], p[:, 0], p[:, -1]])) for p in pictures]
    assert min(paper) < 64 and max(paper) > 192, "light ink on dark paper and dark ink on light paper"
    assert len(PEN_AND_HAND) >= 5 and len(DELIVERIES) == 4


def test_the_digit_survives_its_restyling(digits, predictor):
    """The shipped model reads most restyled digits as their label: a restyle changes the style, not the digit."""
    images, labels = digits
    inputs, truth = training_set(np.repeat(images, 5, axis=0), np.repeat(labels, 5), count=100, seed=7)
    read = predictor.classify(inputs[..., None].astype(np.float32) / 255)
    assert (read == truth).mean() >= 0.85
    assert np.array_equal(np.bincount(truth, minlength=10) > 0, np.ones(10, bool))


def test_the_set_is_repeatable_and_of_model_inputs(digits):
    images, labels = digits
    first, first_labels = training_set(images, labels, count=30, seed=5)
    again, _ = training_set(images, labels, count=30, seed=5)
    assert first.shape == (30, 28, 28) and first.dtype == np.uint8
    assert np.array_equal(first, again)
    for image in first:  # model inputs: fitted to 20 px, centre of mass in the middle of 28×28
        rows, cols = np.flatnonzero(image.max(axis=1) > 25), np.flatnonzero(image.max(axis=0) > 25)
        assert 18 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 22
        assert np.allclose(centre_of_mass(image.astype(np.float32)), 14, atol=1.0)


def test_the_command_line_writes_a_set_training_reads_with_another(tmp_path, capsys):
    out, other = tmp_path / "restyled.npz", tmp_path / "other.npz"
    np.savez(other, x_train=np.zeros((3, 28, 28), np.uint8), y_train=np.array([1, 2, 3], np.uint8))
    assert main(["--count", "25", "--seed", "1", "--output", str(out)]) == 0
    assert "25 restyled digits" in capsys.readouterr().out
    images, labels = load_drawings(out, other)  # as training.train --include-drawings A --include-drawings B
    assert images.shape == (28, 28, 28) and labels[-3:].tolist() == [1, 2, 3]
    assert not list(tmp_path.glob("*.tmp*")), "written atomically: no temporary file left"
