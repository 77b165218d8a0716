"""Payments, earmarked transfers, reimbursements and the ledger: the saga on real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import csv
import io
import threading
import uuid
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from .conftest import (
    ACADEMIC_FEES,
    CAMPAIGN,
    INSTITUTION,
    OTHER_INSTITUTION,
    OTHER_UNIT,
    SKILLS_FEES,
    UNIT,
    allocation_event,
    certificate_event,
    published,
    registered_event,
    withdrawn_event,
)

pytestmark = pytest.mark.servers


def test_full_skills_saga_pays_the_federation_share_once_and_the_ledger_balances(funded):
    payments_tap, transfers_tap, paid_tap = (
        funded.stack.tap(t) for t in ("payment.recorded", "funds.transferred", "reimbursement.paid")
    )
    transfer = funded.transfer("318000.00", key="transfer-1")
    registered = registered_event("skills")
    enrolment_id = registered["enrolment_id"]
    funded.deliver(("enrollment.registered", registered))

    # the employee pays the institution in full, in two instalments: the first is flagged partial
    first = funded.post(
        f"/enrolments/{enrolment_id}/payments",
        {"amount": "2000.00", "paid_on": "2013-11-22", "reference": "POS-1"},
        funded.institution(),
    )
    assert (first["status"], first["flagged"]) == ("partial", True)
    second = funded.post(
        f"/enrolments/{enrolment_id}/payments", {"amount": "530.00", "paid_on": "2013-11-25"}, funded.institution()
    )
    assert (second["status"], second["flagged"]) == ("full", False)
    over = funded.post(
        f"/enrolments/{enrolment_id}/payments",
        {"amount": "0.01", "paid_on": "2013-11-26"},
        funded.caller("institution_system", institution_id=INSTITUTION),
    )
    assert (over["status"], over["flagged"]) == ("over", True)
    assert [p["amount"] for p in funded.get("/payments", funded.federation, flagged="true")] == ["2000.00", "0.01"]
    assert funded.get(f"/enrolments/{enrolment_id}/breakdown", funded.unit())["payment_status"] == "over"
    assert funded.get("/payments", funded.institution(OTHER_INSTITUTION)) == []

    # the certificate is delivered twice (same event) and re-sent (same revision, new event id): owed once
    certificate = certificate_event(registered)
    funded.deliver(("certificate.issued", certificate))
    funded.stack.publish("certificate.issued", certificate)  # a re-send: same certificate, same revision
    duplicate = funded.stack.publish("certificate.issued", certificate)
    funded.wait_handled([duplicate.id])
    [owed] = funded.owed(enrolment_id)
    assert (owed["amount"], owed["status"], owed["certificate_id"]) == (
        "940.00",
        "payable",
        certificate["certificate_id"],
    )

    paid = funded.pay(owed["reimbursement_id"], key="pay-1")
    assert (paid["status"], paid["bank_account"]) == ("paid", "***************3445")
    again = funded.pay(owed["reimbursement_id"], key="pay-1")  # the same request retried
    assert again == paid
    problem = funded.pay(owed["reimbursement_id"], expect=409)  # a new request to pay it again
    assert problem["code"] == "finance_reimbursement_not_payable"

    balances = {
        a["code"].split(":")[0]: a["balance"]
        for a in funded.get("/accounts", funded.unit(), campaign_id=CAMPAIGN)
        if a["kind"] == "skills"
    }
    assert balances == {"earmarked": "317060.00", "payable": "0.00", "paid_out": "940.00"}
    report = funded.invariants()
    assert report == {"passed": True, "checks": report["checks"], "drift": []}
    assert report["checks"] > 20

    payments = [e["data"] for e in published(funded.stack, payments_tap, 3)]
    assert [(p["amount"], p["status"], p["paid_total"], p["due"]) for p in payments] == [
        ("2000.00", "partial", "2000.00", "2530.00"),
        ("530.00", "full", "2530.00", "2530.00"),
        ("0.01", "over", "2530.01", "2530.00"),
    ]
    assert [e["data"]["transfer_id"] for e in published(funded.stack, transfers_tap, 1)] == [transfer["transfer_id"]]
    [paid_event] = published(funded.stack, paid_tap, 1)
    assert (paid_event["data"]["share"], paid_event["data"]["amount"], paid_event["data"]["certificate_id"]) == (
        "federation",
        "940.00",
        certificate["certificate_id"],
    )


def test_a_reimbursement_the_earmarked_account_cannot_cover_is_refused_until_funds_arrive(funded):
    registered = registered_event("skills")
    funded.registered_and_paid(registered)
    funded.deliver(("certificate.issued", certificate_event(registered)))
    [owed] = funded.owed(registered["enrolment_id"])
    assert owed["status"] == "awaiting_funds"

    problem = funded.pay(owed["reimbursement_id"], expect=409)
    assert problem["code"] == "finance_balance_insufficient"
    assert "0.00" in problem["detail"] and "940.00" in problem["detail"]
    funded.transfer("940.00")
    assert funded.pay(owed["reimbursement_id"])["status"] == "paid"
    assert funded.invariants()["passed"]


def test_two_officers_racing_for_the_last_earmarked_money_pay_exactly_one_student(funded):
    students = [registered_event("skills", employee_id=f"emp-{n}") for n in range(2)]
    funded.registered_and_paid(*students)
    funded.deliver(*[("certificate.issued", certificate_event(s)) for s in students])
    funded.transfer("940.00")  # enough for one federation share
    owed = [funded.owed(s["enrolment_id"])[0]["reimbursement_id"] for s in students]
    start, statuses = threading.Barrier(2), []

    def pay(reimbursement_id):
        start.wait()
        response = funded.client.post(
            f"/reimbursements/{reimbursement_id}/payment",
            headers={**funded.unit(), "Idempotency-Key": reimbursement_id},
            json={"paid_on": "2014-05-12", "bank_name": "中国银行", "bank_account": "6217000000001234"},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=pay, args=(r,)) for r in owed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 409]
    earmarked = [a for a in funded.get("/accounts", funded.federation) if a["code"].startswith("earmarked")]
    assert [a["balance"] for a in earmarked] == ["0.00"]
    assert funded.invariants()["passed"]


def test_a_withdrawal_leaves_nothing_payable_even_if_a_certificate_follows(funded):
    funded.transfer("318000.00")
    registered = registered_event("skills")
    funded.deliver(
        ("enrollment.registered", registered),
        ("enrollment.withdrawn", withdrawn_event(registered)),
        ("certificate.issued", certificate_event(registered)),
    )
    assert funded.owed(registered["enrolment_id"]) == []
    problem = funded.post(
        f"/enrolments/{registered['enrolment_id']}/payments",
        {"amount": "10.00", "paid_on": "2014-03-06"},
        funded.institution(),
        expect=409,
    )
    assert problem["code"] == "finance_breakdown_cancelled"
    assert funded.invariants()["passed"]


def test_a_revoked_certificate_releases_the_unpaid_federation_share(funded):
    funded.transfer("318000.00")
    registered = registered_event("skills")
    certificate = certificate_event(registered)
    funded.deliver(
        ("enrollment.registered", registered),
        ("certificate.issued", certificate),
        (
            "certificate.revoked",
            certificate_event(registered, certificate_id=certificate["certificate_id"], revision=2, revoked=True),
        ),
    )
    [owed] = funded.owed(registered["enrolment_id"])
    assert owed["status"] == "cancelled"
    earmarked = [a["balance"] for a in funded.get("/accounts", funded.unit()) if a["type"] == "earmarked"]
    assert earmarked == ["318000.00"]
    assert funded.invariants()["passed"]


def test_transfers_never_exceed_the_allocation(funded):
    for amount, unit_id, kind in (
        ("318000.01", UNIT, "skills"),
        ("3000.01", UNIT, "academic"),  # 2 seats × 1,500.00
        ("1.00", "GZ-NOWHERE", "skills"),
    ):
        problem = funded.transfer(amount, unit_id=unit_id, kind=kind, expect=409)
        assert problem["code"] == "finance_transfer_exceeds_allocation"
    funded.transfer("3000.00", kind="academic")
    assert funded.transfer("0.01", kind="academic", expect=409)["errors"] == {"amount": ["金额：最多 0.00。"]}
    # a later allocation revision raises the room; a stale one changes nothing
    funded.deliver(
        ("allocation.published", allocation_event(UNIT, 3, "318000.00", revision=2)),
        ("allocation.published", allocation_event(UNIT, 9, "318000.00", revision=1)),
    )
    funded.transfer("1500.00", kind="academic")
    assert funded.transfer("0.01", kind="academic", expect=409)["code"] == "finance_transfer_exceeds_allocation"


def test_every_unit_line_of_one_allocation_gives_its_unit_room_to_transfer(funded):
    # quota publishes one allocation.published per unit line, all under the allocation's one id
    shared = str(uuid.uuid4())
    funded.deliver(
        *[
            ("allocation.published", allocation_event(unit_id, seats, "1000.00", revision=5, allocation_id=shared))
            for unit_id, seats in (("GZ-LINE-A", 1), ("GZ-LINE-B", 2))
        ]
    )
    funded.transfer("1500.00", unit_id="GZ-LINE-A", kind="academic")
    funded.transfer("3000.00", unit_id="GZ-LINE-B", kind="academic")
    funded.transfer("1000.00", unit_id="GZ-LINE-B", kind="skills")
    assert funded.transfer("0.01", unit_id="GZ-LINE-A", kind="academic", expect=409)["errors"] == {
        "amount": ["金额：最多 0.00。"]
    }


def test_transfer_requests_are_idempotent_by_key_and_writes_are_the_federation_admins(funded):
    first = funded.transfer("1000.00", key="t-1")
    assert funded.transfer("1000.00", key="t-1") == first
    assert funded.transfer("2000.00", key="t-1", expect=422)["code"] == "idempotency_key_reused"
    assert len(funded.get("/transfers", funded.unit())) == 1
    assert funded.get("/transfers", funded.unit(OTHER_UNIT)) == []
    valid = {
        "campaign_id": CAMPAIGN,
        "unit_id": UNIT,
        "kind": "skills",
        "amount": "1.00",
        "transferred_on": "2013-12-20",
        "reference": "x",
    }
    for role, scope in (("auditor", {}), ("unit_officer", {"unit_id": UNIT})):
        response = funded.client.post(
            "/transfers", headers={**funded.caller(role, **scope), "Idempotency-Key": "t-2"}, json=valid
        )
        assert response.status_code == 403
    assert funded.client.post("/transfers", json=valid).status_code == 401
    invalid = funded.post(
        "/transfers",
        {"campaign_id": CAMPAIGN, "unit_id": UNIT, "kind": "skills", "amount": 12.5, "transferred_on": "2999-12-20"},
        funded.federation,
        422,
    )
    assert set(invalid["errors"]) == {"amount", "reference", "transferred_on"}
    # a return of unused money leaves the earmarked account, never below zero
    back = {
        "campaign_id": CAMPAIGN,
        "unit_id": UNIT,
        "kind": "skills",
        "transferred_on": "2014-12-20",
        "reference": "退回-1",
    }
    assert (
        funded.post("/returns", {**back, "amount": "1000.01"}, funded.federation, 409)["code"]
        == "finance_balance_insufficient"
    )
    funded.post("/returns", {**back, "amount": "400.00"}, funded.federation)
    assert funded.invariants()["passed"]

    # each money movement once in the audit trail (a replayed key adds nothing), refusals none
    trail = funded.get("/audit", funded.caller("auditor"), entity_type="fund_transfer")
    assert [(e["action"], e["reason"], e["actor_role"]) for e in trail] == [
        ("fund_transfer.returned", "退回-1", "federation_admin"),
        ("fund_transfer.to_unit", first["reference"], "federation_admin"),
    ]
    assert trail[1]["entity_id"] == first["transfer_id"]
    assert "1000.00" in str(trail[1]["after"])
    funded.get("/audit", funded.unit(), expect=403)


def test_student_ledger_and_fund_report_exports(funded):
    funded.transfer("318000.00")
    students = [
        registered_event("skills", employee_id="emp-a"),
        registered_event("academic", employee_id="emp-b", unit_id=OTHER_UNIT),
    ]
    funded.registered_and_paid(students[0])
    funded.deliver(("enrollment.registered", students[1]), ("certificate.issued", certificate_event(students[0])))

    rows = funded.get("/ledger", funded.federation, campaign_id=CAMPAIGN)
    assert sorted(
        (r["employee_id"], r["federation_share"], r["unit_share"], r["employee_share"], r["federation_reimbursement"])
        for r in rows
    ) == [("emp-a", "940.00", "940.00", "650.00", "payable"), ("emp-b", "1500.00", "1500.00", "3030.00", "not_owed")]
    assert [r["employee_id"] for r in funded.get("/ledger", funded.unit(OTHER_UNIT))] == ["emp-b"]

    streamed = funded.client.get("/ledger", headers=funded.federation, query_string={"campaign_id": CAMPAIGN})
    assert streamed.is_streamed and streamed.mimetype == "application/json"  # rows leave as they are read
    assert sorted(r["employee_id"] for r in streamed.get_json()) == ["emp-a", "emp-b"]
    response = funded.client.get("/ledger", headers=funded.unit(), query_string={"format": "csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv" and response.is_streamed
    lines = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [(line["职工编号 Employee"], line["市总工会承担 Federation share"]) for line in lines] == [
        ("emp-a", "940.00")
    ]

    response = funded.client.get(
        "/reports/funds", headers=funded.federation, query_string={"campaign_id": CAMPAIGN, "format": "xlsx"}
    )
    sheet = load_workbook(io.BytesIO(response.data)).active
    header, *body = [list(row) for row in sheet.iter_rows(values_only=True)]
    by_unit = {(row[0], row[2]): dict(zip(header, row)) for row in body}
    mine = by_unit[(UNIT, "skills")]
    assert (
        mine["已分配 Allocated"],
        mine["已划拨 Transferred"],
        mine["已核定待发 Committed"],
        mine["可用余额 Remaining"],
    ) == ("318000.00", "318000.00", "940.00", "317060.00")
    assert by_unit[(OTHER_UNIT, "academic")]["未划拨 Not yet transferred"] == "3000.00"

    by_institution = funded.get("/reports/funds", funded.institution(), campaign_id=CAMPAIGN, by="institution")
    assert [
        (r["institution_id"], r["kind"], r["students"], r["fees_due"], r["federation_committed"])
        for r in by_institution
    ] == [(INSTITUTION, "academic", 1, "6030.00", "1500.00"), (INSTITUTION, "skills", 1, "2530.00", "940.00")]
    assert (
        funded.get("/reports/funds", funded.institution(OTHER_INSTITUTION), campaign_id=CAMPAIGN, by="institution")
        == []
    )
    funded.get("/reports/funds", funded.caller("employee", employee_id="emp-a"), expect=403, campaign_id=CAMPAIGN)


def test_invariant_check_reports_drift_to_the_fen_over_http_and_from_the_command_line(funded):
    funded.transfer("1000.00")
    assert funded.stack.cli("invariants").returncode == 0
    with funded.stack.runtime.engine.begin() as db:  # a fen goes missing behind the ledger's back
        db.execute(text("UPDATE accounts SET balance = balance - 0.01 WHERE type = 'earmarked'"))
    report = funded.invariants()
    assert not report["passed"]
    assert {(d["check"], d["drift"]) for d in report["drift"]} == {
        ("balance = sum of entries", "-0.01"),
        ("transferred = free + reserved + spent + returned", "-0.01"),
    }
    result = funded.stack.cli("invariants")
    assert result.returncode == 1 and "drift -0.01" in result.stdout


def test_a_full_campaign_ends_with_zero_drift(funded):
    """Two units, both kinds: transfers, payments, certificates, a withdrawal, a revocation, payouts, a return."""
    for unit_id in (UNIT, OTHER_UNIT):
        funded.transfer("318000.00", unit_id=unit_id)
        funded.transfer("3000.00", unit_id=unit_id, kind="academic")
    students = [
        registered_event(
            kind,
            unit_id=unit_id,
            employee_id=f"{unit_id}-{kind}-{n}",
            fees={
                **(SKILLS_FEES if kind == "skills" else ACADEMIC_FEES),
                "tuition_or_training": f"{2000 + 37 * n}.{n:02d}",
            },
        )
        for unit_id in (UNIT, OTHER_UNIT)
        for kind, count in (("skills", 4), ("academic", 2))
        for n in range(count)
    ]
    withdrawn, revoked = students[0], students[1]
    certificates = {s["enrolment_id"]: certificate_event(s) for s in students if s is not withdrawn}
    funded.deliver(
        *[("enrollment.registered", s) for s in students],
        ("enrollment.withdrawn", withdrawn_event(withdrawn)),
        *[("certificate.issued", c) for c in certificates.values()],
        (
            "certificate.revoked",
            certificate_event(
                revoked,
                certificate_id=certificates[revoked["enrolment_id"]]["certificate_id"],
                revision=2,
                revoked=True,
            ),
        ),
    )
    for student in students[1:]:
        breakdown = funded.get(f"/enrolments/{student['enrolment_id']}/breakdown", funded.federation)
        funded.post(
            f"/enrolments/{student['enrolment_id']}/payments",
            {"amount": breakdown["total"], "paid_on": "2013-11-22"},
            funded.institution(),
        )

    paid_out = Decimal("0.00")
    for unit_id in (UNIT, OTHER_UNIT):
        for owed in funded.get("/reimbursements", funded.unit(unit_id), share="federation", status="payable"):
            funded.pay(owed["reimbursement_id"], unit_id=unit_id)
            paid_out += Decimal(owed["amount"])
    funded.post(
        "/returns",
        {
            "campaign_id": CAMPAIGN,
            "unit_id": OTHER_UNIT,
            "kind": "skills",
            "amount": "10000.00",
            "transferred_on": "2014-12-20",
            "reference": "退回-2014-1",
        },
        funded.federation,
    )

    expected = sum(
        Decimal(funded.get(f"/enrolments/{s['enrolment_id']}/breakdown", funded.federation)["federation"])
        for s in students[2:]
    )
    assert paid_out == expected
    assert funded.get("/payments", funded.federation, flagged="true") == []
    report = funded.invariants()
    assert report["passed"], report["drift"]
    assert funded.stack.cli("invariants").returncode == 0
    [academic, skills] = funded.get("/reports/funds", funded.federation, campaign_id=CAMPAIGN, by="campaign")
    assert (
        skills["fund"],
        skills["allocated"],
        skills["transferred"],
        skills["not_transferred"],
        skills["returned"],
    ) == ("5000000.00", "636000.00", "636000.00", "4364000.00", "10000.00")
    assert Decimal(skills["paid"]) + Decimal(academic["paid"]) == paid_out
    assert academic["committed"] == skills["committed"] == "0.00"
    funded.get("/reports/funds", funded.unit(), expect=403, campaign_id=CAMPAIGN, by="campaign")
