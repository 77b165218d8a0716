"""The whole 2013-14 campaign through the gateway only: four real services (api on a port, a real worker
process each) on PostgreSQL and RabbitMQ, the gateway before them, played by the demo's scenario."""

from __future__ import annotations

import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from openpyxl import load_workbook

from demo.client import ApiError, Gateway
from demo.data import load, person
from demo.scenario import RE_EXAM_FEE, SMALL_UNIT, THIS_UNIT, Scenario
from tests.support.campaign import (
    ADMIN,
    PASSWORD,
    SERVICES,
    gateway_before,
    logged_in_process,
    personal_data_in_logs,
)
from tests.support.processes import wait_for

pytestmark = [pytest.mark.servers, pytest.mark.timeout(900)]  # the whole campaign, twice: minutes on a loaded machine


@pytest.fixture
def stacks(stack_of, broker_users):
    """The four services as in production: each its own database role and broker user, consumers checking
    publishers (user_id), every process logging JSON."""
    return {
        name: stack_of(name, BROKER_URL=broker_users[name], BUS_VERIFY_PUBLISHER="1", LOG_FORMAT="json")
        for name in SERVICES
    }


@pytest.fixture
def system(stacks, make_database, tmp_path):
    """The base URL of a gateway in front of the four services, each with a worker process (the apps and the
    gateway of this process log into in-process.log)."""
    # (the log file's handler comes last: making an app configures logging afresh)
    with (
        gateway_before(stacks, tmp_path / "var", make_database("gateway")) as url,
        logged_in_process(tmp_path / "in-process.log"),
    ):
        yield url


def expected_shares(row) -> tuple[str, str, str]:
    """The plan's rule from the catalogue's fees: skills 40 % + 40 % of the training fee; academic 1,500 + 1,500."""
    fees = {p["programme_id"]: p["fee_standard"] for p in load("programmes")["programmes"]}[row["programme_id"]]
    shared = Decimal(fees["tuition_or_training"])
    rate_share = (shared * Decimal("0.40")).quantize(Decimal("0.01"))
    federation = Decimal("1500.00") if row["kind"] == "academic" else rate_share
    employee = sum(Decimal(v) for v in fees.values()) - 2 * federation
    return str(federation), str(federation), str(employee)


def play(base_url, tmp_path, lines):
    return Scenario(base_url, ADMIN, PASSWORD, tmp_path / "state", say=lines.append)


def test_the_campaign_runs_end_to_end_through_the_gateway_and_again_changes_nothing(system, stacks, tmp_path):
    lines = []
    scenario = play(system, tmp_path, lines)
    summary = scenario.run()
    (tmp_path / "demo.txt").write_text("\n".join(lines))

    assert summary["allocation"]["total seats"] == 3333
    assert summary["allocation"]["total skills money"] == "5000000.00"
    assert summary["participation"]["participants"] == summary["participation"]["chosen by the federation"] > 10
    assert summary["nominations"]["objection"].endswith(": rejected")
    objector = person(scenario.cohorts["electricians"].numbers[0])["name"]
    assert summary["nominations"]["objector (seen by the union)"] == objector  # an employee, with their login
    assert summary["nominations"]["objector seen by the unit"] == "—"
    assert summary["nominations"]["public notice"].startswith("GZ-TH-G1: 1 人公示中")  # read without login
    lists = summary["list_send"]["lists"]  # one per union, every nominee but the rejected one
    assert len(lists) == 3 and sum(int(re.search(r": (\d+) 人", line).group(1)) for line in lists) == 47, lists
    assert summary["list_send"]["unsent seen by an institution"] == 0
    [waited] = summary["reimbursements"]["awaiting full payment"]
    assert "409 finance_reimbursement_awaits_full_payment" in waited and "150.00" in waited
    deadline = scenario.deadline_report
    left = date.fromisoformat(deadline["transfer_deadline"]) - date.fromisoformat(deadline["today"])
    assert left.days == deadline["days_left"]
    assert deadline["status"] in ("open", "due_soon", "overdue") and Decimal(deadline["not_transferred"]["skills"]) > 0
    by_status = summary["registration"]["by status"]
    # 31 electricians, 12 welders, 1 tea-art student, 1 academic student (the small unit's one seat); its other
    # nominee refused; 1 waiting (disqualified); the one the union's objection took off the list
    assert by_status == {"registered": 45, "refused": 1, "rejected": 1, "sent": 1}
    [refused] = summary["registration"]["refused"]
    assert refused.endswith("(GZ-ZS-JG): no_quota_left"), refused
    # the seat's holder fails the entrance test and is rejected: the seat goes back, the refused nominee takes it
    held, released, reused = (scenario.seat_counts[moment] for moment in ("held", "released", "reused"))
    assert (held["allocated"], held["reserved"], held["available"], held["released"]) == (1, 1, 0, 0)
    assert (released["reserved"], released["available"], released["released"]) == (0, 1, 1)
    assert (reused["reserved"], reused["available"], reused["released"]) == (1, 0, 1)
    [rejected] = summary["entrance_tests"]["rejected registrations"]
    assert rejected.endswith(": entrance_test_failed（入学测试未达录取线）")
    [taken] = summary["entrance_tests"]["seat taken by"]
    assert taken.endswith(": admitted") and taken.split(":")[0] == refused.split(" (")[0]
    assert summary["entrance_tests"]["admitted now"] == 1
    assert summary["transfer"]["now at"] == "GZ-SYG SYG-CY-4"
    dedicated, public = scenario.classes_opened
    assert (dedicated["dedicated"], len(dedicated["students"]), dedicated["status"]) == (True, 31, "opened")
    assert (public["dedicated"], len(public["students"]), public["public_class_name"]) == (
        False,
        12,
        "焊工中级社会班（周末班）",
    )
    assert summary["exams"]["failed attempts"] == 1
    assert summary["certificates"]["certificates"] == 43
    assert summary["reimbursements"]["paid"] >= 43
    assert scenario.refused_registration["code"] == "enrollment_institution_disqualified"
    assert summary["disqualification"]["student stays"] == "sent"

    assert scenario.invariants["passed"] and scenario.invariants["drift"] == []
    report = scenario.report
    assert report["totals"]["seats"]["allocated"] == 3333
    assert Decimal(report["totals"]["money"]["allocated"]) == Decimal("5000000.00")
    for kind, pool in (("seats", 3333), ("money", Decimal("5000000.00"))):
        usage = {key: Decimal(str(value)) for key, value in report["totals"][kind].items()}
        assert usage["allocated"] + Decimal(str(report["unallocated"][kind])) == pool
        assert usage["allocated"] == usage["reserved"] + usage["consumed"] + usage["spent"] + usage["available"]
    assert report["totals"]["seats"]["consumed"] + report["totals"]["seats"]["spent"] == 1  # the one admitted
    ledger = {row["enrolment_id"]: row for row in scenario.ledger}
    rejected = ledger.pop(scenario.rejected)  # registered, then rejected: its breakdown cancelled, nothing paid
    assert (rejected["enrolment_status"], rejected["paid_to_institution"], rejected["federation_reimbursement"]) == (
        "withdrawn",
        "0.00",
        "not_owed",
    )
    assert len(ledger) == 45  # every registered or admitted student, none of the refused or waiting
    certified = {row["enrolment_id"] for row in ledger.values() if row["federation_reimbursement"] == "paid"}
    assert len(certified) == 43
    for row in ledger.values():
        federation, unit, employee = expected_shares(row)
        if row["enrolment_id"] == scenario.re_examined:  # the re-exam fee the student alone pays
            employee = str(Decimal(employee) + Decimal(RE_EXAM_FEE))
        assert (row["federation_share"], row["unit_share"], row["employee_share"]) == (federation, unit, employee), row
        assert row["paid_to_institution"] == row["fees_total"] and row["payment_status"] == "full"
    # the training ledger (enrollment's export, CSV) has every student, with the shares finance paid them
    training = {row["报名编号 Enrolment id"]: row for row in scenario.training_ledger}
    assert set(ledger) <= set(training) and len(training) == 48
    for enrolment_id, row in ledger.items():
        line = training[enrolment_id]
        # Fees due is the programme's fee standard: finance's extra charges (the re-exam fee) are in finance's
        # total due only
        due = Decimal(line["应缴费用合计 Fees due"])
        extra = Decimal(line["核定费用合计 Total due (finance)"]) - due
        assert extra == (Decimal(RE_EXAM_FEE) if enrolment_id == scenario.re_examined else 0), line
        assert (str(due + extra), line["已缴费 Paid"]) == (row["fees_total"], row["paid_to_institution"])
        if enrolment_id in certified:
            assert (
                line["已报销市总部分 Federation share reimbursed"],
                line["已报销单位部分 Unit share reimbursed"],
            ) == (row["federation_share"], row["unit_share"]), line
            assert line["证书编号 Certificate number"]
        # and finance's three shares, from its breakdown.settled events
        assert (
            line["费用分担状态 Shares status"],
            line["市总分担 Federation share"],
            line["单位分担 Unit share"],
            line["个人分担 Employee share"],
            line["核定费用合计 Total due (finance)"],
        ) == ("settled", row["federation_share"], row["unit_share"], row["employee_share"], row["fees_total"]), line
    assert all(
        "**********" in row["身份证号 Resident ID number"] for row in training.values()
    )  # masked but for the union

    # quota holds for each skills student exactly the federation's share finance computed, the student
    # transferred to a dearer programme included (the transfer waited for quota to hold the larger subsidy)
    held = {r["enrolment_id"]: r["amount"] for r in scenario.reservations if r["kind"] == "skills"}
    moved = scenario.summary["transfer"]["enrolment_id"]
    assert {e: row["federation_share"] for e, row in ledger.items() if row["kind"] == "skills"} == held
    assert held[moved] == ledger[moved]["federation_share"] == "672.00"
    assert len(held) == 44

    audit_trail_has_every_decision_of_the_campaign(system)
    the_closeout_report_adds_up_and_the_closed_campaign_is_read_only(scenario, ledger.values())

    again = play(system, tmp_path, []).run()  # on the closed campaign: reads only
    for step in ("units", "catalogue"):
        assert again[step]["added now"] == 0
    assert again["nominations"]["nominated now"] == 0
    assert again["participation"]["chosen now"] is False and again["list_send"]["lists sent now"] == 0
    assert again["list_send"]["lists"] == summary["list_send"]["lists"]
    assert again["reimbursements"]["awaiting full payment"] == []
    assert again["payments"]["payments recorded now"] == 0
    assert again["certificates"]["issued now"] == 0
    assert again["reimbursements"]["paid now"] == 0
    assert again["surveys"]["answered now"] == 0
    assert again["entrance_tests"]["admitted now"] == 0 and again["closeout"]["closed now"] is False
    assert again["entrance_tests"]["seat taken by"] == summary["entrance_tests"]["seat taken by"]
    invariants = Gateway(system).login(*ADMIN).get("/api/finance/invariants")
    assert (invariants["passed"], invariants["drift"]) == (True, [])

    # every event came from its owner's broker user: nothing parked (publisher refused or otherwise)
    for name in SERVICES:
        listed = stacks[name].cli("deadletters", "list", "--json")
        assert listed.returncode == 0 and json.loads(listed.stdout) == [], (name, listed.stdout, listed.stderr)

    # PIPL: not one log line of any process (the workers, the apis, the gateway) carries a resident ID number
    # or a mobile number the campaign used
    logs = [tmp_path / "in-process.log", *sorted(tmp_path.glob("*-worker-*.log"))]
    assert len(logs) == 1 + len(SERVICES)
    numbers = [n for cohort in scenario.cohorts.values() for n in cohort.numbers]
    read, leaks = personal_data_in_logs(logs, numbers)
    assert len(numbers) > 45 and read > 500, (len(numbers), read)
    assert all(path.stat().st_size for path in logs), "every process logged"
    assert '"logger": "access"' in logs[0].read_text(), "the apps' and the gateway's lines are read too"
    assert leaks == [], f"{len(leaks)} log lines carry personal data"


# Each decision the campaign makes, as (source, action) of its audit entry.
DECISIONS = {
    ("gateway", "user.created"),
    ("gateway", "machine_client.created"),
    ("quota", "unit.created"),
    ("quota", "campaign.created"),
    ("quota", "campaign.published"),
    ("quota", "allocation.proposed"),
    ("quota", "allocation.published"),
    ("finance", "fund_transfer.to_unit"),
    ("enrollment", "programme.created"),
    ("enrollment", "programme.published"),
    ("enrollment", "plan.recorded"),
    ("enrollment", "enrolment.nominate"),
    ("enrollment", "enrolment.record_objection"),
    ("enrollment", "enrolment.decide_objection"),
    ("enrollment", "enrolment.record_consent"),
    ("enrollment", "enrolment.confirm"),
    ("enrollment", "nomination_list.send_list"),
    ("quota", "campaign.participants_chosen"),
    ("enrollment", "enrolment.request_registration"),
    ("enrollment", "enrolment.registered"),
    ("enrollment", "enrolment.registration_refused"),
    ("enrollment", "enrolment.reject_registration"),
    ("enrollment", "enrolment.admit"),
    ("finance", "payment.recorded"),
    ("enrollment", "status_change.requested"),
    ("enrollment", "status_change.approved"),
    ("enrollment", "training_class.form_class"),
    ("enrollment", "training_class.submit_roster"),
    ("enrollment", "training_class.review_roster"),
    ("enrollment", "training_class.publish_roster"),
    ("enrollment", "training_class.open_class"),
    ("evaluation", "result_batch.recorded"),
    ("evaluation", "certificate.issued"),
    ("finance", "reimbursement.paid"),
    ("evaluation", "survey.opened"),
    ("evaluation", "inspection.recorded"),
    ("evaluation", "institution_score.evaluated"),
    ("evaluation", "institution.disqualified"),
    ("quota", "campaign.closed"),
}


def the_closeout_report_adds_up_and_the_closed_campaign_is_read_only(scenario, ledger) -> None:
    """The checklist the federation saw before closing, and the report per unit and per institution after: its
    counts are the scenario's, its money per payer finance's ledger (read before the close) to the fen."""
    before, report = scenario.closeout_before, scenario.closeout_report
    items = {item["item"]: item for item in before["checklist"]}  # (their order: tests/test_closeout.py)
    assert (before["status"], before["ready"], len(items)) == ("published", False, 5)
    done = ("classes_finished", "objections_decided")
    assert [(items[name]["done"], items[name]["total"]) for name in done] == [(True, 2), (True, 1)]
    assert items["reimbursements_paid"]["done"] and items["reimbursements_paid"]["total"] >= 43  # one per certificate
    # no result yet: the tea-art student moved to 市一宫 and the admitted academic student
    assert (items["results_in"]["open"], items["results_in"]["total"]) == (2, 45)
    assert items["funds_transferred"]["open"] > 0  # only two units received money in the demo

    assert (report["status"], report["unspent_funds"]) == ("closed", "return_to_pool")
    units = {row["unit_id"]: row for row in report["units"]}
    institutions = {row["institution_id"]: row for row in report["institutions"]}
    counts = ("nominated", "registered", "trained", "withdrawn", "passed", "certified")
    assert [units[THIS_UNIT].get(c, 0) for c in counts] == [46, 44, 43, 0, 43, 43]  # the objected one nominated only
    assert [units[SMALL_UNIT].get(c, 0) for c in counts] == [2, 2, 0, 0, 0, 0]  # the rejected one was registered once
    assert [institutions["GZ-GCJS"].get(c, 0) for c in counts] == [32, 31, 31, 0, 31, 31]
    assert [institutions["GZ-ZGJS"].get(c, 0) for c in counts] == [12, 12, 12, 0, 12, 12]
    assert [institutions["GZ-SYG"].get(c, 0) for c in counts] == [1, 1, 0, 0, 0, 0]  # transferred from 芳村
    # disqualified before registering her: evaluation and finance never heard of her
    assert [institutions["GZ-FCG"].get(c, 0) for c in counts] == [1, 0, 0, 0, 0, 0]
    assert [institutions["GZ-ZGJY"].get(c, 0) for c in counts] == [2, 2, 0, 0, 0, 0]
    assert institutions["GZ-GCJS"]["satisfaction"] and institutions["GZ-ZGJS"]["satisfaction"] is None

    def total(rows, name, where=lambda row: True) -> str:
        return str(sum((Decimal(row[name]) for row in rows if where(row)), Decimal("0.00")))

    for owner, key, figures in [(u, "unit_id", units[u]) for u in (THIS_UNIT, SMALL_UNIT)] + [
        (i, "institution_id", institutions[i]) for i in ("GZ-GCJS", "GZ-ZGJS", "GZ-SYG", "GZ-ZGJY")
    ]:
        mine = [row for row in ledger if row[key] == owner]
        assert (figures["fees"], figures["federation"], figures["unit"], figures["employee"]) == (
            total(mine, "fees_total"),
            total(mine, "federation_share"),
            total(mine, "unit_share"),
            total(mine, "employee_share"),
        ), owner
        assert figures["paid_by_employees"] == total(mine, "paid_to_institution") == figures["fees"], owner
        assert figures["federation_reimbursed"] == total(
            mine, "federation_share", lambda row: row["federation_reimbursement"] == "paid"
        ), owner
    assert units[THIS_UNIT]["federation_reimbursed"] == scenario.summary["reimbursements"]["federation share paid out"]
    # the units' earmarked money: what they held unspent went back to the pool at the close
    transferred = {THIS_UNIT: scenario.lines[THIS_UNIT]["skills_money"], SMALL_UNIT: "1500.00"}
    for unit, amount in transferred.items():
        was = {row["unit_id"]: row for row in before["units"]}[unit]
        assert (units[unit]["transferred"], was["transferred"]) == (amount, amount)
        assert (units[unit]["returned_at_close"], units[unit]["unspent"]) == (was["unspent"], "0.00"), unit
    assert Decimal(units[THIS_UNIT]["returned_at_close"]) == Decimal(transferred[THIS_UNIT]) - Decimal(
        units[THIS_UNIT]["federation_reimbursed"]
    )
    sheet = load_workbook(io.BytesIO(scenario.closeout_sheet), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    header, line = rows[0], next(row for row in rows[1:] if row[1] == THIS_UNIT)
    assert line[header.index("推荐 Nominated")] == 46
    cell = line[header.index("已划拨 Transferred")]
    assert isinstance(cell, int | float) and Decimal(str(cell)) == Decimal(transferred[THIS_UNIT])  # not text

    # read-only: a change of the closed campaign is refused, in Chinese, as problem+json
    refused = scenario.refused_after_close
    assert (refused["status"], refused["code"], refused["title"]) == (
        409,
        "campaign_closed",
        "该计划批次已结项关闭，只可查看，不可修改",
    )
    assert refused["type"] and refused["detail"]


def whole_trail(caller: Gateway, **filters) -> list[dict]:
    """Every entry of /api/audit, page by page (the next link's cursor), checking each is seen once."""
    entries, params = [], {"limit": 500, **filters}
    while True:
        response = caller.call("GET", "/api/audit", params=params, raw=True)
        entries += response.json()
        link = response.headers.get("Link")
        if not link:
            break
        params = {k: v[0] for k, v in parse_qs(urlsplit(link[1 : link.index(">")]).query).items()}
    keys = [(e["service"], e["id"]) for e in entries]
    assert len(keys) == len(set(keys)), "an entry came twice"
    moments = [datetime.fromisoformat(e["at"]) for e in entries]
    assert moments == sorted(moments, reverse=True), "not newest first"
    return entries


def audit_trail_has_every_decision_of_the_campaign(system):
    gateway = Gateway(system)
    auditor, officer = gateway.login("demo.auditor", PASSWORD), gateway.login("tianhe.officer", PASSWORD)
    for path in ("/api/audit", "/api/quota/audit", "/api/finance/audit"):
        with pytest.raises(ApiError) as refused:
            officer.get(path)
        assert refused.value.status == 403

    # quota's answers to registrations reach enrollment through its worker: wait for the last of them
    wait_for(
        lambda: auditor.get("/api/audit", service="enrollment", action="enrolment.registration_refused"),
        timeout=60,
        message="the refusal's audit entry",
    )
    entries = whole_trail(auditor)
    made = {(e["service"], e["action"]) for e in entries}
    assert made >= DECISIONS, sorted(DECISIONS - made)

    def first(action: str, **where) -> dict:
        return next(e for e in entries if e["action"] == action and all(e[k] == v for k, v in where.items()))

    # who, what, old and new, why
    published = first("allocation.published")
    assert (published["actor_id"], published["actor_role"], published["actor_kind"]) == (
        ADMIN[0],
        "federation_admin",
        "user",
    )
    assert (published["before"]["status"], published["after"]["status"]) == ("draft", "published")
    objection = first("enrolment.decide_objection")
    assert objection["actor_role"] == "grassroots_officer" and objection["actor_unit_id"]
    assert objection["reason"] == "经核实属实，取消本批次推荐资格"
    assert (objection["before"]["status"], objection["after"]["status"]) == ("nominated", "rejected")
    review = first("training_class.review_roster")
    assert review["reason"] == "名单齐全" and review["after"]["status"] == "approved"
    refusal = first("enrolment.registration_refused")
    assert refusal["actor_kind"] == "system" and refusal["reason"] and refusal["after"]["status"] == "refused"
    results = first("result_batch.recorded")
    assert results["actor_kind"] == "machine" and results["actor_role"] == "institution_system"
    assert results["actor_id"].startswith("client:") and results["actor_unit_id"]
    certificate = first("certificate.issued")
    assert certificate["actor_kind"] == "machine" and certificate["after"]["number"].startswith("GZ-")
    sanction = first("institution.disqualified")
    assert sanction["entity_id"] == "GZ-FCG" and sanction["reason"].startswith("实地考察评估不合格")
    nominated = first("enrolment.nominate")
    # personal data never in clear: the trail carries the masked number and the name's first character only
    assert "resident_id" in str(nominated) and "**********" in str(nominated)
    whole = json.dumps(entries, ensure_ascii=False)
    assert not re.search(r'"\d{17}[\dX]"', whole) and not re.search(r'"1[3-9]\d{9}"', whole)
    assert all(e["actor_id"] for e in entries) and all(e["at"] for e in entries)

    # filters: one entity's story, one actor's decisions
    story = auditor.get("/api/audit", entity_type="institution", entity_id="GZ-FCG")
    assert {e["action"] for e in story} >= {"institution.disqualified"}
    assert all(e["entity_id"] == "GZ-FCG" for e in story)

    # a small page size visits the same entries (the newest first), each once
    small = whole_trail(auditor, limit=100, at_to=entries[0]["at"])
    assert [(e["service"], e["id"]) for e in small] == [
        (e["service"], e["id"])
        for e in entries
        if datetime.fromisoformat(e["at"]) <= datetime.fromisoformat(entries[0]["at"])
    ]

    export = auditor.call("GET", "/api/audit", params={"format": "xlsx"}, raw=True)
    sheet = load_workbook(io.BytesIO(export.content), read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("时间 At (UTC)", "服务 Service", "操作人 Actor")
    assert len(rows) - 1 >= len(entries)
    assert {(row[1], row[6]) for row in rows[1:]} >= DECISIONS


def test_a_year_without_an_official_calendar_gets_the_demos_labelled_one_through_the_federation(system, tmp_path):
    """chinesecalendar stops at 2026: classes opening in 2027 need a calendar the federation loads."""
    admin = Gateway(system).login(*ADMIN)
    assert admin.get("/api/enrollment/calendar/2027")["source"] == "missing"
    Scenario(
        system, ADMIN, PASSWORD, tmp_path / "state", today=date(2026, 12, 24), say=lambda line: None
    ).working_day_calendar()
    loaded = admin.get("/api/enrollment/calendar/2027")
    assert loaded["source"] == "federation"
    assert [d["name"] for d in loaded["days"]] == ["元旦（演示用，非官方安排）"]
