"""Shared set-up. Tests run offline, without ../shared, and never touch the user's data directory."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from harness import APP

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("DIGITS_WORKER_IDLE_EXIT", "20")  # workers the app starts in tests do not outlive them long


@pytest.fixture(autouse=True)
def _isolated(tmp_path_factory, monkeypatch):
    """Every test gets an empty data directory and no way to find or download a full MNIST."""
    monkeypatch.setenv("DIGITS_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("DIGITS_MNIST_DOWNLOAD", raising=False)
    monkeypatch.delenv("DIGITS_MNIST_DIR", raising=False)


@pytest.fixture(scope="session")
def sample():
    """The bundled MNIST sample: the images every training test learns from."""
    from training.data import load_sample

    return load_sample()


@pytest.fixture(scope="session")
def predictor():
    from model.inference import Predictor
    from model.store import SHIPPED_MODEL

    return Predictor.load(SHIPPED_MODEL)


@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    """``open_page("train")``: the dashboard under AppTest, switched to a page of ``dashboard/app_pages/``
    and run once (``run=False`` leaves the run to the test, e.g. after it sets session state)."""

    def open_(page: str = "draw", run: bool = True) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=120)
        at.run()
        if page != "draw":
            at.switch_page(f"app_pages/{page}.py")
            if run:
                at.run()
        assert not at.exception
        return at

    return open_


def wait_until(condition: Callable[[], object], timeout: float = 120, what: str = "the job") -> None:
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not get there in {timeout} s")


@pytest.fixture
def wait_for() -> Callable[..., None]:
    """``wait_for(lambda: job done, timeout, what)``: poll until true (training tests wait for real jobs)."""
    return wait_until


@pytest.fixture
def queue(tmp_path, monkeypatch):
    """A training queue in a fresh data directory; the tests start its workers themselves."""
    from training.queue import TrainingQueue

    monkeypatch.setenv("DIGITS_WORKER", "external")
    return TrainingQueue(tmp_path)


@pytest.fixture
def serving(queue):
    """A worker taking ``queue``'s jobs in a thread of this process, shut down after the test."""
    from training.worker import Worker

    worker = Worker(queue)
    thread = threading.Thread(target=worker.serve, daemon=True)
    thread.start()
    yield worker
    worker.shutdown.set()
    thread.join(timeout=120)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium under Playwright (skipped where it is missing, unless REQUIRE_BROWSER is set, as in CI)."""
    from harness.browser import CHROMIUM, CHROMIUM_ARGS

    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium); browser tests skipped")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """The dashboard served as a user starts it, on a free port with a data directory of its own, for one test
    module's Chromium sessions (a module that needs other settings defines its own)."""
    from harness.browser import running_app

    with running_app({"DIGITS_DATA_DIR": str(tmp_path_factory.mktemp("app-data"))}) as url:
        yield url


@pytest.fixture
def drew(browser, app_url):
    """``drew(3, "Inspect")``: a new Chromium session on ``app_url`` that drew the digit on the Draw page, saw it
    read, and opened the page named; each session is checked for exceptions and closed after the test."""
    from playwright.sync_api import expect

    from harness.browser import CANVAS, draw_digit

    pages = []

    def open_(digit: int, page_name: str):
        page = browser.new_context(viewport={"width": 1300, "height": 1000}).new_page()
        pages.append(page)
        page.goto(app_url)
        page.locator(CANVAS).wait_for(timeout=60_000)
        draw_digit(page, digit)
        expect(page.get_by_test_id("stMetricValue")).to_have_text(str(digit), timeout=60_000)
        page.get_by_role("link", name=page_name, exact=True).click()
        return page

    yield open_
    for page in pages:
        expect(page.get_by_test_id("stException")).to_have_count(0)
        page.context.close()


@pytest.fixture(scope="session")
def mlp(sample):
    """An MLP trained for one short pass over the bundled sample (seconds): a second, very different network."""
    from training.hyperparams import Hyperparams
    from training.loop import train

    settings = Hyperparams(architecture="mlp", epochs=1, train_size=2000, validation_fraction=0.0, learning_rate=3e-3)
    return train(settings, sample).model


def _elsewhere_cnn(input_shape: tuple[int, ...] = (28, 28, 1)):
    """The keras-io mnist_convnet network, with Keras's own layer names, as someone would build it elsewhere."""
    import keras

    reshape = [keras.layers.Reshape((28, 28, 1))] if len(input_shape) == 2 else []
    return keras.Sequential([keras.Input(input_shape), *reshape,
                             keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                             keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(2),
                             keras.layers.Flatten(), keras.layers.Dropout(0.5),
                             keras.layers.Dense(10, activation="softmax")])


@pytest.fixture(scope="session")
def elsewhere_cnn():
    """``elsewhere_cnn(input_shape)``: that network, untrained, for a test to build its own variant."""
    return _elsewhere_cnn


@pytest.fixture(scope="session")
def elsewhere(sample, tmp_path_factory) -> Path:
    """A small CNN trained with a plain ``fit``, the way a user trains one elsewhere, saved as .keras."""
    model = _elsewhere_cnn()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(sample.x_train[..., None] / 255.0, sample.y_train, epochs=5, batch_size=64, verbose=0)
    path = tmp_path_factory.mktemp("elsewhere") / "mnist_convnet.keras"
    model.save(path)
    return path
