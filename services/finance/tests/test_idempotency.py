"""Money-moving requests are idempotent per caller (Idempotency-Key), on PostgreSQL with concurrent callers."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.support.processes import wait_for

from .conftest import INSTITUTION, OTHER_INSTITUTION, published, registered_event

pytestmark = pytest.mark.servers

PAYMENT = {"amount": "2530.00", "paid_on": "2013-11-22", "reference": "POS-1"}


def enrolled(funded, institution: str = INSTITUTION) -> str:
    registered = registered_event("skills", institution_id=institution, employee_id=f"emp-{institution}")
    funded.deliver(("enrollment.registered", registered))
    return registered["enrolment_id"]


def pay(funded, enrolment_id: str, key: str | None, institution: str = INSTITUTION, client=None, **change):
    operator = funded.caller("institution_operator", subject=f"{institution}.operator", institution_id=institution)
    headers = operator | ({"Idempotency-Key": key} if key else {})
    return (client or funded.client).post(
        f"/enrolments/{enrolment_id}/payments", json=PAYMENT | change, headers=headers
    )


def pending(funded, event_type: str) -> int:
    outbox = funded.stack.runtime.outbox
    unpublished = select(func.count()).where(outbox.c.type == event_type, outbox.c.published_at.is_(None))
    with funded.stack.runtime.engine.connect() as db:
        return db.execute(unpublished).scalar_one()


def paid(funded, enrolment_id: str) -> tuple[str, list[str]]:
    breakdown = funded.get(f"/enrolments/{enrolment_id}/breakdown", funded.federation)
    payments = funded.get("/payments", funded.federation, enrolment_id=enrolment_id)
    return breakdown["paid"], [p["amount"] for p in payments]


def test_two_institutions_using_the_same_key_both_succeed_independently(funded):
    ours, theirs = enrolled(funded), enrolled(funded, OTHER_INSTITUTION)
    first = pay(funded, ours, "2013-11-22-1")
    second = pay(funded, theirs, "2013-11-22-1", OTHER_INSTITUTION)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.headers["Idempotent-Replayed"] == "false"
    assert first.get_json()["payment_id"] != second.get_json()["payment_id"]
    assert paid(funded, ours) == paid(funded, theirs) == ("2530.00", ["2530.00"])


def test_a_retried_payment_pays_once_and_answers_the_same(funded):
    tap = funded.stack.tap("payment.recorded")
    enrolment_id = enrolled(funded)
    first = pay(funded, enrolment_id, "pos-1")
    retried = pay(funded, enrolment_id, "pos-1")  # the answer was lost: the till sends it again
    assert retried.status_code == first.status_code == 201
    assert retried.get_json() == first.get_json()
    assert (retried.headers["Content-Type"], retried.headers["Idempotent-Replayed"]) == ("application/json", "true")
    assert paid(funded, enrolment_id) == ("2530.00", ["2530.00"])
    [event] = published(funded.stack, tap, 1)
    assert event["data"]["payment_id"] == first.get_json()["payment_id"]

    changed = pay(funded, enrolment_id, "pos-1", amount="1.00")
    assert (changed.status_code, changed.get_json()["code"]) == (422, "idempotency_key_reused")
    missing = pay(funded, enrolment_id, None)
    assert (missing.status_code, missing.get_json()["code"]) == (400, "idempotency_key_required")
    assert paid(funded, enrolment_id) == ("2530.00", ["2530.00"])
    wait_for(lambda: not pending(funded, "payment.recorded"), message="the outbox relayed")
    assert funded.stack.drain(tap) == [], "published once"


def test_concurrent_requests_with_one_key_pay_once(funded):
    enrolment_id = enrolled(funded)
    start, answers = threading.Barrier(8), []

    def till():
        client = funded.stack.app.test_client()
        start.wait()
        response = pay(funded, enrolment_id, "pos-concurrent", client=client)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=till) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(answers) == 8
    assert {status for status, _ in answers} <= {201, 409}
    assert all(body["code"] == "idempotency_request_in_flight" for status, body in answers if status == 409)
    assert len({body["payment_id"] for status, body in answers if status == 201}) == 1
    assert paid(funded, enrolment_id) == ("2530.00", ["2530.00"])
    assert funded.invariants()["passed"]


def test_many_payments_in_one_request_each_recorded_or_refused_and_a_retry_pays_nothing_twice(funded):
    ours, other, theirs = enrolled(funded), enrolled(funded), enrolled(funded, OTHER_INSTITUTION)
    operator = funded.caller("institution_operator", subject=f"{INSTITUTION}.operator", institution_id=INSTITUTION)
    items = [
        {"enrolment_id": ours, **PAYMENT},
        {"enrolment_id": theirs, **PAYMENT},  # another institution's student: not found for this one
        {"enrolment_id": other, **PAYMENT, "amount": "1000.00"},
    ]

    def send(key: str, body: dict):
        return funded.client.post("/payments/record", json=body, headers=operator | {"Idempotency-Key": key})

    answer = send("bulk-1", {"items": items})
    assert answer.status_code == 200, answer.get_json()
    report = answer.get_json()
    assert (report["done"], report["refused"]) == (2, 1)
    assert [(r["id"], r["outcome"]) for r in report["results"]] == [
        (ours, "done"),
        (theirs, "refused"),
        (other, "done"),
    ]
    assert report["results"][1]["code"] == "not_found"
    retried = send("bulk-1", {"items": items})
    assert retried.get_json() == report and retried.headers["Idempotent-Replayed"] == "true"
    assert paid(funded, ours) == ("2530.00", ["2530.00"]) and paid(funded, other) == ("1000.00", ["1000.00"])
    assert paid(funded, theirs) == ("0.00", [])
    too_many = send("bulk-2", {"items": [items[0]] * 501})
    assert too_many.status_code == 422 and "items" in too_many.get_json()["errors"]
