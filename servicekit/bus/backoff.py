"""Growing delays for reconnecting to the broker or the database."""

from __future__ import annotations

import random
import threading

import amqp.exceptions
import kombu.exceptions
import sqlalchemy.exc
from sqlalchemy import Engine, text

from ..db import database_unavailable

# What a broken broker or database connection raises; anything in here is
# worth a reconnect rather than a crash.
CONNECTION_ERRORS = (
    OSError,
    amqp.exceptions.AMQPError,
    kombu.exceptions.OperationalError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
)


class Backoff:
    def __init__(self, first: float = 0.2, factor: float = 2.0, ceiling: float = 10.0):
        self.first, self.factor, self.ceiling = first, factor, ceiling
        self._current = first

    def reset(self) -> None:
        self._current = self.first

    def next(self) -> float:
        delay = self._current
        self._current = min(self._current * self.factor, self.ceiling)
        return delay * random.uniform(0.8, 1.2)


def wait_for_database(engine: Engine, stop: threading.Event) -> None:
    """Return once the database answers again (or `stop` is set), probing it with growing delays."""
    backoff = Backoff(first=0.5, ceiling=5.0)
    while not stop.is_set():
        try:
            with engine.connect() as db:
                db.execute(text("SELECT 1"))
            return
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            stop.wait(backoff.next())
