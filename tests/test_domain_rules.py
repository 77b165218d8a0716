"""Domain rules of issue 16, end to end through the gateway (four services with workers on PostgreSQL and
RabbitMQ, one system for the module): money that has already moved, and institution systems recording
payments as machine clients."""

from __future__ import annotations

from decimal import Decimal

import pytest

from demo.client import eventually
from demo.data import money, person
from tests.support.campaign import ADMIN, PASSWORD, Flows, shared_system

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def flows(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("domain")
    with shared_system(servers, vhost, tmp) as url:
        yield Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()


def transfer(flows, unit: str, kind: str, amount: str) -> dict:
    return flows.until_accepted(
        lambda: flows.fed.post(
            "/api/finance/transfers",
            {
                "campaign_id": flows.campaign_id,
                "unit_id": unit,
                "kind": kind,
                "amount": amount,
                "transferred_on": flows.today.isoformat(),
                "reference": f"穗工财〔划拨〕{unit}-{kind}",
            },
        ),
        "finance to know the allocation",
    )


def test_an_allocation_line_is_never_cut_below_the_money_its_unit_already_received(flows):
    unit = "GZ-HP"
    path = f"/api/quota/campaigns/{flows.campaign_id}/allocation"
    line = flows.lines[unit]
    seats, skills = line["academic_seats"], money(line["skills_money"])
    subsidy = money(flows.body["academic_subsidy_per_student"])
    transfer(flows, unit, "skills", str(skills))
    transfer(flows, unit, "academic", str(2 * subsidy))

    def received():
        [mine] = [l for l in flows.fed.get(path)["lines"] if l["unit_id"] == unit]
        return mine["skills_received"] == str(skills) and mine["academic_received"] == str(2 * subsidy) and mine

    eventually(received, "quota to hear of the transfers")
    cut = flows.fed.call(
        "PATCH",
        f"{path}/lines/{unit}",
        {"skills_money": str(skills - Decimal("0.01")), "academic_seats": 1, "reason": "核减"},
        ok=(409,),
    )
    assert cut["code"] == "allocation_below_received"
    assert (cut["received"], cut["asked"]) == (
        {"academic": str(2 * subsidy), "academic_seats_at_least": 2, "skills_money": str(skills)},
        {"academic_seats": 1, "skills_money": str(skills - Decimal("0.01"))},
    )
    assert "at least 2 seats" in cut["detail"] and str(skills) in cut["detail"]
    [after] = [l for l in flows.fed.get(path)["lines"] if l["unit_id"] == unit]
    assert (after["academic_seats"], after["skills_money"]) == (seats, str(skills))

    # down to exactly what was received is allowed
    kept = flows.fed.patch(f"{path}/lines/{unit}", {"academic_seats": 2, "reason": "核减至已划拨"})
    assert [l["academic_seats"] for l in kept["lines"] if l["unit_id"] == unit] == [2]
    report = {
        r["kind"]: r
        for r in flows.unit_officer(unit).get("/api/finance/reports/funds", campaign_id=flows.campaign_id, by="unit")
    }
    assert (report["skills"]["not_transferred"], report["skills"]["to_reclaim"]) == ("0.00", "0.00")
    reclaim = flows.fed.call(
        "POST",
        "/api/finance/reclaims",
        {
            "campaign_id": flows.campaign_id,
            "unit_id": unit,
            "kind": "skills",
            "amount": "0.01",
            "transferred_on": flows.today.isoformat(),
            "reference": "穗工财〔收回〕1号",
        },
        ok=(409,),
    )
    assert reclaim["code"] == "finance_reclaim_exceeds_excess"
    invariants = flows.fed.get("/api/finance/invariants")
    assert (invariants["passed"], invariants["drift"]) == (True, [])


def test_an_institution_system_records_payments_and_the_federations_share_waits_for_the_whole_fee(flows):
    unit, union, institution, programme = "GZ-HD", "GZ-HD-G1", "GZ-ZGJS", "ZGJS-HG-4"
    flows.plan(unit, [programme])
    transfer(flows, unit, "skills", flows.lines[unit]["skills_money"])
    enrolment_id = flows.sent(union, 71, programme)["enrolment_id"]
    assert flows.register(institution, enrolment_id)["status"] == "registered"
    operator = flows.operator(institution)
    breakdown = flows.breakdown(operator, enrolment_id)
    total = money(breakdown["total"])
    payments = f"/api/finance/enrolments/{enrolment_id}/payments"
    machine = flows.machine(institution)
    first = {"amount": "1000.00", "paid_on": flows.today.isoformat(), "reference": "BANK-0001"}
    key = {"Idempotency-Key": f"bank-0001-{enrolment_id}"}
    recorded = machine.post(payments, first, headers=key)
    replay = machine.call("POST", payments, first, headers=key, raw=True)  # the bank file sent again
    assert (replay.json(), replay.headers["Idempotent-Replayed"]) == (recorded, "true")
    assert machine.call("POST", payments, first, headers={"Idempotency-Key": ""}, ok=(400, 422))["status"] in (400, 422)
    other = flows.machine("GZ-GCJS").call("POST", payments, first, ok=(404,))  # scoped to its own institution
    assert other["status"] == 404
    assert [p["amount"] for p in machine.get("/api/finance/payments", enrolment_id=enrolment_id)] == ["1000.00"]

    flows._batch(
        machine,
        f"weld-{enrolment_id}",
        [
            {
                "enrolment_id": enrolment_id,
                "exam": "焊工中级职业技能鉴定",
                "held_on": flows.today.isoformat(),
                "score": "80.00",
                "passed": True,
            }
        ],
    )
    machine.post(
        "/api/evaluation/certificates",
        {"enrolment_id": enrolment_id, "number": f"ZGJS-HD-{enrolment_id[:8]}", "issued_on": flows.today.isoformat()},
    )
    officer = flows.unit_officer(unit)

    def owed(status):
        rows = officer.get("/api/finance/reimbursements", campaign_id=flows.campaign_id, share="federation")
        return next((r for r in rows if r["enrolment_id"] == enrolment_id and r["status"] == status), None)

    waiting = eventually(lambda: owed("awaiting_payment"), "finance to owe the share, waiting for payment")
    pay = f"/api/finance/reimbursements/{waiting['reimbursement_id']}/payment"
    body = {"paid_on": flows.today.isoformat(), "bank_name": "中国银行", "bank_account": "6216610200001234567"}
    refused = officer.call("POST", pay, body, ok=(409,))
    assert (refused["code"], refused["detail"]) == (
        "finance_reimbursement_awaits_full_payment",
        f"The employee has paid 1000.00 of {total}.",
    )
    machine.post(payments, {"amount": str(total - Decimal("1000.00")), "paid_on": flows.today.isoformat()})
    payable = owed("payable")
    assert payable["amount"] == waiting["amount"] == breakdown["federation"]
    assert officer.post(pay, body)["status"] == "paid"
    # A retake fee, the employee's alone, comes from the institution's system too: scoped and idempotent.
    charges = f"/api/finance/enrolments/{enrolment_id}/charges"
    retake = {"line": "retake", "amount": "300.00", "charged_on": flows.today.isoformat(), "reference": "RETAKE-1"}
    charge_key = {"Idempotency-Key": f"retake-1-{enrolment_id}"}
    charged = machine.post(charges, retake, headers=charge_key)
    assert (charged["line"], charged["amount"]) == ("retake", "300.00")
    assert machine.call("POST", charges, retake, headers=charge_key, raw=True).json() == charged
    assert flows.machine("GZ-GCJS").call("POST", charges, retake, ok=(404,))["status"] == 404
    after = flows.breakdown(operator, enrolment_id)
    assert money(after["total"]) == total + Decimal("300.00") and after["federation"] == breakdown["federation"]
    invariants = flows.fed.get("/api/finance/invariants")
    assert (invariants["passed"], invariants["drift"]) == (True, [])


def test_the_federation_sets_the_transfer_deadline_and_sees_what_is_untransferred_after_it(flows):
    path = f"/api/quota/campaigns/{flows.campaign_id}"
    assert flows.fed.get(path)["transfer_deadline"] == f"{flows.fed.get(path)['year']}-12-31"  # the plan: year end
    passed = flows.day(-1)
    assert (
        flows.fed.patch(path, {"transfer_deadline": passed, "transfer_warning_days": 15})["transfer_deadline"] == passed
    )
    report = eventually(
        lambda: (
            (r := flows.fed.get("/api/finance/reports/transfer-deadline", campaign_id=flows.campaign_id))[
                "transfer_deadline"
            ]
            == passed
            and r
        ),
        "finance to hear of the deadline",
    )
    assert (report["status"], report["days_left"], report["warning_days"]) == ("overdue", -1, 15)
    small = "GZ-ZS-JG"
    own = flows.unit_officer(small).get("/api/finance/reports/transfer-deadline", campaign_id=flows.campaign_id)
    assert {r["unit_id"] for r in own["units"]} == {small}
    assert [(r["kind"], r["transferred"], r["status"]) for r in own["units"]] == [
        ("academic", "0.00", "overdue"),  # nothing was transferred to it before the deadline
        ("skills", "0.00", "overdue"),
    ]
    assert money(report["not_transferred"]["skills"]) > 0


def test_the_federation_chooses_the_participating_units_and_adds_one_later_from_the_reserve(flows):
    campaign = flows.fed.post("/api/quota/campaigns", {**flows.body, "name": f"{flows.body['name']}（参与单位）"})
    path = f"/api/quota/campaigns/{campaign['id']}"
    flows.fed.post(f"{path}/publish")
    default = flows.fed.get(f"{path}/participants")
    assert {p["unit_id"] for p in default} >= {"GZ-HZ", "GZ-TH", "GZ-ZS-JG"} and not any(p["chosen"] for p in default)
    chosen = ["GZ-HZ", "GZ-TH", "GZ-YX"]
    listed = flows.fed.put(f"{path}/participants", {"unit_ids": chosen, "reason": "首批试点单位"})
    assert [(p["unit_id"], p["chosen"], p["reason"]) for p in listed] == [
        (u, True, "首批试点单位") for u in sorted(chosen)
    ]
    saved = flows.fed.post(f"{path}/allocation")
    assert sorted(line["unit_id"] for line in saved["lines"]) == sorted(chosen)
    assert saved["totals"]["academic_seats"] == saved["academic_seats_pool"]  # the whole pool among the three
    published = flows.fed.post(f"{path}/allocation/publish")
    refused = flows.fed.call("PUT", f"{path}/participants", {"unit_ids": ["GZ-HZ"], "reason": "改"}, ok=(409,))
    assert refused["code"] == "participants_fixed"

    join = {"academic_seats": 2, "skills_money": "5000.00", "reason": "增补参与单位"}
    no_reserve = flows.fed.call("POST", f"{path}/participants/GZ-ZS-JG", join, ok=(422,))
    assert (no_reserve["code"], no_reserve["excess"]) == (
        "allocation_exceeds_pool",
        {"academic_seats": 2, "skills_money": "5000.00"},
    )
    donor = {line["unit_id"]: line for line in published["lines"]}["GZ-TH"]
    flows.fed.patch(
        f"{path}/allocation/lines/GZ-TH",
        {
            "academic_seats": donor["academic_seats"] - 2,
            "skills_money": str(money(donor["skills_money"]) - Decimal("5000.00")),
            "reason": "核减，留作预留",
        },
    )
    joined = flows.fed.post(f"{path}/participants/GZ-ZS-JG", join)
    line = {line["unit_id"]: line for line in joined["lines"]}["GZ-ZS-JG"]
    assert (line["academic_seats"], line["skills_money"], line["revision"]) == (2, "5000.00", 1)
    assert "GZ-ZS-JG" in {p["unit_id"] for p in flows.fed.get(f"{path}/participants")}
    # finance hears of the new line: room to transfer it
    eventually(
        lambda: (
            flows.fed.call(
                "POST",
                "/api/finance/transfers",
                {
                    "campaign_id": campaign["id"],
                    "unit_id": "GZ-ZS-JG",
                    "kind": "skills",
                    "amount": "5000.00",
                    "transferred_on": flows.today.isoformat(),
                    "reference": "穗工财〔增补〕1号",
                },
                ok=(201, 409),
            ).get("direction")
            == "to_unit"
        ),
        "finance to hear of the joined unit's line",
    )


def test_a_retired_unit_takes_nothing_new_and_a_merged_ones_unions_move_to_its_successor(flows):
    retired = flows.fed.post("/api/quota/units/GZ-ZS-DT/retirement", {"reason": "机构改革撤销"})
    assert (retired["status"], retired["successor_id"], retired["grassroots_unions_moved"]) == ("retired", None, [])
    path = f"/api/quota/campaigns/{flows.campaign_id}/allocation"
    line = {line["unit_id"]: line for line in flows.fed.get(path)["lines"]}["GZ-ZS-DT"]
    more = flows.fed.call(
        "PATCH", f"{path}/lines/GZ-ZS-DT", {"academic_seats": line["academic_seats"] + 1, "reason": "增"}, ok=(409,)
    )
    assert more["code"] == "unit_retired"
    assert flows.fed.call("POST", "/api/quota/units/GZ-ZS-DT/retirement", {"reason": "再"}, ok=(422,))["status"] == 422
    officer = flows.union_officer("GZ-ZS-DT-G1")
    nominate = lambda: officer.call(  # noqa: E731
        "POST",
        "/api/enrollment/enrolments",
        {
            **person(81),
            "campaign_id": flows.campaign_id,
            "programme_id": "ZGJS-QX-4",
            "notice_start": flows.day(-7),
            "attestation": "民主推荐",
        },
        ok=(201, 409, 422),
    )
    refused = eventually(
        lambda: (a := nominate()).get("code") == "enrollment_unit_retired" and a, "enrollment to hear of it"
    )
    assert refused["status"] == 409

    merged = flows.fed.post(
        "/api/quota/units/GZ-CH/retirement", {"reason": "从化区并入增城区", "successor_id": "GZ-ZC"}
    )
    assert (merged["status"], merged["successor_id"], merged["grassroots_unions_moved"]) == (
        "retired",
        "GZ-ZC",
        ["GZ-CH-G1", "GZ-CH-G2"],
    )
    assert flows.fed.get("/api/quota/units/GZ-CH-G1")["parent_id"] == "GZ-ZC"
    assert [u["id"] for u in flows.unit_officer("GZ-ZC").get("/api/quota/units", parent_id="GZ-ZC")] == [
        "GZ-CH-G1",
        "GZ-CH-G2",
        "GZ-ZC-G1",
        "GZ-ZC-G2",
    ]
    # history kept: the merged unit's allocation line stays where it was
    assert "GZ-CH" in {line["unit_id"] for line in flows.fed.get(path)["lines"]}


# The democratic recommendation, the public notice (公示) and objections, and the lists units send.

NOTICE_UNIT, NOTICE_PROGRAMME = "GZ-IND-JT", "SEG-CS-4"
ZH = {"Accept-Language": "zh-CN"}


def nominated(flows, union: str, number: int, notice_start: str, **more) -> dict:
    return flows.union_officer(union).post(
        "/api/enrollment/enrolments",
        {
            **person(number),
            "campaign_id": flows.campaign_id,
            "programme_id": NOTICE_PROGRAMME,
            "notice_start": notice_start,
            "attestation": "一线骨干",
            **more,
        },
    )


def test_the_notice_is_public_per_union_objections_are_identified_to_the_union_only_and_block_confirmation(flows):
    union = f"{NOTICE_UNIT}-G1"
    flows.plan(NOTICE_UNIT, [NOTICE_PROGRAMME])
    officer, unit = flows.union_officer(union), flows.unit_officer(NOTICE_UNIT)
    running = nominated(flows, union, 74, flows.today.isoformat())  # its recommendation comes below
    over = nominated(
        flows, union, 75, flows.day(-7), recommendation={"meeting_on": flows.day(-8), "method": "consultation"}
    )
    running_path, over_path = (f"/api/enrollment/enrolments/{r['enrolment_id']}" for r in (running, over))

    # The notice: without login, one union's list in one campaign (both required), ID numbers masked, no phones.
    public = "/api/enrollment/public/notices"
    assert flows.gateway.call("GET", public, params={"campaign_id": flows.campaign_id}, ok=(422,))["errors"]
    listed = flows.gateway.all(public, campaign_id=flows.campaign_id, grassroots_union_id=union)
    assert [row["enrolment_id"] for row in listed] == [running["enrolment_id"]]  # the other's notice is over
    [entry] = listed
    resident_id = person(74)["resident_id"]
    assert entry["resident_id"] == resident_id[:4] + "*" * 10 + resident_id[-4:]
    assert "phone" not in entry and entry["name"] == person(74)["name"] and entry["recommendation"] is None
    assert entry["notice_end"] == flows.day(5)

    # The democratic recommendation: held before the notice, votes where voted; needed before confirmation.
    vote = {"meeting_on": flows.day(-1), "method": "vote"}
    refused = officer.call("PUT", f"{running_path}/recommendation", vote, ok=(422,))
    assert "votes" in refused["errors"]
    late = {**vote, "meeting_on": flows.day(1), "voters": 30, "votes_for": 25, "votes_against": 3, "votes_abstained": 2}
    assert "meeting_on" in officer.call("PUT", f"{running_path}/recommendation", late, ok=(422,))["errors"]
    officer.put(f"{running_path}/recommendation", {**late, "meeting_on": flows.day(-1)})
    [entry] = flows.gateway.all(public, campaign_id=flows.campaign_id, grassroots_union_id=union)
    assert entry["recommendation"] == {
        "meeting_on": flows.day(-1),
        "method": "vote",
        "voters": 30,
        "votes_for": 25,
        "votes_against": 3,
        "votes_abstained": 2,
    }

    # An employee objects during the notice, identified; only while it runs.
    flows.make_user("jt.worker76", "employee", resident_id=person(76)["resident_id"])
    worker = flows.user("jt.worker76")
    objections = f"/api/enrollment/notices/{running['enrolment_id']}/objections"
    assert "objector_name" in worker.call("POST", objections, {"summary": "不是一线"}, ok=(422,))["errors"]
    worker.post(objections, {"summary": "该职工长期在机关岗位，并非一线", "objector_name": person(76)["name"]})
    worker.call(
        "POST",
        f"/api/enrollment/notices/{over['enrolment_id']}/objections",
        {"summary": "x", "objector_name": person(76)["name"]},
        ok=(404,),
    )
    [seen] = officer.get(running_path)["objections"]
    assert (seen["objector_name"], seen["outcome"]) == (person(76)["name"], None) and seen["objector_employee_id"]
    assert flows.fed.get(running_path)["objections"][0]["objector_name"] == person(76)["name"]
    [hidden] = unit.get(running_path)["objections"]
    assert (hidden["objector_name"], hidden["objector_employee_id"], hidden["recorded_by"]) == (None, None, None)
    assert hidden["summary"] == seen["summary"]

    # A nominee under an undecided objection cannot be confirmed (409, in Chinese); the union decides it,
    # with a reason, audited.
    officer.post(f"{over_path}/consent", {"written_consent_on": flows.day(-1)})
    officer.post(f"{over_path}/objections", {"summary": "群众反映其并非一线", "objector_name": "王某"})
    blocked = officer.call("POST", f"{over_path}/confirm", ok=(409,), headers=ZH)
    assert (blocked["code"], blocked["title"]) == ("enrollment_not_confirmable", "推荐人选暂不能确认")
    assert blocked["errors"]["blockers"] == ["未满足条件：还有 1 项异议尚未处理。"]
    [objection] = officer.get(over_path)["objections"]
    officer.post(
        f"{over_path}/objections/{objection['objection_id']}/outcome",
        {"outcome": "dismissed", "note": "经核实为车间一线班组长"},
    )
    assert officer.post(f"{over_path}/confirm")["status"] == "confirmed"
    decided = flows.fed.get(
        "/api/enrollment/audit", entity_id=over["enrolment_id"], action="enrolment.decide_objection"
    )
    assert [(e["actor_role"], e["reason"]) for e in decided] == [("grassroots_officer", "经核实为车间一线班组长")]

    # Not recommended yet: confirmation is refused with the reason.
    unrecommended = nominated(flows, union, 77, flows.day(-7))
    path = f"/api/enrollment/enrolments/{unrecommended['enrolment_id']}"
    officer.post(f"{path}/consent", {"written_consent_on": flows.day(-1)})
    blocked = officer.call("POST", f"{path}/confirm", ok=(409,), headers=ZH)
    assert blocked["errors"]["blockers"] == ["未满足条件：尚未登记民主推荐情况（会议日期、方式、票数）。"]


def test_a_unit_sends_its_unions_list_on_a_date_and_institutions_see_only_sent_lists(flows):
    union = f"{NOTICE_UNIT}-G2"
    flows.plan(NOTICE_UNIT, [NOTICE_PROGRAMME])
    officer, unit = flows.union_officer(union), flows.unit_officer(NOTICE_UNIT)
    operator = flows.operator("GZ-SEG")
    confirmed = []
    for number in (78, 79):
        row = nominated(
            flows, union, number, flows.day(-7), recommendation={"meeting_on": flows.day(-8), "method": "evaluation"}
        )
        path = f"/api/enrollment/enrolments/{row['enrolment_id']}"
        officer.post(f"{path}/consent", {"written_consent_on": flows.day(-1)})
        assert officer.post(f"{path}/confirm")["status"] == "confirmed"
        confirmed.append(row["enrolment_id"])

    # Confirmed by the union, not sent by its unit: the institution neither sees nor registers them.
    for enrolment_id in confirmed:
        operator.call("GET", f"/api/enrollment/enrolments/{enrolment_id}", ok=(404,))
        operator.call("POST", f"/api/enrollment/enrolments/{enrolment_id}/register", ok=(404,))
    seen = {r["enrolment_id"] for r in operator.all("/api/enrollment/enrolments", campaign_id=flows.campaign_id)}
    assert not seen & set(confirmed)

    # Only the union's own first-level unit sends its list: once, dated, the whole list.
    body = {"campaign_id": flows.campaign_id, "grassroots_union_id": union}
    flows.unit_officer("GZ-YX").call("POST", "/api/enrollment/lists", body, ok=(403,))
    sent = unit.post("/api/enrollment/lists", body)
    assert (sent["grassroots_union_id"], sent["unit_id"], sent["nominees"], sent["sent_on"]) == (
        union,
        NOTICE_UNIT,
        2,
        flows.today.isoformat(),
    )
    again = unit.call("POST", "/api/enrollment/lists", body, ok=(409,), headers=ZH)
    assert (again["code"], again["title"]) == ("enrollment_nothing_to_send", "该基层工会没有已确认、待报送的推荐人选")

    for enrolment_id in confirmed:
        row = operator.get(f"/api/enrollment/enrolments/{enrolment_id}")
        assert (row["status"], row["sent_on"], row["list_id"]) == ("sent", flows.today.isoformat(), sent["list_id"])
    assert sent["list_id"] in {
        n["list_id"] for n in operator.all("/api/enrollment/lists", campaign_id=flows.campaign_id)
    }
    assert sent["list_id"] in {n["list_id"] for n in officer.all("/api/enrollment/lists")}
    assert sent["list_id"] not in {n["list_id"] for n in flows.unit_officer("GZ-YX").all("/api/enrollment/lists")}
    assert sent["list_id"] not in {n["list_id"] for n in flows.operator("GZ-SYG").all("/api/enrollment/lists")}
    [entry] = flows.fed.get("/api/enrollment/audit", entity_id=sent["list_id"])
    assert (entry["action"], entry["actor_role"], entry["after"]["nominees"]) == (
        "nomination_list.send_list",
        "unit_officer",
        2,
    )
