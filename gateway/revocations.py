"""Access tokens ended before their expiry: each user's `tokens_valid_after`, held in memory.

Disabling a user, resetting their password or changing their role sets the user's
`tokens_valid_after` to now (gateway.accounts); an access token issued earlier is then
refused. Reading the account on every request would cost a query each, so every gateway
process keeps a map username -> tokens_valid_after and reloads, at most every
GATEWAY_REVOCATION_REFRESH_SECONDS, only the rows changed since its last load (an indexed
range). A request costs a dict lookup; every gateway process and replica refuses a
revoked token within that interval (plus one query) of the change. The one thread that
reloads does it outside the lookups: the others keep answering from the map they have,
and the new map replaces it in one reference swap.

Rows are reloaded from a little before the last load (OVERLAP_SECONDS), since a change
stamped just before a load may commit just after it; the gateways' clocks are assumed
kept within that of each other (NTP). Entries older than a token's whole life are dropped:
no token they could refuse is still accepted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from .models import User

OVERLAP_SECONDS = 30.0

log = logging.getLogger(__name__)


class Revocations:
    def __init__(self, transaction: Callable, *, refresh_seconds: float, token_lifetime: float):
        self._transaction = transaction
        self._refresh_seconds = refresh_seconds
        self._horizon = token_lifetime + 60  # beyond any leeway on expiry
        self._valid_after: dict[str, float] = {}
        self._loaded_at: float | None = None  # wall-clock start of the last load
        self._due = 0.0  # monotonic time of the next load
        self._lock = threading.Lock()

    def valid_after(self, subject: str) -> float | None:
        """Epoch seconds before which the subject's access tokens are refused; None: none refused."""
        if self.due():
            self.reload()
        return self._valid_after.get(subject)

    def due(self) -> bool:
        """Time to reload (the proxy then reloads in a thread, so its event loop never waits on the database)."""
        return time.monotonic() >= self._due

    def reload(self) -> None:
        # Only the first load makes requests wait; later, a thread finding another at it goes on.
        if not self._lock.acquire(blocking=self._loaded_at is None):
            return
        try:
            if time.monotonic() < self._due:
                return  # reloaded while this thread waited
            self._load(time.time())
        except SQLAlchemyError:
            log.exception("revoked tokens not reloaded; retrying at the next interval")
        finally:
            self._due = time.monotonic() + self._refresh_seconds
            self._lock.release()

    def _load(self, now: float) -> None:
        oldest = now - self._horizon
        since = oldest if self._loaded_at is None else max(oldest, self._loaded_at - OVERLAP_SECONDS)
        with self._transaction() as session:
            rows = session.execute(
                select(User.username, User.tokens_valid_after).where(User.tokens_valid_after > _datetime(since))
            ).all()
        kept = {subject: at for subject, at in self._valid_after.items() if at > oldest}
        self._valid_after = kept | {username: _epoch(at) for username, at in rows}
        self._loaded_at = now


def _datetime(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _epoch(at: datetime) -> float:
    return at.replace(tzinfo=at.tzinfo or UTC).timestamp()  # SQLite gives it back naive, in UTC
