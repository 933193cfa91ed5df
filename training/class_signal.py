"""Drawing comes first: while a class queues at the canvas, a training run pauses between two batches.

The training worker already runs at Linux's lowest CPU priority (``SCHED_IDLE``), so it never takes a core from a
web server that wants it. That is not enough with a class of hundreds on a 2-core box: between two strokes the
run's matrix products evict the web servers' caches, and each stroke then runs slower. Measured with
``bench/school.py`` (250 students over 2 replicas, a Quick run started from the Train page): p95 604 ms with the
run training, 199 ms with the same run frozen.

So the web servers say when strokes are queueing (``report_busy``, from ``dashboard/stroke_gate.py``), and the
worker waits while they have said so within the last ``HOLD_S`` seconds (``wait_while_busy``). The signal is one
file's modification time in the shared data directory: every replica on the box can set it and the worker reads
it, with no service between them. A file on another host's volume works the same, only later.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from pathlib import Path

BUSY_FILE = "class_busy"
HOLD_S = 3.0
"""How long after the last report of a queue the class still counts as busy (strokes come every 1–2 s)."""
REPORT_EVERY_S = 1.0
"""A web server sets the file at most this often, however many strokes queue."""
POLL_S = 0.25


class ClassSignal:
    """The busy signal of the data directory ``root``."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / BUSY_FILE
        self._reported = -math.inf

    def report_busy(self) -> None:
        """Strokes are queueing here now. Cheap enough to call on every stroke that waited; never raises (a web
        server must not fail a stroke for it)."""
        now = time.monotonic()
        if now - self._reported < REPORT_EVERY_S:
            return
        self._reported = now
        with contextlib.suppress(OSError):
            self.path.touch()  # an existing file's modification time set to now

    def busy(self) -> bool:
        """Whether a web server reported a queue within the last HOLD_S seconds."""
        try:
            return time.time() - self.path.stat().st_mtime < HOLD_S
        except OSError:
            return False

    def wait_while_busy(self, stop: threading.Event) -> float:
        """Block while the class is busy, or until ``stop`` is set; the seconds waited."""
        started = time.monotonic()
        while self.busy() and not stop.wait(POLL_S):
            pass
        return time.monotonic() - started
