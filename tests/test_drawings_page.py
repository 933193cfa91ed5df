"""My drawings page under AppTest: counts, the current model's accuracy, relabel, delete."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from bench.drawings import stroke_digit
from model.preprocess import to_model_input
from training.feedback import FeedbackStore

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "streamlit_app.py")


def test_gallery_counts_relabel_and_delete():
    store = FeedbackStore()
    seven = store.add(to_model_input(stroke_digit(7)).image, 1, predicted=7)  # corrected: "it's a 1"
    three = store.add(to_model_input(stroke_digit(3)).image, 3, predicted=3)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/drawings.py").run()
    assert not at.exception
    assert at.metric[0].value == "2"
    assert at.metric[1].value == "50%", "the model reads the 3 but not the '1' that looks like a 7"
    at.selectbox(key=f"label-{seven}").set_value(7).run()
    assert {s.id: s.label for s in store.samples()} == {seven: 7, three: 3}
    assert at.metric[1].value == "100%"
    at.button(key=f"delete-{three}").click().run()
    assert [s.id for s in store.samples()] == [seven]
    assert len(at.get("download_button")) == 1


def test_empty_gallery_explains_how_to_add_drawings():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/drawings.py").run()
    assert not at.exception and "No labelled drawings yet" in at.info[0].value
