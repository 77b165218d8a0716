"""What finance holds about an employee (GET /me/data), and how it follows enrollment's anonymisation (PIPL):
the enrolments re-keyed to an id that links to no one, the bank accounts dropped, the money unchanged."""

from __future__ import annotations

import pytest

from .conftest import certificate_event, registered_event

pytestmark = pytest.mark.servers


def test_an_employees_data_and_their_anonymisation(funded):
    funded.transfer("318000.00")
    student, other = registered_event("skills", employee_id="emp-a"), registered_event("skills", employee_id="emp-b")
    funded.registered_and_paid(student, other)
    funded.deliver(("certificate.issued", certificate_event(student)), ("certificate.issued", certificate_event(other)))
    for who in (student, other):
        funded.pay(funded.owed(who["enrolment_id"])[0]["reimbursement_id"])

    def mine(employee_id: str) -> dict:
        return funded.get("/me/data", funded.caller("employee", employee_id=employee_id))["parts"]

    held = mine("emp-a")
    assert [e["enrolment_id"] for e in held["enrolments"]] == [student["enrolment_id"]]
    assert [p["enrolment_id"] for p in held["payments"]] == [student["enrolment_id"]]
    paid = [r for r in held["reimbursements"] if r["status"] == "paid"]
    assert paid and all(r["bank_account"] == "6222020200112233445" for r in paid)
    funded.get("/me/data", funded.federation, expect=403)

    funded.deliver(("employee.anonymised", {"employee_id": "emp-a", "anonymised_id": "anon-a"}))
    assert mine("emp-a")["enrolments"] == []
    after = mine("anon-a")
    assert [e["enrolment_id"] for e in after["enrolments"]] == [student["enrolment_id"]]
    assert [(r["amount"], r["status"]) for r in after["reimbursements"]] == [
        (r["amount"], r["status"]) for r in held["reimbursements"]
    ]
    assert all(r["bank_account"] is None and r["bank_name"] is None for r in after["reimbursements"])
    assert all(r["bank_account"] for r in mine("emp-b")["reimbursements"] if r["status"] == "paid")  # untouched
    assert funded.invariants()["passed"] is True
