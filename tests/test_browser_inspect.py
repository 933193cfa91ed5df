"""In real Chromium, as a student: draw, then on Inspect click a feature-map pixel and read its arithmetic,
play and step the sliding kernel, and set a kernel of one's own in the sandbox."""

from __future__ import annotations

import re

import pytest

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
TIMEOUT = 30_000


@pytest.fixture
def inspect_page(drew):
    page = drew(3, "Inspect")
    expect(page.get_by_role("heading", name="3 · How a unit computes")).to_be_visible(timeout=60_000)
    return page


def number(page, label: str) -> int:
    return int(page.get_by_label(label, exact=True).input_value())


def test_click_a_feature_map_pixel_and_read_its_arithmetic(inspect_page):
    page = inspect_page
    cell = page.get_by_label(re.compile(r"^col: 9; row: 12; value"))  # a pixel of the clickable map
    cell.scroll_into_view_if_needed()
    cell.click()
    expect(page.get_by_label("Row", exact=True)).to_have_value("12", timeout=TIMEOUT)
    expect(page.get_by_label("Column", exact=True)).to_have_value("9")
    expect(page.get_by_role("heading", name=re.compile(r"conv1_1_relu, channel 0 at \(12, 9\) = "))).to_be_visible()
    expect(page.get_by_text("Σ of the 9 products")).to_be_visible()
    expect(page.get_by_text(re.compile(r"forward pass gives .* ✓"))).to_be_visible()
    expect(page.get_by_text("Receptive field on the 28×28 input: rows 11–13, columns 8–10")).to_be_visible()
    # the output layer: the ten logits and their softmax, as on the Draw page
    layer = page.get_by_label("Layer", exact=True).nth(1)
    layer.click()
    layer.press_sequentially("probabilities")  # (the list of layers is longer than its window)
    layer.press("Enter")
    expect(page.get_by_text(re.compile(r"^softmax: each digit's e\^\(z − m\)"))).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("heading", name=re.compile(r"probabilities, unit 3 = (0\.9|1\.0)"))).to_be_visible()


def test_slide_the_kernel_and_try_a_kernel_of_ones_own(inspect_page):
    page = inspect_page
    page.get_by_role("heading", name="4 · Convolution, step by step").scroll_into_view_if_needed()
    caption = page.get_by_test_id("stImageCaption").filter(has_text="The output map so far")
    expect(caption).to_contain_text("(1 of 784", timeout=TIMEOUT)
    page.get_by_role("button", name="Play").click()
    expect(page.get_by_role("button", name="Pause")).to_be_visible(timeout=TIMEOUT)
    expect(caption).to_contain_text(re.compile(r"\((?:[3-9]|\d\d+) of 784"), timeout=TIMEOUT)  # it slides
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Play")).to_be_visible(timeout=TIMEOUT)
    page.get_by_label("Kernel", exact=True).click()
    page.get_by_role("option", name="Type your own").click()
    typed = page.get_by_label("k×k numbers, one row per line")
    typed.fill("1 0 -1\n1 0 -1\n1 0 -1")
    page.get_by_label("Stride s", exact=True).fill("2")
    page.get_by_label("Stride s", exact=True).press("Enter")
    expect(page.get_by_text(re.compile(r"⌊\(28 \+ 2·1 − 3\) / 2⌋ \+ 1 = 14"))).to_be_visible(timeout=TIMEOUT)
    typed.fill("1 2\n3")
    typed.press("Control+Enter")
    expect(page.get_by_text("That kernel can't be used: a kernel is square")).to_be_visible(timeout=TIMEOUT)
