"""The employee's rights over their personal data (PIPL), end to end through the gateway on the real stack:
access (art. 45: GET /api/me/data, JSON and .xlsx, every read recorded) and correction (art. 46: the employee
asks, the nominating union decides with a reason, the record and the other services' copies change, all
audited). One system and the demo's campaign serve the module; each test has workers of its own."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from demo.client import eventually
from demo.data import person
from servicekit.personal import mask_name
from tests.support.campaign import ADMIN, PASSWORD, Flows, shared_system

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def flows(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("rights")
    with shared_system(servers, vhost, tmp) as url:
        yield Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()


def registered_employee(flows: Flows, unit: str, union: str, institution: str, programme: str, number: int):
    """Worker `number` nominated, registered and paid in full; their own account (made from the resident ID)."""
    flows.plan(unit, [programme])
    enrolment_id = flows.sent(union, number, programme)["enrolment_id"]
    assert flows.register(institution, enrolment_id)["status"] == "registered"
    flows.pay_in_full(institution, enrolment_id)
    username = f"employee.{number}"
    flows.fed.post(
        "/auth/users",
        {"username": username, "password": PASSWORD, "role": "employee", "resident_id": person(number)["resident_id"]},
    )
    return enrolment_id, flows.user(username)


def test_an_employee_downloads_everything_held_about_them_as_json_and_xlsx_and_each_read_is_recorded(flows):
    unit, union, institution, programme, number = "GZ-PY", "GZ-PY-G1", "GZ-SEG", "SEG-KJ-5", 81
    enrolment_id, employee = registered_employee(flows, unit, union, institution, programme, number)
    worker = person(number)

    mine = eventually(
        lambda: (
            (d := employee.get("/api/me/data"))
            and d["services"]["evaluation"]["enrolments"]
            and d["services"]["finance"]["payments"]
            and d
        ),
        "every service to know the enrolment and its payment",
    )
    services = mine["services"]
    assert set(services) == {"gateway", "enrollment", "finance", "evaluation"}
    assert services["gateway"]["account"][0]["username"] == f"employee.{number}"
    record = services["enrollment"]["employee"]
    assert [(r["name"], r["resident_id"], r["phone"]) for r in record] == [
        (worker["name"], worker["resident_id"], worker["phone"])  # in clear: it is theirs
    ]
    assert [e["enrolment_id"] for e in services["enrollment"]["enrolments"]] == [enrolment_id]
    assert [b["enrolment_id"] for b in services["finance"]["breakdowns"]] == [enrolment_id]
    assert services["finance"]["payments"][0]["amount"] == services["finance"]["breakdowns"][0]["total"]
    assert [e["enrolment_id"] for e in services["evaluation"]["enrolments"]] == [enrolment_id]
    # the read itself is recorded: who was shown the full number, when and why, and in the gateway's trail
    assert [
        v["purpose"] for v in services["enrollment"]["personal_data_views"] if v["actor_id"] == f"employee.{number}"
    ]
    assert any(v["purpose"].startswith("GET /me/data") for v in services["enrollment"]["personal_data_views"])
    trail = flows.fed.get(
        "/api/audit", service="gateway", action="personal_data.accessed", entity_id=mine["employee_id"]
    )
    assert [e["actor_id"] for e in trail] == [f"employee.{number}"]

    download = employee.call("GET", "/api/me/data", params={"format": "xlsx"}, raw=True)
    assert download.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(download.content), read_only=True)
    assert {"gateway.account", "enrollment.employee", "finance.payments", "evaluation.enrolments"} <= set(
        book.sheetnames
    )
    rows = list(book["enrollment.employee"].iter_rows(values_only=True))
    assert rows[1][rows[0].index("resident_id")] == worker["resident_id"]
    trail = flows.fed.get(
        "/api/audit", service="gateway", action="personal_data.accessed", entity_id=mine["employee_id"]
    )
    assert len(trail) == 2

    for who in (flows.fed, flows.union_officer(union), flows.unit_officer(unit)):
        assert who.call("GET", "/api/me/data", ok=(403,))["code"] == "forbidden"


def test_a_correction_is_asked_by_the_employee_and_decided_by_the_nominating_union_with_a_reason(flows):
    unit, union, institution, programme, number = "GZ-HP", "GZ-HP-G1", "GZ-FCG", "FCG-HL-5", 75
    enrolment_id, employee = registered_employee(flows, unit, union, institution, programme, number)
    worker = person(number)
    officer, stranger = flows.union_officer(union), flows.union_officer("GZ-PY-G1")

    bad = employee.call(
        "POST",
        "/api/enrollment/me/corrections",
        {"field": "phone", "requested_value": "12345", "reason": "号码错了"},
        ok=(422,),
        headers={"Accept-Language": "zh-CN"},
    )
    assert bad["errors"]["requested_value"][0].startswith("申请值：")
    same = employee.call(
        "POST",
        "/api/enrollment/me/corrections",
        {"field": "name", "requested_value": worker["name"], "reason": "无"},
        ok=(422,),
    )
    assert "requested_value" in same["errors"]
    corrected = "欧阳" + worker["name"][1:]
    asked = employee.post(
        "/api/enrollment/me/corrections",
        {"field": "name", "requested_value": corrected, "reason": "户口簿上是复姓欧阳"},
    )
    assert (asked["state"], asked["current_value"], asked["requested_value"]) == ("open", worker["name"], corrected)
    again = employee.call(
        "POST",
        "/api/enrollment/me/corrections",
        {"field": "name", "requested_value": corrected + "x", "reason": "再次"},
        ok=(409,),
    )
    assert again["code"] == "conflict"

    # the officers' list of open requests: paged, the name masked; another union sees nothing of it
    listed = officer.call("GET", "/api/enrollment/corrections", params={"state": "open", "limit": 1}, raw=True)
    rows = listed.json()
    assert [(r["request_id"], r["name"]) for r in rows] == [(asked["request_id"], mask_name(worker["name"]))]
    assert asked["request_id"] not in {r["request_id"] for r in stranger.get("/api/enrollment/corrections")}
    decision = f"/api/enrollment/corrections/{asked['request_id']}/decision"
    assert stranger.call("POST", decision, {"decision": "accept", "reason": "核实"}, ok=(404,))["code"] == "not_found"
    no_reason = officer.call("POST", decision, {"decision": "accept"}, ok=(422,))
    assert "reason" in no_reason["errors"]
    assert employee.call("POST", decision, {"decision": "accept", "reason": "我自己"}, ok=(403,))

    done = officer.post(decision, {"decision": "accept", "reason": "已核对户口簿"})
    assert (done["state"], done["decided_by"], done["decision_reason"]) == (
        "accepted",
        "gz-hp-g1.union",
        "已核对户口簿",
    )
    assert officer.call("POST", decision, {"decision": "reject", "reason": "x"}, ok=(409,))
    assert officer.get(f"/api/enrollment/enrolments/{enrolment_id}")["name"] == corrected
    assert officer.get("/api/enrollment/corrections", state="open") == []
    # evaluation shows the holder's masked name: it changes with the correction (an event)
    eventually(
        lambda: (
            employee.get("/api/me/data")["services"]["evaluation"]["enrolments"][0]["holder_name_masked"]
            == mask_name(corrected)
        ),
        "evaluation to hear of the corrected name",
    )
    trail = flows.fed.get("/api/audit", service="enrollment", entity_type="correction_request")
    actions = {e["action"]: e for e in trail if e["entity_id"] == asked["request_id"]}
    assert set(actions) == {"correction_request.requested", "correction_request.accepted"}
    accepted = actions["correction_request.accepted"]
    assert accepted["reason"] == "已核对户口簿" and accepted["actor_id"] == "gz-hp-g1.union"
    assert corrected not in str(accepted) and worker["name"] not in str(accepted)  # names masked in the trail

    # a rejected one changes nothing
    phone = employee.post(
        "/api/enrollment/me/corrections", {"field": "phone", "requested_value": "13800138000", "reason": "换号"}
    )
    rejected = flows.fed.post(
        f"/api/enrollment/corrections/{phone['request_id']}/decision", {"decision": "reject", "reason": "未提供证明"}
    )
    assert rejected["state"] == "rejected"
    assert officer.get(f"/api/enrollment/enrolments/{enrolment_id}")["phone"] == worker["phone"]
    # schooling: the federation accepts it, every enrolment of theirs takes it
    schooling = employee.post(
        "/api/enrollment/me/corrections",
        {"field": "education", "requested_value": "大专", "reason": "已取得大专毕业证"},
    )
    assert schooling["current_value"] == worker["education"]
    flows.fed.post(
        f"/api/enrollment/corrections/{schooling['request_id']}/decision", {"decision": "accept", "reason": "证书已核"}
    )
    assert officer.get(f"/api/enrollment/enrolments/{enrolment_id}")["education"] == "大专"


def test_public_rosters_are_read_one_campaign_at_a_time(flows):
    """Published rosters (names, masked ID numbers) cannot be walked across campaigns: campaign_id is required."""
    refused = flows.gateway.call(
        "GET", "/api/enrollment/public/rosters", ok=(422,), headers={"Accept-Language": "zh-CN"}
    )
    assert refused["code"] == "validation_failed"
    assert refused["errors"]["campaign_id"] == ["计划年度：必填项，不能缺少。"]
    assert flows.gateway.get("/api/enrollment/public/rosters", campaign_id=flows.campaign_id) == []
