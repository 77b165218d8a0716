"""Withdrawal, transfer and change of major: request, decisions, effects and events on the real broker."""
import pytest

from servicekit.bus.envelope import Envelope
from servicekit.clock import china_today as today
from services.enrollment.tests.helpers import (ACADEMIC, CAMPAIGN, FEES, OTHER_UNIT, SKILLS, UNIT, programme,
                                               registered)
from tests.support.processes import wait_for

pytestmark = pytest.mark.servers


def event(stack, tap) -> dict:
    [message] = wait_for(lambda: stack.drain(tap), message=f"an event on {tap.routing_key}")
    return Envelope.parse(message.body).data


def test_withdrawal_asked_by_the_employee_approved_by_the_unit_is_announced(enrollment):
    stack = enrollment.stack
    withdrawn = stack.tap("enrollment.withdrawn")
    stack.worker()
    [enrolment_id] = registered(enrollment, [1])
    student = enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.officer()))
    me = enrollment.employee(student["employee_id"])
    ask = {"kind": "withdrawal", "reason": "本人工作调动，申请退学", "effective_on": today().isoformat()}
    assert enrollment.client.post(f"/enrolments/{enrolment_id}/status-changes", json=ask,
                                  headers=enrollment.employee("emp-other")).status_code == 404
    change = enrollment.ok(enrollment.client.post(f"/enrolments/{enrolment_id}/status-changes", json=ask,
                                                  headers=me), 201)
    assert change["state"] == "requested"
    twice = enrollment.client.post(f"/enrolments/{enrolment_id}/status-changes", json=ask, headers=me)
    assert twice.status_code == 409, "one open change per enrolment"

    decision = f"/status-changes/{change['change_id']}/decision"
    assert enrollment.client.post(decision, json={"decision": "approve"},
                                  headers=enrollment.officer(OTHER_UNIT)).status_code == 404
    assert enrollment.client.post(decision, json={"decision": "approve"},
                                  headers=enrollment.admin()).status_code == 403, "the unit decides a withdrawal"
    assert [c["change_id"] for c in enrollment.ok(enrollment.client.get(
        "/status-changes/pending", headers=enrollment.officer()))] == [change["change_id"]]
    approved = enrollment.ok(enrollment.client.post(decision, json={"decision": "approve", "note": "同意"},
                                                    headers=enrollment.officer()))
    assert approved["state"] == "approved"
    after = enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.institution()))
    assert (after["status"], after["withdrawn_on"]) == ("withdrawn", today().isoformat())
    assert event(stack, withdrawn) == {"enrolment_id": enrolment_id, "revision": after["revision"],
                                       "campaign_id": CAMPAIGN, "kind": "skills", "unit_id": UNIT,
                                       "institution_id": "GZ-ZGJS", "reason": ask["reason"],
                                       "withdrawn_on": today().isoformat()}
    assert enrollment.client.post(decision, json={"decision": "approve"},
                                  headers=enrollment.officer()).status_code == 409
    assert enrollment.nominate(1).status_code == 201, "a withdrawn enrolment holds no place"


def test_transfer_needs_the_unit_then_the_federation_and_moves_the_student(enrollment):
    stack = enrollment.stack
    transferred = stack.tap("enrollment.transferred")
    stack.worker()
    other_fees = {**FEES, "tuition_or_training": "2100.00"}
    enrollment.publish_programme("SYG-DG", programme(institution_id="GZ-SYG", fee_standard=other_fees))
    [enrolment_id] = registered(enrollment, [1])
    path = f"/enrolments/{enrolment_id}/status-changes"
    ask = {"kind": "transfer", "reason": "人数不足30人，转入市一宫开班", "effective_on": today().isoformat()}
    for target, message in ((None, "Required"), (SKILLS, "current programme"), (ACADEMIC, "another kind")):
        refused = enrollment.client.post(path, json={**ask, "to_programme_id": target} if target else ask,
                                         headers=enrollment.institution())
        assert refused.status_code == 422 and message in str(refused.get_json()["errors"]), target
    assert enrollment.client.post(path, json={**ask, "to_programme_id": "SYG-DG"},
                                  headers=enrollment.grassroots()).status_code == 403

    change = enrollment.ok(enrollment.client.post(path, json={**ask, "to_programme_id": "SYG-DG"},
                                                  headers=enrollment.institution()), 201)
    decision = f"/status-changes/{change['change_id']}/decision"
    agreed = enrollment.ok(enrollment.client.post(decision, json={"decision": "approve"},
                                                  headers=enrollment.officer()))
    assert agreed["state"] == "unit_agreed"
    assert enrollment.client.post(decision, json={"decision": "approve"},
                                  headers=enrollment.officer()).status_code == 403
    assert enrollment.ok(enrollment.client.get("/status-changes/pending", headers=enrollment.admin()))[0][
        "change_id"] == change["change_id"]
    assert enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.institution()))[
        "institution_id"] == "GZ-ZGJS", "nothing moves before the federation's review"
    enrollment.ok(enrollment.client.post(decision, json={"decision": "approve", "note": "同意转入"},
                                         headers=enrollment.admin()))

    assert enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.institution()).status_code == 404
    moved = enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}",
                                                headers=enrollment.institution("GZ-SYG")))
    assert (moved["programme_id"], moved["fees"], moved["status"]) == ("SYG-DG", other_fees, "registered")
    assert event(stack, transferred) == {
        "enrolment_id": enrolment_id, "revision": moved["revision"], "campaign_id": CAMPAIGN, "kind": "skills",
        "unit_id": UNIT, "from_institution_id": "GZ-ZGJS", "to_institution_id": "GZ-SYG",
        "from_programme_id": SKILLS, "to_programme_id": "SYG-DG", "fees": other_fees, "reason": ask["reason"],
        "transferred_on": today().isoformat()}

    declined = enrollment.ok(enrollment.client.post(path, headers=enrollment.officer(), json={
        **ask, "to_programme_id": SKILLS, "reason": "想回原机构"}), 201)
    no = enrollment.ok(enrollment.client.post(f"/status-changes/{declined['change_id']}/decision",
                                              json={"decision": "decline", "note": "不同意"},
                                              headers=enrollment.officer()))
    assert no["state"] == "declined"
    assert enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}",
                                               headers=enrollment.officer()))["programme_id"] == "SYG-DG"
