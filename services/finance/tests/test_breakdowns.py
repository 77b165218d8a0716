"""Breakdowns and policies over HTTP, from events consumed by a real worker."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from .conftest import (
    CAMPAIGN,
    INSTITUTION,
    OTHER_INSTITUTION,
    OTHER_UNIT,
    UNIT,
    campaign_event,
    registered_event,
    transferred_event,
    withdrawn_event,
)

pytestmark = pytest.mark.servers


def test_skills_registration_gives_the_4_4_2_breakdown_seen_only_by_those_concerned(funded):
    registered = registered_event("skills", employee_id="emp-7f3a9c")
    funded.deliver(("enrollment.registered", registered))
    path = f"/enrolments/{registered['enrolment_id']}/breakdown"

    breakdown = funded.get(path, funded.unit())
    assert (breakdown["total"], breakdown["federation"], breakdown["unit"], breakdown["employee"]) == (
        "2530.00",
        "940.00",
        "940.00",
        "650.00",
    )
    assert [
        (line["line"], line["shared"], line["federation"], line["unit"], line["employee"])
        for line in breakdown["lines"]
        if line["amount"] != "0.00"
    ] == [
        ("tuition_or_training", True, "940.00", "940.00", "470.00"),
        ("appraisal_exam", False, "0.00", "0.00", "180.00"),
    ]
    assert (breakdown["status"], breakdown["payment_status"]) == ("active", "unpaid")

    for allowed in (
        funded.federation,
        funded.caller("auditor"),
        funded.institution(),
        funded.caller("employee", employee_id="emp-7f3a9c"),
    ):
        assert funded.get(path, allowed)["enrolment_id"] == registered["enrolment_id"]
    for stranger in (
        funded.unit(OTHER_UNIT),
        funded.institution(OTHER_INSTITUTION),
        funded.caller("employee", employee_id="emp-other"),
    ):
        problem = funded.get(path, stranger, expect=404)
        assert problem["code"] == "not_found"
    assert funded.get("/breakdowns", funded.unit(OTHER_UNIT)) == []
    assert len(funded.get("/breakdowns", funded.institution(), campaign_id=CAMPAIGN)) == 1


def test_academic_breakdown_follows_the_units_own_policy_set_before_registration(funded):
    default = funded.get(f"/units/{UNIT}/policy", funded.unit())
    assert (default["academic_mode"], default["skills_unit_rate"], default["is_default"]) == ("match", "0.4000", True)
    response = funded.client.put(
        f"/units/{UNIT}/policy",
        headers=funded.unit(),
        json={"academic_mode": "fixed", "academic_value": "800.00", "unit_share_timing": "on_enrolment"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)

    registered = registered_event("academic")
    other = registered_event("academic", unit_id=OTHER_UNIT)
    funded.deliver(("enrollment.registered", registered), ("enrollment.registered", other))

    mine = funded.get(f"/enrolments/{registered['enrolment_id']}/breakdown", funded.federation)
    assert (mine["federation"], mine["unit"], mine["employee"], mine["total"]) == (
        "1500.00",
        "800.00",
        "3730.00",
        "6030.00",
    )
    theirs = funded.get(f"/enrolments/{other['enrolment_id']}/breakdown", funded.federation)
    assert (theirs["federation"], theirs["unit"], theirs["employee"]) == ("1500.00", "1500.00", "3030.00")
    # on_enrolment: the unit's own share is owed at once, the federation's only on a certificate
    [unit_share] = funded.owed(registered["enrolment_id"], share="unit")
    assert (unit_share["amount"], unit_share["status"]) == ("800.00", "payable")
    assert funded.owed(registered["enrolment_id"]) == []
    # the unit pays its own share from its own money: nothing leaves the earmarked account
    assert funded.pay(unit_share["reimbursement_id"])["status"] == "paid"
    funded.pay(unit_share["reimbursement_id"], unit_id=OTHER_UNIT, expect=404)
    assert funded.get("/accounts", funded.unit(), campaign_id=CAMPAIGN) == []


def test_only_a_unit_officer_sets_a_valid_policy_for_their_own_unit(finance):
    cases = [
        (finance.unit(OTHER_UNIT), {"academic_mode": "match"}, 403, "forbidden"),
        (finance.federation, {"academic_mode": "match"}, 403, "forbidden"),
        (finance.unit(), {"academic_mode": "fixed"}, 422, "validation_failed"),
        (finance.unit(), {"academic_mode": "percentage", "academic_value": "30"}, 422, "validation_failed"),
        (finance.unit(), {"academic_mode": "match", "skills_unit_rate": "1.2"}, 422, "validation_failed"),
        (finance.unit(), {"academic_mode": "fixed", "academic_value": "800.001"}, 422, "validation_failed"),
        (finance.unit(), {"academic_mode": "match", "unit_share_timing": "someday"}, 422, "validation_failed"),
    ]
    for headers, body, status, code in cases:
        response = finance.client.put(f"/units/{UNIT}/policy", json=body, headers=headers)
        assert (response.status_code, response.mimetype, response.get_json()["code"]) == (
            status,
            "application/problem+json",
            code,
        ), body
    assert finance.get(f"/units/{UNIT}/policy", finance.unit())["is_default"] is True
    finance.get(f"/units/{UNIT}/policy", finance.unit(OTHER_UNIT), expect=403)


def test_every_endpoint_is_documented_with_its_problems(finance):
    paths = finance.client.get("/openapi.json").get_json()["paths"]
    assert {
        "/transfers",
        "/returns",
        "/reimbursements/{reimbursement_id}/payment",
        "/invariants",
        "/ledger",
        "/enrolments/{enrolment_id}/payments",
        "/units/{unit_id}/policy",
        "/reports/funds",
    } <= set(paths)
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method not in {"get", "post", "put"}:
                continue  # path-level parameters
            assert {"200", "201"} & set(operation["responses"]), (method, path)
            assert {"401", "403", "422"} <= set(operation["responses"]), (method, path)


def test_per_trade_rate_and_stale_or_repeated_events_are_ignored(funded):
    registered = registered_event("skills", trade="电工", revision=2)
    funded.deliver(("enrollment.registered", registered))
    assert (
        funded.get(f"/enrolments/{registered['enrolment_id']}/breakdown", funded.federation)["federation"] == "1175.00"
    )  # 50 % for 电工

    # a campaign revision lowering the override applies to later registrations; an older revision changes nothing
    funded.deliver(
        ("campaign.published", campaign_event(2, skills_rate_overrides={})),
        ("campaign.published", campaign_event(1, skills_federation_rate="0.10")),
    )
    later = registered_event("skills", trade="电工")
    funded.deliver(("enrollment.registered", later))
    assert funded.get(f"/enrolments/{later['enrolment_id']}/breakdown", funded.federation)["federation"] == "940.00"
    surplus = funded.get("/reports/skills-surplus", funded.caller("auditor"), campaign_id=CAMPAIGN)
    assert (surplus["committed"], surplus["surplus"]) == ("2115.00", "4997885.00")
    assert [(t["trade"], t["students"], t["training_fees"], t["federation_rate"]) for t in surplus["by_trade"]] == [
        ("电工", 2, "4700.00", "0.4000")
    ]
    funded.get("/reports/skills-surplus", funded.unit(), expect=403, campaign_id=CAMPAIGN)
    assert funded.get(f"/campaigns/{CAMPAIGN}/policy", funded.unit())["revision"] == 2

    # withdrawal (revision 3) overtakes a re-sent registration (revision 2): the enrolment stays withdrawn
    funded.deliver(("enrollment.withdrawn", withdrawn_event(registered)), ("enrollment.registered", registered))
    breakdown = funded.get(f"/enrolments/{registered['enrolment_id']}/breakdown", funded.federation)
    assert breakdown["status"] == "cancelled"


def test_a_withdrawal_that_overtakes_its_registration_leaves_nothing_due(funded):
    registered = registered_event("skills")
    funded.deliver(("enrollment.withdrawn", withdrawn_event(registered)), ("enrollment.registered", registered))
    funded.get(f"/enrolments/{registered['enrolment_id']}/breakdown", funded.federation, expect=404)
    assert funded.invariants()["passed"]


def test_a_transfer_of_institution_recomputes_the_breakdown_with_the_new_fees(funded):
    registered = registered_event("skills")
    funded.deliver(("enrollment.registered", registered))
    funded.deliver(("enrollment.transferred", transferred_event(registered, "2000.00")))
    path = f"/enrolments/{registered['enrolment_id']}/breakdown"
    breakdown = funded.get(path, funded.institution(OTHER_INSTITUTION))
    assert (breakdown["institution_id"], breakdown["federation"], breakdown["employee"]) == (
        OTHER_INSTITUTION,
        "800.00",
        "580.00",
    )
    funded.get(path, funded.institution(INSTITUTION), expect=404)


def test_a_fee_standards_shares_before_anyone_enrols_are_the_breakdowns_it_will_give(funded):
    registered = registered_event("skills", unit_id=OTHER_UNIT)  # a unit on the default policy
    funded.deliver(("enrollment.registered", registered))
    breakdown = funded.get(f"/enrolments/{registered['enrolment_id']}/breakdown", funded.federation)
    shares = funded.get(
        f"/campaigns/{CAMPAIGN}/fee-shares", funded.institution(), kind="skills", trade="焊工", **registered["fees"]
    )
    assert shares["lines"] == [
        {k: line[k] for k in ("line", "shared", "amount", "federation", "unit", "employee")}
        for line in breakdown["lines"]
    ]
    assert [shares[k] for k in ("total", "federation", "unit", "employee")] == [
        breakdown[k] for k in ("total", "federation", "unit", "employee")
    ]
    assert shares["unit_policy"] == "default"
    funded.get(f"/campaigns/{CAMPAIGN}/fee-shares", funded.institution(), expect=422, kind="skills")  # no fees
    funded.get("/campaigns/no-such/fee-shares", funded.institution(), expect=404, kind="skills", **registered["fees"])


def test_the_payment_import_hands_out_its_template(funded):
    response = funded.client.get("/payments/import/template", headers=funded.institution())
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    header = [c.value for c in next(load_workbook(io.BytesIO(response.data)).active.iter_rows(max_row=1))]
    assert header == ["报名编号 Enrolment id", "金额 Amount", "缴费日期 Paid on", "单据号 Reference"]
    assert funded.client.get("/payments/import/template", headers=funded.unit()).status_code == 403


def test_the_payment_template_is_prefilled_with_each_student_still_owing_and_what_is_due(funded):
    paid_in_full, partly, unpaid, withdrawn = (registered_event("skills", employee_id=f"emp-{n}") for n in range(4))
    elsewhere = registered_event("skills", employee_id="emp-9", institution_id=OTHER_INSTITUTION)
    funded.deliver(
        *[("enrollment.registered", e) for e in (paid_in_full, partly, unpaid, withdrawn, elsewhere)],
        ("enrollment.withdrawn", withdrawn_event(withdrawn)),
    )
    total = funded.get(f"/enrolments/{partly['enrolment_id']}/breakdown", funded.federation)["total"]
    payment = {"paid_on": "2013-11-25", "reference": "POS-1"}
    funded.post(
        f"/enrolments/{paid_in_full['enrolment_id']}/payments", {**payment, "amount": total}, funded.institution()
    )
    funded.post(f"/enrolments/{partly['enrolment_id']}/payments", {**payment, "amount": "100.00"}, funded.institution())

    response = funded.client.get(
        "/payments/import/template", headers=funded.institution(), query_string={"campaign_id": CAMPAIGN}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("报名编号 Enrolment id", "金额 Amount", "缴费日期 Paid on", "单据号 Reference")
    due = {row[0]: (row[1], row[2], row[3]) for row in rows[1:]}
    rest = f"{Decimal(total) - Decimal('100.00'):.2f}"
    assert due == {partly["enrolment_id"]: (rest, None, None), unpaid["enrolment_id"]: (total, None, None)}

    unknown = funded.client.get(
        "/payments/import/template", headers=funded.institution(), query_string={"campaign_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 404 and unknown.mimetype == "application/problem+json"
    bad = funded.client.get(
        "/payments/import/template", headers=funded.institution(), query_string={"campaign_id": "x"}
    )
    assert bad.status_code == 422 and "campaign_id" in bad.get_json()["errors"]
