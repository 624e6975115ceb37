"""Client-side rate limiting: wait *before* a request would exceed the vendor's documented limit,
instead of learning about it from a 429."""

from __future__ import annotations

import threading
import time
from collections import deque


class SlidingWindowThrottle:
    """At most `limit` requests in any `window_s` seconds, per key (e.g. app+tenant)."""

    def __init__(self, limit: int, window_s: float, *, margin: float = 0.9) -> None:
        # A margin below the limit absorbs clock skew between us and the vendor's window.
        self.limit = max(1, int(limit * margin))
        self.window_s = window_s
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """Block until one more request for `key` fits; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = time.monotonic()
                sent = self._sent.setdefault(key, deque())
                while sent and now - sent[0] >= self.window_s:
                    sent.popleft()
                if len(sent) < self.limit:
                    sent.append(now)
                    return waited
                pause = self.window_s - (now - sent[0]) + 0.001
            time.sleep(pause)
            waited += pause


class Unlimited:
    def wait(self, key: str) -> float:
        del key
        return 0.0


class Layered:
    """Several windows at once, e.g. a burst limit and a daily one: a request waits for all."""

    def __init__(self, *throttles: SlidingWindowThrottle) -> None:
        self._throttles = throttles

    def wait(self, key: str) -> float:
        return sum(throttle.wait(key) for throttle in self._throttles)
