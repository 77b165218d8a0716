"""Certificates: only after a pass, number unique per institution, revocation, public verification."""

import json

import pytest
from sqlalchemy import select

from services.evaluation.models import inbox
from tests.support.processes import wait_for

from .helpers import Evaluation, admitted, campaign, enrolment, line

pytestmark = pytest.mark.servers


def issue(evaluation, student, number="ZGJS-2014-000123", issued_on="2014-05-06", institution="GZ-ZGJS"):
    return evaluation.client.post(
        "/certificates",
        headers=evaluation.institution(institution),
        json={"enrolment_id": student["enrolment_id"], "number": number, "issued_on": issued_on},
    )


def verify(evaluation, number="ZGJS-2014-000123", institution="GZ-ZGJS"):
    return evaluation.client.get(
        "/public/certificates/verification", query_string={"institution_id": institution, "number": number}
    )


def test_a_certificate_only_after_a_pass_then_announced(evaluation):
    tap = evaluation.stack.tap("certificate.issued")
    evaluation.stack.worker()
    student = evaluation.enrol()
    refused = issue(evaluation, student)
    assert refused.status_code == 422 and refused.get_json()["code"] == "evaluation_certificate_refused"
    evaluation.post_batch([line(student, passed=False, score="40.00")])
    assert issue(evaluation, student).status_code == 422  # failed: a free later class, not a certificate
    evaluation.post_batch([line(student, held_on="2014-05-01")])
    too_early = issue(evaluation, student, issued_on="2014-04-30")
    assert too_early.status_code == 422 and "2014-05-01" in too_early.get_json()["detail"]

    issued = issue(evaluation, student)
    assert issued.status_code == 201, issued.get_json()
    assert issue(evaluation, student).status_code == 200  # a retry issues nothing twice
    [message] = wait_for(lambda: evaluation.stack.drain(tap), message="certificate.issued")
    data = json.loads(message.body)["data"]
    assert (data["enrolment_id"], data["number"], data["kind"], data["issued_on"], data["revision"]) == (
        student["enrolment_id"],
        "ZGJS-2014-000123",
        "skills",
        "2014-05-06",
        1,
    )


def test_numbers_are_unique_per_institution_only(evaluation):
    first, second = evaluation.enrol(), evaluation.enrol()
    elsewhere = evaluation.enrol("GZ-FCG")
    evaluation.post_batch([line(first), line(second)])
    evaluation.post_batch([line(elsewhere)], institution="GZ-FCG")
    assert issue(evaluation, first).status_code == 201
    taken = issue(evaluation, second)
    assert taken.status_code == 409 and taken.get_json()["code"] == "evaluation_certificate_number_taken"
    assert issue(evaluation, elsewhere, institution="GZ-FCG").status_code == 201
    foreign = issue(evaluation, second, number="X-1", institution="GZ-FCG")
    assert foreign.get_json()["detail"] == "不是贵机构的报读记录。"


def test_revocation_is_announced_and_public_verification_shows_it(evaluation):
    tap = evaluation.stack.tap("certificate.revoked")
    evaluation.stack.worker()
    evaluation.register()
    student = evaluation.enrol()
    evaluation.post_batch([line(student)])
    certificate = issue(evaluation, student).get_json()

    valid = verify(evaluation)
    assert valid.status_code == 200  # no identity header at all
    body = valid.get_json()
    assert (body["status"], body["institution_name"], body["programme"]["trade"], body["issued_on"]) == (
        "valid",
        "广州市职工技术交流中心（职工技协）",
        "电工",
        "2014-05-06",
    )
    assert student["employee_id"] not in json.dumps(body) and student["enrolment_id"] not in json.dumps(body)
    assert verify(evaluation, number="NOPE").status_code == 404

    other = evaluation.client.post(
        f"/certificates/{certificate['certificate_id']}/revocation",
        headers=evaluation.institution("GZ-FCG"),
        json={"reason": "错误"},
    )
    assert other.status_code == 404
    revoked = evaluation.client.post(
        f"/certificates/{certificate['certificate_id']}/revocation",
        headers=evaluation.admin(),
        json={"reason": "鉴定成绩登记错误"},
    )
    assert revoked.status_code == 200 and revoked.get_json()["revision"] == 2
    again = evaluation.client.post(
        f"/certificates/{certificate['certificate_id']}/revocation",
        headers=evaluation.admin(),
        json={"reason": "again"},
    )
    assert again.status_code == 409
    assert verify(evaluation).get_json()["status"] == "revoked"
    [message] = wait_for(lambda: evaluation.stack.drain(tap), message="certificate.revoked")
    assert json.loads(message.body)["data"]["reason"] == "鉴定成绩登记错误"
    # a revoked certificate frees the enrolment for a corrected one
    assert issue(evaluation, student, number="ZGJS-2014-000124").status_code == 201
    mine = evaluation.client.get("/certificates", headers=evaluation.employee(student["employee_id"])).get_json()
    assert sorted(c["number"] for c in mine) == ["ZGJS-2014-000123", "ZGJS-2014-000124"]


def test_verification_shows_the_masked_name_enrollment_sent_the_newest_revision_winning(stack_of):
    evaluation = Evaluation(stack_of("evaluation"))
    stack = evaluation.stack
    stack.worker()
    evaluation.register()
    named, unnamed, renamed = (enrolment(holder_name_masked="张*明"), enrolment(), enrolment(holder_name_masked="李*"))
    events = [
        stack.publish("campaign.published", campaign()),
        stack.publish("enrollment.registered", unnamed),
        # out of order: the admission (revision 2) first, then the registration it follows
        stack.publish("enrollment.admitted", admitted(named, holder_name_masked="张*华")),
        stack.publish("enrollment.registered", named),
        # an admission without a name does not erase the one already known
        stack.publish("enrollment.registered", renamed),
        stack.publish("enrollment.admitted", admitted(renamed)),
    ]
    with stack.runtime.engine.connect() as db:
        wait_for(
            lambda: {e.id for e in events} <= set(db.scalars(select(inbox.c.event_id))), message="every event handled"
        )
    evaluation.post_batch([line(named), line(unnamed), line(renamed)])
    for number, student in enumerate((named, unnamed, renamed)):
        assert issue(evaluation, student, number=f"ZGJS-2014-{number}").status_code == 201

    shown = {number: verify(evaluation, number=f"ZGJS-2014-{number}").get_json() for number in range(3)}
    assert [shown[n]["holder_name_masked"] for n in range(3)] == ["张*华", None, "李*"]
    assert all((s["status"], s["programme"]["trade"]) == ("valid", "电工") for s in shown.values())
