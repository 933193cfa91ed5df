"""A quiet start: the server as ``make run`` starts it shows its URL, and answering the API or a drawing adds
nothing to the terminal — none of TensorFlow's C++ log lines, no Streamlit warning about threads or runtimes."""

from __future__ import annotations

import io
import urllib.request

import pytest
from PIL import Image

from harness.browser import CANVAS, as_make_run, draw_digit, free_port, running_server
from harness.synthetic_drawings import stroke_digit

playwright_api = pytest.importorskip("playwright.sync_api")


def test_the_terminal_shows_the_url_and_nothing_else(browser, monkeypatch, tmp_path):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # the tests' default: the server must set its own
    buffer = io.BytesIO()
    Image.fromarray(stroke_digit(7)).save(buffer, format="PNG")
    port = free_port()
    with running_server({"DIGITS_DATA_DIR": str(tmp_path)}, command=as_make_run(port), port=port) as (url, process):
        for mode in ("digit", "number"):  # the first request loads and compiles the model outside any page
            request = urllib.request.Request(f"{url}/api/predict?mode={mode}", data=buffer.getvalue())
            with urllib.request.urlopen(request, timeout=60) as response:
                assert b'7' in response.read()
        with urllib.request.urlopen(f"{url}/metrics", timeout=60) as response:
            assert response.status == 200
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.goto(url)
        page.locator(CANVAS).wait_for(timeout=60_000)
        draw_digit(page, 7)
        playwright_api.expect(page.get_by_test_id("stMetricValue")).to_have_text("7", timeout=30_000)
        page.close()
    output = process.stdout.read().decode()
    shown = [line.strip() for line in output.splitlines() if line.strip()]
    assert shown == ["You can now view your Streamlit app in your browser.", f"URL: http://localhost:{port}"], output
