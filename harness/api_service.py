"""Start the prediction service (``dashboard/api_service.py``) as ``make serve-api`` does, on a free loopback
port, for the tests and benchmarks that need a real one."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

from harness import ROOT
from harness.browser import free_port


def service_command(port: int, workers: int | None = None) -> list[str]:
    """``make serve-api``'s command on ``port`` (bound to loopback: tests and benchmarks reach nothing else)."""
    return [sys.executable, "-m", "dashboard.api_service", "--host", "127.0.0.1", "--port", str(port),
            *([] if workers is None else ["--workers", str(workers)])]


@contextlib.contextmanager
def running_api_service(env: dict[str, str] | None = None, workers: int | None = None,
                        timeout: float = 120) -> Iterator[str]:
    """Yield the service's URL once it answers ``/health`` (a worker has its model; the others may still be
    loading theirs); stop it and its workers afterwards."""
    port = free_port()
    process = subprocess.Popen(service_command(port, workers), cwd=ROOT, env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _healthy(url):
            if process.poll() is not None:
                raise RuntimeError(f"the prediction service exited with {process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url}/health not answering after {timeout} s")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()  # uvicorn's supervisor stops its workers on SIGTERM
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.read() == b"ok"
    except OSError:
        return False
