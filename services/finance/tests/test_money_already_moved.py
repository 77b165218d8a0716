"""Money that has already moved: a unit whose allocation is cut below what it received shows the excess to
reclaim (never a negative "not yet transferred") until the federation reclaims it; the federation's share
of a certified student waits until the employee has paid the whole fee."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from servicekit.clock import CHINA

from .conftest import (
    CAMPAIGN,
    INSTITUTION,
    OTHER_UNIT,
    UNIT,
    allocation_event,
    campaign_event,
    certificate_event,
    published,
    registered_event,
)

pytestmark = pytest.mark.servers


def unit_row(funded, kind: str) -> dict:
    rows = funded.get("/reports/funds", funded.federation, campaign_id=CAMPAIGN, by="unit")
    [row] = [r for r in rows if r["unit_id"] == UNIT and r["kind"] == kind]
    return row


def reclaim(funded, amount: str, expect: int = 201) -> dict:
    body = {
        "campaign_id": CAMPAIGN,
        "unit_id": UNIT,
        "kind": "skills",
        "amount": amount,
        "transferred_on": "2014-02-20",
        "reference": "穗工财〔2014〕12号",
    }
    return funded.post("/reclaims", body, {**funded.federation, "Accept-Language": "en"}, expect)


def test_a_cut_below_what_was_transferred_shows_the_excess_to_reclaim_until_the_federation_reclaims_it(funded):
    tap = funded.stack.tap("funds.reclaimed")
    funded.transfer("318000.00")
    refused = reclaim(funded, "0.01", expect=409)  # nothing beyond the allocation yet
    assert (refused["code"], refused["errors"]) == ("finance_reclaim_exceeds_excess", {"amount": ["At most 0.00."]})

    # the cut crossed the transfer (quota had not heard of it yet): finance never shows a negative balance
    funded.deliver(("allocation.published", allocation_event(UNIT, 2, "300000.00", revision=2)))
    row = unit_row(funded, "skills")
    assert (row["allocated"], row["transferred"], row["not_transferred"], row["to_reclaim"]) == (
        "300000.00",
        "318000.00",
        "0.00",
        "18000.00",
    )
    assert funded.invariants()["passed"] is True
    over = reclaim(funded, "18000.01", expect=409)
    assert over["errors"] == {"amount": ["At most 18000.00."]}

    done = reclaim(funded, "18000.00")
    assert (done["direction"], done["amount"]) == ("reclaimed", "18000.00")
    row = unit_row(funded, "skills")
    assert (row["transferred"], row["not_transferred"], row["to_reclaim"], row["remaining"]) == (
        "300000.00",
        "0.00",
        "0.00",
        "300000.00",
    )
    [event] = published(funded.stack, tap, 1)
    assert (event["type"], event["data"]["amount"], event["data"]["reclaimed_on"]) == (
        "funds.reclaimed",
        "18000.00",
        "2014-02-20",
    )
    accounts = {(a["type"], a["kind"]): a["balance"] for a in funded.get("/accounts", funded.federation)}
    assert accounts[("pool", "skills")] == "4700000.00"  # 5,000,000 less the 300,000 the unit keeps
    assert funded.invariants() | {"checks": 0} == {"passed": True, "checks": 0, "drift": []}


def test_the_federations_share_waits_until_the_employee_has_paid_the_whole_fee(funded):
    funded.transfer("318000.00")
    registered = registered_event("skills")
    enrolment_id = registered["enrolment_id"]
    funded.deliver(("enrollment.registered", registered))
    payments = f"/enrolments/{enrolment_id}/payments"
    funded.post(payments, {"amount": "2000.00", "paid_on": "2013-11-22"}, funded.institution())

    funded.deliver(("certificate.issued", certificate_event(registered)))
    [owed] = funded.owed(enrolment_id)
    assert (owed["amount"], owed["status"]) == ("940.00", "awaiting_payment")
    refused = funded.post(
        f"/reimbursements/{owed['reimbursement_id']}/payment",
        {"paid_on": "2014-05-12", "bank_name": "中国工商银行", "bank_account": "6222020200112233445"},
        {**funded.unit(), "Accept-Language": "en"},
        409,
    )
    assert (refused["code"], refused["detail"]) == (
        "finance_reimbursement_awaits_full_payment",
        "The employee has paid 2000.00 of 2530.00.",
    )
    assert unit_row(funded, "skills")["committed"] == "0.00"

    # the institution's system records the rest (a machine client, idempotent): the share is set aside
    machine = funded.caller("institution_system", institution_id=INSTITUTION)
    rest = {"amount": "530.00", "paid_on": "2013-11-25", "reference": "BANK-77"}
    first = funded.post(payments, rest, machine, key="bank-77")
    assert funded.post(payments, rest, machine, key="bank-77") == first  # retried: recorded once
    [owed] = funded.owed(enrolment_id)
    assert owed["status"] == "payable"
    assert unit_row(funded, "skills")["committed"] == "940.00"
    assert funded.pay(owed["reimbursement_id"])["status"] == "paid"
    assert [p["amount"] for p in funded.get("/payments", funded.federation, enrolment_id=enrolment_id)] == [
        "2000.00",
        "530.00",
    ]
    assert funded.invariants()["passed"] is True


def test_the_transfer_deadline_shows_what_is_untransferred_as_it_nears_and_after_it(funded):
    today = datetime.now(CHINA).date()
    funded.deliver(("campaign.published", campaign_event(2, transfer_deadline=str(today + timedelta(days=45)))))
    funded.transfer("318000.00")  # the unit's whole skills money; its academic money and the other unit's wait
    report = funded.get("/reports/transfer-deadline", funded.federation, campaign_id=CAMPAIGN)
    assert (report["status"], report["days_left"], report["warning_days"]) == ("open", 45, 30)
    assert report["not_transferred"] == {"academic": "6000.00", "skills": "318000.00"}
    assert {(r["unit_id"], r["kind"]): r["status"] for r in report["units"]} == {
        (UNIT, "academic"): "open",
        (UNIT, "skills"): "transferred",
        (OTHER_UNIT, "academic"): "open",
        (OTHER_UNIT, "skills"): "open",
    }

    funded.deliver(("campaign.published", campaign_event(3, transfer_deadline=str(today + timedelta(days=10)))))
    soon = funded.get("/reports/transfer-deadline", funded.unit(), campaign_id=CAMPAIGN)
    assert (soon["status"], soon["days_left"]) == ("due_soon", 10)
    assert [(r["kind"], r["not_transferred"], r["status"]) for r in soon["units"]] == [
        ("academic", "3000.00", "due_soon"),
        ("skills", "0.00", "transferred"),
    ]  # a unit officer sees only its own unit

    funded.deliver(
        (
            "campaign.published",
            campaign_event(4, transfer_deadline=str(today - timedelta(days=1)), transfer_warning_days=5),
        )
    )
    late = funded.get("/reports/transfer-deadline", funded.federation, campaign_id=CAMPAIGN)
    assert (late["status"], late["days_left"], late["warning_days"]) == ("overdue", -1, 5)
    assert sorted(r["status"] for r in late["units"]) == ["overdue", "overdue", "overdue", "transferred"]
    funded.get("/reports/transfer-deadline", funded.institution(), campaign_id=CAMPAIGN, expect=403)
