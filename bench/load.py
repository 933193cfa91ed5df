"""A class drawing at once: N real Chromium sessions, each drawing a stroke every ~1.5 s.

Reports, per round, mouse-up → page updated (p50/p95, measured inside each page by a MutationObserver
that waits for the answer to change), strokes never answered, exceptions shown, and the web server's
own CPU time per stroke (from /proc, so a training worker's CPU is not counted). Three rounds, each
against a freshly started server on loopback:

    canvas-only  bench/canvas_only_app.py — the same canvas and a metric: the yardstick
    draw         the dashboard's Draw page
    draw+train   the Draw page while a Quick run trains, started from the Train page (which stays open,
                 polling its progress, as a teacher's would)

Sessions are browser contexts of one Chromium driven by Playwright's async API, in the manner of
Streamlit's own e2e load-testing harness. Every N strokes a session resets its canvas with the
component's toolbar, so strokes keep adding ink. The server's RSS before and after each round shows
whether memory stays flat (``--strokes 84`` with 6 sessions is a 500-stroke soak).

Run: ``python -m bench.load [--sessions 6] [--strokes 12] [--rounds canvas-only,draw,draw+train]``.
Training uses the full MNIST when ``DIGITS_MNIST_DIR`` (or ``--mnist``) points at it, else the sample.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import async_playwright

from harness.browser import CANVAS, CHROMIUM, CHROMIUM_ARGS, ROOT, running_server

ANSWER_TIMEOUT_MS = 10_000
RESET_EVERY = 10
PROBE = """
(() => {
  const signature = () => Array.from(document.querySelectorAll(
      '[data-testid=stMetricValue], [data-testid=stImage] img')).map(e => e.src || e.textContent).join('|');
  window.__stroke = {up: null, shown: null, before: null};
  window.__strokeDown = () => { window.__stroke = {up: null, shown: null, before: signature()}; };
  window.addEventListener('mouseup', () => { window.__stroke.up = performance.now(); }, true);
  new MutationObserver(() => {
    const s = window.__stroke;
    if (s.up !== null && s.shown === null && signature() !== s.before) s.shown = performance.now();
  }).observe(document, {subtree: true, childList: true, characterData: true, attributes: true,
                        attributeFilter: ['src']});
})();
"""


@dataclass
class Round:
    name: str
    latencies_ms: list[float] = field(default_factory=list)
    unanswered: int = 0
    exceptions: int = 0
    cpu_s: float = 0.0
    rss_mb: tuple[float, float] = (0.0, 0.0)

    @property
    def strokes(self) -> int:
        return len(self.latencies_ms) + self.unanswered

    def line(self) -> str:
        lat = np.array(self.latencies_ms or [np.nan])
        return (f"{self.name:<12} {self.strokes:4d} strokes  p50 {np.percentile(lat, 50):6.0f} ms  "
                f"p95 {np.percentile(lat, 95):6.0f} ms  unanswered {self.unanswered:3d}  exceptions {self.exceptions}  "
                f"server CPU {1000 * self.cpu_s / max(self.strokes, 1):6.1f} ms/stroke  "
                f"RSS {self.rss_mb[0]:.0f} → {self.rss_mb[1]:.0f} MB")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


async def stroke(page, box: dict, i: int) -> None:
    """A short slanted line at one of 10 spots, so every stroke adds ink somewhere new."""
    x = box["x"] + 40 + (i % 5) * 45
    y = box["y"] + 40 + ((i // 5) % 2) * 110
    await page.evaluate("window.__strokeDown()")
    await page.mouse.move(x, y)
    await page.mouse.down()
    for k in range(1, 9):
        await page.mouse.move(x + 3 * k, y + 10 * k)
    await page.mouse.up()


async def open_session(context, url: str):
    """A student's page with one stroke drawn and answered (and reset): later strokes find everything loaded."""
    page = await context.new_page()
    await page.add_init_script(PROBE)
    await page.goto(url)
    canvas = page.locator(CANVAS)
    await canvas.wait_for(timeout=180_000)
    await page.wait_for_timeout(1500)  # fabric.js binds its mouse handlers
    await stroke(page, await canvas.bounding_box(), 0)
    await page.wait_for_function("window.__stroke.shown !== null", timeout=120_000)
    await reset_canvas(page)
    return page


async def reset_canvas(page) -> None:
    await page.get_by_title("Reset canvas & history").click()
    await page.wait_for_timeout(800)


async def draw(page, strokes: int, period: float, delay: float, result: Round) -> None:
    """``strokes`` strokes, one every ``period`` seconds (or when the last is answered, if later)."""
    await asyncio.sleep(delay)
    box = await page.locator(CANVAS).bounding_box()
    for i in range(strokes):
        started = time.monotonic()
        if i and i % RESET_EVERY == 0:
            await reset_canvas(page)
        await stroke(page, box, i)
        try:
            await page.wait_for_function("window.__stroke.shown !== null", timeout=ANSWER_TIMEOUT_MS)
            timing = await page.evaluate("window.__stroke")
            result.latencies_ms.append(timing["shown"] - timing["up"])
        except PlaywrightTimeout:
            result.unanswered += 1
        await asyncio.sleep(max(0.0, period - (time.monotonic() - started)))
    result.exceptions += await page.get_by_test_id("stException").count()


async def start_training(context, url: str) -> object:
    """Open the Train page like a teacher and start the Quick preset; the page stays open."""
    page = await context.new_page()
    await page.goto(f"{url}/train")
    await page.get_by_role("button", name="Start training").click(timeout=180_000)
    await page.get_by_text("Epoch 1/").wait_for(timeout=300_000)  # the worker has loaded MNIST and is training
    return page


async def run_round(name: str, script: str, env: dict[str, str], args) -> Round:
    result = Round(name)
    with running_server(env, script=script) as (url, server):
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            trainer = await start_training(await browser.new_context(), url) if name == "draw+train" else None
            contexts = [await browser.new_context(viewport={"width": 1300, "height": 1000})
                        for _ in range(args.sessions)]
            # Every session loaded and answered once first (model loading is not a stroke's cost), then
            # the drawing alone is measured, sessions staggered across the period.
            pages = await asyncio.gather(*(open_session(c, url) for c in contexts))
            cpu, rss = cpu_seconds(server.pid), rss_mb(server.pid)
            await asyncio.gather(*(draw(page, args.strokes, args.period, i * args.period / args.sessions, result)
                                   for i, page in enumerate(pages)))
            result.cpu_s = cpu_seconds(server.pid) - cpu
            result.rss_mb = (rss, rss_mb(server.pid))
            if trainer is not None:
                result.exceptions += await trainer.get_by_test_id("stException").count()
                still = await trainer.get_by_text("Epoch ").count()
                print(f"  (training was {'still running' if still else 'over'} when the drawing ended)")
                stop = trainer.get_by_role("button", name="Stop")
                if await stop.count():
                    await stop.click()
            await browser.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--strokes", type=int, default=12, help="strokes per session")
    parser.add_argument("--period", type=float, default=1.5, help="seconds between one session's strokes")
    parser.add_argument("--rounds", default="canvas-only,draw,draw+train")
    shared_mnist = ROOT.parent / "shared/data/mnist"
    parser.add_argument("--mnist", default=os.environ.get("DIGITS_MNIST_DIR") or
                        (str(shared_mnist) if shared_mnist.is_dir() else ""))
    args = parser.parse_args()
    scripts = {"canvas-only": "bench/canvas_only_app.py", "draw": "dashboard/server.py",
               "draw+train": "dashboard/server.py"}
    print(f"{args.sessions} Chromium sessions × {args.strokes} strokes, one every {args.period} s; "
          f"training data: {args.mnist or 'bundled sample'}")
    rounds = []
    for name in args.rounds.split(","):
        with tempfile.TemporaryDirectory() as data:
            env = {"DIGITS_DATA_DIR": data, "DIGITS_MNIST_DIR": args.mnist}
            rounds.append(asyncio.run(run_round(name, scripts[name], env, args)))
        print(rounds[-1].line(), flush=True)
    base = next((r for r in rounds if r.name == "canvas-only"), None)
    if base is not None and base.strokes:
        for r in rounds:
            if r is not base and r.strokes:
                ratio = (r.cpu_s / r.strokes) / (base.cpu_s / base.strokes)
                print(f"server CPU per stroke, {r.name} vs canvas-only: {ratio:.2f}×")


if __name__ == "__main__":
    main()
