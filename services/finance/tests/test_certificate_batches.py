"""Certificates arriving together (an institution publishing a batch) are handled together (servicekit.service.Batched):
each share owed once, a redelivered certificate owing nothing more, the earmarked money set aside while it lasts."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from .conftest import certificate_event, registered_event

pytestmark = pytest.mark.servers


def test_a_batch_of_certificates_owes_each_share_once_and_sets_aside_what_the_money_covers(funded):
    students = [registered_event("skills") for _ in range(5)]
    funded.registered_and_paid(*students)
    share = funded.get(f"/enrolments/{students[0]['enrolment_id']}/breakdown", funded.federation)["federation"]
    funded.transfer(str(Decimal(share) * 3))  # the earmarked account covers three federation shares of five
    certificates = [certificate_event(student) for student in students]
    log_start = len(funded.worker.log())

    # the batch, two of its certificates delivered twice (a redelivery: a new event id)
    funded.deliver(*[("certificate.issued", c) for c in certificates + certificates[:2]])

    federation = [funded.owed(s["enrolment_id"]) for s in students]
    assert [len(rows) for rows in federation] == [1] * 5
    assert sorted(rows[0]["status"] for rows in federation) == ["awaiting_funds"] * 2 + ["payable"] * 3
    assert {rows[0]["certificate_id"] for rows in federation} == {c["certificate_id"] for c in certificates}
    unit = [funded.owed(s["enrolment_id"], share="unit") for s in students]
    assert [len(rows) for rows in unit] == [1] * 5
    assert funded.invariants()["passed"]
    batches = [json.loads(line) for line in funded.worker.log()[log_start:].splitlines() if '"batch handled"' in line]
    assert max(b["events"] for b in batches) > 1, "the certificates were handled one by one"
