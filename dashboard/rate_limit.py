"""Requests per client per minute, counted in this process (a sliding window of the last 60 s).

Each web server counts its own: behind the load balancer a client that reaches two replicas gets the
limit on each. That is a speed bump for a public demo, not accounting.
"""

from __future__ import annotations

import threading
import time
from collections import deque

WINDOW_S = 60.0
_MAX_CLIENTS = 10_000
"""Forget idle clients' windows once this many are remembered (memory stays bounded under a scan)."""


class RateLimiter:
    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> float:
        """Count a request from ``client``: 0 if it may go ahead, else the seconds until it may (not counted)."""
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > _MAX_CLIENTS:
                self._seen = {c: times for c, times in self._seen.items() if times and times[-1] > now - WINDOW_S}
            times = self._seen.setdefault(client, deque())
            while times and times[0] <= now - WINDOW_S:
                times.popleft()
            if len(times) >= self.per_minute:
                return times[0] + WINDOW_S - now
            times.append(now)
            return 0.0
