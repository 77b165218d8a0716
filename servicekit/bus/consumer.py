"""The consumer: inbox-idempotent handling, ack after commit, retries, dead letters.

A message is acknowledged only once its outcome is safe: handled and committed,
recognised as a duplicate, re-published to a retry queue, or parked in the
dead-letter queue (those publishes are confirmed before the ack). A worker
killed mid-handling leaves its message unacknowledged, so RabbitMQ redelivers it.

The service's database going away is not the event's fault: the consumer lets go
of the broker (its unacknowledged messages go back to the queue, no attempt
counted, nothing dead-lettered), waits until the database answers, and resumes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime

from kombu import Connection
from kombu.message import Message
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects import postgresql

import contracts

from ..db import database_unavailable, outage_reason, upsert, utcnow
from ..logging import causation_id, correlation_id
from ..metrics import BUS_HANDLED
from ..personal import scrub
from ..service import Batched, Runtime
from ..tracing import SpanKind, span
from .backoff import CONNECTION_ERRORS, Backoff, wait_for_database
from .envelope import Envelope, MalformedMessage
from .topology import declare, supports_delayed_retry, unroutable_queues

log = logging.getLogger(__name__)
BATCH_LINGER_SECONDS = 0.0005

ATTEMPT = "x-attempt"
NOT_BEFORE = "x-not-before"


def dead_letter_headers(message: Message, reason: str, attempts: int) -> dict:
    return {
        "x-dead-id": message.properties.get("message_id") or str(uuid.uuid4()),
        "x-dead-reason": scrub(reason)[:2000],
        "x-dead-at": datetime.now(UTC).isoformat(timespec="seconds"),
        "x-attempts": attempts,
        "x-original-routing-key": message.delivery_info.get("routing_key", ""),
    }


class DatabaseAway(ConnectionError):
    """The service's database became unreachable while handling: stop consuming until it is back."""


class Consumer:
    def __init__(self, runtime: Runtime, stop: threading.Event):
        self.runtime, self.stop = runtime, stop
        self.bus = runtime.settings.bus
        self.service = runtime.service
        self._record_in_inbox = inbox_recorder(runtime.engine, runtime.inbox)
        self._amqp = False
        self.tracer = runtime.tracer

    def run(self) -> None:
        backoff = Backoff()
        options = dict(self.bus.transport_options)
        if self.bus.embedded:
            options["polling_interval"] = 0.1
        else:
            options["confirm_publish"] = True  # retries and dead letters are confirmed before the ack
        while not self.stop.is_set():
            try:
                with Connection(self.bus.url, heartbeat=self.bus.heartbeat, transport_options=options) as connection:
                    connection.ensure_connection(max_retries=1)
                    self._consume(connection, backoff)
            except DatabaseAway as exc:
                log.warning(
                    "consumer paused: the database is unreachable; its messages stay on the broker",
                    extra={"reason": str(exc)},
                )
                wait_for_database(self.runtime.engine, self.stop)
                log.info("consumer resumes: the database answers again")
            except CONNECTION_ERRORS as exc:
                delay = backoff.next()
                log.warning("consumer lost the broker; reconnecting", extra={"error": repr(exc), "retry_in_s": delay})
                self.stop.wait(delay)

    def _consume(self, connection: Connection, backoff: Backoff) -> None:
        queue = declare(connection, self.bus, self.service.name, self.service.handlers)
        self._producer = connection.Producer()
        self._delayed_retry = supports_delayed_retry(connection)
        self._pending: list[tuple[Message, Envelope]] = []
        self._received: list[tuple[Callable[[Message], None], Message]] = []
        amqp = self._amqp = connection.transport.driver_type == "amqp"
        with ExitStack() as consumers:
            consumers.enter_context(
                connection.Consumer(queue, on_message=self._received_event, prefetch_count=self.bus.prefetch)
            )
            if self._delayed_retry:  # RabbitMQ: the events no queue was bound to, to be recorded
                incoming, _ = unroutable_queues(self.bus)
                consumers.enter_context(
                    connection.Consumer(
                        incoming, on_message=self._received_unroutable, prefetch_count=self.bus.prefetch
                    )
                )
            log.info("consumer ready", extra={"queue": queue.name, "events": sorted(self.service.handlers)})
            backoff.reset()
            while not self.stop.is_set():
                try:
                    # While a batch is open, take only what has arrived: under load the deliveries that came
                    # while the last batch was handled make the next batch; idle, one event waits for nothing.
                    connection.drain_events(timeout=BATCH_LINGER_SECONDS if self._pending else 1)
                except TimeoutError:
                    self._take_received()
                    if self._pending:
                        self._handle_pending()
                else:
                    self._take_received()
                if amqp:  # however busy: a silent client is taken for dead by the broker
                    connection.heartbeat_check()

    # Deliveries are only noted in the broker's callbacks and taken once drain_events has returned: a
    # confirmed publish (retry, dead letter, unroutable record) waits for its ack on the consuming channel,
    # and one made inside a callback nests in another's wait, where an ack RabbitMQ sent for both
    # (multiple=True) leaves the outer wait hanging for ever (seen: a worker handling nothing more).
    def _received_event(self, message: Message) -> None:
        self._received.append((self._on_message, message))

    def _received_unroutable(self, message: Message) -> None:
        self._received.append((self._on_unroutable, message))

    def _take_received(self) -> None:
        while self._received:
            take, message = self._received.pop(0)
            take(message)

    def _on_message(self, message: Message) -> None:
        headers = message.headers or {}
        attempt = int(headers.get(ATTEMPT, 1))
        self._wait_until(headers.get(NOT_BEFORE))
        try:
            envelope = Envelope.parse(message.body, attempt=attempt)
        except MalformedMessage as exc:
            log.error("malformed message parked", extra={"reason": str(exc)})
            self._park(message, f"malformed: {exc}", attempt)
            return
        if (refusal := self._publisher_refusal(message, envelope)) is not None:
            log.error(
                "event from a publisher not owning its type parked",
                extra={"event_id": envelope.id, "event_type": envelope.type, "reason": refusal},
            )
            self._park(message, refusal, attempt)
            return
        if envelope.type not in self.service.handlers:
            log.warning("no handler for event; dropped", extra={"event_type": envelope.type, "event_id": envelope.id})
            message.ack()
            return
        self._pending.append((message, envelope))
        if len(self._pending) >= self.bus.prefetch:
            self._handle_pending()

    def _publisher_refusal(self, message: Message, envelope: Envelope) -> str | None:
        """Why the event is not taken from whoever published it, or None (BUS_VERIFY_PUBLISHER).

        RabbitMQ refuses a message whose user_id is not the publishing connection's user, so user_id says which
        service's credentials published it: the service owning the event's type (contracts/), or this service
        itself, which republishes its own retries.
        """
        if not self.bus.verify_publisher or not self._amqp:
            return None
        owner = contracts.contract(envelope.type, envelope.version).producer
        user_id = message.properties.get("user_id")
        if user_id in {self.bus.publisher_user(owner), self.bus.publisher_user(self.service.name)}:
            return None
        return (
            f"publisher refused: {envelope.type} is {owner}'s; user_id {user_id or '(none)'!s} is not its broker user"
        )

    def _handle_pending(self) -> None:
        """Handle the open batch: optimistically in one transaction, else event by event.

        One commit for many events is what makes the consumer fast. If any
        event of the batch fails, nothing of it stuck, and each event is then
        handled in its own transaction to single out the failing ones.
        Messages are acknowledged only after their transaction committed.
        """
        batch, self._pending = self._pending, []
        started = time.perf_counter()
        try:
            self._commit([envelope for _, envelope in batch])
            failures: dict[str, Exception] = {}
        except Exception as exc:
            _raise_if_database_away(exc)
            failures = {batch[0][1].id: exc} if len(batch) == 1 else self._commit_one_by_one(batch)
        if self._amqp and not failures:
            # One frame settles the batch: deliveries are taken in the channel's order and every one before the
            # batch's last was settled already (handled in an earlier batch, dropped, parked, retried, recorded).
            batch[-1][0].ack(multiple=True)
        for message, envelope in batch:
            failed = envelope.id in failures
            if failed:
                self._after_failure(message, envelope, failures[envelope.id])
            elif not self._amqp:
                message.ack()  # kombu's filesystem transport acknowledges one message at a time
            BUS_HANDLED.labels(self.service.name, envelope.type, "failed" if failed else "handled").inc()
        log.info(
            "batch handled",
            extra={
                "events": len(batch),
                "failed": len(failures),
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )

    def _commit_one_by_one(self, batch) -> dict[str, Exception]:
        failures = {}
        for _, envelope in batch:
            try:
                self._commit([envelope])
            except Exception as exc:
                _raise_if_database_away(exc)
                failures[envelope.id] = exc
        return failures

    def _commit(self, envelopes: list[Envelope]) -> None:
        """Record the events in the inbox and run the handlers of those not seen before, in one transaction."""
        with self.runtime.unit_of_work() as uow:
            now = utcnow()
            fresh = self._record_in_inbox(uow.session, envelopes, now)
            events = []
            for envelope in envelopes:
                if envelope.id not in fresh:
                    log.info("duplicate event ignored", extra={"event_id": envelope.id, "event_type": envelope.type})
                    continue
                fresh.discard(envelope.id)  # the same event twice in one batch is handled once
                events.append(envelope)
            for run in self._runs(events):
                if len(run) == 1:
                    self._handle_one(uow, run[0])
                else:
                    self._handle_run(uow, run)
            uow.commit()

    def _runs(self, events: list[Envelope]) -> Iterator[list[Envelope]]:
        """The events in delivery order, one call each, but consecutive events of a Batched handler's type
        together: the order of handling stays the order of delivery."""
        run: list[Envelope] = []
        for envelope in events:
            if run and run[-1].type == envelope.type and isinstance(self.service.handlers[envelope.type], Batched):
                run.append(envelope)
                continue
            if run:
                yield run
            run = [envelope]
        if run:
            yield run

    def _handle_one(self, uow, envelope: Envelope) -> None:
        tokens = (correlation_id.set(envelope.correlation_id), causation_id.set(envelope.id))
        try:
            # With tracing on, a consumer span, child of the relay's publish span (envelope headers):
            # the events the handler publishes continue the trace.
            with span(
                self.tracer,
                f"{envelope.type} process",
                kind=SpanKind.CONSUMER,
                headers=envelope.headers,
                attributes={**self._span_attributes(envelope.type), "messaging.message.id": envelope.id},
            ):
                self.service.handlers[envelope.type](uow, envelope)
        finally:
            correlation_id.reset(tokens[0])
            causation_id.reset(tokens[1])

    def _handle_run(self, uow, run: list[Envelope]) -> None:
        """Consecutive events of one Batched handler's type, in one call (one span, child of the first's)."""
        handler = self.service.handlers[run[0].type]
        assert isinstance(handler, Batched)
        with span(
            self.tracer,
            f"{run[0].type} process",
            kind=SpanKind.CONSUMER,
            headers=run[0].headers,
            attributes={**self._span_attributes(run[0].type), "messaging.batch.message_count": len(run)},
        ):
            handler.handle(uow, run)

    def _span_attributes(self, event_type: str) -> dict:
        return {
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "process",
            "messaging.destination.name": event_type,
            "messaging.consumer.group.name": self.service.name,
        }

    def _after_failure(self, message: Message, envelope: Envelope, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        delays = self.bus.retry_delays_ms
        if envelope.attempt > len(delays):
            log.error(
                "event failed for the last time; parked",
                extra={
                    "event_id": envelope.id,
                    "event_type": envelope.type,
                    "attempt": envelope.attempt,
                    "reason": reason,
                },
            )
            self._park(message, reason, envelope.attempt)
            return
        delay = delays[envelope.attempt - 1]
        log.warning(
            "event failed; will retry",
            extra={
                "event_id": envelope.id,
                "event_type": envelope.type,
                "attempt": envelope.attempt,
                "retry_in_ms": delay,
                "reason": reason,
            },
        )
        headers = {ATTEMPT: envelope.attempt + 1, "x-last-error": scrub(reason)[:2000]}
        if self._delayed_retry:
            routing_key = self.bus.retry_queue(self.service.name, delay)
        else:
            routing_key = self.bus.queue(self.service.name)
            headers[NOT_BEFORE] = time.time() + delay / 1000
        self._republish(message, routing_key, headers)
        message.ack()

    def _on_unroutable(self, message: Message) -> None:
        """An event of a type no queue is bound to: loud in the log, kept in the record for replay."""
        routing_key = message.delivery_info.get("routing_key", "")
        try:
            producer = json.loads(message.body).get("producer")
        except (ValueError, AttributeError):
            producer = None
        log.error(
            "unroutable event: no queue is bound to its type; recorded",
            extra={
                "event_type": message.properties.get("type") or routing_key,
                "event_id": message.properties.get("message_id"),
                "producer": producer,
                "recorded_in": self.bus.unroutable_queue,
            },
        )
        headers = dead_letter_headers(message, f"unroutable: no queue is bound to {routing_key!r}", 0)
        self._republish(message, self.bus.unroutable_queue, headers)
        message.ack()

    def _park(self, message: Message, reason: str, attempts: int) -> None:
        self._republish(
            message, self.bus.dead_letter_queue(self.service.name), dead_letter_headers(message, reason, attempts)
        )
        message.ack()

    def _republish(self, message: Message, queue_name: str, headers: dict) -> None:
        """Straight to one queue of this service (default exchange), never to other services."""
        props = message.properties
        self._producer.publish(
            message.body,
            exchange="",
            routing_key=queue_name,
            headers=headers,
            content_type=message.content_type or "application/json",
            content_encoding=message.content_encoding or "utf-8",
            delivery_mode=2,
            message_id=props.get("message_id"),
            type=props.get("type"),
            correlation_id=props.get("correlation_id"),
            declare=[],
            **({"user_id": self.bus.user} if self._amqp and self.bus.user else {}),
        )

    def _wait_until(self, not_before) -> None:
        # Only on filesystem://, which has no delayed queues: hold the retried message until due.
        if not_before:
            remaining = float(not_before) - time.time()
            if remaining > 0:
                self.stop.wait(min(remaining, 300))


def inbox_recorder(engine, inbox):
    """A function recording a batch's events in the inbox and returning the ids recorded now (not seen before).

    On PostgreSQL one INSERT ... SELECT FROM unnest(arrays): three parameters for any batch, so the statement is
    parsed once and prepared by psycopg. Elsewhere an executemany (SQLAlchemy's insertmanyvalues), compiled
    once where a VALUES list would be compiled per batch.
    """
    if engine.dialect.name == "postgresql":
        rows = (
            func.unnest(
                bindparam("event_ids", type_=postgresql.ARRAY(inbox.c.event_id.type)),
                bindparam("types", type_=postgresql.ARRAY(inbox.c.type.type)),
            )
            .table_valued("event_id", "type")
            .render_derived()
        )
        statement = (
            postgresql.insert(inbox)
            .from_select(
                ["event_id", "type", "handled_at"],
                select(rows.c.event_id, rows.c.type, bindparam("handled_at", type_=inbox.c.handled_at.type)),
            )
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(inbox.c.event_id)
        )

        def record_as_arrays(session, envelopes: list[Envelope], now: datetime) -> set[str]:
            values = {"event_ids": [e.id for e in envelopes], "types": [e.type for e in envelopes], "handled_at": now}
            return set(session.scalars(statement, values))

        return record_as_arrays
    many = upsert(engine, inbox).on_conflict_do_nothing(index_elements=["event_id"]).returning(inbox.c.event_id)

    def record_as_rows(session, envelopes: list[Envelope], now: datetime) -> set[str]:
        return set(session.scalars(many, [{"event_id": e.id, "type": e.type, "handled_at": now} for e in envelopes]))

    return record_as_rows


def _raise_if_database_away(exc: Exception) -> None:
    if database_unavailable(exc):
        raise DatabaseAway(outage_reason(exc)) from exc
