"""End to end in real Chromium: draw with the mouse, read the Prediction, clear, upload, many sessions."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from harness.browser import CANVAS, clear_canvas, draw_digit, draw_digit_by_touch, running_app
from harness.synthetic_drawings import stroke_digit

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
TIMEOUT = 30_000
PHONE_AGENT = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
               "Version/17.0 Mobile/15E148 Safari/604.1")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    env = {"DIGITS_DATA_DIR": str(tmp_path_factory.mktemp("app-data")),
           "DIGITS_WORKER_IDLE_EXIT": "30"}  # the worker the app starts does not outlive the tests for long
    with running_app(env) as url:
        yield url


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    page.goto(app_url)
    page.locator(CANVAS).wait_for(timeout=60_000)
    yield page
    expect(page.get_by_test_id("stException")).to_have_count(0)
    context.close()


def prediction(page):
    return page.get_by_test_id("stMetricValue")


def test_draw_one_then_zero_and_clear(page):
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()
    draw_digit(page, 1)
    expect(prediction(page)).to_have_text("1", timeout=TIMEOUT)
    clear_canvas(page)
    expect(prediction(page)).to_have_count(0, timeout=TIMEOUT)
    expect(page.get_by_text("Draw a digit on the canvas")).to_be_visible()
    draw_digit(page, 0, left=10, top=10, width=90, height=120)  # small, in the top-left corner
    expect(prediction(page)).to_have_text("0", timeout=TIMEOUT)


def test_upload_a_photo_of_a_digit(page, tmp_path):
    photo = tmp_path / "five.jpg"
    Image.fromarray(stroke_digit(5, "left", "medium", "chalk", canvas=600)).save(photo, quality=80)
    page.get_by_text("upload a photo or scan").click()
    page.locator("input[type=file]").set_input_files(photo)
    expect(prediction(page)).to_have_text("5", timeout=TIMEOUT)
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"definitely not a png")
    page.locator("input[type=file]").set_input_files(junk)
    expect(page.get_by_text("That file can't be used")).to_be_visible(timeout=TIMEOUT)


def test_every_page_opens_without_an_exception(page):
    for name in ("Inspect", "Experiment", "Train", "My drawings", "Draw"):
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_be_visible(timeout=TIMEOUT)
        expect(page.get_by_test_id("stException")).to_have_count(0)


def test_three_sessions_drawing_at_once_each_get_their_own_answer(browser, app_url):
    contexts = [browser.new_context(viewport={"width": 1300, "height": 1000}) for _ in range(3)]
    pages = [c.new_page() for c in contexts]
    for page in pages:
        page.goto(app_url)
    for page in pages:
        page.locator(CANVAS).wait_for(timeout=60_000)
    for page, digit in zip(pages, (7, 1, 0)):
        draw_digit(page, digit)
    for page, digit in zip(pages, (7, 1, 0)):
        expect(prediction(page)).to_have_text(str(digit), timeout=TIMEOUT)
        expect(page.get_by_test_id("stException")).to_have_count(0)
    for context in contexts:
        context.close()


def test_inspect_shows_the_drawing_from_the_draw_page(page):
    draw_digit(page, 3, left=150, top=20, width=100, height=150)
    expect(prediction(page)).to_have_text("3", timeout=TIMEOUT)
    page.get_by_role("link", name="Inspect", exact=True).click()
    expect(page.get_by_text("The decision on your drawing")).to_be_visible(timeout=TIMEOUT)
    expect(prediction(page)).to_have_text("3", timeout=TIMEOUT)
    for stage in ("Raw input", "Ink mask + box", "Fit 20 px", "Centre of mass", "Model input"):
        expect(page.get_by_test_id("stImageCaption").filter(has_text=stage).first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def _set_number(page, label: str, value: int) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Tab")


def _open_train_page(browser, url: str):
    """A new browser session on the Train page, once it has rendered."""
    page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
    page.goto(f"{url}/train")
    expect(page.get_by_text("bundled MNIST sample")).to_be_visible(timeout=TIMEOUT)
    return page


def _start_run(page, name: str, epochs: int, button: str = "Start training") -> None:
    """Fill in the Train page's settings (opening them if folded away) and press Start / Add to the queue."""
    page.get_by_label("Epochs", exact=True).wait_for(state="attached", timeout=TIMEOUT)  # the page has rendered
    if not page.get_by_label("Epochs", exact=True).is_visible():
        page.get_by_test_id("stExpander").get_by_text("Settings").click()
    _set_number(page, "Epochs", epochs)
    page.get_by_label("Run name").fill(name)
    page.get_by_role("button", name=button).click()


def _stop_and_discard(page, name: str) -> None:
    page.get_by_role("button", name="Stop").click()
    page.get_by_role("button", name="Discard").click(timeout=60_000)
    expect(page.get_by_text(f"Run “{name}”: discarded")).to_be_visible(timeout=TIMEOUT)


def _steps_done(page) -> int:
    """Batches done so far, read from the progress bar's text ("Epoch e/E · batch s/S · …")."""
    text = page.get_by_test_id("stProgress").inner_text()
    epoch, batch, per_epoch = map(int, re.search(r"Epoch (\d+)/\d+ · batch (\d+)/(\d+)", text).groups())
    return (epoch - 1) * per_epoch + batch


def test_train_stop_keep_train_again_and_use_the_model(page):
    page.get_by_role("link", name="Train", exact=True).click()
    expect(page.get_by_text("bundled MNIST sample")).to_be_visible(timeout=TIMEOUT)
    _set_number(page, "Epochs", 40)  # ~40 s, an epoch a second: still training when Stop is pressed
    _set_number(page, "Train size", 3000)
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("Run “run”: running")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text(re.compile(r"Epoch \d+/40"))).to_be_visible(timeout=60_000)
    first = _steps_done(page)
    page.wait_for_timeout(3000)
    assert _steps_done(page) > first, "progress and curves update while training"
    assert page.get_by_test_id("stVegaLiteChart").count() >= 2, "loss and accuracy curves"
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_text("Keep the partial model?")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Keep it").click()
    expect(page.get_by_text("Saved as")).to_be_visible(timeout=TIMEOUT)

    if not page.get_by_label("Epochs", exact=True).is_visible():
        page.get_by_test_id("stExpander").get_by_text("Settings").click()
    _set_number(page, "Epochs", 1)
    _set_number(page, "Train size", 3000)
    page.get_by_label("Run name").fill("second")
    page.get_by_role("button", name="Start training").click()
    expect(page.get_by_text("Run “second”: finished")).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("stMetricLabel").filter(has_text="Test accuracy")).to_be_visible()
    expect(page.get_by_text("Confusion matrix")).to_be_visible()

    picker = page.get_by_test_id("stSelectbox").filter(has_text="Model")
    picker.click()
    page.keyboard.type("second")
    page.keyboard.press("Enter")
    expect(page.get_by_role("combobox", name="Model")).to_have_value(re.compile("second"))
    page.get_by_role("button", name="Use this model").click()
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text="in this browser use")).to_contain_text(
        "second", timeout=TIMEOUT)
    page.get_by_role("link", name="Draw", exact=True).click()
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text="Model:")).to_contain_text("second",
                                                                                            timeout=TIMEOUT)
    page.locator(CANVAS).wait_for(timeout=60_000)
    draw_digit(page, 1)
    expect(prediction(page)).to_have_count(1, timeout=TIMEOUT)


def test_two_sessions_keep_getting_answers_while_a_run_trains(browser, app_url):
    """Training runs in the worker process: drawing stays live for everyone while it trains."""
    teacher = _open_train_page(browser, app_url)
    _start_run(teacher, "background", epochs=30)
    expect(teacher.get_by_text("Epoch 1/30")).to_be_visible(timeout=60_000)
    students = [browser.new_context(viewport={"width": 1300, "height": 1000}).new_page() for _ in range(2)]
    for student in students:
        student.goto(app_url)
        student.locator(CANVAS).wait_for(timeout=60_000)
    for digits in ((7, 1), (0, 3)):
        for student, digit in zip(students, digits):
            draw_digit(student, digit)
        for student, digit in zip(students, digits):
            expect(prediction(student)).to_have_text(str(digit), timeout=TIMEOUT)
            clear_canvas(student)
    expect(teacher.get_by_text("Run “background”: running")).to_be_visible()
    _stop_and_discard(teacher, "background")
    for page in (teacher, *students):
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.context.close()


def test_queue_shows_each_job_s_place_and_a_queued_job_can_be_cancelled(browser, app_url):
    page = _open_train_page(browser, app_url)
    _start_run(page, "long-one", epochs=30)
    expect(page.get_by_text("Run “long-one”: running")).to_be_visible(timeout=60_000)
    expect(page.get_by_label("Epochs", exact=True)).to_be_hidden()  # settings fold away while a run trains
    marked_up = "**[b](http://e.x)** <i>x</i> :red[y] $z$"  # a run name is shown as typed, never rendered
    _start_run(page, marked_up, epochs=30, button="Add to the queue")
    expect(page.get_by_text("Waiting in the queue (1)")).to_be_visible(timeout=TIMEOUT)
    place = page.get_by_text("Place 1:")
    expect(place).to_be_visible()
    assert f"Place 1: {marked_up}" in place.inner_text().replace("\u200b", "")  # (a zero-width space unlinks URLs)
    expect(page.get_by_role("link", name="b")).to_have_count(0)
    expect(page.locator("a[href*='e.x']")).to_have_count(0)
    page.get_by_role("button", name="Cancel").click()
    expect(page.get_by_text("Waiting in the queue")).to_have_count(0, timeout=TIMEOUT)
    expect(page.get_by_text("Run “long-one”: running")).to_be_visible(timeout=60_000)
    _stop_and_discard(page, "long-one")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.context.close()


def test_a_run_goes_on_through_a_web_server_restart_and_the_page_picks_it_up(browser, tmp_path):
    env = {"DIGITS_DATA_DIR": str(tmp_path), "DIGITS_WORKER_IDLE_EXIT": "30"}
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    page = context.new_page()
    with running_app(env) as url:
        page.goto(f"{url}/train")
        expect(page.get_by_text("bundled MNIST sample")).to_be_visible(timeout=TIMEOUT)
        _start_run(page, "survivor", epochs=100)  # minutes on the sample: still training after the restart
        # Queued at once; the first batch comes after the worker has started TensorFlow and built the network,
        # which on a loaded CI machine has taken over a minute. Any epoch will do: on a fast machine the page may
        # first show the run in its second epoch (CI once waited 3 min for "Epoch 1/30" alone).
        submitted = re.compile(r"Run “survivor”: running|Place 1: survivor")
        expect(page.get_by_text(submitted).first).to_be_visible(timeout=TIMEOUT)
        training = page.get_by_test_id("stProgress").get_by_text(re.compile(r"Epoch \d+/100 · batch"))
        try:
            expect(training).to_be_visible(timeout=180_000)
        except AssertionError as error:
            log = (tmp_path / "worker.log").read_text(errors="replace")[-3000:] \
                if (tmp_path / "worker.log").exists() else "(no worker.log: no worker was started)"
            raise AssertionError(f"{error}\n--- the worker's log ---\n{log}") from None
        before = _steps_done(page)
    with running_app(env) as url:  # a new web server on the same data directory
        page.goto(f"{url}/train")
        expect(page.get_by_text("Run “survivor”: running")).to_be_visible(timeout=60_000)
        expect(page.get_by_test_id("stProgress")).to_be_visible()
        first = _steps_done(page)
        page.wait_for_timeout(3000)
        assert _steps_done(page) > first > before, "the same run kept training and the new server follows it"
        _stop_and_discard(page, "survivor")
        expect(page.get_by_test_id("stException")).to_have_count(0)
    context.close()


def _data_pictures(page) -> list[str]:
    """The pictures the page shows inline (the Train page's snapshots travel as data: URLs)."""
    return page.locator("img[src^='data:image/png']").evaluate_all("images => images.map(i => i.src)")


def _images_seen(page) -> int:
    """Training images behind the live snapshot, read from its caption ("After 1,234 training images …")."""
    text = page.get_by_text(re.compile(r"^After [\d,]+ training images")).inner_text()
    return int(re.search(r"After ([\d,]+)", text).group(1).replace(",", ""))


def test_watch_it_learn_while_a_run_trains_then_replay_it(browser, app_url, wait_for):
    page = _open_train_page(browser, app_url)
    _start_run(page, "watched", epochs=6)  # one pass of the sample takes a few seconds in the worker
    expect(page.get_by_text("Run “watched”: running")).to_be_visible(timeout=60_000)
    # (.first: the live section, above the replay of an earlier run's results, if there are any)
    expect(page.get_by_role("heading", name="Watch it learn").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text(re.compile(r"^After [\d,]+ training images"))).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Probe: an MNIST test digit").first).to_be_visible()
    expect(page.get_by_text("First-layer filters").first).to_be_visible()
    first, pictures = _images_seen(page), _data_pictures(page)
    wait_for(lambda: _images_seen(page) > first, timeout=60, what="a newer snapshot on the page")
    assert _data_pictures(page) != pictures, "the filters, feature maps and probe reading change as it learns"
    assert page.get_by_test_id("stVegaLiteChart").count() >= 3, "loss and accuracy curves, the probe's probabilities"

    expect(page.get_by_text("Run “watched”: finished")).to_be_visible(timeout=180_000)
    expect(page.get_by_text("Replay the run: training images seen")).to_be_visible(timeout=TIMEOUT)
    slider = page.locator("[class*='st-key-replay-']").get_by_role("slider")
    at_the_end = _data_pictures(page)
    slider.focus()
    page.keyboard.press("Home")  # back to the untrained network
    wait_for(lambda: _data_pictures(page) != at_the_end, timeout=30, what="the replay's first snapshot")
    expect(slider).to_have_attribute("aria-valuetext", "0")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.context.close()


def test_correct_a_drawing_see_it_in_my_drawings_and_delete_it(page):
    draw_digit(page, 7)
    expect(prediction(page)).to_have_text("7", timeout=TIMEOUT)
    expect(page.get_by_text("Wrong — it's a")).to_be_visible(timeout=TIMEOUT)
    page.get_by_test_id("stButtonGroup").get_by_text("1", exact=True).click()  # "no, it's a 1"
    expect(page.get_by_text("Kept as a")).to_contain_text("1", timeout=TIMEOUT)
    page.get_by_role("link", name="My drawings", exact=True).click()
    caption = page.get_by_test_id("stImageCaption").filter(has_text="a 1 · model reads 7")
    expect(caption).to_have_count(1, timeout=TIMEOUT)
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_text("No labelled drawings yet")).to_be_visible(timeout=TIMEOUT)


def test_on_a_phone_the_answer_is_in_view_after_drawing_with_a_finger(browser, app_url):
    """390×844 touch screen: the canvas fits the width, and the answer shows without scrolling."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                  device_scale_factor=3, user_agent=PHONE_AGENT)
    page = context.new_page()
    page.goto(app_url)
    page.locator(CANVAS).wait_for(timeout=60_000)
    canvas = page.locator(CANVAS).bounding_box()
    assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= 390, "the canvas fits the screen's width"
    draw_digit_by_touch(page, 7, left=90, top=40, width=100, height=190)
    answer = page.locator(".st-key-phone_answer")
    expect(answer).to_contain_text("Prediction: 7", timeout=TIMEOUT)
    box = answer.bounding_box()
    assert page.evaluate("window.scrollY") == 0 and box["y"] >= 0 and box["y"] + box["height"] <= 844
    page.get_by_text("A number").click()  # its canvas is sized to the phone too
    expect(page.get_by_text("Write a number of any length")).to_be_visible(timeout=TIMEOUT)
    page.wait_for_timeout(1000)
    number = page.locator(CANVAS).bounding_box()
    assert number["x"] >= 0 and number["x"] + number["width"] <= 390, "the number canvas fits too"
    expect(page.get_by_test_id("stException")).to_have_count(0)
    context.close()
