"""Recovering shares paid to a student whose certificate was later revoked."""

from __future__ import annotations

import pytest

from .conftest import CAMPAIGN, OTHER_UNIT, UNIT, certificate_event, published, registered_event

pytestmark = pytest.mark.servers

RECOVERED = {"amount": "940.00", "recovered_on": "2014-06-20", "reference": "BY-退款-0007"}


def recover(finance, reimbursement_id: str, body: dict, expect: int = 200, headers: dict | None = None):
    return finance.post(f"/reimbursements/{reimbursement_id}/recovery", body, headers or finance.unit(), expect)


def test_a_revoked_certificates_paid_shares_are_recovered_once_back_into_the_earmarked_account(funded):
    tap = funded.stack.tap("reimbursement.recovered")
    funded.transfer("318000.00")
    revoked, standing = registered_event("skills", employee_id="emp-r"), registered_event("skills", employee_id="emp-s")
    certificate = certificate_event(revoked)
    funded.registered_and_paid(revoked, standing)
    funded.deliver(("certificate.issued", certificate), ("certificate.issued", certificate_event(standing)))
    for student in (revoked, standing):
        for share in ("federation", "unit"):  # the unit's own share is owed on certification by default
            funded.pay(funded.owed(student["enrolment_id"], share=share)[0]["reimbursement_id"])
    funded.deliver(
        (
            "certificate.revoked",
            certificate_event(revoked, certificate_id=certificate["certificate_id"], revision=2, revoked=True),
        )
    )

    due = funded.get("/recoveries", funded.unit(), status="due")
    assert sorted((r["enrolment_id"], r["share"], r["amount"], r["status"]) for r in due) == [
        (revoked["enrolment_id"], "federation", "940.00", "paid"),
        (revoked["enrolment_id"], "unit", "940.00", "paid"),
    ]
    assert len(funded.get("/recoveries", funded.caller("auditor"), campaign_id=CAMPAIGN)) == 2
    assert funded.get("/recoveries", funded.unit(OTHER_UNIT)) == []
    for stranger in (funded.caller("employee", employee_id="emp-r"), funded.institution()):
        funded.get("/recoveries", stranger, expect=403)
    federation_share = next(r for r in due if r["share"] == "federation")
    unit_share = next(r for r in due if r["share"] == "unit")
    standing_share = funded.owed(standing["enrolment_id"])[0]

    mismatch = recover(funded, federation_share["reimbursement_id"], {**RECOVERED, "amount": "939.99"}, 422)
    assert (mismatch["code"], mismatch["errors"]) == (
        "finance_recovery_amount_mismatch",
        {"amount": ["金额：必须是已发放的分担金额 940.00。"]},
    )
    recover(funded, federation_share["reimbursement_id"], RECOVERED, 404, funded.unit(OTHER_UNIT))
    recover(funded, federation_share["reimbursement_id"], RECOVERED, 403, funded.federation)
    assert recover(funded, standing_share["reimbursement_id"], RECOVERED, 409)["code"] == "finance_recovery_not_due"

    done = recover(funded, federation_share["reimbursement_id"], RECOVERED)
    assert (done["status"], done["recovered_on"], done["recovery_reference"], done["bank_account"]) == (
        "recovered",
        "2014-06-20",
        "BY-退款-0007",
        "***************3445",
    )
    assert recover(funded, federation_share["reimbursement_id"], RECOVERED)["status"] == "recovered"  # the same again
    twice = recover(funded, federation_share["reimbursement_id"], {**RECOVERED, "reference": "other"}, 409)
    assert twice["code"] == "finance_recovery_not_due"
    recover(funded, unit_share["reimbursement_id"], {**RECOVERED, "recovered_on": "2014-06-21"})

    balances = {
        a["type"]: a["balance"]
        for a in funded.get("/accounts", funded.unit(), campaign_id=CAMPAIGN)
        if a["kind"] == "skills"
    }
    assert balances == {"earmarked": "317060.00", "payable": "0.00", "paid_out": "940.00"}  # the standing share
    assert funded.get("/recoveries", funded.unit(), status="due") == []
    assert len(funded.get("/recoveries", funded.federation, status="recovered")) == 2
    events = sorted((e["data"] for e in published(funded.stack, tap, 2)), key=lambda data: data["share"])
    assert [(e["share"], e["amount"], e["recovered_on"], e["certificate_id"], e["unit_id"]) for e in events] == [
        ("federation", "940.00", "2014-06-20", certificate["certificate_id"], UNIT),
        ("unit", "940.00", "2014-06-21", certificate["certificate_id"], UNIT),
    ]

    [by_unit] = [r for r in funded.get("/reports/funds", funded.unit(), campaign_id=CAMPAIGN) if r["kind"] == "skills"]
    assert (by_unit["paid"], by_unit["recovered"], by_unit["remaining"]) == ("940.00", "940.00", "317060.00")
    skills = funded.get("/reports/funds", funded.federation, campaign_id=CAMPAIGN, by="campaign")[1]
    assert (skills["kind"], skills["recovered"]) == ("skills", "940.00")
    [row] = [r for r in funded.get("/ledger", funded.unit()) if r["enrolment_id"] == revoked["enrolment_id"]]
    assert (row["federation_reimbursement"], row["unit_reimbursement"], row["recovered"]) == (
        "recovered",
        "recovered",
        "1880.00",
    )
    assert funded.invariants()["passed"]
    assert funded.stack.cli("invariants").returncode == 0

    # a new certificate after a re-sit makes the federation's share owed again
    funded.deliver(("certificate.issued", certificate_event(revoked)))
    [owed] = funded.owed(revoked["enrolment_id"])
    assert (owed["status"], owed["amount"], owed["certificate_revoked"]) == ("payable", "940.00", False)
    assert funded.invariants()["passed"]
    assert funded.get("/recoveries", funded.unit(), status="due") == []
