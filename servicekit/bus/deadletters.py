"""Listing, showing, replaying and dropping a service's dead letters, and the record of unroutable events.

Messages are read with basic.get and left unacknowledged, so closing the
channel puts back every one that was not replayed or dropped. A dead letter is
replayed to its service's queue; an unroutable event to the events exchange
under its type, so every queue bound to that type by now receives it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from kombu import Connection, Queue

from ..config import BusSettings
from ..progress import Progress
from .topology import dead_letter_queue, unroutable_queues


@dataclass(frozen=True)
class Parking:
    """A queue of parked messages, and where replaying one sends it: (exchange, routing key)."""

    queue: Queue
    replay_to: Callable[[DeadLetter], tuple[str, str]]


def dead_letters(bus: BusSettings, service: str) -> Parking:
    return Parking(dead_letter_queue(bus, service), lambda letter: ("", bus.queue(service)))


def unroutable(bus: BusSettings) -> Parking:
    return Parking(unroutable_queues(bus)[1], lambda letter: (bus.exchange, letter.routing_key))


@dataclass
class DeadLetter:
    dead_id: str
    event_type: str | None
    reason: str
    dead_at: str
    attempts: int
    body: str
    headers: dict

    @property
    def routing_key(self) -> str:
        return str(self.headers.get("x-original-routing-key") or self.event_type or "")

    def summary(self) -> dict:
        return {
            "id": self.dead_id,
            "type": self.event_type,
            "attempts": self.attempts,
            "dead_at": self.dead_at,
            "reason": self.reason,
        }


def _connect(bus: BusSettings) -> Connection:
    return Connection(
        bus.url,
        transport_options=dict(bus.transport_options, confirm_publish=True)
        if not bus.embedded
        else bus.transport_options,
    )


def _take_all(connection: Connection, parking: Parking):
    queue = parking.queue(connection.default_channel)
    queue.declare()
    taken = []
    while (message := queue.get(no_ack=False)) is not None:
        headers = message.headers or {}
        body = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) else str(message.body)
        taken.append(
            (
                message,
                DeadLetter(
                    dead_id=str(headers.get("x-dead-id", "")),
                    event_type=message.properties.get("type") or headers.get("x-original-routing-key"),
                    reason=str(headers.get("x-dead-reason", "")),
                    dead_at=str(headers.get("x-dead-at", "")),
                    attempts=int(headers.get("x-attempts", 0)),
                    body=body,
                    headers=dict(headers),
                ),
            )
        )
    return taken


def list_dead_letters(bus: BusSettings, parking: Parking) -> list[DeadLetter]:
    with _connect(bus) as connection:
        return [letter for _, letter in _take_all(connection, parking)]


def replay(bus: BusSettings, parking: Parking, ids: set[str] | None, show_progress: bool = False) -> list[str]:
    """Send parked messages (all when `ids` is None) where they go now, attempts reset."""
    done = []
    with _connect(bus) as connection:
        producer = connection.Producer()
        chosen = [(m, letter) for m, letter in _take_all(connection, parking) if ids is None or letter.dead_id in ids]
        progress = Progress("replay", len(chosen)) if show_progress else None
        for message, letter in chosen:
            exchange, routing_key = parking.replay_to(letter)
            producer.publish(
                message.body,
                exchange=exchange,
                routing_key=routing_key,
                declare=[],
                headers={"x-replayed-from": letter.dead_id},
                content_type=message.content_type or "application/json",
                content_encoding=message.content_encoding or "utf-8",
                delivery_mode=2,
                message_id=message.properties.get("message_id"),
                type=message.properties.get("type"),
                correlation_id=message.properties.get("correlation_id"),
                # the replaying service vouches for it (consumers check user_id: servicekit.bus.consumer)
                **({"user_id": bus.user} if bus.user else {}),
            )
            message.ack()
            done.append(letter.dead_id)
            if progress is not None:
                progress.advance()
    return done


def drop(bus: BusSettings, parking: Parking, ids: set[str]) -> list[str]:
    done = []
    with _connect(bus) as connection:
        for message, letter in _take_all(connection, parking):
            if letter.dead_id in ids:
                message.ack()
                done.append(letter.dead_id)
    return done


def pretty_body(letter: DeadLetter) -> str:
    try:
        return json.dumps(json.loads(letter.body), ensure_ascii=False, indent=2)
    except ValueError:
        return letter.body
