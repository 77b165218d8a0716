"""Disqualifying an institution through evaluation closes it at once in enrollment to new nominations,
registrations, classes and plans; the students already there stay; reinstating it reopens all of them. Quota, enrollment and evaluation (api on a port, a real worker process each) on PostgreSQL and
RabbitMQ, behind the gateway; one worker nominated for 芳村工人文化宫's tea-art course of the demo campaign."""

from __future__ import annotations

import pytest

from demo.client import eventually
from demo.data import person
from demo.scenario import TEA_FCG
from tests.support.campaign import ADMIN, PASSWORD, Flows, gateway_before

pytestmark = pytest.mark.servers

REASON = "实地考察评估不合格，学员满意度低：取消本计划培训资格"


@pytest.fixture
def flows(stack_of, make_database, tmp_path):
    stacks = {name: stack_of(name) for name in ("quota", "enrollment", "evaluation")}
    with gateway_before(stacks, tmp_path / "var", make_database("gateway")) as url:
        yield Flows(url, ADMIN, PASSWORD, tmp_path / "state", say=lambda line: None).set_up()


def test_a_disqualified_institution_registers_nobody_new_until_reinstated(flows):
    flows.plan("GZ-TH", [TEA_FCG])
    nominee = flows.sent("GZ-TH-G1", 46, TEA_FCG)
    assert nominee["status"] == "sent"
    path, fed = f"/api/enrollment/enrolments/{nominee['enrolment_id']}", flows.fed

    def disqualified() -> bool:
        return next(i for i in fed.get("/api/enrollment/institutions") if i["institution_id"] == "GZ-FCG")[
            "disqualified"
        ]

    flows.until_accepted(
        lambda: fed.post("/api/evaluation/institutions/GZ-FCG/disqualification", {"reason": REASON}),
        "evaluation to know the institution",
        retry_on=(404,),
    )
    eventually(disqualified, "enrollment to hear of the disqualification")
    refused = flows.operator("GZ-FCG").call("POST", f"{path}/register", ok=(409,))
    assert (refused["code"], refused["title"], refused["detail"]) == (
        "enrollment_institution_disqualified",
        "The institution is disqualified: it takes no new nominations, registrations, classes or plans",
        REASON,
    )
    assert fed.get(path)["status"] == "sent"  # the one already sent stays, for the federation to decide
    union = flows.union_officer("GZ-TH-G1")
    nomination = union.call(
        "POST",
        "/api/enrollment/enrolments",
        {
            **person(47),
            "campaign_id": flows.campaign_id,
            "programme_id": TEA_FCG,
            "notice_start": flows.day(-7),
            "attestation": "民主推荐",
        },
        ok=(409,),
        headers={"Accept-Language": "zh-CN"},
    )
    assert (nomination["code"], nomination["title"], nomination["detail"]) == (
        "enrollment_institution_disqualified",
        "该培训机构已被取消培训资格，不再接受新的推荐、报名、开班和培训计划",
        REASON,
    )
    plans = f"/api/enrollment/units/GZ-HZ/plans/{flows.campaign_id}"
    officer = flows.unit_officer("GZ-HZ")
    assert officer.call("PUT", plans, {"programme_ids": [TEA_FCG]}, ok=(409,))["code"] == refused["code"]
    kept = flows.unit_officer("GZ-TH").put(  # a plan keeps what it had: its students finish
        f"/api/enrollment/units/GZ-TH/plans/{flows.campaign_id}", {"programme_ids": [TEA_FCG]}
    )
    assert [p["programme_id"] for p in kept["programmes"]] == [TEA_FCG]
    klass = {
        "campaign_id": flows.campaign_id,
        "programme_id": TEA_FCG,
        "opens_on": flows.day(14),
        "site": "芳村工人文化宫",
        "on_site": False,
        "public_class_name": "茶艺师周末班",
    }
    operator = flows.operator("GZ-FCG")
    assert operator.call("POST", "/api/enrollment/classes", klass, ok=(409,))["code"] == refused["code"]

    fed.post("/api/evaluation/institutions/GZ-FCG/reinstatement", {"reason": "整改验收合格"})
    eventually(lambda: not disqualified(), "enrollment to hear of the reinstatement")
    answered = flows.register("GZ-FCG", nominee["enrolment_id"])
    assert answered["status"] == "registered", answered
    assert officer.put(plans, {"programme_ids": [TEA_FCG]})["programmes"][0]["programme_id"] == TEA_FCG
    assert operator.call("POST", "/api/enrollment/classes", klass, ok=(409,))["code"] == "enrollment_no_student_waiting"
