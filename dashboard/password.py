"""The admin password check: constant-time, and slower after every few wrong tries from one client.

Only a digest of each try is compared (``hmac.compare_digest`` on SHA-256 digests, so neither the time
taken nor the length of the try says anything about the password). After ``FREE_TRIES`` wrong tries a
client must wait, twice as long after each further wrong try (up to ``MAX_WAIT_S``); a right password
resets its count. Nothing here logs or keeps a try.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass

FREE_TRIES = 3
MAX_WAIT_S = 300.0


@dataclass
class _Failures:
    count: int = 0
    retry_at: float = 0.0


class PasswordGate:
    """Checks tries against one password, keeping a wrong-try count per client (e.g. its address)."""

    def __init__(self, password: str):
        self._digest = hashlib.sha256(password.encode()).digest()
        self._failures: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    def wait_s(self, client: str) -> float:
        """Seconds before ``client`` may try again (0: now)."""
        with self._lock:
            failures = self._failures.get(client)
            return max(0.0, failures.retry_at - time.monotonic()) if failures else 0.0

    def check(self, client: str, attempt: str) -> bool:
        """Whether ``attempt`` is the password. A client that must wait gets False without a comparison."""
        if self.wait_s(client) > 0:
            return False
        right = hmac.compare_digest(hashlib.sha256(attempt.encode()).digest(), self._digest)
        with self._lock:
            if right:
                self._failures.pop(client, None)
                return True
            failures = self._failures.setdefault(client, _Failures())
            failures.count += 1
            if failures.count >= FREE_TRIES:
                failures.retry_at = time.monotonic() + min(MAX_WAIT_S, 2.0 ** (failures.count - FREE_TRIES))
            return False
