"""In real Chromium: a model trained elsewhere is uploaded on the Train page, used on Draw and explained on
Inspect; a hostile file is refused with a message and the server keeps answering."""

from __future__ import annotations

import re

import pytest

from harness.browser import CANVAS, draw_digit

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
TIMEOUT = 60_000


def _upload(page, path) -> None:
    page.get_by_text("Add a model trained elsewhere (.keras)").click()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(path)
    page.get_by_role("button", name="Add this model").click()


def test_upload_a_model_trained_elsewhere_and_draw_and_inspect_with_it(browser, app_url, elsewhere, tmp_path):
    page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
    page.goto(f"{app_url}/train")
    expect(page.get_by_text("bundled MNIST sample")).to_be_visible(timeout=TIMEOUT)
    hostile = tmp_path / "photo.keras"
    hostile.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)  # an image renamed .keras
    _upload(page, hostile)
    expect(page.get_by_text("That model was not added: photo.keras: not a Keras model file")).to_be_visible(
        timeout=TIMEOUT)
    page.reload()
    expect(page.get_by_text("bundled MNIST sample")).to_be_visible(timeout=TIMEOUT)  # the server still answers
    _upload(page, elsewhere)
    added = page.get_by_text(re.compile(r"Added mnist_convnet\.keras as .*-mnist_convnet: \d+\.\d+% on the MNIST"))
    expect(added).to_be_visible(timeout=TIMEOUT)
    run_id = re.search(r"as (\S+-mnist_convnet)", added.inner_text()).group(1)
    expect(page.get_by_text("uploaded: mnist_convnet.keras")).to_be_attached()  # (a cell of the models table)
    chooser = page.get_by_label("Model", exact=True)
    chooser.click()
    chooser.press_sequentially("mnist_convnet")
    chooser.press("Enter")
    page.get_by_role("button", name="Use this model").click()
    expect(page.get_by_text(f"Draw and Inspect in this browser use {run_id}")).to_be_visible(timeout=TIMEOUT)
    page.get_by_role("link", name="Draw", exact=True).click()
    page.locator(CANVAS).wait_for(timeout=TIMEOUT)
    draw_digit(page, 7)
    expect(page.get_by_test_id("stMetricValue")).to_have_text("7", timeout=TIMEOUT)
    page.get_by_role("link", name="Inspect", exact=True).click()
    expect(page.get_by_text("conv2d: 16 channels of 26×26")).to_be_visible(timeout=TIMEOUT)  # its own names
    expect(page.get_by_text(re.compile(r"forward pass gives .* ✓"))).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.context.close()
