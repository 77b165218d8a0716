"""A refund after a withdrawal follows the fee's breakdown and the campaign's refund rule: each share shrinks
exactly to the fen, a reimbursement paid beyond what stays due is recovered out of the refund (the
federation's back into the earmarked account, a posting caused by the refund), the ledger stays whole."""

from __future__ import annotations

import pytest

from .conftest import CAMPAIGN, OTHER_INSTITUTION, UNIT, certificate_event, registered_event, withdrawn_event

pytestmark = pytest.mark.servers

BODY = {"refunded_on": "2014-03-10", "reference": "TK-2014-007", "exam_taken": False, "textbooks_issued": True}


def admitted_event(registered: dict, revision: int = 3) -> dict:
    return {
        **{k: v for k, v in registered.items() if k != "registered_on"},
        "revision": revision,
        "admitted_on": "2013-12-02",
    }


def refund(funded, enrolment_id: str, body: dict | None = None, expect: int = 201, institution=None) -> dict:
    return funded.post(
        f"/enrolments/{enrolment_id}/refund",
        body or BODY,
        {**(institution or funded.institution()), "Accept-Language": "en"},
        expect,
    )


def test_before_admission_everything_paid_comes_back_to_the_employee(funded):
    registered = registered_event("skills")
    enrolment = registered["enrolment_id"]
    funded.registered_and_paid(registered)
    not_yet = refund(funded, enrolment, expect=409)
    assert not_yet["code"] == "finance_refund_not_withdrawn"
    funded.deliver(("enrollment.withdrawn", withdrawn_event(registered)))

    refund(funded, enrolment, expect=404, institution=funded.institution(OTHER_INSTITUTION))
    done = refund(funded, enrolment)
    assert (done["stage"], done["refunded"], done["to_employee"], done["to_unit"], done["to_federation"]) == (
        "before_admission",
        "2530.00",
        "2530.00",
        "0.00",
        "0.00",
    )
    assert {line["line"]: line["amount"] for line in done["lines"]} == {
        "tuition_or_training": "2350.00",
        "appraisal_exam": "180.00",
    }
    breakdown = funded.get(f"/enrolments/{enrolment}/breakdown", funded.federation)
    assert (breakdown["status"], breakdown["total"], breakdown["paid"]) == ("cancelled", "0.00", "0.00")
    assert refund(funded, enrolment, expect=200) == done  # the same refund again records nothing
    other = refund(funded, enrolment, {**BODY, "reference": "TK-2014-008"}, expect=409)
    assert other["code"] == "finance_refund_recorded"
    assert funded.get(f"/enrolments/{enrolment}/refund", funded.unit()) == done
    assert funded.invariants()["passed"] is True


def test_after_admission_the_units_share_paid_on_enrolment_is_recovered_out_of_the_unconsumed_lines(funded):
    response = funded.client.put(
        f"/units/{UNIT}/policy",
        headers=funded.unit(),
        json={"academic_mode": "match", "unit_share_timing": "on_enrolment"},
    )
    assert response.status_code == 200
    registered = registered_event("skills")
    enrolment = registered["enrolment_id"]
    funded.registered_and_paid(registered)
    funded.deliver(("enrollment.admitted", admitted_event(registered)))
    [unit_share] = funded.owed(enrolment, share="unit")
    funded.pay(unit_share["reimbursement_id"])
    funded.deliver(("enrollment.withdrawn", withdrawn_event(registered, revision=4)))

    done = refund(funded, enrolment)  # no exam sat: the appraisal fee comes back; the training fee does not
    assert (done["stage"], done["refunded"], done["to_unit"], done["to_employee"], done["left_to_recover"]) == (
        "after_admission",
        "180.00",
        "180.00",
        "0.00",
        "760.00",  # the withdrawal cancelled the unit's 940.00: the refund brings back 180.00 of it
    )
    breakdown = funded.get(f"/enrolments/{enrolment}/breakdown", funded.federation)
    assert (breakdown["total"], breakdown["paid"]) == ("2350.00", "2350.00")
    assert funded.invariants()["passed"] is True


def test_a_federation_share_paid_beyond_what_stays_due_comes_back_to_the_earmarked_account(funded):
    funded.transfer("318000.00")
    policy = {
        "before_admission": {"tuition_or_training": "1", "appraisal_exam": "1"},
        "after_admission": {"tuition_or_training": "0.5", "appraisal_exam": "1"},
    }
    refused = funded.client.put(f"/campaigns/{CAMPAIGN}/refund-policy", headers=funded.unit(), json=policy)
    assert refused.status_code == 403
    response = funded.client.put(f"/campaigns/{CAMPAIGN}/refund-policy", headers=funded.federation, json=policy)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["after_admission"]["tuition_or_training"] == "0.5"
    registered = registered_event("skills")
    enrolment = registered["enrolment_id"]
    funded.registered_and_paid(registered)
    funded.deliver(
        ("enrollment.admitted", admitted_event(registered)), ("certificate.issued", certificate_event(registered))
    )
    [federation_share] = funded.owed(enrolment)
    funded.pay(federation_share["reimbursement_id"])
    funded.deliver(("enrollment.withdrawn", withdrawn_event(registered, revision=4)))

    done = refund(funded, enrolment, {**BODY, "exam_taken": True})
    # half the training fee (1175.00) comes back; the federation's share halves to 470.00: 470.00 of what it paid returns
    assert (done["refunded"], done["to_federation"], done["to_unit"], done["to_employee"]) == (
        "1175.00",
        "470.00",
        "0.00",
        "705.00",
    )
    [training] = done["lines"]
    assert (training["federation"], training["unit"], training["employee"]) == ("470.00", "470.00", "235.00")
    [unit_share] = funded.owed(enrolment, share="unit")
    assert (unit_share["status"], unit_share["amount"]) == ("payable", "470.00")  # follows the shrunk breakdown
    accounts = {
        (a["type"], a["unit_id"]): a["balance"] for a in funded.get("/accounts", funded.federation, kind="skills")
    }
    assert (accounts[("paid_out", UNIT)], accounts[("earmarked", UNIT)]) == ("470.00", "317530.00")
    assert funded.invariants()["passed"] is True
