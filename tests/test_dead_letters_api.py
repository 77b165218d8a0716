"""A service's dead letters over HTTP (servicekit/deadletters_api.py) on the real RabbitMQ: listed in place, replayed
to the service's queue with a reason (audited), the auditor reads only."""

from __future__ import annotations

import uuid

import pytest
from kombu import Queue

from servicekit.bus.topology import dead_letter_queue

pytestmark = pytest.mark.servers


def park(stack, dead_id: str, event_type: str, reason: str) -> None:
    """A message as the worker parks one (servicekit.bus.consumer): in the dead-letter queue, with its headers."""
    with stack.connection() as connection:
        queue = dead_letter_queue(stack.bus, stack.service.name)(connection.default_channel)
        queue.declare()
        connection.Producer().publish(
            b'{"id": "%s", "type": "%s"}' % (dead_id.encode(), event_type.encode()),
            exchange="",
            routing_key=queue.name,
            content_type="application/json",
            content_encoding="utf-8",
            message_id=dead_id,
            type=event_type,
            headers={
                "x-dead-id": dead_id,
                "x-dead-reason": reason,
                "x-dead-at": "2026-12-03T08:00:00+00:00",
                "x-attempts": 3,
            },  # fmt: skip
            declare=[],
        )


def test_dead_letters_are_listed_in_place_and_replayed_with_a_reason_audited(stack_of):
    stack = stack_of("evaluation")
    admin, auditor = stack.as_caller("federation_admin", "ops.admin"), stack.as_caller("auditor")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    park(stack, first, "enrollment.completed", "ValueError: no such class")
    park(stack, second, "finance.settled", "KeyError: amount")

    listed = stack.client.get("/dead-letters?count=true", headers=auditor)
    assert listed.status_code == 200 and listed.headers["X-Total-Count"] == "2"
    assert {(d["id"], d["type"], d["attempts"]) for d in listed.get_json()} == {
        (first, "enrollment.completed", 3),
        (second, "finance.settled", 3),
    }
    assert len(stack.client.get("/dead-letters", headers=admin).get_json()) == 2  # listing leaves them parked
    [only] = stack.client.get("/dead-letters?type=finance.settled", headers=admin).get_json()
    assert only["id"] == second

    assert (
        stack.client.post("/dead-letters/replay", json={"ids": [first], "reason": "x"}, headers=auditor).status_code
        == 403
    )
    refused = stack.client.post("/dead-letters/replay", json={"ids": [first]}, headers=admin)
    assert refused.status_code == 422 and "reason" in refused.get_json()["errors"]

    done = stack.client.post(
        "/dead-letters/replay", json={"ids": [first, "no-such-letter"], "reason": "班级数据已修复"}, headers=admin
    )
    assert done.status_code == 200 and done.get_json() == {"replayed": [first]}
    assert [d["id"] for d in stack.client.get("/dead-letters", headers=admin).get_json()] == [second]
    with stack.connection() as connection:  # back in the service's own queue (no worker runs here)
        main = Queue(stack.bus.queue(stack.service.name))(connection.default_channel)
        message = main.get(no_ack=True)
        assert message is not None and message.properties["message_id"] == first
        assert message.headers["x-replayed-from"] == first

    [entry] = stack.client.get("/audit?action=dead_letters.replayed", headers=admin).get_json()
    assert entry["actor_id"] == "ops.admin" and entry["reason"] == "班级数据已修复"
    assert entry["after"] == {"replayed": [first]}
