"""The styled-digit generator: every skeleton draws, the set is balanced and repeatable, the CLI's file trains."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from model.preprocess import to_model_input
from training.drawings import load_drawings
from training.styled_digits import CANVAS, EUROPEAN, GLYPHS, Pen, as_canvas, draw, main, random_pen, training_set


@pytest.mark.parametrize("digit,glyph", [(d, g) for d in GLYPHS for g in GLYPHS[d]])
def test_every_skeleton_draws_a_digit_the_canvas_path_reads(digit, glyph):
    ink = draw(digit, glyph, Pen(), np.random.default_rng(0))
    assert ink.shape == (CANVAS, CANVAS) and ink.dtype == np.float32
    assert 0.01 < (ink > 0.5).mean() < 0.3, "a pen stroke, neither a dot nor a filled square"
    pre = to_model_input(as_canvas(ink))
    assert not pre.is_empty and pre.image.shape == (28, 28)


def test_every_continental_form_is_a_skeleton_of_its_digit():
    assert all(glyph in GLYPHS[digit] for digit, glyph in EUROPEAN.items())


def test_the_pen_moves_slants_and_thickens_the_ink():
    rng = lambda: np.random.default_rng(1)  # noqa: E731 - the same jitter for every drawing compared
    upright = draw(7, "plain", Pen(jitter=0), rng())
    cols = lambda ink: np.flatnonzero(ink.max(axis=0) > 0.5)  # noqa: E731
    rows = lambda ink: np.flatnonzero(ink.max(axis=1) > 0.5)  # noqa: E731
    left = draw(7, "plain", replace(Pen(jitter=0), x=0.0), rng())
    assert cols(left)[0] < cols(upright)[0] - 20
    top = draw(7, "plain", replace(Pen(jitter=0), y=0.0), rng())
    assert rows(top)[0] < rows(upright)[0] - 20
    fat = draw(7, "plain", replace(Pen(jitter=0), pen=0.25), rng())
    assert (fat > 0.5).sum() > 1.8 * (upright > 0.5).sum()
    # a 1's stick leaning right: its top is right of its foot
    leaning = draw(1, "stick", replace(Pen(jitter=0), slant=0.5), rng())
    ink_rows = rows(leaning)
    top_x = np.flatnonzero(leaning[ink_rows[0] + 5] > 0.5).mean()
    foot_x = np.flatnonzero(leaning[ink_rows[-1] - 5] > 0.5).mean()
    assert top_x - foot_x > 30


def test_drift_moves_the_strokes_of_a_digit_in_several_strokes_but_not_a_single_stroke():
    def drawn(digit: int, glyph: str, drift: float) -> np.ndarray:
        return draw(digit, glyph, replace(Pen(jitter=0), drift=drift), np.random.default_rng(4))

    assert np.abs(drawn(4, "open", 0.06) - drawn(4, "open", 0.0)).sum() > 100, "a 4's two strokes move apart"
    assert np.array_equal(drawn(2, "loop", 0.06), drawn(2, "loop", 0.0)), "one stroke: nothing to move apart"


def test_a_one_stays_narrow_however_wide_the_hand():
    ink = draw(1, "flag", replace(Pen(jitter=0), width=1.1), np.random.default_rng(0))
    cols, rows = np.flatnonzero(ink.max(axis=0) > 0.5), np.flatnonzero(ink.max(axis=1) > 0.5)
    assert (cols[-1] - cols[0]) < 0.75 * (rows[-1] - rows[0])


def test_random_pens_stay_on_the_canvas():
    rng = np.random.default_rng(2)
    for _ in range(60):
        pen = random_pen(rng)
        digit = int(rng.integers(10))
        ink = draw(digit, str(rng.choice(list(GLYPHS[digit]))), pen, rng)
        border = np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])
        assert border.max() < 0.5, f"{digit} drawn with {pen} runs off the canvas"


def test_the_training_set_is_balanced_repeatable_and_of_model_inputs():
    images, labels = training_set(40, seed=5)
    again, _ = training_set(40, seed=5)
    other, _ = training_set(40, seed=6)
    assert images.shape == (40, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [4] * 10
    assert np.array_equal(images, again) and not np.array_equal(images, other)
    assert all(image.max() > 200 for image in images), "every image holds ink"


def test_the_command_line_writes_a_set_training_reads(tmp_path, capsys):
    out = tmp_path / "styles.npz"
    assert main(["--count", "20", "--seed", "1", "--output", str(out)]) == 0
    images, labels = load_drawings(out)
    assert images.shape == (20, 28, 28) and sorted(set(labels.tolist())) == list(range(10))
    assert not list(tmp_path.glob("*.tmp*")), "written atomically: no temporary file left"
    assert "20 styled digits" in capsys.readouterr().out
