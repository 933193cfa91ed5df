"""In real Chromium, as a student: draw a 3, open Experiment and use each experiment — both pipelines, a stage
switched off, a sweep over test digits, an attack in L2 that only adds ink, and the models compared."""

from __future__ import annotations

import re

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
TIMEOUT = 60_000


def test_each_experiment_on_a_drawing(drew):
    page = drew(3, "Experiment")
    expect(page.get_by_role("heading", name="1 · The replaced service's input and ours")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("Ours: cropped, fitted to 20 px, centred")).to_be_visible()

    switch_off = page.get_by_label("Switch off", exact=True)  # 2 · a stage switched off
    switch_off.click()
    switch_off.press_sequentially("centre")
    switch_off.press("Enter")
    page.keyboard.press("Escape")
    expect(page.get_by_text("Without: centre of mass")).to_be_visible(timeout=TIMEOUT)

    run_sweep = page.get_by_role("button", name=re.compile(r"Sweep 500 test digits"))  # 3 · a sweep
    run_sweep.scroll_into_view_if_needed()
    run_sweep.click()
    expect(page.get_by_text(re.compile(r"Computed once per model \(default \(cnn\) \d+ s\)"))).to_be_visible(
        timeout=180_000)

    page.get_by_role("heading", name="4 · Fool the network").scroll_into_view_if_needed()  # 4 · an attack
    expect(page.get_by_text(re.compile(r"^Read as a 0 "))).to_be_visible(timeout=TIMEOUT)
    page.get_by_text("L2", exact=True).click()
    page.get_by_text("Only add ink", exact=True).click()
    expect(page.get_by_text(re.compile(r"Changed: L2 distance"))).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text(re.compile(r"^(Read as a|Not reached within the budget)"))).to_be_visible(timeout=TIMEOUT)

    compare = page.get_by_role("button", name="Compare the models")  # 5 · the models compared
    compare.scroll_into_view_if_needed()
    compare.click()
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=120_000)
