"""Raising the federation's skills rate for a trade within the skills surplus, over HTTP and on the broker."""

from __future__ import annotations

import threading
import uuid

import pytest

from .conftest import (
    CAMPAIGN,
    OTHER_UNIT,
    UNIT,
    allocation_event,
    campaign_event,
    certificate_event,
    published,
    registered_event,
)

pytestmark = pytest.mark.servers


def raise_rate(
    finance, body: dict, expect: int = 201, headers: dict | None = None, campaign_id: str = CAMPAIGN, key=None
):
    return finance.post(
        f"/campaigns/{campaign_id}/skills-rate-raises", body, headers or finance.federation, expect, key
    )


def breakdown(finance, registered: dict) -> dict:
    return finance.get(f"/enrolments/{registered['enrolment_id']}/breakdown", finance.federation)


def shares(finance, registered: dict) -> tuple[str, str, str]:
    found = breakdown(finance, registered)
    return found["federation"], found["unit"], found["employee"]


def test_a_raise_within_the_surplus_recomputes_unpaid_shares_and_applies_to_later_registrations(funded):
    # a small skills fund, so that the surplus is what limits the raise
    funded.deliver(
        ("campaign.published", campaign_event(2, fund_pools={"academic": "5000000.00", "skills": "4000.00"}))
    )
    funded.transfer("2100.00")
    welder, certified, paid = (registered_event("skills", employee_id=f"emp-{n}") for n in range(3))
    electrician = registered_event("skills", trade="电工", employee_id="emp-e")
    funded.deliver(*[("enrollment.registered", s) for s in (welder, electrician)])
    funded.registered_and_paid(certified, paid)
    funded.deliver(
        ("certificate.issued", certificate_event(certified)),
        ("certificate.issued", certificate_event(paid)),
    )
    funded.pay(funded.owed(paid["enrolment_id"])[0]["reimbursement_id"])
    surplus = funded.get("/reports/skills-surplus", funded.federation, campaign_id=CAMPAIGN)
    assert (surplus["committed"], surplus["surplus"]) == ("3995.00", "5.00")  # 3 × 940.00 + 1,175.00 (50 %)

    body = {"trade": "焊工", "rate": "0.45", "reason": "技能资金有结余，提高焊工补助比例"}
    short = raise_rate(funded, body, expect=409)  # 2 unpaid welders × 117.50 > 5.00 left
    assert short["code"] == "finance_skills_surplus_insufficient"
    assert "235.00" in short["detail"] and "5.00" in short["detail"]
    assert shares(funded, welder) == ("940.00", "940.00", "650.00")  # the employee also pays the 180.00 exam fee

    funded.deliver(
        ("campaign.published", campaign_event(3, fund_pools={"academic": "5000000.00", "skills": "10000.00"}))
    )
    tap = funded.stack.tap("breakdown.settled")
    raised = raise_rate(funded, body, key="raise-1")
    assert {
        k: raised[k]
        for k in (
            "trade",
            "rate_before",
            "rate_after",
            "extra_cost",
            "enrolments",
            "surplus_before",
            "surplus_after",
            "reason",
            "raised_by",
        )
    } == {
        "trade": "焊工",
        "rate_before": "0.4000",
        "rate_after": "0.4500",
        "extra_cost": "235.00",
        "enrolments": 2,
        "surplus_before": "6005.00",
        "surplus_after": "5770.00",
        "reason": body["reason"],
        "raised_by": "tester",
    }
    again = raise_rate(funded, body, key="raise-1")
    assert again["raise_id"] == raised["raise_id"]

    # 2,350.00 × 45 % = 1,057.50; the unit keeps 940.00; the paid share and the other trade stay
    assert shares(funded, welder) == shares(funded, certified) == ("1057.50", "940.00", "532.50")
    assert shares(funded, paid) == ("940.00", "940.00", "650.00")
    assert shares(funded, electrician)[0] == "1175.00"
    [owed] = funded.owed(certified["enrolment_id"])
    assert (owed["amount"], owed["status"]) == ("1057.50", "payable")
    balances = {
        a["type"]: a["balance"]
        for a in funded.get("/accounts", funded.unit(), campaign_id=CAMPAIGN)
        if a["kind"] == "skills"
    }
    assert balances == {"earmarked": "102.50", "payable": "1057.50", "paid_out": "940.00"}  # 2,100 - 940 - 1,057.50

    later = registered_event("skills", employee_id="emp-later")
    funded.deliver(("enrollment.registered", later))
    assert shares(funded, later) == ("1057.50", "940.00", "532.50")

    events = [e["data"] for e in published(funded.stack, tap, 3)]
    assert sorted((e["enrolment_id"], e["revision"], e["federation"], e["employee"]) for e in events) == sorted(
        [
            (welder["enrolment_id"], 2, "1057.50", "532.50"),
            (certified["enrolment_id"], 2, "1057.50", "532.50"),
            (later["enrolment_id"], 1, "1057.50", "532.50"),
        ]
    )
    assert all(e["lines"][0]["federation"] == "1057.50" for e in events)

    report = funded.get("/reports/skills-surplus", funded.caller("auditor"), campaign_id=CAMPAIGN)
    assert (report["committed"], report["surplus"]) == ("5287.50", "4712.50")  # the later welder took 1,057.50
    assert [(t["trade"], t["federation_rate"]) for t in report["by_trade"]] == [("焊工", "0.4500"), ("电工", "0.5000")]
    assert [(r["raise_id"], r["surplus_before"], r["surplus_after"], r["raised_by"]) for r in report["raises"]] == [
        (raised["raise_id"], "6005.00", "5770.00", "tester")
    ]
    assert funded.pay(owed["reimbursement_id"])["amount"] == "1057.50"
    assert funded.invariants()["passed"]


def test_a_raise_must_lift_the_rate_stay_at_most_1_and_is_the_federation_admins(funded):
    registered = registered_event("skills", trade="电工")
    funded.deliver(("enrollment.registered", registered))
    for rate in ("0.50", "0.30"):  # 电工 is at 50 % already
        problem = raise_rate(funded, {"trade": "电工", "rate": rate, "reason": "x"}, expect=422)
        assert (problem["code"], problem["errors"]) == (
            "finance_rate_not_raised",
            {"rate": ["比例：必须高于 0.5000。"]},
        )
    for body, fields in (
        ({"trade": "电工", "rate": "1.01", "reason": "x"}, {"rate"}),
        ({"trade": "电工", "rate": "0", "reason": "x"}, {"rate"}),
        ({"trade": " ", "rate": "0.6"}, {"trade", "reason"}),
    ):
        problem = raise_rate(funded, body, expect=422)
        assert (problem["code"], set(problem["errors"])) == ("validation_failed", fields)
    zh = funded.client.post(
        f"/campaigns/{CAMPAIGN}/skills-rate-raises",
        headers={**funded.federation, "Idempotency-Key": str(uuid.uuid4())},
        json={"trade": "电工", "rate": "0.50", "reason": "x"},
    )
    assert zh.get_json()["title"] == "调整后的市总补助比例须高于该工种现行比例"
    for role, scope in (("auditor", {}), ("unit_officer", {"unit_id": UNIT})):
        raise_rate(funded, {"trade": "电工", "rate": "0.6", "reason": "x"}, 403, funded.caller(role, **scope))
    raise_rate(
        funded, {"trade": "电工", "rate": "0.6", "reason": "x"}, 404, campaign_id="00000000-0000-4000-8000-000000000000"
    )
    assert breakdown(funded, registered)["federation"] == "1175.00"
    assert funded.get("/reports/skills-surplus", funded.federation, campaign_id=CAMPAIGN)["raises"] == []


def test_two_raises_racing_for_the_same_surplus_get_exactly_one_through(funded):
    funded.deliver(
        ("campaign.published", campaign_event(2, fund_pools={"academic": "5000000.00", "skills": "2500.00"}))
    )
    students = [registered_event("skills", trade=trade, employee_id=f"emp-{trade}") for trade in ("焊工", "电工")]
    funded.deliver(*[("enrollment.registered", s) for s in students])  # 940.00 + 1,175.00: 385.00 left
    start, statuses = threading.Barrier(2), []

    def lift(trade: str, rate: str):  # each costs 352.50 and fits alone; both do not
        start.wait()
        response = funded.client.post(
            f"/campaigns/{CAMPAIGN}/skills-rate-raises",
            headers={**funded.federation, "Idempotency-Key": str(uuid.uuid4())},
            json={"trade": trade, "rate": rate, "reason": "结余"},
        )
        statuses.append((response.status_code, response.get_json()["code"] if response.status_code != 201 else ""))

    threads = [threading.Thread(target=lift, args=args) for args in (("焊工", "0.55"), ("电工", "0.65"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [(201, ""), (409, "finance_skills_surplus_insufficient")]
    report = funded.get("/reports/skills-surplus", funded.federation, campaign_id=CAMPAIGN)
    assert (report["committed"], report["surplus"], len(report["raises"])) == ("2467.50", "32.50", 1)


def test_a_raise_must_fit_each_units_skills_allocation_as_well_as_the_fund(funded):
    # the fund has room to spare; GZ-BY's allocation will have 20.00 left, GZ-TH's plenty
    funded.deliver(
        ("allocation.published", allocation_event(UNIT, 2, "1900.00", revision=2)),
        ("allocation.published", allocation_event(OTHER_UNIT, 2, "2000.00", revision=2)),
    )
    tight = [registered_event("skills", employee_id=f"emp-by-{n}") for n in range(2)]  # 2 × 940.00 of 1,900.00
    roomy = registered_event("skills", unit_id=OTHER_UNIT, employee_id="emp-th")
    funded.deliver(*[("enrollment.registered", s) for s in (*tight, roomy)])
    body = {"trade": "焊工", "rate": "0.41", "reason": "技能资金有结余"}  # 23.50 more per welder

    short = raise_rate(funded, body, expect=409)
    assert short["code"] == "finance_unit_skills_allocation_insufficient"
    assert set(short["errors"]) == {UNIT}  # 47.00 > 20.00 left; GZ-TH's 23.50 fits its 1,060.00
    assert "27.00" in short["errors"][UNIT][0] and "20.00" in short["errors"][UNIT][0]
    zh = funded.client.post(
        f"/campaigns/{CAMPAIGN}/skills-rate-raises",
        headers={**funded.federation, "Idempotency-Key": str(uuid.uuid4())},
        json=body,
    )
    assert zh.get_json()["title"] == "提高补助比例所需经费超过部分单位技能培训补助额度结余"
    assert [shares(funded, s)[0] for s in (*tight, roomy)] == ["940.00"] * 3, "nothing changed"
    assert funded.get("/reports/skills-surplus", funded.federation, campaign_id=CAMPAIGN)["raises"] == []

    funded.deliver(("allocation.published", allocation_event(UNIT, 2, "1927.00", revision=3)))  # 47.00 left
    raised = raise_rate(funded, body)
    assert (raised["extra_cost"], raised["enrolments"]) == ("70.50", 3)
    assert [shares(funded, s)[0] for s in (*tight, roomy)] == ["963.50"] * 3
    assert funded.invariants()["passed"]
