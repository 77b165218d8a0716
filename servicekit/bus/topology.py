"""Exchange and queues of one service: main queue, delayed retry queues, dead letters; and the record of
unroutable events (the events exchange's alternate exchange).

Every queue is durable, of the type BUS_QUEUE_TYPE names: `classic` (the default) or
`quorum` (replicated across a RabbitMQ cluster's nodes: what a cluster of three runs,
deploy/kubernetes). RabbitMQ refuses to redeclare a queue with another type, so the type
is chosen before the first start (see the README on moving an existing broker).
"""

from __future__ import annotations

from kombu import Connection, Exchange, Queue, binding

from ..config import BusSettings


def events_exchange(bus: BusSettings) -> Exchange:
    """The events exchange; on RabbitMQ an event no queue is bound to goes to the alternate exchange.

    Everyone declaring it must declare it alike (RabbitMQ refuses a redeclaration with other arguments):
    take it from here.
    """
    if bus.embedded:  # kombu's filesystem:// transport has no alternate exchanges
        return Exchange(bus.exchange, type="topic", durable=True)
    return Exchange(bus.exchange, type="topic", durable=True, arguments={"alternate-exchange": bus.unroutable_exchange})


def unroutable_queues(bus: BusSettings) -> tuple[Queue, Queue]:
    """Where unroutable events arrive (bound to the alternate exchange), and the record they are moved to."""
    alternate = Exchange(bus.unroutable_exchange, type="fanout", durable=True)
    return durable_queue(bus, bus.unroutable_incoming, exchange=alternate), durable_queue(bus, bus.unroutable_queue)


def supports_delayed_retry(connection: Connection) -> bool:
    # Per-queue TTL and dead-lettering are RabbitMQ features; kombu's
    # filesystem:// transport ignores them.
    return connection.transport.driver_type == "amqp"


def durable_queue(bus: BusSettings, name: str, arguments: dict | None = None, **options) -> Queue:
    """A durable queue of the configured type (classic queues are declared as before: no type argument)."""
    arguments = dict(arguments or {})
    if bus.queue_type != "classic":
        arguments["x-queue-type"] = bus.queue_type
    return Queue(name, durable=True, queue_arguments=arguments or None, **options)


def main_queue(bus: BusSettings, service: str, event_types) -> Queue:
    exchange = events_exchange(bus)
    return durable_queue(
        bus, bus.queue(service), bindings=[binding(exchange, routing_key=t) for t in sorted(event_types)]
    )


def retry_queues(bus: BusSettings, service: str) -> list[Queue]:
    """One queue per delay: a message waits out the queue's TTL, then goes back to the main queue."""
    return [
        durable_queue(
            bus,
            bus.retry_queue(service, delay),
            {"x-message-ttl": delay, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": bus.queue(service)},
        )
        for delay in bus.retry_delays_ms
    ]


def dead_letter_queue(bus: BusSettings, service: str) -> Queue:
    return durable_queue(bus, bus.dead_letter_queue(service))


def declare(connection: Connection, bus: BusSettings, service: str, event_types) -> Queue:
    """Idempotently declare everything this service consumes from; returns the main queue."""
    channel = connection.default_channel
    declare_events_exchange(connection, bus)
    queue = main_queue(bus, service, event_types)(channel)
    queue.declare()
    delayed = retry_queues(bus, service) if supports_delayed_retry(connection) else []
    for extra in [*delayed, dead_letter_queue(bus, service)]:
        extra(channel).declare()
    return queue


def declare_events_exchange(connection: Connection, bus: BusSettings) -> None:
    """The events exchange and, on RabbitMQ, its alternate exchange with the unroutable queues."""
    channel = connection.default_channel
    if supports_delayed_retry(connection):
        for queue in unroutable_queues(bus):
            queue(channel).declare()
    events_exchange(bus)(channel).declare()
