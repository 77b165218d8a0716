"""Campaign rules end to end through the gateway (four services with workers on PostgreSQL and RabbitMQ, one
system for the module): evaluation counts working days on the calendar the federation loads in enrollment
(calendar.loaded); classes, entrance tests and registrations keep to the campaign's windows; a merged unit's
open nominations and plans go to its successor."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from demo.client import eventually
from demo.data import person
from tests.support.campaign import ADMIN, PASSWORD, Flows, shared_system

pytestmark = pytest.mark.servers


@pytest.fixture(scope="module")
def flows(servers, vhost, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("calendar")
    with shared_system(servers, vhost, tmp) as url:
        yield Flows(url, ADMIN, PASSWORD, tmp / "state", say=lambda line: None).set_up()


def test_evaluation_judges_rosters_on_the_working_day_calendar_the_federation_loads(flows):
    unit, union, institution, programme = "GZ-YX", "GZ-YX-G1", "GZ-SYG", "SYG-YY-4"
    flows.plan(unit, [programme])
    for number in (40, 41):
        row = flows.sent(union, number, programme)
        assert flows.register(institution, row["enrolment_id"])["status"] == "registered"
        flows.pay_in_full(institution, row["enrolment_id"])
    operator, opens_on = flows.operator(institution), flows.today + timedelta(days=14)
    klass = operator.post(
        "/api/enrollment/classes",
        {
            "campaign_id": flows.campaign_id,
            "programme_id": programme,
            "opens_on": opens_on.isoformat(),
            "site": "市二宫（越秀区）",
            "public_class_name": "育婴员社会班（周日班）",
        },
    )
    path = f"/api/enrollment/classes/{klass['class_id']}"
    operator.post(f"{path}/roster")  # today: two weeks ahead, on time on any calendar in force now
    flows.fed.post(f"{path}/review", {"decision": "approve", "comments": "同意"})
    flows.fed.post(f"{path}/publish")
    operator.post(f"{path}/open")
    scores = f"/api/evaluation/institutions/{institution}/scores"

    def judged() -> tuple[int, int]:
        figures = flows.fed.get(scores, campaign_id=flows.campaign_id)["criteria"]["plan_execution"]["figures"]
        return figures["classes"], figures["rosters_on_time"]

    eventually(lambda: judged()[0] == 1, "evaluation to hear of the class")
    assert judged() == (1, 1)

    # The federation loads a calendar in which the days before the opening are a long holiday: the roster
    # came in fewer than the lead's working days before it, and evaluation judges it so.
    days = [flows.today + timedelta(days=n) for n in range((opens_on - flows.today).days)]
    for year in sorted({d.year for d in days}):
        holiday = [
            {"day": d.isoformat(), "workday": False, "name": "演示假期"}
            for d in days
            if d.year == year and d.weekday() < 5
        ]
        flows.fed.put(f"/api/enrollment/calendar/{year}", {"days": holiday})
    eventually(lambda: judged() == (1, 0), "evaluation to count on the loaded calendar")
    assert date.fromisoformat(flows.fed.get(path)["roster_submitted_on"]) == flows.today


def test_classes_entrance_tests_and_registrations_outside_their_windows_are_refused_with_the_window(flows):
    unit, union, institution, programme = "GZ-HZ", "GZ-HZ-G1", "GZ-ZGJY", "ZGJY-BK-KJ"
    windows = flows.fed.get(f"/api/quota/campaigns/{flows.campaign_id}")["windows"]
    flows.plan(unit, [programme])
    enrolment_id = flows.sent(union, 42, programme, "大专")["enrolment_id"]
    assert flows.register(institution, enrolment_id)["status"] == "registered"
    operator, path = flows.operator(institution), f"/api/enrollment/enrolments/{enrolment_id}"
    early = (date.fromisoformat(windows["registration_start"]) - timedelta(days=1)).isoformat()
    test = {"held_on": early, "score": "81.00", "passed": True}
    refused = operator.call("POST", f"{path}/entrance-test", test, ok=(422,), headers={"Accept-Language": "zh-CN"})
    assert (refused["code"], refused["title"], refused["window"]) == (
        "enrollment_outside_study_window",
        "不在本批次学习服务时间内",
        {"name": "entrance_tests", "start": windows["registration_start"], "end": windows["study_end"]},
    )
    assert refused["errors"]["held_on"] == [
        f"考试日期：须在{windows['registration_start']}至{windows['study_end']}之间。"
    ]
    assert flows.admit(institution, enrolment_id)["status"] == "admitted"  # held today: within the window
    flows.pay_in_full(institution, enrolment_id)

    late = (date.fromisoformat(windows["study_end"]) + timedelta(days=1)).isoformat()
    klass = {
        "campaign_id": flows.campaign_id,
        "programme_id": programme,
        "opens_on": late,
        "site": "职工教育网（远程）",
        "public_class_name": "会计学本科社会班",
    }
    refused = operator.call("POST", "/api/enrollment/classes", klass, ok=(422,))
    assert (refused["code"], refused["window"], refused["errors"]) == (
        "enrollment_outside_study_window",
        {"name": "study", "start": windows["study_start"], "end": windows["study_end"]},
        {"opens_on": [f"Must be from {windows['study_start']} to {windows['study_end']}."]},
    )
    assert windows["study_end"] in refused["detail"]
    formed = operator.post("/api/enrollment/classes", {**klass, "opens_on": windows["study_end"]})
    assert formed["opens_on"] == windows["study_end"]

    # a campaign whose registration closed yesterday: the institution registers nobody into it
    closed = flows.day(-1)
    past = {
        **flows.body,
        "name": f"{flows.body['name']}（已截止）",
        "windows": {**flows.body["windows"], "registration_start": flows.day(-30), "registration_end": closed},
    }
    campaign = flows.fed.post("/api/quota/campaigns", past)
    flows.fed.post(f"/api/quota/campaigns/{campaign['id']}/publish")
    flows.plan(unit, [programme], campaign["id"])
    other = flows.sent(union, 43, programme, "大专", campaign_id=campaign["id"])["enrolment_id"]
    refused = operator.call("POST", f"/api/enrollment/enrolments/{other}/register", ok=(409,))
    assert (refused["code"], refused["window"]) == (
        "enrollment_registration_window_closed",
        {"name": "registration", "start": flows.day(-30), "end": closed},
    )


def test_a_merged_units_open_nominations_and_plan_go_to_its_successor_and_its_students_stay(flows):
    merged, successor, union, institution, programme = "GZ-NS", "GZ-PY", "GZ-NS-G1", "GZ-ZGJS", "ZGJS-HG-4"
    flows.plan(merged, [programme])
    studying = flows.sent(union, 44, programme)["enrolment_id"]
    assert flows.register(institution, studying)["status"] == "registered"
    sent = flows.sent(union, 45, programme)["enrolment_id"]
    officer = flows.union_officer(union)
    on_notice = officer.post(
        "/api/enrollment/enrolments",
        {
            **person(46),
            "campaign_id": flows.campaign_id,
            "programme_id": programme,
            "notice_start": flows.today.isoformat(),
            "attestation": "职工代表大会民主推荐",
        },
    )["enrolment_id"]

    flows.fed.post(f"/api/quota/units/{merged}/retirement", {"reason": "南沙区并入番禺区", "successor_id": successor})
    path = "/api/enrollment/enrolments/{}".format
    eventually(lambda: flows.fed.get(path(sent))["unit_id"] == successor, "enrollment to hear of the merge")
    assert [flows.fed.get(path(e))["unit_id"] for e in (sent, on_notice, studying)] == [successor, successor, merged]
    plan = flows.unit_officer(successor).get(f"/api/enrollment/units/{successor}/plans/{flows.campaign_id}")
    assert programme in [p["programme_id"] for p in plan["programmes"]]
    [entry] = flows.fed.get("/api/audit", service="enrollment", action="unit.open_work_moved", entity_id=merged)
    assert (entry["after"]["successor_id"], sorted(entry["after"]["enrolments"])) == (
        successor,
        sorted([sent, on_notice]),
    )
    # the moved nomination is registered on the successor's quota; the retired unit takes nothing new
    assert flows.register(institution, sent)["status"] == "registered"
    held = flows.fed.all(f"/api/quota/campaigns/{flows.campaign_id}/reservations", unit_id=successor)
    assert sent in {r["enrolment_id"] for r in held}
