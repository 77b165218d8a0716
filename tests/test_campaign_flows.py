"""Flows of the campaign the demo's scenario does not play, end to end through the gateway only: every caller
logs in with its role (institution systems sign their requests), four real services with worker processes
on PostgreSQL and RabbitMQ. One system and the demo's campaign serve the whole module; each flow has units,
programmes and workers of its own, so the flows do not depend on each other or on their order."""

from __future__ import annotations

import secrets
from decimal import Decimal

import pytest

from demo.client import eventually
from demo.data import money, person
from tests.support import rfc9474
from tests.support.campaign import ADMIN, PASSWORD, Flows, shared_system

pytestmark = pytest.mark.servers

SUBSIDY = Decimal("1500.00")  # the federation's share of an academic student's tuition
MOVED = Decimal("2350.00")  # skills money reallocated


@pytest.fixture(scope="module")
def flows(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("flows")
    with shared_system(servers, vhost, tmp) as url:
        yield Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()


def masked(resident_id: str) -> str:
    return resident_id[:4] + "*" * 10 + resident_id[-4:]


def only(rows: list[dict], **match) -> dict:
    found = [row for row in rows if all(row[key] == value for key, value in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]


def unit_line(report: dict, unit: str) -> dict:
    return only(report["units"], unit_id=unit)


def test_a_roster_returned_with_comments_is_corrected_resubmitted_approved_and_published_masked(flows):
    unit, union, institution, programme = "GZ-YX", "GZ-YX-G1", "GZ-SYG", "SYG-YY-4"
    numbers = [49, 50, 51]
    flows.plan(unit, [programme])
    for number in numbers:
        row = flows.sent(union, number, programme)
        assert flows.register(institution, row["enrolment_id"])["status"] == "registered"
        flows.pay_in_full(institution, row["enrolment_id"])
    operator = flows.operator(institution)
    klass = operator.post(
        "/api/enrollment/classes",
        {
            "campaign_id": flows.campaign_id,
            "programme_id": programme,
            "opens_on": flows.day(14),
            "site": "市一宫（越秀区解放南路）",
            "public_class_name": "育婴员社会班（周六班）",
        },
    )
    assert (klass["dedicated"], len(klass["students"]), klass["status"]) == (False, 3, "forming")
    path = f"/api/enrollment/classes/{klass['class_id']}"
    assert operator.post(f"{path}/roster")["status"] == "submitted"

    comments = "请补充班主任和学习助理姓名后重新报送"
    assert flows.fed.post(f"{path}/review", {"decision": "return", "comments": comments})["status"] == "returned"
    returned = operator.get(path)
    assert (returned["status"], returned["review_comments"]) == ("returned", comments)
    public = lambda: flows.gateway.get("/api/enrollment/public/rosters", campaign_id=flows.campaign_id)  # noqa: E731
    assert klass["class_id"] not in {r["class_id"] for r in public()}
    refused = flows.fed.call("POST", f"{path}/review", {"decision": "approve", "comments": "同意"}, ok=(409,))
    assert refused["code"] == "enrollment_wrong_status", refused  # a returned roster is approved only when resubmitted

    operator.put(f"{path}/staff", {"head_teacher": "梁秀英", "learning_assistant": "何嘉欣"})
    resubmitted = operator.post(f"{path}/roster")
    assert (resubmitted["status"], resubmitted["roster_submitted_on"]) == ("submitted", flows.today.isoformat())
    assert flows.fed.post(f"{path}/review", {"decision": "approve", "comments": "已补齐"})["status"] == "approved"
    published = flows.fed.post(f"{path}/publish")
    assert (published["status"], published["published_on"]) == ("published", flows.today.isoformat())
    assert (published["head_teacher"], published["learning_assistant"]) == ("梁秀英", "何嘉欣")

    listed = only(public(), class_id=klass["class_id"])
    assert (listed["programme"], listed["opens_on"]) == ("育婴员（中级）", flows.day(14))
    workers = [person(number) for number in numbers]
    assert sorted((s["name"], s["resident_id"], s["unit_name"]) for s in listed["students"]) == sorted(
        (w["name"], masked(w["resident_id"]), "越秀区总工会") for w in workers
    )
    text = flows.gateway.call(
        "GET", "/api/enrollment/public/rosters", params={"campaign_id": flows.campaign_id}, raw=True
    ).text
    assert not any(w["resident_id"] in text or w["phone"] in text for w in workers)


def test_on_site_teaching_for_a_remote_unit_shows_on_its_class_programme_ledger_and_score(flows):
    """从化 is far from the institutions: 职工教育网 teaches its academic class at the unit (送教上门)."""
    unit, union, institution, programme = "GZ-CH", "GZ-CH-G1", "GZ-ZGJY", "ZGJY-DZ-GS"
    flows.plan(unit, [programme])
    ids = []
    for number in (52, 53):
        row = flows.sent(union, number, programme)
        assert flows.register(institution, row["enrolment_id"])["status"] == "registered"
        assert flows.admit(institution, row["enrolment_id"])["status"] == "admitted"
        flows.pay_in_full(institution, row["enrolment_id"])
        ids.append(row["enrolment_id"])
    operator = flows.operator(institution)
    site = "从化经济开发区联合工会职工学校（送教上门）"
    klass = operator.post(
        "/api/enrollment/classes",
        {
            "campaign_id": flows.campaign_id,
            "programme_id": programme,
            "opens_on": flows.day(14),
            "site": site,
            "on_site": True,
            "public_class_name": "工商企业管理大专班（从化送教点）",
        },
    )
    path = f"/api/enrollment/classes/{klass['class_id']}"
    operator.post(f"{path}/roster")
    flows.fed.post(f"{path}/review", {"decision": "approve", "comments": "同意送教上门"})
    flows.fed.post(f"{path}/publish")
    opened = operator.post(f"{path}/open")

    assert (opened["status"], opened["on_site"], opened["site"]) == ("opened", True, site)
    assert sorted(s["enrolment_id"] for s in opened["students"]) == sorted(ids)
    assert (flows.fed.get(path)["on_site"], flows.fed.get(path)["site"]) == (True, site)
    assert operator.get(f"/api/enrollment/programmes/{programme}")["on_site_teaching"] is True
    ledger = flows.unit_officer(unit).get("/api/enrollment/ledger", campaign_id=flows.campaign_id, format="json")
    assert sorted((r["enrolment_id"], r["class_id"], r["class_opens_on"]) for r in ledger) == sorted(
        (e, klass["class_id"], flows.day(14)) for e in ids
    )
    # evaluation hears of the opening: one class, opened before the programme starts, roster in on time
    scores = eventually(
        lambda: (
            (s := flows.fed.get(f"/api/evaluation/institutions/{institution}/scores", campaign_id=flows.campaign_id))[
                "criteria"
            ]["plan_execution"]["figures"]["classes"]
            and s
        ),
        "evaluation to hear of the class",
    )
    assert scores["criteria"]["plan_execution"]["figures"] == {
        "classes": 1,
        "opened_on_time": 1,
        "opening_checked": 1,
        "rosters_on_time": 1,
    }
    assert scores["criteria"]["plan_execution"]["score"] == "100.00"


def test_units_own_cost_sharing_policies_give_exact_shares_their_officers_see(flows):
    """黄埔: a fixed academic share of 1,000.00 and a skills unit rate of 33.33 %; 番禺: 33.33 % of the tuition."""
    fixed, percentage = "GZ-HP", "GZ-PY"
    hp, py = flows.unit_officer(fixed), flows.unit_officer(percentage)
    hp.put(
        f"/api/finance/units/{fixed}/policy",
        {"academic_mode": "fixed", "academic_value": "1000.00", "skills_unit_rate": "0.3333"},
    )
    py.put(f"/api/finance/units/{percentage}/policy", {"academic_mode": "percentage", "academic_value": "0.3333"})
    refused = py.call("PUT", f"/api/finance/units/{fixed}/policy", {"academic_mode": "match"}, ok=(403,))
    assert refused["code"] == "forbidden"
    assert flows.fed.get(f"/api/finance/units/{fixed}/policy") == {
        "unit_id": fixed,
        "is_default": False,
        "academic_mode": "fixed",
        "academic_value": "1000.0000",
        "skills_unit_rate": "0.3333",
        "unit_share_timing": "on_certification",
    }

    flows.plan(fixed, ["ZGJY-BK-XZ", "GCJS-DG-4"])
    flows.plan(percentage, ["ZGJY-BK-KJ"])
    enrolled = {}
    for union, number, programme, institution in (
        ("GZ-HP-G1", 54, "ZGJY-BK-XZ", "GZ-ZGJY"),
        ("GZ-HP-G2", 55, "GCJS-DG-4", "GZ-GCJS"),
        ("GZ-PY-G1", 56, "ZGJY-BK-KJ", "GZ-ZGJY"),
    ):
        row = flows.sent(union, number, programme, education="大专")
        assert flows.register(institution, row["enrolment_id"])["status"] == "registered"
        enrolled[programme] = row["enrolment_id"]

    def shares(breakdown):
        tuition = only(breakdown["lines"], line="tuition_or_training")
        return (
            (breakdown["total"], breakdown["federation"], breakdown["unit"], breakdown["employee"]),
            (tuition["amount"], tuition["federation"], tuition["unit"], tuition["employee"]),
        )

    # tuition 8,200.00: federation 1,500.00, unit its fixed 1,000.00, employee 5,700.00 + textbook 760.00,
    # registration 50.00, entrance test 60.00
    assert shares(flows.breakdown(hp, enrolled["ZGJY-BK-XZ"])) == (
        ("9070.00", "1500.00", "1000.00", "6570.00"),
        ("8200.00", "1500.00", "1000.00", "5700.00"),
    )
    # training fee 2,350.00: federation 40 % = 940.00, unit 33.33 % = 783.255 -> 783.26 (half-up),
    # employee 626.74 + appraisal 320.00, textbook 120.00, registration 30.00
    assert shares(flows.breakdown(hp, enrolled["GCJS-DG-4"])) == (
        ("2820.00", "940.00", "783.26", "1096.74"),
        ("2350.00", "940.00", "783.26", "626.74"),
    )
    # tuition 8,600.00: federation 1,500.00, unit 33.33 % = 2,866.38, employee 4,233.62 + 910.00 of other lines
    assert shares(flows.breakdown(py, enrolled["ZGJY-BK-KJ"])) == (
        ("9510.00", "1500.00", "2866.38", "5143.62"),
        ("8600.00", "1500.00", "2866.38", "4233.62"),
    )

    seen = {
        officer: {b["enrolment_id"] for b in officer.get("/api/finance/breakdowns", campaign_id=flows.campaign_id)}
        for officer in (hp, py)
    }
    assert seen == {hp: {enrolled["ZGJY-BK-XZ"], enrolled["GCJS-DG-4"]}, py: {enrolled["ZGJY-BK-KJ"]}}
    assert (
        py.call("GET", f"/api/finance/enrolments/{enrolled['GCJS-DG-4']}/breakdown", ok=(404,), raw=True).status_code
        == 404
    )  # another unit's student: as if there were none
    ledger = {r["enrolment_id"]: r for r in hp.get("/api/finance/ledger", campaign_id=flows.campaign_id)}
    assert (ledger[enrolled["GCJS-DG-4"]]["unit_share"], ledger[enrolled["ZGJY-BK-XZ"]]["unit_share"]) == (
        "783.26",
        "1000.00",
    )


def test_unused_quota_reallocated_after_the_deadline_gives_transfer_room_and_a_late_registration(flows):
    """A campaign of its own (its registration window moves): 机关工会 has 1 seat, its second student is refused;
    after the deadline the federation moves a seat and 2,350.00 of skills money from 供电局, reopens registration
    for a late round, and the refused student is registered."""
    campaign = flows.fed.post("/api/quota/campaigns", {**flows.body, "name": f"{flows.body['name']}（调剂）"})
    path = f"/api/quota/campaigns/{campaign['id']}"
    flows.fed.post(f"{path}/publish")
    flows.fed.post(f"{path}/allocation")
    lines = {line["unit_id"]: line for line in flows.fed.post(f"{path}/allocation/publish")["lines"]}
    small, donor = "GZ-ZS-JG", "GZ-ZS-GD"
    assert lines[small]["academic_seats"] == 1
    donor_seats, donor_money, small_money = (
        lines[donor]["academic_seats"],
        money(lines[donor]["skills_money"]),
        money(lines[small]["skills_money"]),
    )
    flows.plan(small, ["ZGJY-BK-KJ"], campaign["id"])
    first, second = (flows.sent("GZ-ZS-JG-G2", number, "ZGJY-BK-KJ", "大专", campaign["id"]) for number in (58, 59))
    assert flows.register("GZ-ZGJY", first["enrolment_id"])["status"] == "registered"
    refused = flows.register("GZ-ZGJY", second["enrolment_id"])
    assert refused["status"] == "refused" and refused["refusal_reason"], refused

    too_early = flows.fed.call(
        "POST",
        f"{path}/allocation/reallocations",
        {"from_unit_id": donor, "to_unit_id": small, "academic_seats": 1, "reason": "调剂"},
        ok=(409,),
    )
    assert too_early["code"] == "reallocation_not_open"
    flows.fed.patch(path, {"windows": {"registration_end": flows.day(-1)}})
    operator = flows.operator("GZ-ZGJY")
    register = f"/api/enrollment/enrolments/{second['enrolment_id']}/register"

    def closed():
        """Refused for the window once enrollment knows it closed; until then quota refuses it again."""
        answer = operator.call("POST", register, ok=(200, 202, 409))
        if answer.get("code") == "enrollment_registration_window_closed":
            return answer
        flows.wait_status(operator, second["enrolment_id"], ("refused",), "quota's answer")
        return None

    assert eventually(closed, "enrollment to hear that registration is closed")["status"] == 409
    moved = flows.fed.post(
        f"{path}/allocation/reallocations",
        {
            "from_unit_id": donor,
            "to_unit_id": small,
            "academic_seats": 1,
            "skills_money": str(MOVED),
            "reason": "供电局名额未用完，调剂给机关工会",
        },
    )
    assert {l["unit_id"]: (l["academic_seats"], l["skills_money"]) for l in moved["lines"]} == {
        donor: (donor_seats - 1, str(donor_money - MOVED)),
        small: (2, str(small_money + MOVED)),
    }
    audit = [c for c in flows.fed.get(f"{path}/allocation/changes") if c["action"] == "reallocated"]
    assert sorted((c["unit_id"], c["old_seats"], c["new_seats"]) for c in audit) == sorted(
        [(donor, donor_seats, donor_seats - 1), (small, 1, 2)]
    )

    flows.fed.patch(path, {"windows": {"registration_end": flows.day(7)}})  # a late round for reallocated quota
    flows.until_accepted(lambda: operator.post(register), "enrollment to hear of the late round", retry_on=(409,))
    assert flows.wait_status(operator, second["enrolment_id"], ("registered",), "the reallocated seat")
    report = flows.fed.get(f"{path}/report")
    seats = unit_line(report, small)["seats"]
    assert (seats["allocated"], seats["reserved"], seats["available"]) == (2, 2, 0)
    assert unit_line(report, donor)["seats"]["allocated"] == donor_seats - 1
    assert report["totals"]["seats"]["allocated"] == 3333

    # finance: the room for transfers follows the reallocation, to the fen
    transfer = lambda unit, kind, amount: flows.fed.call(  # noqa: E731
        "POST",
        "/api/finance/transfers",
        {
            "campaign_id": campaign["id"],
            "unit_id": unit,
            "kind": kind,
            "amount": amount,
            "transferred_on": flows.today.isoformat(),
            "reference": "穗工财〔调剂〕1号",
        },
        ok=(201, 409),
    )
    eventually(lambda: "code" not in transfer(small, "academic", "3000.00"), "finance to hear of the reallocation")
    over = transfer(donor, "academic", str(donor_seats * SUBSIDY))
    assert (over["code"], over["errors"]) == (
        "finance_transfer_exceeds_allocation",
        {"amount": [f"At most {(donor_seats - 1) * SUBSIDY}."]},
    )
    funds = {
        r["kind"]: r
        for r in flows.unit_officer(small).get("/api/finance/reports/funds", campaign_id=campaign["id"], by="unit")
    }
    assert (funds["academic"]["allocated"], funds["academic"]["transferred"], funds["academic"]["not_transferred"]) == (
        "3000.00",
        "3000.00",
        "0.00",
    )
    assert funds["skills"]["allocated"] == str(small_money + MOVED)


def test_a_withdrawal_after_registration_gives_the_quota_back_and_cancels_the_shares(flows):
    unit, union, institution, programme = "GZ-BY", "GZ-BY-G1", "GZ-ZGJS", "ZGJS-ZL-4"
    flows.plan(unit, [programme])
    row = flows.sent(union, 62, programme)
    enrolment_id = row["enrolment_id"]
    assert flows.register(institution, enrolment_id)["status"] == "registered"
    flows.pay_in_full(institution, enrolment_id)
    report = lambda: unit_line(flows.fed.get(f"/api/quota/campaigns/{flows.campaign_id}/report"), unit)  # noqa: E731
    # a skills registration uses its subsidy at once: 40 % of the training fee 2,500.00
    before = eventually(lambda: (m := report()["money"])["consumed"] == "1000.00" and m, "quota to consume it")
    assert (before["reserved"], before["released"]) == ("0.00", "0.00")

    officer = flows.unit_officer(unit)
    change = flows.union_officer(union).post(
        f"/api/enrollment/enrolments/{enrolment_id}/status-changes",
        {"kind": "withdrawal", "reason": "本人因工作调动申请退学", "effective_on": flows.today.isoformat()},
    )
    assert (
        officer.post(
            f"/api/enrollment/status-changes/{change['change_id']}/decision",
            {"decision": "approve", "note": "同意退学"},
        )["state"]
        == "approved"
    )
    withdrawn = officer.get(f"/api/enrollment/enrolments/{enrolment_id}")
    assert (withdrawn["status"], withdrawn["withdrawn_on"]) == ("withdrawn", flows.today.isoformat())

    after = eventually(lambda: (m := report()["money"])["released"] == "1000.00" and m, "quota to release it")
    assert (after["reserved"], after["consumed"], after["available"]) == ("0.00", "0.00", before["allocated"])
    held = flows.fed.get(f"/api/quota/campaigns/{flows.campaign_id}/reservations", unit_id=unit)
    assert [(r["enrolment_id"], r["status"]) for r in held] == [(enrolment_id, "released")]

    cancelled = flows.breakdown(officer, enrolment_id, status="cancelled")
    assert (cancelled["total"], cancelled["paid"]) == ("2980.00", "2980.00")
    machine = flows.machine(institution)  # no certificate, hence no federation share, for a withdrawn student
    refused = eventually(
        lambda: (
            (
                a := machine.call(
                    "POST",
                    "/api/evaluation/certificates",
                    {
                        "enrolment_id": enrolment_id,
                        "number": f"ZGJS-W-{enrolment_id[:8]}",
                        "issued_on": flows.today.isoformat(),
                    },
                    ok=(201, 422),
                )
            )
            .get("errors", {})
            .get("enrolment_id")
            == ["The enrolment is withdrawn."]
            and a
        ),
        "evaluation to hear of the withdrawal",
    )
    assert refused["status"] == 422
    assert [
        r
        for r in officer.get("/api/finance/reimbursements", campaign_id=flows.campaign_id)
        if r["enrolment_id"] == enrolment_id and r["status"] != "cancelled"
    ] == []
    ledger = only(officer.get("/api/finance/ledger", campaign_id=flows.campaign_id), enrolment_id=enrolment_id)
    assert (ledger["enrolment_status"], ledger["federation_reimbursement"]) == ("withdrawn", "not_owed")
    training = only(
        officer.get("/api/enrollment/ledger", campaign_id=flows.campaign_id, format="json"), enrolment_id=enrolment_id
    )
    assert (training["status"], training["withdrawn_on"]) == ("withdrawn", flows.today.isoformat())
    invariants = flows.fed.get("/api/finance/invariants")
    assert (invariants["passed"], invariants["drift"]) == (True, [])


def test_an_academic_student_graduates_and_the_unit_pays_back_the_federations_1500(flows):
    unit, union, institution, programme = "GZ-LG", "GZ-LG-G1", "GZ-GCJS", "GCJS-DZ-JD"
    flows.plan(unit, [programme])
    flows.until_accepted(
        lambda: flows.fed.post(
            "/api/finance/transfers",
            {
                "campaign_id": flows.campaign_id,
                "unit_id": unit,
                "kind": "academic",
                "amount": "1500.00",
                "transferred_on": flows.today.isoformat(),
                "reference": "穗工财〔学历〕7号",
            },
        ),
        "finance to know the allocation",
    )
    enrolment_id = flows.sent(union, 63, programme)["enrolment_id"]
    operator = flows.operator(institution)
    assert flows.register(institution, enrolment_id)["status"] == "registered"
    refused = operator.call("POST", f"/api/enrollment/enrolments/{enrolment_id}/admit", ok=(409,))
    assert refused["code"] == "enrollment_entrance_test_not_passed"
    admitted = flows.admit(institution, enrolment_id)
    assert (admitted["entrance_test_passed"], admitted["admitted_on"]) == (True, flows.today.isoformat())
    paid = flows.pay_in_full(institution, enrolment_id)
    # tuition 7,200.00: federation 1,500.00, unit the same (default), employee 4,200.00 + 830.00 of other lines
    assert (paid["total"], paid["federation"], paid["unit"], paid["employee"]) == (
        "8030.00",
        "1500.00",
        "1500.00",
        "5030.00",
    )

    machine = flows.machine(institution)
    flows._batch(
        machine,
        f"graduation-{enrolment_id}",
        [
            {
                "enrolment_id": enrolment_id,
                "exam": "机电一体化技术专业毕业考核",
                "held_on": flows.today.isoformat(),
                "score": "86.50",
                "passed": True,
            }
        ],
    )
    number = f"GCJS-BY-{flows.today.year}-0001"
    certificate = machine.post(
        "/api/evaluation/certificates",
        {"enrolment_id": enrolment_id, "number": number, "issued_on": flows.today.isoformat()},
    )
    assert certificate["kind"] == "academic"
    verified = flows.gateway.get(
        "/api/evaluation/public/certificates/verification", institution_id=institution, number=number
    )
    assert (verified["status"], verified["programme"]["major"]) == ("valid", "机电一体化技术")

    officer = flows.unit_officer(unit)
    owed = eventually(
        lambda: {
            r["share"]: r
            for r in officer.get("/api/finance/reimbursements", campaign_id=flows.campaign_id)
            if r["enrolment_id"] == enrolment_id and r["status"] == "payable"
        }.get("federation"),
        "finance to owe the federation's share",
    )
    assert owed["amount"] == "1500.00"
    payment = f"/api/finance/reimbursements/{owed['reimbursement_id']}/payment"
    body = {
        "paid_on": flows.today.isoformat(),
        "reference": "萝岗区总工会代发",
        "bank_name": "中国建设银行广州萝岗支行",
        "bank_account": "6217003320000123456",
    }
    key = {"Idempotency-Key": f"pay-{owed['reimbursement_id']}"}
    done = officer.post(payment, body, headers=key)
    retried = officer.call("POST", payment, body, headers=key, raw=True)  # the answer was lost: sent again
    assert (retried.json(), retried.headers["Idempotent-Replayed"]) == (done, "true")
    assert (
        done["status"],
        done["amount"],
        done["bank_account"].endswith("3456"),
        "3320000123" in done["bank_account"],
    ) == ("paid", "1500.00", True, False)
    assert officer.call("POST", payment, body, ok=(409,))["code"] == "finance_reimbursement_not_payable"

    accounts = {
        (a["type"], a["kind"]): a["balance"]
        for a in officer.get("/api/finance/accounts", campaign_id=flows.campaign_id)
    }
    assert (
        accounts[("earmarked", "academic")],
        accounts[("payable", "academic")],
        accounts[("paid_out", "academic")],
    ) == ("0.00", "0.00", "1500.00")
    ledger = only(officer.get("/api/finance/ledger", campaign_id=flows.campaign_id), enrolment_id=enrolment_id)
    assert (ledger["enrolment_status"], ledger["federation_share"], ledger["federation_reimbursement"]) == (
        "admitted",
        "1500.00",
        "paid",
    )
    training = eventually(
        lambda: (
            (
                t := only(
                    officer.get("/api/enrollment/ledger", campaign_id=flows.campaign_id, format="json"),
                    enrolment_id=enrolment_id,
                )
            )["reimbursed_federation"]
            and t
        ),
        "enrollment to hear of the reimbursement",
    )
    assert (training["reimbursed_federation"], training["certificate_number"]) == ("1500.00", number)
    invariants = flows.fed.get("/api/finance/invariants")
    assert (invariants["passed"], invariants["drift"]) == (True, [])


def test_every_scoped_caller_lists_its_own_rows_and_never_anothers(flows):
    """Two students of two units, unions and institutions: each officer, operator and the employee (an account
    made from the resident ID number) lists enrolments, breakdowns, payments and ledger rows of their own only."""
    sides = {"GZ-HZ": ("GZ-HZ-G1", "GZ-SEG", "SEG-KJ-5", 70), "GZ-LW": ("GZ-LW-G1", "GZ-YCG", "YCG-YY-4", 71)}
    enrolment_of = {}
    for unit, (union, institution, programme, number) in sides.items():
        flows.plan(unit, [programme])
        row = flows.sent(union, number, programme)
        assert flows.register(institution, row["enrolment_id"])["status"] == "registered"
        flows.pay_in_full(institution, row["enrolment_id"])
        enrolment_of[unit] = row["enrolment_id"]

    lists = ("/api/enrollment/enrolments", "/api/finance/breakdowns", "/api/finance/payments", "/api/finance/ledger")
    for unit, (union, institution, _, number) in sides.items():
        mine, theirs = enrolment_of[unit], next(e for u, e in enrolment_of.items() if u != unit)
        username = f"employee.{number}"
        flows.fed.post(
            "/auth/users",
            {
                "username": username,
                "password": PASSWORD,
                "role": "employee",
                "resident_id": person(number)["resident_id"],
            },
        )
        callers = {
            "unit officer": flows.unit_officer(unit),
            "union officer": flows.union_officer(union),
            "institution": flows.operator(institution),
            "employee": flows.user(username),
        }
        for who, caller in callers.items():
            for path in lists:
                if who == "union officer" and path != "/api/enrollment/enrolments":
                    continue  # finance knows units, not grassroots unions
                seen = eventually(
                    lambda: (ids := {r["enrolment_id"] for r in caller.get(path)}) and mine in ids and ids,
                    f"{who} of {unit} to see their student in {path}",
                )
                assert theirs not in seen, (who, unit, path)
        employee_rows = callers["employee"].get("/api/enrollment/enrolments")
        assert [r["enrolment_id"] for r in employee_rows] == [mine]


def test_a_skills_rate_raise_reaches_the_shares_quota_and_the_training_ledger(flows):
    """Money left over lets the federation raise one trade's rate: finance recomputes the share not yet paid,
    quota holds the new federation share, the training ledger shows it, and the ledger stays without drift."""
    unit, union, institution, programme = "GZ-NS", "GZ-NS-G1", "GZ-SEG", "SEG-MS-4"  # 美容师, training 2,100.00
    flows.plan(unit, [programme])
    enrolment_id = flows.sent(union, 72, programme)["enrolment_id"]
    assert flows.register(institution, enrolment_id)["status"] == "registered"
    officer = flows.unit_officer(unit)

    def tuition(breakdown):
        line = only(breakdown["lines"], line="tuition_or_training")
        return line["amount"], line["federation"], line["unit"], line["employee"]

    assert tuition(flows.breakdown(officer, enrolment_id)) == ("2100.00", "840.00", "840.00", "420.00")
    held = lambda: only(  # noqa: E731
        flows.fed.get(f"/api/quota/campaigns/{flows.campaign_id}/reservations", unit_id=unit),
        enrolment_id=enrolment_id,
    )["amount"]
    assert held() == "840.00"

    raised = flows.fed.post(
        f"/api/finance/campaigns/{flows.campaign_id}/skills-rate-raises",
        {"trade": "美容师", "rate": "0.50", "reason": "技能类资金结余，提高美容师补贴比例"},
        headers={"Idempotency-Key": f"raise-{enrolment_id}"},
    )
    assert (raised["rate_before"], raised["rate_after"], raised["extra_cost"]) == ("0.4000", "0.5000", "210.00")
    # the unit's rate stays 40 %: the employee pays what the federation now adds
    after = eventually(
        lambda: (b := flows.breakdown(officer, enrolment_id)) and tuition(b)[1] == "1050.00" and b,
        "finance to recompute the share",
    )
    assert tuition(after) == ("2100.00", "1050.00", "840.00", "210.00")
    eventually(lambda: held() == "1050.00", "quota to hold the raised federation share")
    training = eventually(
        lambda: (
            (
                t := only(
                    officer.get("/api/enrollment/ledger", campaign_id=flows.campaign_id, format="json"),
                    enrolment_id=enrolment_id,
                )
            )
            and t["share_federation"] == "1050.00"
            and t
        ),
        "the training ledger to show it",
    )
    assert (training["share_unit"], training["share_employee"]) == ("840.00", after["employee"])
    invariants = flows.fed.get("/api/finance/invariants")
    assert (invariants["passed"], invariants["drift"]) == (True, [])


def test_an_enrolled_employee_answers_a_survey_anonymously_with_a_client_written_from_rfc9474(flows):
    """The student's client (tests/support/rfc9474.py, no service code) prepares and blinds a token, asks for the
    blind signature through the gateway as the enrolled employee, finalises it, and answers with no credentials."""
    unit, union, institution, programme, number = "GZ-HD", "GZ-HD-G1", "GZ-FCG", "FCG-HL-5", 74
    flows.plan(unit, [programme])
    enrolment_id = flows.sent(union, number, programme)["enrolment_id"]
    assert flows.register(institution, enrolment_id)["status"] == "registered"
    survey = flows.fed.post(
        "/api/evaluation/surveys",
        {"campaign_id": flows.campaign_id, "institution_id": institution, "closes_on": flows.day(30)},
    )
    flows.fed.post(
        "/auth/users",
        {
            "username": "employee.74",
            "password": PASSWORD,
            "role": "employee",
            "resident_id": person(number)["resident_id"],
        },
    )
    student = flows.user("employee.74")
    invitation = eventually(
        lambda: [s for s in student.get("/api/evaluation/surveys") if s["survey_id"] == survey["survey_id"]],
        "evaluation to invite the registered student",
    )[0]
    published = flows.gateway.get(f"/api/evaluation/public/surveys/{survey['survey_id']}")["public_key"]
    assert invitation["public_key"] == published == survey["public_key"]  # one key for everyone

    key = rfc9474.public_key(published["pem"])
    token = rfc9474.prepare(secrets.token_bytes(32))
    blinded_msg, inv = rfc9474.blind(key, token)
    tokens = f"/api/evaluation/surveys/{survey['survey_id']}/tokens"
    blind_sig = bytes.fromhex(student.post(tokens, {"blinded_msg": blinded_msg.hex()})["blind_sig"])
    sig = rfc9474.finalize(key, token, blind_sig, inv)
    again = rfc9474.blind(key, rfc9474.prepare(secrets.token_bytes(32)))[0]
    assert student.call("POST", tokens, {"blinded_msg": again.hex()}, ok=(409,))["code"] == (
        "evaluation_token_already_issued"
    )

    anonymous = flows.gateway  # no login, no cookie: nothing names the student
    assert anonymous.token is None and anonymous.machine is None
    answers = f"/api/evaluation/public/surveys/{survey['survey_id']}/answers"
    answer = {"input_msg": token.hex(), "sig": sig.hex(), "teaching": 5, "service": 4, "organisation": 4}
    assert anonymous.call("POST", answers, answer, raw=True).status_code == 201
    assert anonymous.call("POST", answers, answer, ok=(409,))["code"] == "evaluation_already_answered"
    outsider = rfc9474.prepare(secrets.token_bytes(32))  # a token nobody signed, with that signature
    forged = anonymous.call("POST", answers, {**answer, "input_msg": outsider.hex()}, ok=(403,))
    assert forged["code"] == "evaluation_bad_token"
    results = flows.fed.get(f"/api/evaluation/surveys/{survey['survey_id']}/results")
    assert results["withheld"] is True  # one answer: too few to show anything
