"""Train page under AppTest: widgets from the hyperparameter bounds, a 1-epoch run, its results."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import fields

from dashboard import snapshots
from dashboard.hyperparam_widgets import GROUPS
from dashboard.session import INPUT_KEY, CurrentInput
from harness.synthetic_drawings import stroke_digit
from model.store import SHIPPED_MODEL
from training.class_signal import ClassSignal
from training.hyperparams import PRESETS, Hyperparams
from training.jobs import JobSpec, JobState
from training.queue import TrainingQueue
from training.worker import Worker

SAMPLE_TRAIN_IMAGES = 6_000
"""The bundled sample's training images: the pages' tests run without the full MNIST."""


def test_every_knob_has_a_widget_with_the_dataclass_bounds(open_page):
    knobs = [f for f in fields(Hyperparams) if f.name != "architecture"]  # (chosen above the form, see below)
    assert sorted(n for names in GROUPS.values() for n in names) == sorted(f.name for f in knobs)
    at = open_page("train")
    assert at.segmented_control(key="train_architecture").value == PRESETS["Quick"].architecture
    for f in knobs:
        key = f"hp-Quick-{f.name}"
        widget = next(w for kind in ("number_input", "select_slider", "selectbox", "toggle")
                      for w in at.get(kind) if w.key == key)
        most = SAMPLE_TRAIN_IMAGES if f.name == "train_size" else f.metadata["high"]  # what the dataset has
        if f.metadata["low"] is not None and not f.metadata["log"]:
            assert (widget.proto.min, widget.proto.max) == (f.metadata["low"], most), f.name
        preset = getattr(PRESETS["Quick"], f.name)
        assert widget.value == (min(preset, most) if f.name == "train_size" else preset), f.name
    assert "bundled MNIST sample" in at.warning[0].value


def test_a_one_epoch_run_on_the_sample_shows_test_accuracy_and_the_confusion_matrix(open_page):
    at = open_page("train")
    at.number_input(key="hp-Quick-epochs").set_value(1)
    at.number_input(key="hp-Quick-train_size").set_value(3000)
    at.number_input(key="hp-Quick-batch_size").set_value(32)
    at.text_input(key="train_name").set_value("apptest")
    next(b for b in at.button if b.label == "Start training").click().run()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not any("finished" in h.value for h in at.subheader):
        time.sleep(1)
        at.run()
    assert not at.exception
    assert any(h.value == "Run “apptest”: finished" for h in at.subheader)
    accuracy = next(m for m in at.metric if m.label == "Test accuracy")
    assert float(accuracy.value.rstrip("%")) > 80
    assert any("Confusion matrix" in md.value for md in at.markdown)
    assert any("apptest" in s.value for s in at.success)


def test_a_run_stopped_earlier_still_offers_keep_and_discard(open_page, wait_for, monkeypatch):
    monkeypatch.setenv("DIGITS_WORKER", "external")
    queue = TrainingQueue()
    stopped = queue.submit(JobSpec(Hyperparams(epochs=20, batch_size=32, train_size=3000), "earlier"))
    later = queue.submit(JobSpec(Hyperparams(epochs=1, batch_size=32, train_size=1000), "later"))
    worker = Worker(queue)
    thread = threading.Thread(target=worker.serve, kwargs={"idle_exit": 0}, daemon=True)
    thread.start()
    wait_for(lambda: queue.jobs.progress(stopped.id), what="the first run's progress")
    queue.stop(stopped.id)
    thread.join(timeout=180)
    assert queue.jobs.get(later.id).state == JobState.FINISHED
    at = open_page("train")
    assert any(h.value == "Run “later”: finished" for h in at.subheader)
    assert any("“earlier” was stopped after" in w.value for w in at.warning)
    at.button(key=f"keep-{stopped.id}").click().run()
    assert not at.exception and queue.jobs.get(stopped.id).state == JobState.KEPT
    assert not any("“earlier” was stopped after" in w.value for w in at.warning)


def test_impossible_settings_get_a_clear_message(open_page):
    at = open_page("train")
    at.number_input(key="hp-Quick-train_size").set_value(100)
    at.number_input(key="hp-Quick-validation_fraction").set_value(0.001)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    assert any("no validation image" in e.value for e in at.error)


def _pictures(at) -> list[str]:
    """The sources of every picture on the page."""
    return [url for image in at.get("image") for url in image.value]


def test_watch_it_learn_follows_a_run_live_through_the_drawing_then_replays_it(open_page, wait_for, monkeypatch):
    monkeypatch.setenv("DIGITS_WORKER", "external")
    at = open_page("train", run=False)
    at.session_state[INPUT_KEY] = CurrentInput(stroke_digit(3), "canvas")  # drawn on the Draw page
    at.run()
    at.number_input(key="hp-Quick-epochs").set_value(20)
    at.number_input(key="hp-Quick-train_size").set_value(3000)
    at.number_input(key="hp-Quick-batch_size").set_value(32)
    next(b for b in at.button if b.label == "Start training").click().run()
    queue = TrainingQueue()
    job = queue.jobs.active()[0]
    assert job.spec.probe is not None, "the run is watched through the session's drawing"
    worker = Worker(queue)
    thread = threading.Thread(target=worker.serve, kwargs={"idle_exit": 0}, daemon=True)
    thread.start()
    try:
        wait_for(lambda: len(queue.jobs.snapshot_marks(job.id)) >= 3, what="three snapshots")
        at.run()
        assert not at.exception
        assert any(md.value == "#### Watch it learn" for md in at.markdown)
        assert any(c.value.startswith("After ") and "training images" in c.value for c in at.caption)
        assert "Probe: a drawing from the Draw page" in [c for image in at.get("image") for c in image.captions]
        live = _pictures(at)
        wait_for(lambda: queue.jobs.snapshot_marks(job.id)[-1][1] > queue.jobs.snapshot_marks(job.id)[0][1] + 2000,
                 what="a later snapshot")
        time.sleep(snapshots.LOOK_EVERY_S)  # the server looks for a newer snapshot once in that while
        at.run()
        assert _pictures(at) != live, "the filters and feature maps change as it trains"
    finally:
        queue.stop(job.id)
        thread.join(timeout=180)
    at.run()
    assert not at.exception and any(h.value.endswith(": stopped") for h in at.subheader)
    slider = at.select_slider(key=f"replay-{job.id}")
    marks = queue.jobs.snapshot_marks(job.id)
    assert slider.options == [f"{seen:,}" for _, seen in marks] and slider.value == marks[-1][0]
    last = _pictures(at)
    slider.set_value(marks[0][0]).run()
    assert not at.exception and _pictures(at) != last, "the replay shows the untrained network"


def test_a_running_run_says_when_it_gives_way_to_a_class(open_page, monkeypatch):
    monkeypatch.setenv("DIGITS_WORKER", "external")
    queue = TrainingQueue()
    job = queue.submit(JobSpec(Hyperparams(epochs=1, batch_size=32, train_size=1000), "during-class"))
    assert queue.jobs.claim(job.id, "a worker elsewhere") is not None
    at = open_page("train")
    assert any(h.value == "Run “during-class”: running" for h in at.subheader)
    assert not any("Giving way" in c.value for c in at.caption), "no class is queueing yet"
    ClassSignal(queue.root).report_busy()  # as a web server does when strokes wait for their turn
    at.run()
    assert any("Giving way to a class" in c.value for c in at.caption)


def test_saved_models_say_how_each_reads_writing_styles_and_other_writers_where_measured(open_page):
    measured = json.loads(SHIPPED_MODEL.with_suffix(".json").read_text())["benchmarks"]
    uci = [v for k, v in measured.items() if k.startswith("uci_digits")]
    at = open_page("train")
    table = next(df.value for df in at.dataframe if "writing styles" in df.value.columns)
    shipped = table[table["model"] == "default"].iloc[0]
    assert shipped["writing styles"] == measured["styles"]["right"] / measured["styles"]["digits"]
    assert shipped["other writers"] == sum(v["right"] for v in uci) / sum(v["digits"] for v in uci)
    assert shipped["test accuracy"] > shipped["writing styles"] > shipped["other writers"] > 0.9


def test_a_compared_model_without_curves_says_why(open_page):
    at = open_page("train")
    at.multiselect(key="compare").set_value(["default"]).run()
    assert "**default** has no training curves: it is the mean of 2 trained models' weights (python -m " \
           "training.average)." in [c.value for c in at.caption]
    table = next(df.value for df in at.dataframe if "writing styles" in df.value.columns)
    assert table[table["model"] == "default"].iloc[0]["MNIST"] == "full"
