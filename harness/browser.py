"""Helpers for the browser tests and the latency benchmark: start the app, launch Chromium, draw with the mouse."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from harness import ROOT
from harness.synthetic_drawings import STROKES

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CANVAS = "[data-testid=stBidiComponentIsolated] canvas.upper-canvas"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the app exited with {process.returncode}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        time.sleep(0.3)
    raise TimeoutError(f"{url} not healthy after {timeout} s")


def as_make_run(port: int) -> list[str]:
    """The server's command as ``make run`` gives it, on ``port``: no --server.address, so it listens on every
    interface and Streamlit's start takes the path users get (where it once looked up the machine's addresses)."""
    return [sys.executable, "-m", "streamlit", "run", "dashboard/server.py", f"--server.port={port}"]


@contextlib.contextmanager
def running_server(env: dict[str, str] | None = None, command: list[str] | None = None, cwd: Path = ROOT,
                   port: int | None = None, clean_env: bool = False, script: str = "dashboard/server.py",
                   under: Callable[[list[str]], list[str]] | None = None, **popen):
    """Start a Streamlit server, yield (its URL, its process) once /_stcore/health answers, then stop it.

    Without ``command``: ``streamlit run script`` on a free port bound to loopback. With one, it runs as
    given (it must listen on ``port``); ``clean_env`` starts from ``env`` alone instead of this environment.
    ``under`` wraps the command (``harness.outbound.traced``: the server under strace); the wrapper and the
    server then share a process group, and both are stopped (a wrapper alone would leave the server running).
    """
    if command is None:
        port = free_port()
        command = [sys.executable, "-m", "streamlit", "run", script, f"--server.port={port}",
                   "--server.address=127.0.0.1"]
    if under is not None:
        command = under(command)
        popen["start_new_session"] = True
    process = subprocess.Popen(command, cwd=cwd, env={**({} if clean_env else os.environ), **(env or {})},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **popen)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process)
        yield url, process
    finally:
        if under is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def running_app(env: dict[str, str] | None = None, **kwargs):
    """The dashboard as a user starts it (see ``running_server``); yields its URL."""
    with running_server(env, **kwargs) as (url, _):
        yield url


def draw_digit(page, digit: int, left: float = 80, top: float = 50, width: float = 110, height: float = 180) -> None:
    """Draw ``digit`` with the mouse, one stroke per polyline of the pen alphabet, inside the given box."""
    canvas = page.locator(CANVAS)
    canvas.wait_for()  # after a page switch the canvas is remounted: wait for the new one
    page.wait_for_timeout(500)  # and for fabric.js to bind its mouse handlers, or the strokes are lost
    box = canvas.bounding_box()
    for line in STROKES[digit]:
        points = [(box["x"] + left + x * width, box["y"] + top + y * height) for x, y in line]
        page.mouse.move(*points[0])
        page.mouse.down()
        for point in points[1:]:
            page.mouse.move(*point, steps=6)
        page.mouse.up()


def draw_digit_by_touch(page, digit: int, left: float = 80, top: float = 50, width: float = 110,
                        height: float = 180) -> None:
    """Draw ``digit`` with a finger: touch events (start, moves, end) per stroke, as a phone's browser sends them."""
    canvas = page.locator(CANVAS)
    canvas.wait_for()
    page.wait_for_timeout(500)
    box = canvas.bounding_box()
    cdp = page.context.new_cdp_session(page)
    for line in STROKES[digit]:
        points = [(box["x"] + left + x * width, box["y"] + top + y * height) for x, y in line]
        path = [points[0]] + [(a[0] + (b[0] - a[0]) * t / 6, a[1] + (b[1] - a[1]) * t / 6)
                              for a, b in zip(points, points[1:]) for t in range(1, 7)]
        for i, (x, y) in enumerate(path):
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove" if i else "touchStart",
                                                  "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()


def clear_canvas(page) -> None:
    """Press Clear and wait until the page shows the empty-canvas prompt again."""
    page.get_by_role("button", name="Clear").click()
    page.get_by_test_id("stMetricValue").wait_for(state="detached", timeout=30_000)
    page.get_by_text("Draw a digit on the canvas").wait_for(timeout=30_000)
