"""Sagas never wait silently: every request sent to another service for an answer has a deadline.

A use case that sends such a request records a wait in the same transaction
(`uow.await_answer(saga, item_id)`); the handler of the answer ends it
(`uow.answered(saga, item_id)`). The worker's sweeper asks again, idempotently,
when an answer is late (after SAGA_REASK_SECONDS, then twice as long each time),
and once an item has waited SAGA_STALL_SECONDS it is marked stalled: a WARNING
line in the log, the `saga_stalled_items` metric, and the service's
`GET /stalled` list for the federation. It is still asked now and then, and a
late answer completes it like a timely one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, DateTime, Integer, MetaData, Select, String, Table, func, select, update

from .bus.backoff import wait_for_database
from .db import UnitOfWork, database_unavailable, outage_reason, utcnow

log = logging.getLogger(__name__)

REASK_CEILING = timedelta(hours=1)  # a stalled item is still asked, at most this far apart
SWEEP_BATCH = 100


@dataclass(frozen=True)
class Saga:
    """A request/answer pair a service waits on.

    `reask(uow, item_id)` sends the request again (the receiver must treat a repeat as harmless) and
    returns False when the item no longer waits (the wait is then dropped).
    """

    name: str
    awaits: str  # what the item waits for, in operators' words
    reask: Callable[[UnitOfWork, str], bool]


def add_saga_table(metadata: MetaData) -> Table:
    return Table(
        "saga_waits",
        metadata,
        Column("saga", String(50), primary_key=True),
        Column("item_id", String(64), primary_key=True),
        Column("waiting_since", DateTime(timezone=True), nullable=False),
        Column("asks", Integer, nullable=False, default=0),  # times asked again
        Column("last_asked_at", DateTime(timezone=True)),
        Column("next_ask_at", DateTime(timezone=True), nullable=False, index=True),
        Column("stalled_at", DateTime(timezone=True)),
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)  # SQLite drops the zone


class Sweeper:
    """The worker's third thread: asks again for late answers and marks the long-waiting items stalled."""

    def __init__(self, runtime, stop: threading.Event):
        self.runtime, self.stop = runtime, stop
        self.settings = runtime.settings.sagas
        self.sagas = {saga.name: saga for saga in runtime.service.sagas}
        self.table = runtime.saga_waits

    def run(self) -> None:
        while not self.stop.wait(self.settings.sweep_seconds):
            try:
                self.sweep()
            except Exception as exc:
                if not database_unavailable(exc):
                    log.exception("saga sweep failed; trying again at the next sweep")
                    continue
                log.warning("saga sweeper paused: the database is unreachable", extra={"reason": outage_reason(exc)})
                wait_for_database(self.runtime.engine, self.stop)

    def sweep(self, now: datetime | None = None) -> dict[str, int]:
        """One pass: items asked again, items newly stalled."""
        now = now or utcnow()
        stalled = self._mark_stalled(now)
        asked = 0
        for saga, item_id in self._due(now):
            asked += self._ask_again(saga, item_id, now)
        return {"asked": asked, "stalled": stalled}

    def _mark_stalled(self, now: datetime) -> int:
        waits = self.table.c
        limit = now - timedelta(seconds=self.settings.stall_seconds)
        with self.runtime.engine.begin() as db:
            rows = db.execute(
                update(self.table)
                .where(waits.stalled_at.is_(None), waits.waiting_since <= limit)
                .values(stalled_at=now)
                .returning(waits.saga, waits.item_id, waits.waiting_since, waits.asks)
            ).all()
        for row in rows:
            log.warning(
                "saga item stalled: no answer in time",
                extra={
                    "saga": row.saga,
                    "item_id": row.item_id,
                    "awaits": self.sagas[row.saga].awaits if row.saga in self.sagas else None,
                    "waiting_since": _aware(row.waiting_since).isoformat(timespec="seconds"),
                    "asked_again": row.asks,
                },
            )
        return len(rows)

    def _due(self, now: datetime) -> list[tuple[str, str]]:
        waits = self.table.c
        with self.runtime.engine.connect() as db:
            return [
                (row.saga, row.item_id)
                for row in db.execute(
                    select(waits.saga, waits.item_id)
                    .where(waits.next_ask_at <= now)
                    .order_by(waits.next_ask_at)
                    .limit(SWEEP_BATCH)
                )
            ]

    def _ask_again(self, saga_name: str, item_id: str, now: datetime) -> bool:
        """Claim the due wait (one worker wins), then ask again in a transaction of its own.

        The wait's row is not held while the item is locked: the answer's handler locks the item, then
        ends the wait, and the same order here rules out deadlocks. A worker dying between the two steps
        skips one ask; the next comes after the new delay.
        """
        waits = self.table.c
        key = (waits.saga == saga_name) & (waits.item_id == item_id)
        with self.runtime.engine.begin() as db:
            due = db.execute(select(waits.asks).where(key, waits.next_ask_at <= now)).scalar_one_or_none()
            claimed = (
                due is not None
                and db.execute(
                    update(self.table)
                    .where(key, waits.asks == due)  # unchanged since read: no other worker asked meanwhile
                    .values(asks=due + 1, last_asked_at=now, next_ask_at=now + self._delay(due))
                ).rowcount
            )
        if not claimed:
            return False  # answered meanwhile, or another worker asked
        asks = due + 1
        saga = self.sagas.get(saga_name)
        with self.runtime.unit_of_work() as uow:
            if saga is None or not saga.reask(uow, item_id):
                uow.answered(saga_name, item_id)  # no longer waiting: the wait goes
                uow.commit()
                return False
            uow.commit()
        log.info("saga item asked again", extra={"saga": saga_name, "item_id": item_id, "asks": asks})
        return True

    def _delay(self, asked: int) -> timedelta:
        """Before the next ask, once asked `asked` times again: SAGA_REASK_SECONDS x 2^(asked+1), at most an hour."""
        return min(timedelta(seconds=self.settings.reask_seconds * 2 ** (asked + 1)), REASK_CEILING)


def waits_query(table: Table, *, stalled: bool) -> Select:
    """Waiting (or only stalled) items, for the operators' list (paged by servicekit.paging)."""
    query = select(table)
    return query.where(table.c.stalled_at.is_not(None)) if stalled else query


def wait_views(rows, sagas) -> list[dict]:
    awaits = {s.name: s.awaits for s in sagas}
    return [
        {
            "saga": row.saga,
            "item_id": row.item_id,
            "awaits": awaits.get(row.saga, ""),
            "waiting_since": _aware(row.waiting_since),
            "asks": row.asks,
            "last_asked_at": row.last_asked_at and _aware(row.last_asked_at),
            "stalled_at": row.stalled_at and _aware(row.stalled_at),
        }
        for row in rows
    ]


def counts(connection, table: Table) -> dict[str, tuple[int, int]]:
    """Per saga: (items waiting, of which stalled)."""
    waits = table.c
    rows = connection.execute(select(waits.saga, func.count(), func.count(waits.stalled_at)).group_by(waits.saga)).all()
    return {row[0]: (row[1], row[2]) for row in rows}
