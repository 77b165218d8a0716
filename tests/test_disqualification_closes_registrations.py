"""Disqualifying an institution through evaluation closes its new registrations in enrollment; reinstating it
reopens them. Quota, enrollment and evaluation (api on a port, a real worker process each) on PostgreSQL and
RabbitMQ, behind the gateway; one worker nominated for 芳村工人文化宫's tea-art course of the demo campaign."""

from __future__ import annotations

import pytest

from demo.client import eventually
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
        "The institution is disqualified and takes no new registrations",
        REASON,
    )
    assert fed.get(path)["status"] == "sent"

    fed.post("/api/evaluation/institutions/GZ-FCG/reinstatement", {"reason": "整改验收合格"})
    eventually(lambda: not disqualified(), "enrollment to hear of the reinstatement")
    answered = flows.register("GZ-FCG", nominee["enrolment_id"])
    assert answered["status"] == "registered", answered
