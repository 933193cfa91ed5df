"""The sequence reader: a number's ink scaled into its strip, CTC's frames decoded into digits with columns, the
shipped weights reading numbers whose digits are pushed into each other, and its trainer for real."""

from __future__ import annotations

import json

import numpy as np
import pytest

from model.number import number_ink, read_by_cutting, read_number
from model.number_sequence import (
    DIGIT_HEIGHT,
    FRAME,
    MARGIN,
    SHIPPED_SEQUENCE_READER,
    STRIP,
    SequenceReader,
    aligned_runs,
    best_digits,
    decode,
    shipped_sequence_reader,
    to_strip,
)
from tests.test_number import stroke_ink
from training import number_sequence
from training.composed_numbers import layout_number
from training.styled_digits import as_canvas


def test_a_number_s_ink_fills_the_strip_s_height_from_its_left_margin():
    ink = np.zeros((300, 500), np.float32)
    ink[100:200, 150:260] = 1.0  # 100 rows, 110 columns of ink
    strip = to_strip(ink)
    rows, cols = np.flatnonzero(strip.image.max(axis=1) > 0.5), np.flatnonzero(strip.image.max(axis=0) > 0.5)
    assert strip.image.shape == STRIP and len(rows) == DIGIT_HEIGHT and cols[0] == MARGIN
    assert abs(len(cols) - 110 * DIGIT_HEIGHT / 100) <= 1
    assert strip.ink_column(MARGIN) == 150 and strip.ink_column(cols[-1] + 1) == pytest.approx(260, abs=5)
    assert to_strip(np.zeros((50, 50), np.float32)) is None


def test_a_number_too_long_for_the_strip_is_scaled_down_to_fit_it():
    ink = np.zeros((60, 2000), np.float32)
    ink[10:50, 20:1980] = 1.0
    strip = to_strip(ink)
    cols = np.flatnonzero(strip.image.max(axis=0) > 0.5)
    assert cols[0] == MARGIN and cols[-1] <= STRIP[1] - MARGIN and strip.image.max(axis=1).sum() < DIGIT_HEIGHT


def spikes(frames: dict[int, int], count: int = STRIP[1] // FRAME) -> np.ndarray:
    """Frame probabilities: blank everywhere, the digit at the given frames."""
    probabilities = np.full((count, 11), 0.01, np.float32)
    probabilities[:, 0] = 0.9
    for frame, digit in frames.items():
        probabilities[frame] = 0.01
        probabilities[frame, digit + 1] = 0.9
    return probabilities


def test_frames_decode_into_digits_a_blank_apart_repeats_collapsing_and_each_owns_columns_to_its_neighbours():
    frames = spikes({5: 3, 6: 3, 8: 3, 30: 8})
    assert best_digits(frames) == (4, 4, 9), "symbols: digit + 1; a blank between makes two 3s, a repeat one"
    assert aligned_runs(frames, (4, 4, 9)) == [(5, 7), (8, 9), (30, 31)]
    ink = np.zeros((100, 400), np.float32)
    ink[20:80, 40:360] = 1.0
    strip = to_strip(ink)
    digits = decode(spikes({5: 3, 6: 3, 8: 3, 30: 8}), strip)
    assert [d.digit for d in digits] == [3, 3, 8]
    assert digits[0].confidence > 0.9 and np.isclose(digits[0].probabilities.sum(), 1)
    spans = [d.columns for d in digits]
    assert spans[0][0] == 40 and spans[-1][1] == 360, "from the ink's left edge to its right"
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), "side by side, no gap, no overlap"
    assert min(b - a for a, b in spans) >= 0.3 * DIGIT_HEIGHT / strip.scale - 3, "no digit a sliver"
    ink[:, 240:250] = 0.0  # a light gap between the last two spikes, off their middle (ink column 225)
    gap = decode(spikes({5: 3, 6: 3, 8: 3, 30: 8}), to_strip(ink))
    assert 240 <= gap[-1].columns[0] <= 250, "neighbours meet through the least ink near the middle"


def test_a_reading_is_the_likeliest_over_every_path_that_spells_it_not_the_likeliest_frames():
    """Three frames each 60 % blank, 40 % a 1: each frame's likeliest symbol spells nothing (0.6³ = 22 %), but
    the paths that spell "1" (1 then blanks, blank-1-blank, 1-1-blank, …) hold 69 %."""
    frames = np.zeros((3, 11), np.float32)
    frames[:, 0], frames[:, 2] = 0.6, 0.4
    assert best_digits(frames) == (2,)
    assert aligned_runs(frames, (2,)) in ([(0, 1)], [(1, 2)], [(2, 3)])
    assert best_digits(spikes({})) == () and aligned_runs(spikes({}), ()) == []


def test_digits_too_narrow_for_the_least_width_share_the_ink_and_each_owns_some_of_it():
    """1s pushed into each other are narrower together than their least widths: each gets its fair share of
    the columns (it got none, and the number went to the cutting reader, which read a row of 1s 105 times in 200
    where the sequence reader reads 158)."""
    ink = np.zeros((100, 400), np.float32)
    ink[20:80, 100:130] = 1.0  # 12 strip columns for three digits of at least 7
    strip = to_strip(ink)
    digits = decode(spikes({2: 1, 3: 1, 5: 1, 7: 1}), strip)
    spans = [d.columns for d in digits]
    assert len(spans) == 3 and spans[0][0] == 100 and spans[-1][1] == 130
    assert all(b - a >= 7 for a, b in spans), "every digit some of the ink"
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))


def test_the_shipped_reader_reads_digits_pushed_into_each_other():
    assert SHIPPED_SEQUENCE_READER.is_file()
    reader = shipped_sequence_reader()
    assert reader is not None
    rng = np.random.default_rng(4)
    read = 0
    for digits in ("2026", "71", "90417", "358", "4", "11777"):
        layout = layout_number([stroke_ink(int(d), pen=14) for d in digits], rng, gap=(-0.08, -0.03), from_ink=True)
        found = reader.read(number_ink(as_canvas(layout.ink)))
        read += "".join(str(d.digit) for d in found) == digits
        assert all(a.columns[1] <= b.columns[0] for a, b in zip(found, found[1:])), "left to right"
    assert read >= 5


def test_training_the_reader_for_real_writes_weights_that_load(tmp_path, capsys):
    output = tmp_path / "seq.weights.h5"
    assert number_sequence.main(["--numbers", "128", "--epochs", "1", "--workers", "1", "--output", str(output)]) == 0
    assert "read whole" in capsys.readouterr().out
    card = json.loads((tmp_path / "seq.json").read_text())
    assert card["epochs"] == 1 and 0 <= card["held_out_numbers_read_whole"] <= 1
    assert card["command"].endswith(f"--output {output}")
    frames = SequenceReader.load(output).frame_probabilities(np.zeros((2, *STRIP), np.float32))
    assert frames.shape == (2, STRIP[1] // FRAME, 11) and np.allclose(frames.sum(axis=2), 1, atol=1e-4)


def overlapping(digits: str, seed: int) -> np.ndarray:
    layout = layout_number([stroke_ink(int(d), pen=14) for d in digits], np.random.default_rng(seed),
                           gap=(-0.1, -0.05), from_ink=True)
    return as_canvas(layout.ink)


def test_a_number_whose_digits_overlap_is_read_whole_and_each_digit_boxed_left_to_right(predictor):
    """Pushed 5–10 % of their height into each other's ink there is no place to cut: the cut reader read such
    numbers 101 and 64 times in 200 (bench.number_reading), the sequence reader 190 and 188."""
    numbers = ("2026", "7193", "45", "1234", "56789", "80", "314", "9071", "662", "5158", "37", "40913")
    read = 0
    for seed, digits in enumerate(numbers):
        reading = read_number(predictor, overlapping(digits, seed))
        read += reading.number == digits
        boxes = [d.piece.box for d in reading.digits]
        assert all(a[1] < b[1] and a[3] <= b[3] for a, b in zip(boxes, boxes[1:])), "left to right"
        assert all(0 < d.prediction.confidence <= 1 and d.prediction.preprocessed.image.max() > 0
                   for d in reading.digits), "each digit has a confidence and a picture to show"
    assert read >= 10


def test_rows_of_1s_and_7s_touching_are_read_whole(predictor):
    """Narrow digits pushed together: bench.number_reading's pen-stroke row of 1s and 7s reads 158 of 200 whole
    (cutting: 105)."""
    numbers = ("1111", "7117", "171", "11", "7711", "117")
    read = sum(read_number(predictor, as_canvas(layout_number(
        [stroke_ink(int(d), pen=14) for d in digits], np.random.default_rng(seed), gap=(-0.03, 0.0),
        from_ink=True).ink)).number == digits for seed, digits in enumerate(numbers))
    assert read >= 5


def test_without_the_reader_file_or_for_a_number_too_long_for_its_strip_numbers_are_cut(predictor, monkeypatch,
                                                                                      tmp_path):
    long = as_canvas(layout_number([stroke_ink(d % 10, pen=14) for d in range(14)], np.random.default_rng(0),
                                   gap=(0.3, 0.4)).ink)
    assert not to_strip(number_ink(long)).fits
    assert read_number(predictor, long).number == read_by_cutting(predictor, number_ink(long)).number
    picture = overlapping("38", 1)
    monkeypatch.setattr("model.number_sequence.SHIPPED_SEQUENCE_READER", tmp_path / "missing.weights.h5")
    shipped_sequence_reader.cache_clear()
    try:
        assert shipped_sequence_reader() is None
        assert read_number(predictor, picture).number == read_by_cutting(predictor, number_ink(picture)).number
    finally:
        shipped_sequence_reader.cache_clear()
