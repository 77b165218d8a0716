"""Issue 16's close-out, end to end through the gateway (four services with workers on PostgreSQL and RabbitMQ,
one system for the module, its campaign closed by the last test): a refund after a withdrawal by the fee's
breakdown, the close-out checklist and report merged from every service, and the close that makes the campaign
read-only everywhere and returns each unit's unspent money to the federation's pool."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from demo.client import eventually
from demo.data import person
from tests.support.campaign import ADMIN, PASSWORD, Flows, shared_system

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def flows(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("closeout")
    with shared_system(servers, vhost, tmp) as url:
        yield Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()


def withdraw(flows, union: str, unit: str, enrolment_id: str) -> None:
    change = flows.union_officer(union).post(
        f"/api/enrollment/enrolments/{enrolment_id}/status-changes",
        {"kind": "withdrawal", "reason": "本人因工作调动申请退学", "effective_on": flows.today.isoformat()},
    )
    flows.unit_officer(unit).post(
        f"/api/enrollment/status-changes/{change['change_id']}/decision", {"decision": "approve", "note": "同意退学"}
    )


def test_a_withdrawn_student_is_refunded_by_the_fees_breakdown_before_admission(flows):
    unit, union, institution, programme = "GZ-BY", "GZ-BY-G1", "GZ-ZGJS", "ZGJS-ZL-4"
    flows.plan(unit, [programme])
    enrolment_id = flows.sent(union, 61, programme)["enrolment_id"]
    assert flows.register(institution, enrolment_id)["status"] == "registered"
    paid = flows.pay_in_full(institution, enrolment_id)
    operator = flows.operator(institution)
    path = f"/api/finance/enrolments/{enrolment_id}/refund"
    body = {
        "refunded_on": flows.today.isoformat(),
        "reference": "TK-61",
        "exam_taken": False,
        "textbooks_issued": False,
    }
    early = operator.call("POST", path, body, ok=(409,), headers={"Accept-Language": "en"})
    assert early["code"] == "finance_refund_not_withdrawn"
    withdraw(flows, union, unit, enrolment_id)

    refund = flows.until_accepted(lambda: operator.post(path, body), "finance to hear of the withdrawal")
    assert (refund["stage"], refund["refunded"], refund["to_employee"]) == (
        "before_admission",
        paid["total"],
        paid["total"],
    )
    assert sum(Decimal(line["amount"]) for line in refund["lines"]) == Decimal(paid["total"])
    assert flows.unit_officer(unit).get(path) == refund
    breakdown = flows.breakdown(operator, enrolment_id, status="cancelled")
    assert (breakdown["total"], breakdown["paid"]) == ("0.00", "0.00")
    policy = flows.fed.get(f"/api/finance/campaigns/{flows.campaign_id}/refund-policy")
    assert (
        policy["custom"],
        policy["after_admission"]["textbook"],
        policy["after_admission"]["tuition_or_training"],
    ) == (
        False,
        "1",
        "0",
    )
    invariants = flows.fed.get("/api/finance/invariants")
    assert (invariants["passed"], invariants["drift"]) == (True, [])


def test_the_federation_sees_the_checklist_then_closes_and_the_campaign_is_read_only_everywhere(flows):
    unit, union, institution, programme = "GZ-HD", "GZ-HD-G1", "GZ-ZGJS", "ZGJS-HG-4"
    flows.plan(unit, [programme])
    enrolment_id = flows.sent(union, 62, programme)["enrolment_id"]
    assert flows.register(institution, enrolment_id)["status"] == "registered"
    flows.pay_in_full(institution, enrolment_id)
    transfer = {
        "campaign_id": flows.campaign_id,
        "unit_id": unit,
        "kind": "skills",
        "amount": "20000.00",
        "transferred_on": flows.today.isoformat(),
        "reference": "穗工财〔划拨〕结项测试",
    }
    flows.until_accepted(lambda: flows.fed.post("/api/finance/transfers", transfer), "finance to know the allocation")
    closeout = f"/api/campaigns/{flows.campaign_id}/closeout"
    assert flows.unit_officer(unit).call("GET", closeout, ok=(403,))["status"] == 403
    assert flows.fed.call("GET", "/api/campaigns/Tàa/closeout", ok=(404,))["code"] == "not_found"  # fuzzing found it

    def counted():
        report = flows.fed.get(closeout)
        units = {row["unit_id"]: row for row in report["units"]}
        return units.get(unit, {}).get("registered") == 1 and units[unit].get("paid_by_employees") and report

    report = eventually(counted, "every service to count the registration")
    assert (report["status"], report["ready"]) == ("published", False)
    items = {item["item"]: item for item in report["checklist"]}
    assert list(items) == [
        "classes_finished",
        "results_in",
        "reimbursements_paid",
        "funds_transferred",
        "objections_decided",
    ]
    results = items["results_in"]
    assert (results["service"], results["done"], results["open"]) == ("evaluation", False, 1)  # the other withdrew
    assert any(enrolment_id in missing for missing in results["missing"])
    transferred = items["funds_transferred"]
    assert transferred["open"] > 0 and f"{unit} skills: not transferred" in " ".join(transferred["missing"])
    mine = {row["unit_id"]: row for row in report["units"]}[unit]
    assert (mine["nominated"], mine["registered"], mine["passed"], mine["certified"]) == (1, 1, 0, 0)
    fees = Decimal(mine["fees"])
    assert Decimal(mine["federation"]) + Decimal(mine["unit"]) + Decimal(mine["employee"]) == fees
    assert (mine["transferred"], mine["unspent"], mine["paid_by_employees"]) == ("20000.00", "20000.00", str(fees))
    by_institution = {row["institution_id"]: row for row in report["institutions"]}[institution]
    assert by_institution["refunded"] != "0.00"  # the first test's refund, at the same institution
    sheet = flows.fed.call("GET", closeout, params={"format": "xlsx"}, raw=True)
    rows = list(load_workbook(io.BytesIO(sheet.content), read_only=True).active.iter_rows(values_only=True))
    header = rows[0]
    [line] = [row for row in rows[1:] if row[1] == unit]
    assert line[header.index("已划拨 Transferred")] == 20000  # money as a number, not text

    close = f"/api/quota/campaigns/{flows.campaign_id}/close"
    assert flows.unit_officer(unit).call("POST", close, {"reason": "结项"}, ok=(403,))["status"] == 403
    assert "reason" in flows.fed.call("POST", close, {}, ok=(422,))["errors"]
    closed = flows.fed.post(close, {"reason": "培训、考试均已结束，结项", "unspent_funds": "return_to_pool"})
    assert (closed["status"], closed["close_reason"], closed["unspent_funds"]) == (
        "closed",
        "培训、考试均已结束，结项",
        "return_to_pool",
    )
    chinese = {"Accept-Language": "zh-CN"}
    again = flows.fed.call("POST", close, {"reason": "再次"}, ok=(409,), headers=chinese)
    assert (again["code"], again["title"]) == ("campaign_closed", "该计划批次已结项关闭，只可查看，不可修改")
    edit = flows.fed.call("PATCH", f"/api/quota/campaigns/{flows.campaign_id}", {"name": "改名"}, ok=(409,))
    assert edit["code"] == "campaign_closed"
    audit = flows.fed.get("/api/audit", entity_type="campaign", entity_id=flows.campaign_id, action="campaign.closed")
    assert [(entry["reason"], entry["after"]["status"]) for entry in audit] == [("培训、考试均已结束，结项", "closed")]

    # every service hears of the close and refuses the campaign's writes, in Chinese and in English
    english = {"Accept-Language": "en"}
    nominate = lambda: flows.union_officer(union).call(  # noqa: E731
        "POST",
        "/api/enrollment/enrolments",
        {
            "campaign_id": flows.campaign_id,
            "programme_id": programme,
            "notice_start": flows.day(-7),
            "attestation": "一线骨干",
            **person(63, "高中"),
        },
        ok=(201, 409),
        headers=english,
    )
    refused = eventually(lambda: (r := nominate()).get("code") == "campaign_closed" and r, "enrollment to hear")
    assert refused["title"] == "The campaign is closed: it is read-only"
    payment = lambda: flows.operator(institution).call(  # noqa: E731
        "POST",
        f"/api/finance/enrolments/{enrolment_id}/payments",
        {"amount": "1.00", "paid_on": flows.today.isoformat()},
        ok=(201, 409),
        headers=chinese,
    )
    refused = eventually(lambda: (r := payment()).get("code") == "campaign_closed" and r, "finance to hear")
    assert refused["title"] == "该计划批次已结项关闭，只可查看，不可修改"
    inspection = lambda: flows.fed.call(  # noqa: E731
        "POST",
        "/api/evaluation/inspections",
        {
            "campaign_id": flows.campaign_id,
            "institution_id": institution,
            "inspector": "市总宣教部",
            "inspected_on": flows.today.isoformat(),
            "scores": {"教学场地": 85},
        },
        ok=(201, 409),
    )
    eventually(lambda: inspection().get("code") == "campaign_closed", "evaluation to hear")

    def returned():
        report = flows.fed.get(closeout)
        row = {r["unit_id"]: r for r in report["units"]}[unit]
        return row["returned_at_close"] == "20000.00" and (report, row)

    report, row = eventually(returned, "finance to return the unspent money to the pool")
    assert (report["status"], row["unspent"], row["transferred"]) == ("closed", "0.00", "20000.00")
    invariants = flows.fed.get("/api/finance/invariants")
    assert (invariants["passed"], invariants["drift"]) == (True, [])
