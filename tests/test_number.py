"""Whole numbers: cutting ink into digits, reading them, and the same through the CLI, the API, the Draw
and Inspect pages (AppTest) and the wide canvas in Chromium."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image, ImageDraw

from dashboard.session import INPUT_KEY, CurrentInput
from harness import run_module
from harness.browser import draw_digit, running_app
from harness.synthetic_drawings import in_style, stroke_digit
from model.number import (
    DIGIT_ASPECT,
    TWO_STROKE_ROWS,
    aspect_penalty,
    number_ink,
    read_by_cutting,
    read_number,
    shape_penalty,
    split_digits,
    two_stroke_rows,
)
from training.composed_numbers import layout_number


def stroke_ink(digit: int, **style) -> np.ndarray:
    return stroke_digit(digit, size="large", **style)[..., 3] / 255.0


def number_picture(digits: str, seed: int = 0, gap: tuple[float, float] = (0.1, 0.4), style: str = "paper"):
    number = layout_number([stroke_ink(int(d), pen=14) for d in digits], np.random.default_rng(seed), gap=gap)
    return in_style(number.ink, style), number.boxes


def png(picture: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("digits", ["2026", "71", "90417", "358"])
def test_a_number_is_cut_where_its_digits_are_and_read_whole(predictor, digits):
    picture, boxes = number_picture(digits, seed=len(digits))
    reading = read_number(predictor, picture)
    assert reading.number == digits
    for found, (top, left, bottom, right) in zip(reading.digits, boxes):
        f_top, f_left, f_bottom, f_right = found.piece.box
        assert abs(f_left - left) <= 8 and abs(f_right - right) <= 8, "each box is around its digit"
        assert f_top < bottom and f_bottom > top


def test_a_digit_in_two_pieces_stays_one_digit(predictor):
    """A 5 whose flag was lifted off the body, and a 4 drawn in two strokes that do not touch."""
    picture = Image.new("L", (420, 200), 255)
    draw = ImageDraw.Draw(picture)
    draw.line([(60, 40), (56, 95)], fill=0, width=12)  # the 5's back
    draw.arc((40, 80, 120, 170), 250, 160, fill=0, width=12)  # its belly
    draw.line([(74, 38), (125, 36)], fill=0, width=12)  # its flag, lifted off
    draw.line([(230, 30), (205, 115), (285, 115)], fill=0, width=12)  # a 4's first stroke
    draw.line([(262, 60), (262, 170)], fill=0, width=12)  # its second, not touching the first
    draw.line([(330, 40), (332, 170)], fill=0, width=12)  # and a 1
    reading = read_number(predictor, np.asarray(picture))
    assert reading.number == "541", [d.to_dict() for d in reading.digits]


def test_the_shape_statistics_are_mnist_s(sample):
    """Recomputed here, by other code, from the bundled sample's 6,000 training digits (genuine MNIST): each
    digit's log width / height and its 99th percentile of rows crossing two strokes."""
    ink = sample.x_train > 80
    index = np.arange(28)

    def extent(inked):  # first to last inked column (or row), inclusive
        return np.where(inked, index, -1).max(axis=1) - np.where(inked, index, 99).min(axis=1) + 1

    log_aspect = np.log(extent(ink.any(axis=1)) / extent(ink.any(axis=2)))
    rises = (np.diff(np.pad(ink, ((0, 0), (0, 0), (1, 0))).astype(int), axis=2) == 1).sum(axis=2)  # strokes a row
    share = (rises >= 2).sum(axis=1) / (rises >= 1).sum(axis=1)
    for digit in range(10):
        mine = sample.y_train == digit
        mean, std = DIGIT_ASPECT[digit]
        assert abs(log_aspect[mine].mean() - mean) < 0.03 and abs(log_aspect[mine].std() - std) < 0.03
        assert abs(np.quantile(share[mine], 0.99) - TWO_STROKE_ROWS[digit]) < 0.08
    some = slice(0, 200)
    assert np.allclose([two_stroke_rows(image / 255.0) for image in sample.x_train[some]], share[some])


def test_a_part_costs_nothing_at_its_digits_usual_width_and_more_the_wider_it_is():
    for digit, (mean, _) in enumerate(DIGIT_ASPECT):
        assert aspect_penalty(digit, 100 * np.exp(mean), 100) == 0
        assert aspect_penalty(digit, 20, 100) == 0, "narrow writing is a hand, not two digits"
    wide = [aspect_penalty(2, width, 100) for width in (120, 180, 300)]
    assert 0 <= wide[0] < wide[1] < wide[2] and wide[2] > 5, "three digits squashed into one '2' cost a lot"
    assert aspect_penalty(1, 80, 100) > aspect_penalty(0, 80, 100), "a 1 that wide is two digits sooner than a 0"


def test_two_ones_pushed_together_are_no_one():
    one, two = np.zeros((28, 28), np.float32), np.zeros((28, 28), np.float32)
    one[4:24, 13:15] = 1
    two[4:24, 9:11] = two[4:24, 16:18] = 1
    assert two_stroke_rows(one) == 0 and two_stroke_rows(two) == 1
    assert shape_penalty(1, one, 10, 100) == 0
    assert shape_penalty(1, two, 40, 100) > 5, "read as one 1, two strokes side by side cost a lot"
    assert shape_penalty(0, two, 40, 100) < 2, "a narrow 0 crosses two strokes on most rows"


def test_touching_digits_are_cut_apart(predictor, sample):
    """MNIST digits written so that each one's ink meets its neighbour's (read as one piece by geometry): the model,
    the part checker and each digit's usual shape find them (28 of these 30 whole; before the part checker 23, before
    shapes were weighed 3)."""
    rng = np.random.default_rng(4)
    whole = counted = 0
    for _ in range(30):
        labels = rng.integers(0, 10, int(rng.integers(2, 5)))
        inks = [sample.x_test[rng.choice(np.flatnonzero(sample.y_test == d))] / 255.0 for d in labels]
        picture = in_style(layout_number(inks, rng, gap=(0.0, 0.0), from_ink=True).ink, "paper")
        number = read_by_cutting(predictor, number_ink(picture)).number or ""
        whole += number == "".join(map(str, labels))
        counted += len(number) == len(labels)
    assert counted >= 27 and whole >= 26, (whole, counted)


def test_no_ink_is_no_number_and_specks_are_ignored(predictor):
    blank = np.full((200, 500, 3), 255, np.uint8)
    assert read_number(predictor, blank).to_dict() == {"number": None, "digits": []}
    picture, _ = number_picture("47")
    picture = picture.copy()
    picture[5:7, 5:7] = 0  # dust in a corner
    assert read_number(predictor, picture).number == "47"


def test_without_a_model_the_cut_follows_geometry_alone():
    picture, boxes = number_picture("380")
    assert len(split_digits(picture)) == 3


def test_cli_reads_numbers_one_json_line_per_file(tmp_path):
    (tmp_path / "n.png").write_bytes(png(number_picture("2026")[0]))
    (tmp_path / "blank.png").write_bytes(png(np.full((100, 300), 255, np.uint8)))
    (tmp_path / "bad.png").write_bytes(b"not an image")
    done = run_module("model.predict", "--number", str(tmp_path / "n.png"), str(tmp_path / "blank.png"),
               str(tmp_path / "bad.png"))
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1, "a file failed"
    assert lines[0]["number"] == "2026" and [d["digit"] for d in lines[0]["digits"]] == [2, 0, 2, 6]
    assert all(len(d["box"]) == 4 and 0 < d["confidence"] <= 1 for d in lines[0]["digits"])
    assert lines[1] == {"file": str(tmp_path / "blank.png"), "number": None, "digits": []}
    assert "error" in lines[2]


def test_the_draw_page_reads_a_number_and_inspect_shows_one_of_its_digits(open_page):
    at = open_page("draw", run=False)
    at.session_state["read_mode"] = "A number"
    at.session_state[INPUT_KEY] = CurrentInput(number_picture("805")[0], "canvas", is_number=True)
    at.run()
    assert not at.exception
    assert [m.value for m in at.metric] == ["805"]
    at.switch_page("app_pages/inspect.py").run()
    assert not at.exception
    choice = at.radio(key="inspect_digit")
    assert len(choice.options) == 3
    choice.set_value(2).run()
    assert at.metric[0].value == "5", "the third digit, alone, through every stage"


def test_api_mode_number_and_a_bad_mode(tmp_path):
    env = {"DIGITS_DATA_DIR": str(tmp_path)}
    with running_app(env) as url:
        def post(mode: str) -> tuple[int, dict]:
            request = urllib.request.Request(f"{url}/api/predict?mode={mode}", data=png(number_picture("64")[0]))
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                return error.code, json.loads(error.read())

        status, answer = post("number")
        assert status == 200 and answer["number"] == "64" and len(answer["digits"]) == 2
        status, answer = post("roman")
        assert status == 400 and "unknown mode 'roman'" in answer["error"]


def test_chromium_write_a_number_on_the_wide_canvas(browser, tmp_path):
    from playwright.sync_api import expect

    env = {"DIGITS_DATA_DIR": str(tmp_path)}
    with running_app(env) as url:
        page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
        page.goto(url)
        page.get_by_text("A number").click()
        for i, digit in enumerate((4, 0, 7)):
            draw_digit(page, digit, left=60 + 150 * i, top=30, width=90, height=150)
        expect(page.get_by_test_id("stMetricValue")).to_have_text("407", timeout=30_000)
        page.get_by_role("button", name="Clear").click()  # as on the digit canvas: an empty canvas, read afresh
        expect(page.get_by_test_id("stMetricValue")).to_have_count(0, timeout=30_000)
        expect(page.get_by_text("Write a number on the canvas — it is read whole")).to_be_visible(timeout=30_000)
        for i, digit in enumerate((1, 5)):
            draw_digit(page, digit, left=60 + 150 * i, top=30, width=90, height=150)
        expect(page.get_by_test_id("stMetricValue")).to_have_text("15", timeout=30_000)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.context.close()
