"""A certificate for an enrolment finance has not heard of waits for its facts instead of failing: enrollment
is asked to announce the enrolment again when they are late, the wait shows as stalled past its deadline, and
the facts, whenever they come, owe the shares. Nothing is dead-lettered."""

import json

import pytest

from services.finance.tests.conftest import Finance, certificate_event, fund, published, registered_event
from tests.support.processes import wait_for

pytestmark = pytest.mark.servers


@pytest.fixture
def finance(stack_of):
    return fund(Finance(stack_of("finance", SAGA_REASK_SECONDS="1", SAGA_STALL_SECONDS="3", SAGA_SWEEP_SECONDS="0.2")))


def waits(finance, state: str = "waiting") -> list[dict]:
    return finance.get("/stalled", finance.caller("auditor"), state=state)


def test_a_certificate_ahead_of_its_enrolment_asks_for_the_facts_and_owes_the_share_once_they_come(finance):
    asked = finance.stack.tap("announcement.requested")
    registered = registered_event("skills")
    certificate = certificate_event(registered)
    finance.deliver(("certificate.issued", certificate))  # handled: no retry, no dead letter

    requests = published(finance.stack, asked, 2)  # asked after 1 s, again 2 s later
    assert {(r["data"]["enrolment_id"], r["data"]["certificate_id"]) for r in requests} == {
        (registered["enrolment_id"], certificate["certificate_id"])
    }
    [item] = wait_for(lambda: waits(finance, "stalled"), timeout=10, message="the certificate stalled")
    assert (item["saga"], item["item_id"]) == ("certificate_facts", certificate["certificate_id"])
    assert finance.owed(registered["enrolment_id"]) == []

    finance.deliver(("enrollment.registered", registered))  # enrollment's answer to the announcement request
    [owed] = finance.owed(registered["enrolment_id"])
    assert (owed["amount"], owed["status"], owed["certificate_id"]) == (
        "940.00",
        "awaiting_payment",  # owed, and reimbursed once the employee has paid the whole fee
        certificate["certificate_id"],
    )
    assert waits(finance) == []
    listing = finance.stack.cli("deadletters", "list", "--json")
    assert json.loads(listing.stdout) == []
    assert finance.invariants()["passed"]
