"""Nothing leaves the machine unless asked: the server as ``make run`` starts it, every page used in Chromium,
the API, the training worker the server starts and the command lines — all under strace (``harness.outbound``)
— connect to nothing but loopback; and Chromium fetches nothing from anywhere but the server."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
from PIL import Image

from harness import ROOT
from harness.browser import CANVAS, as_make_run, draw_digit, free_port, running_server
from harness.outbound import outbound, strace_missing, traced
from harness.synthetic_drawings import stroke_digit

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
TIMEOUT = 60_000
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module", autouse=True)
def _strace():
    if why := strace_missing():
        if os.environ.get("REQUIRE_STRACE"):
            pytest.fail(why)
        pytest.skip(f"{why}: the outbound-connection watch is skipped")


def run_traced(log, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m <args>`` from the repository under strace, as a user runs the command lines."""
    return subprocess.run(traced([sys.executable, "-m", *args], log), cwd=ROOT, capture_output=True, text=True,
                          timeout=600)


def test_the_watch_sees_a_connection_that_leaves(tmp_path):
    log = tmp_path / "probe.log"
    probe = ("import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect(('192.0.2.1', 9)); "
             "t = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); t.connect(('::1', 9))")
    subprocess.run(traced([sys.executable, "-c", probe], log), check=True, timeout=60)
    found = outbound(log)
    assert len(found) == 1 and "192.0.2.1" in found[0], "the documentation address counts, ::1 does not"


def test_the_server_its_pages_api_and_worker_connect_to_nothing_but_loopback(browser, tmp_path):
    log, port = tmp_path / "server.log", free_port()
    env = {"DIGITS_DATA_DIR": str(tmp_path / "data"), "DIGITS_WORKER_IDLE_EXIT": "5"}
    with running_server(env, command=as_make_run(port), port=port, under=lambda command: traced(command, log)) as (
            url, _):
        context = browser.new_context(viewport={"width": 1300, "height": 1000})
        fetched_elsewhere: list[str] = []
        context.on("request", lambda request: fetched_elsewhere.append(request.url)
                   if urlsplit(request.url).hostname not in LOCAL_HOSTS and request.url.startswith("http") else None)
        page = context.new_page()
        page.on("websocket", lambda ws: fetched_elsewhere.append(ws.url)
                if urlsplit(ws.url).hostname not in LOCAL_HOSTS else None)
        page.goto(url)
        page.locator(CANVAS).wait_for(timeout=TIMEOUT)
        draw_digit(page, 7)
        expect(page.get_by_test_id("stMetricValue")).to_have_text("7", timeout=TIMEOUT)
        page.get_by_role("link", name="Inspect", exact=True).click()
        expect(page.get_by_test_id("stImageCaption").filter(has_text="Model input").first).to_be_visible(
            timeout=TIMEOUT)
        page.get_by_role("link", name="Experiment", exact=True).click()
        expect(page.get_by_text(re.compile(r"^Changed: L∞ distance"))).to_be_visible(timeout=TIMEOUT)
        page.get_by_role("link", name="My drawings", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("My drawings", timeout=TIMEOUT)
        page.get_by_role("link", name="Train", exact=True).click()  # a run trains in the worker the server starts
        expect(page.get_by_text("bundled MNIST sample")).to_be_visible(timeout=TIMEOUT)
        for label, value in (("Epochs", 1), ("Train size", 1000)):
            page.get_by_label(label, exact=True).fill(str(value))
            page.get_by_label(label, exact=True).press("Tab")
        page.get_by_role("button", name="Start training").click()
        expect(page.get_by_text("Run “run”: finished")).to_be_visible(timeout=180_000)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        context.close()

        Image.fromarray(stroke_digit(3)).save(tmp_path / "three.png")
        request = urllib.request.Request(f"{url}/api/predict", data=(tmp_path / "three.png").read_bytes())
        with urllib.request.urlopen(request, timeout=60) as response:
            assert b'"digit":3' in response.read()
        with urllib.request.urlopen(f"{url}/metrics", timeout=60) as response:
            assert b"digits_predictions_total" in response.read()
        with pytest.raises(urllib.error.HTTPError, match="405"):
            urllib.request.urlopen(f"{url}/api/predict", timeout=60)
    # The server's accepted connections (the browser's, the API calls'): the watch was on the server. (Its
    # answers are not looked for: under uvloop they go out with write(), not sendto().)
    assert re.search(r"accept4?\(\d+, .*\) = \d+$", log.read_text(), re.M), "strace watched the server accept"
    assert not (leaving := outbound(log)), "\n".join(leaving)
    assert not fetched_elsewhere, "Chromium fetched from elsewhere: " + " ".join(fetched_elsewhere)


def test_the_command_lines_connect_to_nothing_but_loopback(tmp_path):
    Image.fromarray(stroke_digit(4)).save(tmp_path / "four.png")
    model = tmp_path / "tiny.keras"
    runs = {
        "predict": ("model.predict", str(tmp_path / "four.png")),
        "explain": ("model.explain", "--list-layers"),
        "train": ("training.train", "--epochs", "1", "--train-size", "500", "--output", str(model)),
        "evaluate": ("training.evaluate", "--model", str(model)),
    }
    for name, args in runs.items():
        log = tmp_path / f"{name}.log"
        result = run_traced(log, *args)
        assert result.returncode == 0, f"{name}: {result.stderr[-2000:]}"
        assert not (leaving := outbound(log)), f"{name}: " + "\n".join(leaving)
