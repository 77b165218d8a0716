"""AMQP ingress of exam-result batches, for institution systems that prefer the bus to HTTPS.

Each institution gets its own RabbitMQ user (`ingress-user` command) that may
only publish, only to the ingress exchange, and only with the routing key
`results.<its institution id>` (RabbitMQ topic permissions): the broker itself
refuses a foreign routing key. The message must also carry the AMQP `user_id`
property, which RabbitMQ checks against the connected user. A message is
validated exactly like `POST /results/batches` (same schema, same use case,
and the same idempotency keys, servicekit.idempotency, the institution's user
being the caller: body `{"idempotency_key": "...", "lines": [...]}`); a refused
one is parked in `<ingress queue>.parked` with the reason, and so is one whose
handling fails unexpectedly (a poison message): parked once, with its error,
confirmed by the broker before the message is acknowledged, never requeued in a
loop. A database outage is not the message's fault: the ingress lets go of the
broker (the message goes back to the queue), waits for the database, and resumes.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import signal
import subprocess
import threading

from kombu import Connection, Exchange, Queue
from marshmallow import ValidationError, fields, validate

from servicekit.bus.backoff import CONNECTION_ERRORS, Backoff, wait_for_database
from servicekit.bus.consumer import DatabaseAway
from servicekit.bus.topology import durable_queue
from servicekit.db import database_unavailable, outage_reason
from servicekit.errors import Problem
from servicekit.idempotency import KEY_PATTERN, KEY_REUSED, InFlight, KeyReused, Stored, fingerprint
from servicekit.identity import INSTITUTION_SYSTEM, Identity
from servicekit.refusals import DomainError
from servicekit.service import Runtime

from .results import record_batch
from .schemas import ResultBatchIn

log = logging.getLogger(__name__)
ROUTING_PREFIX = "results."


class IngressBatch(ResultBatchIn):
    idempotency_key = fields.String(required=True, validate=validate.Regexp(KEY_PATTERN))


def exchange_name(runtime: Runtime) -> str:
    return f"{runtime.settings.bus.namespace}evaluation.results-in"


def user_name(runtime: Runtime, institution_id: str) -> str:
    return f"{runtime.settings.bus.namespace}institution-{institution_id}"


def queues(runtime: Runtime) -> tuple[Queue, Queue]:
    name = exchange_name(runtime)
    exchange = Exchange(name, type="topic", durable=True)
    bus = runtime.settings.bus
    return (
        durable_queue(bus, name, exchange=exchange, routing_key=f"{ROUTING_PREFIX}#"),
        durable_queue(bus, f"{name}.parked"),
    )


def connection(runtime: Runtime) -> Connection:
    bus = runtime.settings.bus
    # confirm_publish: a parked message is on the broker before the original is acknowledged
    options = bus.transport_options if bus.embedded else {**bus.transport_options, "confirm_publish": True}
    return Connection(bus.url, transport_options=options, heartbeat=bus.heartbeat)


def declare(runtime: Runtime) -> None:
    with connection(runtime) as conn:
        for queue in queues(runtime):
            queue(conn.default_channel).declare()


def grant(runtime: Runtime, institution_id: str, rabbitmqctl: list[str]) -> str:
    """Create (or reset) the institution's user; returns its new password, shown once."""
    declare(runtime)
    user, password = user_name(runtime, institution_id), secrets.token_urlsafe(24)
    with connection(runtime) as conn:
        vhost = conn.virtual_host

    def ctl(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*rabbitmqctl, *args], capture_output=True, text=True, timeout=60, check=check)

    if ctl("add_user", "--", user, password, check=False).returncode != 0:  # "--": a password may start with "-"
        ctl("change_password", "--", user, password)
    exchange = re.escape(exchange_name(runtime))
    ctl("set_permissions", "-p", vhost, user, "^$", f"^{exchange}$", "^$")  # configure, write, read
    ctl(
        "set_topic_permissions",
        "-p",
        vhost,
        user,
        exchange_name(runtime),
        f"^{re.escape(ROUTING_PREFIX + institution_id)}$",
        "^$",
    )
    return password


def handle(runtime: Runtime, routing_key: str, user_id: str | None, body: bytes) -> str | None:
    """Record one batch message; the reason it is refused, or None."""
    institution_id = routing_key[len(ROUTING_PREFIX) :] if routing_key.startswith(ROUTING_PREFIX) else ""
    if not institution_id or user_id != user_name(runtime, institution_id):
        return "The routing key must be results.<institution id> and user_id that institution's user."
    try:
        raw = json.loads(body)
        batch = IngressBatch().load(raw)
    except (ValueError, ValidationError) as exc:
        return json.dumps({"validation_failed": getattr(exc, "messages", str(exc))}, ensure_ascii=False)
    identity = Identity(subject=user_id, role=INSTITUTION_SYSTEM, institution_id=institution_id)
    key = batch["idempotency_key"]

    def record(session) -> Stored:
        with runtime.unit_of_work(session) as uow:
            answer = record_batch(uow, identity, key, batch["lines"])
            uow.commit()
        return Stored(201, {"Content-Type": "application/json"}, json.dumps(answer))

    try:  # a batch already recorded under its key is acknowledged; one still being recorded waits (InFlight)
        runtime.idempotency_keys.run_once(user_id, key, fingerprint("PUBLISH", routing_key, body), record)
    except KeyReused:
        return json.dumps({"code": KEY_REUSED.code, "detail": f"{key!r} was used for another batch."})
    except DomainError as refused:  # the use case's refusal: the institution's system is told why
        return _refusal(refused.code, refused.detail, refused.errors)
    except Problem as problem:  # servicekit's last guard (a value beyond its column), as the HTTP API answers it
        return _refusal(problem.problem.code, problem.detail, problem.errors)
    return None


def _refusal(code: str, detail: str | None, errors) -> str:
    return json.dumps({"code": code, "detail": detail, "errors": errors}, ensure_ascii=False, default=str)


def run_ingress(runtime: Runtime) -> None:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    incoming, parked = queues(runtime)
    backoff = Backoff()
    while not stop.is_set():
        conn = connection(runtime)
        try:
            with conn:
                _consume(runtime, conn, incoming, parked, stop, backoff)
        except DatabaseAway as exc:
            log.warning("ingress paused: the database is unreachable; batches stay queued", extra={"reason": str(exc)})
            wait_for_database(runtime.engine, stop)
            log.info("ingress resumes: the database answers again")
        except CONNECTION_ERRORS as exc:
            delay = backoff.next()
            log.warning("ingress connection lost, reconnecting", extra={"error": repr(exc), "retry_in_s": delay})
            stop.wait(delay)


def _consume(
    runtime: Runtime, conn: Connection, incoming: Queue, parked: Queue, stop: threading.Event, backoff: Backoff
) -> None:
    channel = conn.default_channel
    for queue in (incoming, parked):
        queue(channel).declare()
    producer = conn.Producer(channel)

    def on_message(message):
        routing_key = message.delivery_info.get("routing_key", "")
        try:
            reason = handle(runtime, routing_key, message.properties.get("user_id"), message.body)
        except InFlight:  # the same batch is being recorded (another ingress, or a claim its lease will end)
            stop.wait(1)
            message.requeue()
            return
        except Exception as exc:
            if database_unavailable(exc):
                raise DatabaseAway(outage_reason(exc)) from exc  # unacknowledged: redelivered once it is back
            log.exception("ingress batch failed; parked")
            reason = json.dumps({"code": "internal_error", "detail": f"{type(exc).__name__}: {exc}"[:1000]})
        if reason:
            log.warning("ingress batch parked", extra={"reason": reason[:500]})
            producer.publish(
                message.body,
                routing_key=parked.name,
                exchange="",
                content_type="application/json",
                delivery_mode=2,
                headers={"x-parked-reason": reason, "x-routing-key": routing_key},
            )
        message.ack()

    with conn.Consumer(incoming, on_message=on_message, prefetch_count=runtime.settings.bus.prefetch):
        log.info("ingress started", extra={"queue": incoming.name})
        backoff.reset()
        while not stop.is_set():
            try:
                conn.drain_events(timeout=1)
            except TimeoutError:
                pass
            conn.heartbeat_check()  # or the broker takes an idle ingress for dead
