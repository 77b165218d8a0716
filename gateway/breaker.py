"""A circuit breaker per upstream instance, per process.

Per process on purpose: each gateway worker learns within `failures` requests
that an instance is down, and sharing the state would put a database call on
the path of every forwarded request for no better answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitBreaker:
    """Closed until `failures` consecutive failures; then open for `cooldown` seconds, after which one
    trial request goes through (half-open): its success closes the circuit, its failure opens it again."""

    def __init__(
        self, failures: int, cooldown: float, clock=time.monotonic, on_change: Callable[[bool], None] | None = None
    ):
        self.failures, self.cooldown, self.clock = failures, cooldown, clock
        self.on_change = on_change or (lambda is_open: None)  # told when the circuit opens or closes
        self._consecutive = 0
        self._open_until = 0.0
        self._lock = threading.Lock()

    def allows(self) -> bool:
        with self._lock:
            if self._consecutive < self.failures:
                return True
            now = self.clock()
            if now < self._open_until:
                return False
            self._open_until = now + self.cooldown  # this caller is the trial; the others keep waiting
            return True

    def succeeded(self) -> None:
        with self._lock:
            if self._consecutive >= self.failures:
                self.on_change(False)
            self._consecutive = 0

    def failed(self) -> None:
        with self._lock:
            self._consecutive += 1
            if self._consecutive == self.failures:
                self._open_until = self.clock() + self.cooldown
                self.on_change(True)

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._consecutive >= self.failures
