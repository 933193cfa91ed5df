"""Draw page logic under AppTest (the canvas itself is exercised in the browser tests)."""

from __future__ import annotations

import io
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dashboard.session import INPUT_KEY, MODEL_KEY, CurrentInput
from harness.synthetic_drawings import stroke_digit


@pytest.fixture
def app(open_page):
    return open_page("draw")


def test_empty_page_prompts_and_predicts_nothing(app):
    assert [m.label for m in app.metric] == []
    assert any("Draw a digit" in info.value for info in app.info)


@pytest.mark.parametrize("digit, place", [(3, "centre"), (7, "bottom-left"), (0, "top-right")])
def test_a_drawing_in_session_state_shows_its_prediction(app, digit, place):
    app.session_state[INPUT_KEY] = CurrentInput(stroke_digit(digit, place, "small"), "canvas")
    app.run()
    assert not app.exception
    metric = app.metric[0]
    assert metric.label == "Prediction" and metric.value == str(digit)
    assert "confident" in metric.delta
    chart = app.get("vega_lite_chart")
    assert len(chart) == 1
    assert len(app.get("image")) == 1, "the 28×28 input the model saw"


def test_blank_drawing_gets_the_prompt_not_a_made_up_answer(app):
    app.session_state[INPUT_KEY] = CurrentInput(np.zeros((280, 280, 4), np.uint8), "canvas")
    app.run()
    assert not app.metric and any("Draw a digit" in info.value for info in app.info)


def test_an_upload_too_faint_to_read_says_so(app):
    buf = io.BytesIO()
    Image.fromarray((stroke_digit(5, style="paper")[..., 0] < 128).astype(np.uint8) * 16).save(buf, format="PNG")
    app.session_state[INPUT_KEY] = CurrentInput(buf.getvalue(), "counts.png")  # contrast 16 of 255
    app.run()
    assert not app.metric and any("too faint" in info.value and "contrast" in info.value for info in app.info)


def test_an_unsure_prediction_lists_the_top_three(app, predictor):
    pairs = itertools.combinations(range(10), 2)
    overlays = (np.maximum(stroke_digit(a), stroke_digit(b, slant=0.3)) for a, b in pairs)
    ambiguous = next(o for o in overlays if predictor.predict(o).is_unsure)  # two digits drawn on top of each other
    app.session_state[INPUT_KEY] = CurrentInput(ambiguous, "canvas")
    app.run()
    assert "Not sure" in app.warning[0].value and app.warning[0].value.count("%") == 3
    assert app.metric[0].value == str(predictor.predict(ambiguous).digit)


def test_upload_goes_through_the_same_path(app):
    buf = io.BytesIO()
    Image.fromarray(stroke_digit(4, "right", "medium", "chalk")).save(buf, format="PNG")
    app.session_state[INPUT_KEY] = CurrentInput(buf.getvalue(), "four.png")
    app.run()
    assert app.metric[0].value == "4"
    assert any("four.png" in c.value for c in app.caption)


def test_a_damaged_model_file_falls_back_to_the_shipped_model_with_a_message(app):
    broken = Path(os.environ["DIGITS_DATA_DIR"]) / "runs" / "20260101-000000-broken"
    broken.mkdir(parents=True)
    (broken / "model.keras").write_bytes(b"PK\x03\x04 half a zip file")
    app.session_state[MODEL_KEY] = broken.name
    app.session_state[INPUT_KEY] = CurrentInput(stroke_digit(2), "canvas")
    app.run()
    assert not app.exception
    assert "could not be loaded" in app.warning[0].value and "shipped model" in app.warning[0].value
    assert app.metric[0].value == "2"
