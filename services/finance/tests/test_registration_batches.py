"""Registrations arriving together (the registration saga under load) are settled together
(servicekit.service.Batched): each breakdown, share and breakdown.settled as if handled one by one, a revision
of an enrolment in the same batch applied after it, a stale revision ignored."""

from __future__ import annotations

import pytest

from tests.support.processes import handled_in_batches

from .conftest import OTHER_UNIT, published, registered_event

pytestmark = pytest.mark.servers


def students() -> list[dict]:
    return [
        registered_event("skills"),
        registered_event("academic", unit_id=OTHER_UNIT, employee_id="emp-2"),
        registered_event("skills", trade="电工", unit_id=OTHER_UNIT, employee_id="emp-3"),
        registered_event("academic", employee_id="emp-4"),
    ]


def registrations(group: list[dict]) -> list[tuple[str, dict]]:
    """The students registered, then the first one's revision with another fee, then its stale first revision."""
    first = group[0]
    revised = {**first, "revision": 3, "fees": {**first["fees"], "tuition_or_training": "2000.00"}}
    stale = {**first, "revision": 1, "fees": {**first["fees"], "tuition_or_training": "9999.00"}}
    return [("enrollment.registered", student) for student in group] + [
        ("enrollment.registered", revised),
        ("enrollment.registered", stale),
    ]


def test_a_batch_of_registrations_settles_as_one_by_one_and_ignores_a_stale_revision(funded):
    response = funded.client.put(
        f"/units/{OTHER_UNIT}/policy",
        headers=funded.unit(OTHER_UNIT),
        json={"academic_mode": "match", "unit_share_timing": "on_enrolment"},
    )
    assert response.status_code == 200
    tap = funded.stack.tap("breakdown.settled")
    batched, one_by_one = students(), students()
    log_start = len(funded.worker.log())

    batched_events = funded.stack.publish_many(registrations(batched))  # a burst, as enrollment sends under load
    funded.wait_handled([event.id for event in batched_events])
    assert handled_in_batches(funded.worker, log_start), "the registrations were handled one by one"
    one_by_one_events = [funded.deliver(event)[0] for event in registrations(one_by_one)]

    settled = published(funded.stack, tap, 10)
    assert len(settled) == 10  # four registrations and one revision each time; nothing for the stale revision
    for group, sent in ((batched, batched_events), (one_by_one, one_by_one_events)):
        causes = {event.id: event.data["enrolment_id"] for event in sent}
        mine = [event for event in settled if event["causation_id"] in causes]
        assert [causes[event["causation_id"]] for event in mine] == [s["enrolment_id"] for s in group] + [
            group[0]["enrolment_id"]
        ]
        assert all(event["data"]["enrolment_id"] == causes[event["causation_id"]] for event in mine)

    def outcome(group: list[dict]) -> list:
        """What each student's enrolment came to, named by its place in the group."""
        found = []
        for student in group:
            breakdown = funded.get(f"/enrolments/{student['enrolment_id']}/breakdown", funded.federation)
            unit_shares = funded.owed(student["enrolment_id"], share="unit", unit_id=student["unit_id"])
            found.append(
                (
                    {name: value for name, value in breakdown.items() if name not in ("enrolment_id", "employee_id")},
                    [(row["amount"], row["status"]) for row in unit_shares],
                )
            )
        return found

    def announced(group: list[dict]) -> list[dict]:
        ids = [s["enrolment_id"] for s in group]
        return [
            {**event["data"], "enrolment_id": ids.index(event["data"]["enrolment_id"])}
            for event in settled
            if event["data"]["enrolment_id"] in ids
        ]

    assert outcome(batched) == outcome(one_by_one)
    assert announced(batched) == announced(one_by_one)
    first, *_ = outcome(batched)
    assert (first[0]["revision"], first[0]["lines"][0]["amount"]) == (2, "2000.00")  # the revision, not the stale
    # the other unit owes its own share on enrolment, the first unit on certification
    assert [[status for _, status in shares] for _, shares in outcome(batched)] == [[], ["payable"], ["payable"], []]
    assert funded.invariants()["passed"]
