"""Stroke → prediction latency in real Chromium, measured inside the page, plus launch → first prediction.

For each of N trials: Clear, draw one stroke, and time from the browser's mouse-up to the moment the
Prediction metric shows a digit, observed by a MutationObserver in the page (not by Playwright's
polling). A WebSocket hook splits the time: mouse-up → the drawing leaves the browser (canvas export and
component debounce), → the server's first reply (queueing and script start), → the metric in the DOM
(script, transfer and React render). Run: ``python -m bench.browser_latency [--strokes N]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
from playwright.sync_api import sync_playwright

from harness.browser import CANVAS, CHROMIUM, CHROMIUM_ARGS, clear_canvas, running_app

PROBE = """
(() => {
  window.__t = {up: null, send: null, recv: null, shown: null};
  window.addEventListener('mouseup', () => {
    window.__t = {up: performance.now(), send: null, recv: null, shown: null};
  }, true);
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (data) {
    if (window.__t.up !== null && window.__t.send === null) window.__t.send = performance.now();
    if (!this.__probed) {
      this.__probed = true;
      this.addEventListener('message', () => {
        if (window.__t.send !== null && window.__t.recv === null) window.__t.recv = performance.now();
      });
    }
    return send.call(this, data);
  };
  new MutationObserver(() => {
    const metric = document.querySelector('[data-testid=stMetricValue]');
    if (metric && window.__t.up !== null && window.__t.shown === null) window.__t.shown = performance.now();
  }).observe(document, {subtree: true, childList: true, characterData: true});
})();
"""


def _stroke(page, i: int) -> None:
    box = page.locator(CANVAS).bounding_box()
    x = box["x"] + 60 + (i % 5) * 35
    page.mouse.move(x, box["y"] + 40)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(x + k, box["y"] + 40 + k * 20)
    page.mouse.up()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strokes", type=int, default=25)
    args = parser.parse_args()
    launched = time.perf_counter()
    with tempfile.TemporaryDirectory() as data, \
            running_app({"DIGITS_DATA_DIR": data}) as url, sync_playwright() as p:
        healthy = time.perf_counter()
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 1000})
        page.add_init_script(PROBE)
        page.goto(url)
        page.locator(CANVAS).wait_for(timeout=120_000)
        ready = time.perf_counter()
        _stroke(page, 0)
        page.get_by_test_id("stMetricValue").wait_for(timeout=60_000)
        first = time.perf_counter()
        rows = []
        for i in range(args.strokes):
            clear_canvas(page)
            page.get_by_test_id("stMetricValue").wait_for(state="detached", timeout=30_000)
            _stroke(page, i)
            page.wait_for_function("window.__t.shown !== null", timeout=30_000)
            rows.append(page.evaluate("window.__t"))
        browser.close()

    def pct(values):
        return f"p50 {np.percentile(values, 50):6.0f} ms   p95 {np.percentile(values, 95):6.0f} ms"

    total = [r["shown"] - r["up"] for r in rows]
    print(f"launch → server healthy {healthy - launched:5.1f} s, → canvas on screen {ready - launched:5.1f} s, "
          f"→ first prediction {first - launched:5.1f} s")
    print(f"mouse-up → drawing sent       {pct([r['send'] - r['up'] for r in rows])}")
    print(f"sent → first server message   {pct([r['recv'] - r['send'] for r in rows])}")
    print(f"first message → metric shown  {pct([r['shown'] - r['recv'] for r in rows])}")
    print(f"stroke → prediction over {len(rows)} strokes: {pct(total)}")


if __name__ == "__main__":
    main()
