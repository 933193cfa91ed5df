"""Experiment page under AppTest: both pipelines side by side, stages switched off, sweeps over the drawing and
test digits for several models, an attack reached and one not reached, and how hard each model is to fool."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.session import INPUT_KEY, MODEL_KEY, CurrentInput
from harness.synthetic_drawings import in_style, stroke_digit
from model.attack import Norm
from model.preprocess import Stage
from model.store import ModelStore
from training.composed_numbers import layout_number
from training.hyperparams import Hyperparams
from training.sweeps import Sweep
from training.uploads import add_uploaded_model

SECTIONS = ["1 · The replaced service's input and ours", "2 · Switch off a stage of our preprocessing",
            "3 · Shift, scale, rotate, re-stroke: how far does it hold?", "4 · Fool the network",
            "5 · Which model is hardest to fool?"]


@pytest.fixture
def experiment(open_page) -> AppTest:
    return open_page("experiment", run=False)


def drawn(at: AppTest, drawing) -> AppTest:
    at.session_state[INPUT_KEY] = CurrentInput(drawing, "canvas")
    at.run()
    assert not at.exception
    return at


def readings(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("Reads ")]


def curves(at: AppTest, measure: str) -> list[dict]:
    """The rows of the line chart of ``measure`` (its y field)."""
    layers = [json.loads(chart.proto.spec)["layer"][0] for chart in at.get("vega_lite_chart")]
    return next(layer["data"]["values"] for layer in layers if layer["encoding"]["y"]["field"] == measure)


def test_without_a_drawing_it_says_where_to_draw(experiment):
    experiment.run()
    assert not experiment.exception and any("Draw" in info.value for info in experiment.info)


def test_a_number_is_experimented_on_one_digit_at_a_time(experiment):
    inks = [stroke_digit(d, size="large", pen=14)[..., 3] / 255.0 for d in (8, 0, 5)]
    picture = in_style(layout_number(inks, np.random.default_rng(0)).ink, "paper")
    experiment.session_state[INPUT_KEY] = CurrentInput(picture, "canvas", is_number=True)
    experiment.run()
    experiment.radio(key="experiment_digit").set_value(2).run()
    assert not experiment.exception and readings(experiment)[1].startswith("Reads **5**")
    assert any("digit 3 of your drawing 805" in c.value for c in experiment.caption)


def test_a_corner_digit_through_both_pipelines_and_without_stages(experiment):
    at = drawn(experiment, stroke_digit(7, "bottom-right", "small"))
    assert [h.value for h in at.subheader] == SECTIONS
    assert readings(at)[1] == readings(at)[2] == readings(at)[3]  # ours, twice, and no stage off: the same
    assert readings(at)[1].startswith("Reads **7**")
    at.multiselect(key="experiment_skip").set_value([Stage.CROP, Stage.FIT, Stage.CENTRE]).run()
    assert not at.exception
    captions = [c for image in at.get("image") for c in image.proto.imgs[0].caption.split("\n")]
    assert "Without: crop to the ink, fit to 20 px, centre of mass" in captions


def test_sweeps_over_the_drawing_and_the_test_digits_for_two_models(experiment, mlp):
    ModelStore().save_run(mlp, {"hyperparams": Hyperparams(architecture="mlp").to_dict()}, name="mlp")
    at = drawn(experiment, stroke_digit(4))
    at.selectbox(key="experiment_sweep").set_value(Sweep.SHIFT).run()
    drawing_curves = curves(at, "probability of 4")
    assert {row["model"] for row in drawing_curves} == {"default (cnn)", next(
        row["model"] for row in drawing_curves if row["model"].endswith("(mlp)"))}
    assert len(drawing_curves) == 2 * len(Sweep.SHIFT.steps)
    at.select_slider(key="experiment_count").set_value(200).run()
    at.button(key="experiment_run_sweep").click().run()
    assert not at.exception
    accuracy = curves(at, "accuracy")
    assert len(accuracy) == 2 * len(Sweep.SHIFT.steps)
    cnn = {row["step"]: row["accuracy"] for row in accuracy if row["model"] == "default (cnn)"}
    assert cnn[0] > 0.95 and cnn[8] < cnn[0]
    assert any("Computed once per model" in c.value for c in at.caption)
    swept = [layer["encoding"] for layer in (json.loads(c.proto.spec)["layer"][0] for c in at.get("vega_lite_chart"))
             if layer["encoding"]["y"]["field"] in ("accuracy", "probability of 4")]
    assert len(swept) == 2
    for x, y in ((e["x"], e["y"]) for e in swept):  # whole pixels on x, the whole 0–100 % on y: no zoom that dramatises
        assert x["axis"] == {"title": "shift (px)", "values": list(Sweep.SHIFT.steps)}
        assert y["scale"] == {"domain": [0, 1]} and y["axis"] == {"format": "%"}


def test_fool_it_then_a_budget_too_small_then_compare_the_models(experiment):
    at = drawn(experiment, stroke_digit(3))
    at.selectbox(key="fool_target").set_value(8).run()
    assert any(s.value.startswith("Read as an **8**") for s in at.success)
    at.radio(key="fool_norm").set_value(Norm.L2).run()
    at.toggle(key="fool_add_only").set_value(True).run()
    at.slider(key="fool_budget_l2").set_value(0.08).run()
    assert any(w.value.startswith("Not reached within the budget") for w in at.warning) and not at.exception
    at.button(key="fool_compare").click().run()
    table = at.dataframe[0].value
    assert list(table["model"]) == ["default (cnn)"]
    assert float(table["smallest L2 budget"][0]) > 0.08



def test_a_model_trained_elsewhere_is_experimented_on_like_any_run(experiment, elsewhere, sample):
    uploaded = add_uploaded_model(ModelStore(), elsewhere, "mnist_convnet.keras", sample)
    experiment.session_state[MODEL_KEY] = uploaded.id
    at = drawn(experiment, stroke_digit(2))
    at.button(key="experiment_run_sweep").click().run()
    assert {row["model"] for row in curves(at, "accuracy")} == {f"{uploaded.id} (uploaded)", "default (cnn)"}
    at.button(key="fool_compare").click().run()
    assert not at.exception and len(at.dataframe[0].value) == 2
    assert [s for s in at.success if s.value.startswith("Read as a")] or at.warning
