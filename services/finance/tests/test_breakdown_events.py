"""breakdown.settled on the real broker, and the employee-only extra charges an institution records."""

from __future__ import annotations

import pytest

from .conftest import (
    CAMPAIGN,
    INSTITUTION,
    OTHER_INSTITUTION,
    OTHER_UNIT,
    UNIT,
    published,
    registered_event,
    transferred_event,
    withdrawn_event,
)

pytestmark = pytest.mark.servers

ZERO_LINE = {"federation": "0.00", "unit": "0.00"}


def employee_line(name: str, amount: str) -> dict:
    return {"line": name, "amount": amount, **ZERO_LINE, "employee": amount}


def test_breakdown_settled_announces_each_change_once_with_every_line(funded):
    tap = funded.stack.tap("breakdown.settled")
    registered = registered_event("skills")
    admitted = {
        **{k: v for k, v in registered.items() if k != "registered_on"},
        "revision": 3,
        "admitted_on": "2013-12-02",
    }
    # the admission carries the same fees: the recomputation changes nothing and announces nothing
    funded.deliver(("enrollment.registered", registered), ("enrollment.admitted", admitted))
    funded.deliver(("enrollment.withdrawn", withdrawn_event(registered, revision=4)))

    events = published(funded.stack, tap, 2)
    assert [e["data"]["revision"] for e in events] == [1, 2]
    settled, cancelled = (e["data"] for e in events)
    assert settled == {
        "enrolment_id": registered["enrolment_id"],
        "revision": 1,
        "campaign_id": CAMPAIGN,
        "unit_id": UNIT,
        "institution_id": INSTITUTION,
        "kind": "skills",
        "status": "settled",
        "lines": [
            {
                "line": "tuition_or_training",
                "amount": "2350.00",
                "federation": "940.00",
                "unit": "940.00",
                "employee": "470.00",
            },
            employee_line("appraisal_exam", "180.00"),
            employee_line("textbook", "0.00"),
            employee_line("registration", "0.00"),
            employee_line("entrance_test", "0.00"),
        ],
        "total": "2530.00",
        "federation": "940.00",
        "unit": "940.00",
        "employee": "650.00",
    }
    assert cancelled == {**settled, "revision": 2, "status": "cancelled"}
    assert published(funded.stack, tap, 0) == []  # nothing more
    breakdown = funded.get(f"/enrolments/{registered['enrolment_id']}/breakdown", funded.federation)
    assert (breakdown["revision"], breakdown["status"]) == (2, "cancelled")


def test_a_transfer_is_announced_and_the_units_share_owed_on_enrolment_follows(funded):
    response = funded.client.put(
        f"/units/{UNIT}/policy",
        headers=funded.unit(),
        json={"academic_mode": "match", "unit_share_timing": "on_enrolment"},
    )
    assert response.status_code == 200
    tap = funded.stack.tap("breakdown.settled")
    registered = registered_event("skills")
    funded.deliver(("enrollment.registered", registered))
    funded.deliver(("enrollment.transferred", transferred_event(registered, "2000.00")))
    first, second = (e["data"] for e in published(funded.stack, tap, 2))
    assert (first["revision"], first["institution_id"], first["unit"]) == (1, INSTITUTION, "940.00")
    assert (second["revision"], second["institution_id"], second["lines"][0]) == (
        2,
        OTHER_INSTITUTION,
        {
            "line": "tuition_or_training",
            "amount": "2000.00",
            "federation": "800.00",
            "unit": "800.00",
            "employee": "400.00",
        },
    )
    [unit_share] = funded.owed(registered["enrolment_id"], share="unit")
    assert (unit_share["amount"], unit_share["status"]) == ("800.00", "payable")


def test_extra_charges_are_the_employees_alone_grow_what_is_due_and_are_announced(funded):
    tap, payments_tap = funded.stack.tap("breakdown.settled"), funded.stack.tap("payment.recorded")
    registered = registered_event("skills")
    enrolment_id = registered["enrolment_id"]
    funded.deliver(("enrollment.registered", registered))
    path = f"/enrolments/{enrolment_id}/charges"
    paid = funded.post(
        f"/enrolments/{enrolment_id}/payments", {"amount": "2530.00", "paid_on": "2013-11-22"}, funded.institution()
    )
    assert paid["status"] == "full"

    re_exam = {"line": "re_exam", "amount": "120.00", "charged_on": "2014-04-10", "reference": "BK-2014-001"}
    first = funded.post(path, re_exam, funded.institution())
    assert funded.post(path, re_exam, funded.institution(), expect=200)["charge_id"] == first["charge_id"]
    reused = funded.post(path, {**re_exam, "amount": "130.00"}, funded.institution(), expect=409)
    assert reused["code"] == "finance_charge_reference_reused"
    funded.post(path, {**re_exam, "amount": "60.00", "reference": "BK-2014-002"}, funded.institution())
    funded.post(
        path,
        {"line": "practice", "amount": "80.00", "charged_on": "2014-04-12", "reference": "SX-7"},
        funded.institution(),
    )

    breakdown = funded.get(f"/enrolments/{enrolment_id}/breakdown", funded.unit())
    assert (breakdown["total"], breakdown["federation"], breakdown["unit"], breakdown["employee"]) == (
        "2790.00",
        "940.00",
        "940.00",
        "910.00",
    )
    assert breakdown["lines"][-2:] == [
        {"line": "re_exam", "shared": False, **employee_line("re_exam", "180.00")},
        {"line": "practice", "shared": False, **employee_line("practice", "80.00")},
    ]
    assert [(c["line"], c["amount"], c["reference"]) for c in breakdown["charges"]] == [
        ("re_exam", "120.00", "BK-2014-001"),
        ("re_exam", "60.00", "BK-2014-002"),
        ("practice", "80.00", "SX-7"),
    ]
    assert (breakdown["revision"], breakdown["payment_status"]) == (4, "partial")
    assert (
        funded.post(
            f"/enrolments/{enrolment_id}/payments", {"amount": "260.00", "paid_on": "2014-04-12"}, funded.institution()
        )["status"]
        == "full"
    )

    events = [e["data"] for e in published(funded.stack, tap, 4)]
    assert [(e["revision"], e["total"], e["employee"], e["federation"]) for e in events] == [
        (1, "2530.00", "650.00", "940.00"),
        (2, "2650.00", "770.00", "940.00"),
        (3, "2710.00", "830.00", "940.00"),
        (4, "2790.00", "910.00", "940.00"),
    ]
    assert [line["line"] for line in events[-1]["lines"]][-2:] == ["re_exam", "practice"]
    assert [(e["data"]["status"], e["data"]["due"]) for e in published(funded.stack, payments_tap, 2)] == [
        ("full", "2530.00"),
        ("full", "2790.00"),
    ]
    assert funded.invariants()["passed"]


def test_only_the_students_own_institution_records_a_valid_charge_on_a_live_enrolment(funded):
    registered = registered_event("skills")
    funded.deliver(("enrollment.registered", registered))
    path = f"/enrolments/{registered['enrolment_id']}/charges"
    valid = {"line": "retake", "amount": "300.00", "charged_on": "2014-04-10", "reference": "CX-1"}
    for body, field in (
        ({**valid, "line": "tuition_or_training"}, "line"),
        ({**valid, "amount": "0.00"}, "amount"),
        ({**valid, "amount": 300.5}, "amount"),
        ({**valid, "charged_on": "2999-01-01"}, "charged_on"),
        ({k: v for k, v in valid.items() if k != "reference"}, "reference"),
    ):
        problem = funded.post(path, body, funded.institution(), expect=422)
        assert (problem["code"], list(problem["errors"])) == ("validation_failed", [field])
    assert funded.post(path, valid, funded.institution(OTHER_INSTITUTION), expect=404)["code"] == "not_found"
    for role, scope in (
        ("unit_officer", {"unit_id": UNIT}),
        ("federation_admin", {}),
    ):
        assert funded.post(path, valid, funded.caller(role, **scope), expect=403)["code"] == "forbidden"

    funded.deliver(("enrollment.withdrawn", withdrawn_event(registered)))
    assert funded.post(path, valid, funded.institution(), expect=409)["code"] == "finance_breakdown_cancelled"
    assert funded.get(f"/enrolments/{registered['enrolment_id']}/breakdown", funded.institution())["charges"] == []
    assert funded.get("/breakdowns", funded.unit(OTHER_UNIT)) == []


def test_a_registration_the_institution_rejects_cancels_the_breakdown_once(funded):
    tap = funded.stack.tap("breakdown.settled")
    registered = registered_event("skills")
    funded.deliver(("enrollment.registered", registered))
    rejected = {name: registered[name] for name in ("enrolment_id", "campaign_id", "kind", "unit_id", "institution_id")}
    rejected |= {"revision": 3, "reason": "documents_missing", "rejected_on": "2013-12-05"}
    funded.deliver(("enrollment.registration_rejected", rejected), ("enrollment.registration_rejected", rejected))
    settled, cancelled = (e["data"] for e in published(funded.stack, tap, 2))
    assert (settled["status"], cancelled["status"], cancelled["revision"]) == ("settled", "cancelled", 2)
    assert published(funded.stack, tap, 0) == []  # the redelivery changes nothing
    breakdown = funded.get(f"/enrolments/{registered['enrolment_id']}/breakdown", funded.federation)
    assert (breakdown["revision"], breakdown["status"]) == (2, "cancelled")
