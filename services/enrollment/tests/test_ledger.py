"""The training ledger: fed by events of every service, scoped and masked, exported streamed."""

import csv
import io
import uuid
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from servicekit.clock import china_today as today
from servicekit.identity import Identity
from services.enrollment import ledger
from services.enrollment.tests.helpers import CAMPAIGN, OTHER_UNIT, UNIT, registered, resident_id
from tests.support.processes import handled_in_batches, wait_for

pytestmark = pytest.mark.servers


def test_ledger_lines_gather_every_service_facts_scoped_masked_and_streamed(enrollment):
    first, second = registered(enrollment, [1, 2])
    day = today().isoformat()
    for attempt, (score, passed) in enumerate((("52.00", False), ("78.50", True)), start=1):
        enrollment.deliver(
            "exam.result_recorded",
            {
                "result_id": str(uuid.uuid4()),
                "enrolment_id": first,
                "institution_id": "GZ-ZGJS",
                "exam": "电工中级职业技能鉴定",
                "held_on": day,
                "score": score,
                "passed": passed,
                "attempt": attempt,
            },
        )
    certificate = {
        "certificate_id": str(uuid.uuid4()),
        "number": "ZGJS-2027-0001",
        "enrolment_id": first,
        "institution_id": "GZ-ZGJS",
        "kind": "skills",
    }
    enrollment.deliver("certificate.issued", {**certificate, "revision": 1, "issued_on": day})
    enrollment.deliver(
        "reimbursement.paid",
        {
            "reimbursement_id": str(uuid.uuid4()),
            "enrolment_id": first,
            "campaign_id": CAMPAIGN,
            "unit_id": "GZ-BY",
            "kind": "skills",
            "share": "federation",
            "amount": "940.00",
            "paid_on": day,
        },
    )
    enrollment.deliver(
        "certificate.revoked", {**certificate, "revision": 2, "reason": "证书信息有误", "revoked_on": day}
    )
    enrollment.deliver("certificate.issued", {**certificate, "revision": 1, "issued_on": day})  # stale: ignored

    attendance = {"hours_planned": 120, "hours_attended": 96, "note": "缺勤3次"}
    path = f"/enrolments/{first}/attendance"
    assert enrollment.client.put(path, json=attendance, headers=enrollment.officer()).status_code == 403
    too_many = enrollment.client.put(path, json={**attendance, "hours_attended": 121}, headers=enrollment.institution())
    assert too_many.status_code == 422 and "hours_attended" in too_many.get_json()["errors"]
    reported = enrollment.client.put(path, json=attendance, headers=enrollment.institution())
    assert reported.status_code == 200, reported.get_json()
    assert (reported.get_json()["hours_attended"], reported.get_json()["reported_on"]) == (96, day)

    exported = enrollment.client.get("/ledger", query_string={"format": "csv"}, headers=enrollment.officer())
    assert exported.status_code == 200 and exported.is_streamed
    lines = {
        row["报名编号 Enrolment id"]: row
        for row in csv.DictReader(io.StringIO(exported.get_data().decode("utf-8-sig")))
    }
    assert set(lines) == {first, second}
    line = lines[first]
    assert (line["身份证号 Resident ID number"], line["手机 Phone"]) == (
        resident_id(1)[:4] + "*" * 10 + resident_id(1)[-4:],
        "138****0001",
    )
    assert (
        line["应缴费用合计 Fees due"],
        line["市总补助（技能）Federation subsidy asked"],
        line["已缴费 Paid"],
        line["缴费状态 Payment status"],
    ) == ("2590.00", "940.00", "2590.00", "full")
    assert (line["考试次数 Exam attempts"], line["考试通过 Exam passed"], line["最高成绩 Best score"]) == (
        "2",
        "True",
        "78.50",
    )
    assert (line["证书编号 Certificate number"], line["已报销市总部分 Federation share reimbursed"]) == (
        "",
        "940.00",
    ), "the revoked certificate is not the student's any more"
    assert lines[second]["考试次数 Exam attempts"] == "0" and lines[second]["考试通过 Exam passed"] == ""
    assert line["考试及补考明细 Each exam and retake"] == (
        f"电工中级职业技能鉴定 #1 {day} 52.00 未通过 failed; 电工中级职业技能鉴定 #2 {day} 78.50 通过 passed"
    )
    assert line["缴费明细 Payments (date amount)"].endswith(" 2590.00")
    assert (line["计划学时 Hours planned"], line["出勤学时 Hours attended"]) == ("120", "96")
    assert lines[second]["计划学时 Hours planned"] == "" and lines[second]["入学测试通过 Entrance test passed"] == ""

    own = enrollment.ok(
        enrollment.client.get("/ledger", query_string={"format": "json"}, headers=enrollment.grassroots())
    )
    assert {(row["name"], row["resident_id"]) for row in own} == {("职工1", resident_id(1)), ("职工2", resident_id(2))}
    assert (
        enrollment.ok(
            enrollment.client.get("/ledger", query_string={"format": "json"}, headers=enrollment.officer(OTHER_UNIT))
        )
        == []
    )
    assert (
        enrollment.ok(
            enrollment.client.get(
                "/ledger", query_string={"format": "json", "status": "withdrawn"}, headers=enrollment.admin()
            )
        )
        == []
    )

    workbook = enrollment.client.get("/ledger", headers=enrollment.institution())
    assert workbook.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(workbook.get_data()), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "报名编号 Enrolment id" and {r[0] for r in rows[1:]} == {first, second}
    assert enrollment.client.get("/ledger", headers=enrollment.employee("x")).status_code == 403
    unknown = enrollment.client.get("/ledger", query_string={"format": "pdf"}, headers=enrollment.admin())
    assert unknown.status_code == 422

    # Exported batch after batch (keyset on the ledger's order): any batch size gives the same lines in order.
    admin = Identity(subject="fed-1", role="federation_admin")
    with enrollment.stack.runtime.sessions() as session:
        whole = list(ledger.lines(session, admin, {}))
        assert [line["enrolment_id"] for line in whole] == [first, second]
        assert list(ledger.lines(session, admin, {}, batch=1)) == whole


def breakdown(enrolment_id: str, revision: int, status: str, training: tuple[str, str, str, str]) -> dict:
    """Finance's breakdown: the training fee shared (amount, federation, unit, employee); the employee pays the exam."""
    amount, federation, unit, employee = training
    lines = [
        {"line": "tuition_or_training", "amount": amount, "federation": federation, "unit": unit, "employee": employee},
        {"line": "appraisal_exam", "amount": "180.00", "federation": "0.00", "unit": "0.00", "employee": "180.00"},
    ]
    exam = Decimal("180.00")
    return {
        "enrolment_id": enrolment_id,
        "revision": revision,
        "campaign_id": CAMPAIGN,
        "unit_id": UNIT,
        "institution_id": "GZ-ZGJS",
        "kind": "skills",
        "status": status,
        "lines": lines,
        "total": str(Decimal(amount) + exam),
        "federation": federation,
        "unit": unit,
        "employee": str(Decimal(employee) + exam),
    }


def test_ledger_shows_finance_shares_and_recovered_reimbursements_from_the_broker(enrollment):
    stack = enrollment.stack
    worker = stack.worker()
    wait_for(lambda: "consumer ready" in worker.log(), message="the worker consuming")
    first, second = registered(enrollment, [1, 2])
    since = len(worker.log())
    # one burst, out of order: one run of the Batched handler, where each enrolment keeps its newest revision
    stack.publish_many(
        [
            ("breakdown.settled", breakdown(first, 2, "settled", ("2350.00", "940.00", "940.00", "470.00"))),
            ("breakdown.settled", breakdown(first, 1, "settled", ("2100.00", "840.00", "840.00", "420.00"))),
            ("breakdown.settled", breakdown(second, 1, "settled", ("2350.00", "940.00", "940.00", "470.00"))),
            ("breakdown.settled", breakdown(second, 2, "cancelled", ("2350.00", "940.00", "940.00", "470.00"))),
        ]
    )
    stack.publish(
        "reimbursement.recovered",
        {
            "reimbursement_id": str(uuid.uuid4()),
            "enrolment_id": first,
            "campaign_id": CAMPAIGN,
            "unit_id": UNIT,
            "kind": "skills",
            "share": "federation",
            "amount": "940.00",
            "recovered_on": today().isoformat(),
        },
    )

    def ledger():
        rows = enrollment.ok(
            enrollment.client.get("/ledger", query_string={"format": "json"}, headers=enrollment.admin())
        )
        return {row["enrolment_id"]: row for row in rows}

    wait_for(
        lambda: ledger()[first]["recovered_federation"] == "940.00" and ledger()[second]["share_status"] == "cancelled",
        message="finance's events handled",
    )
    shares = (
        "share_status",
        "share_federation",
        "share_unit",
        "share_employee",
        "total_due",
        "recovered_federation",
        "recovered_unit",
    )
    lines = ledger()
    assert handled_in_batches(worker, since), "the burst was not handled as one batch: the run went untested"
    assert [lines[first][k] for k in shares] == ["settled", "940.00", "940.00", "650.00", "2530.00", "940.00", None]
    assert [lines[second][k] for k in shares] == ["cancelled", "0.00", "0.00", "0.00", "0.00", None, None]

    exported = enrollment.client.get("/ledger", query_string={"format": "csv"}, headers=enrollment.officer())
    row = next(
        r
        for r in csv.DictReader(io.StringIO(exported.get_data().decode("utf-8-sig")))
        if r["报名编号 Enrolment id"] == first
    )
    assert (
        row["市总分担 Federation share"],
        row["个人分担 Employee share"],
        row["已追回市总部分 Federation share recovered"],
    ) == ("940.00", "650.00", "940.00")
    sheet = load_workbook(
        io.BytesIO(enrollment.client.get("/ledger", headers=enrollment.admin()).get_data()), read_only=True
    ).worksheets[0]
    header = next(sheet.iter_rows(values_only=True))
    assert {
        "费用分担状态 Shares status",
        "核定费用合计 Total due (finance)",
        "已追回单位部分 Unit share recovered",
    } <= set(header)
