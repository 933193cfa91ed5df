"""The number reader's part checker: composing numbers with each digit's own ink, labelling the reader's
candidate parts by it, training the checker on them (for real, on the bundled MNIST sample), and the shipped
checker telling one whole digit from half of one or two pushed together."""

from __future__ import annotations

import json

import numpy as np

from harness.synthetic_drawings import stroke_digit
from model.number import WINDOW, NumberReader, number_ink, read_by_cutting
from model.part_check import SHIPPED_PART_CHECK, PartChecker, shipped_part_checker
from training import part_check
from training.composed_numbers import layout_number
from training.styled_digits import as_canvas


def stroke_ink(digit: int) -> np.ndarray:
    return stroke_digit(digit, size="large", pen=16)[..., 3] / 255.0


def test_a_layout_keeps_each_digit_s_own_ink_and_who_owns_each_pixel():
    layout = layout_number([stroke_ink(3), stroke_ink(8)], np.random.default_rng(0), gap=(-0.1, -0.1),
                           from_ink=True)
    assert np.array_equal(layout.ink, np.maximum(*layout.layers))
    owners = layout.owners()
    assert set(np.unique(owners)) == {-1, 0, 1}
    both = (layout.layers[0] > 0.3) & (layout.layers[1] > 0.3)
    assert both.any(), "pushed into each other, the digits share some ink"
    assert np.array_equal(owners[both], layout.layers[1][both] > layout.layers[0][both]), "the inkier one owns it"


def test_the_reader_s_parts_are_labelled_by_the_digits_ink_they_hold(predictor):
    """Two digits apart: each alone is a whole digit, its halves are not; a 0 touching an 8 cut at its candidates
    gives whole parts (the two digits) and parts that are not (halves, or the two together)."""
    rng = np.random.default_rng(1)
    apart = layout_number([stroke_ink(0), stroke_ink(7)], rng, gap=(0.4, 0.4))
    _, labels, reachable = part_check.labelled_parts(apart, predictor, rng)
    assert reachable and labels.count(1) >= 2 and 0 in labels
    touching = layout_number([stroke_ink(0), stroke_ink(8)], rng, gap=(0.0, 0.0), from_ink=True)
    windows, labels, reachable = part_check.labelled_parts(touching, predictor, rng)
    assert reachable and 1 in labels and 0 in labels
    assert windows[0].shape == (*WINDOW, 2) and labels.count(0) <= part_check.NEGATIVES_PER_WHOLE * labels.count(1)


def test_training_the_checker_for_real_writes_weights_that_load(tmp_path, capsys):
    output = tmp_path / "check.weights.h5"
    assert part_check.main(["--numbers", "40", "--epochs", "1", "--workers", "1", "--output", str(output)]) == 0
    assert "whole digits" in capsys.readouterr().out
    card = json.loads((tmp_path / "check.json").read_text())
    assert card["parts"] > 100 and 0 < card["whole_share"] < 1 and 0 <= card["held_out_accuracy"] <= 1
    assert card["command"].endswith(f"--output {output}")
    checker = PartChecker.load(output)
    scores = checker.log_whole(np.zeros((3, *WINDOW, 2), np.float32))
    assert scores.shape == (3,) and np.all(scores <= 0)


def windows_of(picture: np.ndarray, cuts: list[float], predictor) -> np.ndarray:
    """The checker's windows of a one-piece number cut straight at the given fractions of its width."""
    reader = NumberReader(number_ink(picture), predictor)
    (piece,) = reader.pieces()
    cols = np.flatnonzero(piece.any(axis=0))
    height = np.ptp(np.flatnonzero(piece.any(axis=1))) + 1
    bounds = [np.full(piece.shape[0], int(cols[0] + f * (cols[-1] + 1 - cols[0]))) for f in cuts]
    return np.stack([reader.window(reader.between(piece, a, b), height) for a, b in zip(bounds[:-1], bounds[1:])])


def test_the_shipped_checker_tells_a_whole_digit_from_half_of_one_and_from_two(predictor):
    assert SHIPPED_PART_CHECK.is_file()
    checker = shipped_part_checker()
    one = as_canvas(layout_number([stroke_ink(6)], np.random.default_rng(2)).ink)
    two = as_canvas(layout_number([stroke_ink(2), stroke_ink(5)], np.random.default_rng(3), gap=(0.0, 0.0),
                                  from_ink=True).ink)
    whole, = np.exp(checker.log_whole(windows_of(one, [0, 1], predictor)))
    halves = np.exp(checker.log_whole(windows_of(one, [0, 0.5, 1], predictor)))
    pair, = np.exp(checker.log_whole(windows_of(two, [0, 1], predictor)))
    assert whole > 0.8 and halves.max() < 0.3 and pair < 0.3, (whole, halves, pair)


def test_without_the_checker_file_numbers_are_still_cut(predictor, monkeypatch, tmp_path):
    monkeypatch.setattr("model.part_check.SHIPPED_PART_CHECK", tmp_path / "missing.weights.h5")
    shipped_part_checker.cache_clear()
    try:
        assert shipped_part_checker() is None
        picture = as_canvas(layout_number([stroke_ink(4), stroke_ink(1)], np.random.default_rng(0)).ink)
        assert read_by_cutting(predictor, number_ink(picture)).number == "41"
    finally:
        shipped_part_checker.cache_clear()
