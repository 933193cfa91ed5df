"""A script run (one per stroke) must not pay for a Keras session clear or a forced full collection,
and memory must stay flat without them (see dashboard/lean_reruns.py)."""

from __future__ import annotations

import gc
import resource

import keras
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from dashboard.session import INPUT_KEY, CurrentInput
from harness.synthetic_drawings import stroke_digit


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


@pytest.fixture
def drawing_app(open_page) -> AppTest:
    at = open_page("draw")
    at.session_state[INPUT_KEY] = CurrentInput(stroke_digit(4, "centre", "medium"), "canvas")
    at.run()
    assert not at.exception and at.metric[0].value == "4"
    return at


def test_a_rerun_neither_clears_the_keras_session_nor_forces_a_full_collection(drawing_app, monkeypatch):
    assert config.get_option("runner.postScriptGC") is False, ".streamlit/config.toml must switch it off"
    calls = {"clear_session": 0, "collect": 0}

    def counting(name, original):
        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(keras.backend, "clear_session", counting("clear_session", keras.backend.clear_session))
    monkeypatch.setattr(gc, "collect", counting("collect", gc.collect))
    for _ in range(5):
        drawing_app.run()
    assert not drawing_app.exception and drawing_app.metric[0].value == "4"
    assert calls == {"clear_session": 0, "collect": 0}


def test_memory_stays_flat_over_many_predicting_reruns(drawing_app):
    drawings = [stroke_digit(d, "centre", "medium") for d in range(10)]
    for i in range(50):  # warm-up: caches, first allocations of every code path
        drawing_app.session_state[INPUT_KEY] = CurrentInput(drawings[i % 10], "canvas")
        drawing_app.run()
    before = rss_mb()
    for i in range(300):
        drawing_app.session_state[INPUT_KEY] = CurrentInput(drawings[i % 10], "canvas")
        drawing_app.run()
    grown = rss_mb() - before
    assert not drawing_app.exception and drawing_app.metric[0].value == "9"
    assert grown < 40, f"RSS grew by {grown:.0f} MB over 300 reruns without forced collections"
