"""The outbox relay: publishes committed events, marks them sent, never loses one.

On PostgreSQL a relay LISTENs on its service's outbox channel: every transaction that
adds to the outbox NOTIFYs it on commit (servicekit.db.UnitOfWork.publish), so events
leave without a polling delay; a slow poll (RELAY_SAFETY_POLL_SECONDS) stays as the
safety net (a notification missed while the listener reconnected, refused events due
again). On SQLite (or with RELAY_WAKE_ON_COMMIT=0) the relay polls every RELAY_POLL_SECONDS.

Several relays may run (one per worker process): on PostgreSQL each takes a
batch with `FOR UPDATE SKIP LOCKED`, so no two publish the same rows at once.
A crash between the broker's confirm and the commit republishes the batch;
consumers' inboxes make that harmless.
"""

from __future__ import annotations

import json
import logging
import threading
from contextlib import contextmanager
from datetime import timedelta
from select import select as wait_readable

import psycopg
from kombu import Connection
from sqlalchemy import delete, select, update

from ..db import among, database_unavailable, outage_reason, outbox_channel, utcnow
from ..metrics import BUS_PUBLISHED
from ..service import Runtime
from ..tracing import SpanKind, failed, span_headers, start_span
from .backoff import CONNECTION_ERRORS, Backoff, wait_for_database
from .publishing import BatchOutcome, Outgoing, publisher_for

log = logging.getLogger(__name__)

HOUSEKEEPING_EVERY = timedelta(minutes=10)
KEEP_PUBLISHED = timedelta(days=7)
KEEP_HANDLED = timedelta(days=30)


class Relay:
    def __init__(self, runtime: Runtime, stop: threading.Event):
        self.runtime, self.stop = runtime, stop
        self.bus = runtime.settings.bus
        self._next_housekeeping = utcnow()
        self.tracer = runtime.tracer

    def run(self) -> None:
        backoff = Backoff()
        while not self.stop.is_set():
            try:
                with (
                    Connection(
                        self.bus.url, heartbeat=self.bus.heartbeat, transport_options=self.bus.transport_options
                    ) as connection,
                    self._listener() as listener,
                ):
                    connection.ensure_connection(max_retries=1)
                    publisher = publisher_for(connection, self.bus)
                    log.info(
                        "relay connected", extra={"broker": connection.as_uri(), "woken_on_commit": bool(listener)}
                    )
                    backoff.reset()
                    self._pump(connection, publisher, listener)
            except Exception as exc:
                if database_unavailable(exc) or isinstance(exc, psycopg.OperationalError):
                    # Unpublished rows stay in the outbox; nothing is lost while the database is away.
                    log.warning("relay paused: the database is unreachable", extra={"reason": outage_reason(exc)})
                    wait_for_database(self.runtime.engine, self.stop)
                    log.info("relay resumes: the database answers again")
                    continue
                delay = backoff.next()
                if isinstance(exc, CONNECTION_ERRORS):
                    log.warning("relay lost the broker; retrying", extra={"error": repr(exc), "retry_in_s": delay})
                else:
                    log.exception("relay failed; retrying", extra={"retry_in_s": delay})
                self.stop.wait(delay)

    @contextmanager
    def _listener(self):
        """On PostgreSQL: a connection of its own (out of the pool) LISTENing on the service's outbox channel."""
        engine = self.runtime.engine
        if engine.dialect.name != "postgresql" or not self.bus.relay_wake_on_commit:
            yield None
            return
        pooled = engine.raw_connection()
        pooled.detach()  # never handed back to the pool: closed below, without the pool's reset
        listener = pooled.dbapi_connection
        assert isinstance(listener, psycopg.Connection)  # postgresql+psycopg, the only PostgreSQL driver
        try:
            listener.rollback()
            listener.autocommit = True
            listener.execute(f'LISTEN "{outbox_channel(self.runtime.service.name)}"')
            yield listener
        finally:
            try:
                listener.close()
            except psycopg.Error:
                pass  # a connection lost in an outage has nothing left to close

    def _pump(self, connection: Connection, publisher, listener) -> None:
        amqp = connection.transport.driver_type == "amqp"
        while not self.stop.is_set():
            sent = self.relay_batch(publisher)
            if sent < self.bus.relay_batch:
                self._housekeeping()
                if listener is not None:
                    self._await_commit(connection, listener, amqp)
                elif amqp:
                    self._idle(connection)
                else:
                    self.stop.wait(self.bus.relay_poll_seconds)

    def _idle(self, connection: Connection) -> None:
        """Wait for the next poll reading the connection: the broker's heartbeats must be read, and ours sent,
        or an idle relay's connection is taken for dead after two heartbeat intervals."""
        connection.heartbeat_check()
        try:
            connection.drain_events(timeout=self.bus.relay_poll_seconds)
        except TimeoutError:
            pass

    def _await_commit(self, connection: Connection, listener, amqp: bool) -> None:
        """Wait for a commit's notification (or the safety poll), reading the broker's heartbeats meanwhile."""
        if any(True for _ in listener.notifies(timeout=0)):
            return  # committed while the last batch was being published
        broker = connection.connection.sock if amqp else None
        watched = [listener.fileno(), *([broker] if broker is not None else [])]
        if amqp:
            connection.heartbeat_check()
        ready, _, _ = wait_readable(watched, [], [], self.bus.relay_safety_poll_seconds)
        if broker is not None and broker in ready:
            try:
                connection.drain_events(timeout=0.01)
            except TimeoutError:
                pass
        for _ in listener.notifies(timeout=0):
            pass

    def relay_batch(self, publisher) -> int:
        outbox = self.runtime.outbox
        now = utcnow()
        with self.runtime.engine.begin() as db:
            rows = db.execute(
                select(outbox.c.seq, outbox.c.event_id, outbox.c.type, outbox.c.body, outbox.c.attempts)
                .where(outbox.c.published_at.is_(None))
                .where((outbox.c.next_attempt_at.is_(None)) | (outbox.c.next_attempt_at <= now))
                .order_by(outbox.c.seq)
                .limit(self.bus.relay_batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            spans: dict = {}
            batch = [self._outgoing(row, spans) for row in rows]
            outcome = BatchOutcome([], {})
            try:
                outcome = publisher.publish(batch)
            finally:
                for event_id, current in spans.items():
                    if event_id not in outcome.published:
                        failed(current, outcome.refused.get(event_id, "not published"))
                    current.end()
            for row in rows:
                if row.event_id in outcome.published:
                    BUS_PUBLISHED.labels(self.runtime.service.name, row.type).inc()
            if outcome.published:
                db.execute(
                    update(outbox)
                    .where(among(db, outbox.c.event_id, outcome.published))
                    .values(published_at=utcnow(), attempts=outbox.c.attempts + 1, last_error=None)
                )
            for row in rows:
                if row.event_id in outcome.refused:
                    # Kept pending: the event is delivered once a queue is bound to it.
                    delay = min(5 * 2**row.attempts, 300)
                    db.execute(
                        update(outbox)
                        .where(outbox.c.seq == row.seq)
                        .values(
                            attempts=outbox.c.attempts + 1,
                            last_error=outcome.refused[row.event_id],
                            next_attempt_at=utcnow() + timedelta(seconds=delay),
                        )
                    )
                    log.warning(
                        "event refused by the broker; kept in the outbox",
                        extra={
                            "event_id": row.event_id,
                            "event_type": row.type,
                            "reason": outcome.refused[row.event_id],
                            "retry_in_s": delay,
                        },
                    )
        return len(rows)

    def _outgoing(self, row, spans: dict) -> Outgoing:
        """The row as published. With tracing on, under a producer span (into `spans`), child of the context
        of the request or handler that wrote the row; the envelope sent carries the span's own context."""
        body = json.loads(row.body)
        if self.tracer is None:
            return Outgoing(row.event_id, row.type, row.body, body.get("correlation_id"))
        current = spans[row.event_id] = start_span(
            self.tracer,
            f"{row.type} publish",
            kind=SpanKind.PRODUCER,
            headers=body.get("headers"),
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "publish",
                "messaging.destination.name": row.type,
                "messaging.message.id": row.event_id,
            },
        )
        body["headers"] = {**body.get("headers", {}), **span_headers(current)}
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        return Outgoing(row.event_id, row.type, text, body.get("correlation_id"))

    def _housekeeping(self) -> None:
        now = utcnow()
        if now < self._next_housekeeping:
            return
        self._next_housekeeping = now + HOUSEKEEPING_EVERY
        outbox, inbox = self.runtime.outbox, self.runtime.inbox
        with self.runtime.engine.begin() as db:
            db.execute(delete(outbox).where(outbox.c.published_at < now - KEEP_PUBLISHED))
            db.execute(delete(inbox).where(inbox.c.handled_at < now - KEEP_HANDLED))
        if self.runtime.idempotency_keys is not None:
            self.runtime.idempotency_keys.purge(now)
