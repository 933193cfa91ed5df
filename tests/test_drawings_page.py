"""My drawings page under AppTest: counts, the current model's accuracy, relabel, delete."""

from __future__ import annotations

from harness.synthetic_drawings import stroke_digit
from model.preprocess import to_model_input
from training.drawings import DrawingStore


def test_gallery_counts_relabel_and_delete(open_page):
    store = DrawingStore()
    seven = store.add(to_model_input(stroke_digit(7)).image, 1, predicted=7)  # corrected: "it's a 1"
    three = store.add(to_model_input(stroke_digit(3)).image, 3, predicted=3)
    at = open_page("drawings")
    assert at.metric[0].value == "2"
    assert at.metric[1].value == "50%", "the model reads the 3 but not the '1' that looks like a 7"
    at.selectbox(key=f"label-{seven}").set_value(7).run()
    assert {s.id: s.label for s in store.all()} == {seven: 7, three: 3}
    assert at.metric[1].value == "100%"
    at.button(key=f"delete-{three}").click().run()
    assert [s.id for s in store.all()] == [seven]
    assert len(at.get("download_button")) == 1


def test_empty_gallery_explains_how_to_add_drawings(open_page):
    at = open_page("drawings")
    assert "No labelled drawings yet" in at.info[0].value
