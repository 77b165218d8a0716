"""Exchange and queues of one service: main queue, delayed retry queues, dead letters; and the record of
unroutable events (the events exchange's alternate exchange)."""

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
    return Queue(bus.unroutable_incoming, alternate, durable=True), Queue(bus.unroutable_queue, durable=True)


def supports_delayed_retry(connection: Connection) -> bool:
    # Per-queue TTL and dead-lettering are RabbitMQ features; kombu's
    # filesystem:// transport ignores them.
    return connection.transport.driver_type == "amqp"


def main_queue(bus: BusSettings, service: str, event_types) -> Queue:
    exchange = events_exchange(bus)
    return Queue(
        bus.queue(service), durable=True, bindings=[binding(exchange, routing_key=t) for t in sorted(event_types)]
    )


def retry_queues(bus: BusSettings, service: str) -> list[Queue]:
    """One queue per delay: a message waits out the queue's TTL, then goes back to the main queue."""
    return [
        Queue(
            bus.retry_queue(service, delay),
            durable=True,
            queue_arguments={
                "x-message-ttl": delay,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": bus.queue(service),
            },
        )
        for delay in bus.retry_delays_ms
    ]


def dead_letter_queue(bus: BusSettings, service: str) -> Queue:
    return Queue(bus.dead_letter_queue(service), durable=True)


def declare(connection: Connection, bus: BusSettings, service: str, event_types) -> Queue:
    """Idempotently declare everything this service consumes from; returns the main queue."""
    channel = connection.default_channel
    declare_events_exchange(connection, bus)
    queue = main_queue(bus, service, event_types)(channel)
    queue.declare()
    for extra in [*retry_queues(bus, service), dead_letter_queue(bus, service)]:
        if extra.queue_arguments and not supports_delayed_retry(connection):
            continue
        extra(channel).declare()
    return queue


def declare_events_exchange(connection: Connection, bus: BusSettings) -> None:
    """The events exchange and, on RabbitMQ, its alternate exchange with the unroutable queues."""
    channel = connection.default_channel
    if supports_delayed_retry(connection):
        for queue in unroutable_queues(bus):
            queue(channel).declare()
    events_exchange(bus)(channel).declare()
