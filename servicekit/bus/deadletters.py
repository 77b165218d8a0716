"""Listing, showing, replaying and dropping a service's dead letters.

Messages are read with basic.get and left unacknowledged, so closing the
channel puts back every one that was not replayed or dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from kombu import Connection

from ..config import BusSettings
from .topology import dead_letter_queue


@dataclass
class DeadLetter:
    dead_id: str
    event_type: str | None
    reason: str
    dead_at: str
    attempts: int
    body: str
    headers: dict

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


def _take_all(connection: Connection, bus: BusSettings, service: str):
    queue = dead_letter_queue(bus, service)(connection.default_channel)
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


def list_dead_letters(bus: BusSettings, service: str) -> list[DeadLetter]:
    with _connect(bus) as connection:
        return [letter for _, letter in _take_all(connection, bus, service)]


def replay(bus: BusSettings, service: str, ids: set[str] | None) -> list[str]:
    """Send dead letters (all when `ids` is None) back to the service's queue, attempts reset."""
    done = []
    with _connect(bus) as connection:
        producer = connection.Producer()
        for message, letter in _take_all(connection, bus, service):
            if ids is not None and letter.dead_id not in ids:
                continue
            producer.publish(
                message.body,
                exchange="",
                routing_key=bus.queue(service),
                declare=[],
                headers={"x-replayed-from": letter.dead_id},
                content_type=message.content_type or "application/json",
                content_encoding=message.content_encoding or "utf-8",
                delivery_mode=2,
                message_id=message.properties.get("message_id"),
                type=message.properties.get("type"),
                correlation_id=message.properties.get("correlation_id"),
            )
            message.ack()
            done.append(letter.dead_id)
    return done


def drop(bus: BusSettings, service: str, ids: set[str]) -> list[str]:
    done = []
    with _connect(bus) as connection:
        for message, letter in _take_all(connection, bus, service):
            if letter.dead_id in ids:
                message.ack()
                done.append(letter.dead_id)
    return done


def pretty_body(letter: DeadLetter) -> str:
    try:
        return json.dumps(json.loads(letter.body), ensure_ascii=False, indent=2)
    except ValueError:
        return letter.body
