"""Withdrawal, transfer and change of major: request, decisions, effects and events on the real broker."""

import pytest

from servicekit.bus.envelope import Envelope
from servicekit.clock import china_today as today
from services.enrollment.tests.helpers import ACADEMIC, CAMPAIGN, FEES, OTHER_UNIT, SKILLS, UNIT, programme, registered
from services.enrollment.tests.test_registration import collect
from tests.support.processes import wait_for

pytestmark = pytest.mark.servers


def event(stack, tap) -> dict:
    [message] = wait_for(lambda: stack.drain(tap), message=f"an event on {tap.routing_key}")
    return Envelope.parse(message.body).data


def changes_of(enrollment, enrolment_id: str, headers: dict | None = None) -> list[dict]:
    return enrollment.ok(
        enrollment.client.get(f"/enrolments/{enrolment_id}/status-changes", headers=headers or enrollment.admin())
    )


def approved_transfer(enrollment, enrolment_id: str, to_programme_id: str) -> dict:
    """A transfer asked by the institution, agreed by the unit and approved by the federation."""
    change = enrollment.ok(
        enrollment.client.post(
            f"/enrolments/{enrolment_id}/status-changes",
            json={
                "kind": "transfer",
                "reason": "人数不足30人，转入他校开班",
                "effective_on": today().isoformat(),
                "to_programme_id": to_programme_id,
            },
            headers=enrollment.institution(),
        ),
        201,
    )
    decision = f"/status-changes/{change['change_id']}/decision"
    enrollment.ok(enrollment.client.post(decision, json={"decision": "approve"}, headers=enrollment.officer()))
    return enrollment.ok(enrollment.client.post(decision, json={"decision": "approve"}, headers=enrollment.admin()))


def test_withdrawal_asked_by_the_employee_approved_by_the_unit_is_announced(enrollment):
    stack = enrollment.stack
    withdrawn = stack.tap("enrollment.withdrawn")
    stack.worker()
    [enrolment_id] = registered(enrollment, [1])
    student = enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.officer()))
    me = enrollment.employee(student["employee_id"])
    ask = {"kind": "withdrawal", "reason": "本人工作调动，申请退学", "effective_on": today().isoformat()}
    assert (
        enrollment.client.post(
            f"/enrolments/{enrolment_id}/status-changes", json=ask, headers=enrollment.employee("emp-other")
        ).status_code
        == 404
    )
    change = enrollment.ok(
        enrollment.client.post(f"/enrolments/{enrolment_id}/status-changes", json=ask, headers=me), 201
    )
    assert change["state"] == "requested"
    twice = enrollment.client.post(f"/enrolments/{enrolment_id}/status-changes", json=ask, headers=me)
    assert twice.status_code == 409, "one open change per enrolment"

    decision = f"/status-changes/{change['change_id']}/decision"
    assert (
        enrollment.client.post(
            decision, json={"decision": "approve"}, headers=enrollment.officer(OTHER_UNIT)
        ).status_code
        == 404
    )
    assert (
        enrollment.client.post(decision, json={"decision": "approve"}, headers=enrollment.admin()).status_code == 403
    ), "the unit decides a withdrawal"
    assert [
        c["change_id"]
        for c in enrollment.ok(enrollment.client.get("/status-changes/pending", headers=enrollment.officer()))
    ] == [change["change_id"]]
    approved = enrollment.ok(
        enrollment.client.post(decision, json={"decision": "approve", "note": "同意"}, headers=enrollment.officer())
    )
    assert approved["state"] == "approved"
    after = enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.institution()))
    assert (after["status"], after["withdrawn_on"]) == ("withdrawn", today().isoformat())
    assert event(stack, withdrawn) == {
        "enrolment_id": enrolment_id,
        "revision": after["revision"],
        "campaign_id": CAMPAIGN,
        "kind": "skills",
        "unit_id": UNIT,
        "institution_id": "GZ-ZGJS",
        "reason": ask["reason"],
        "withdrawn_on": today().isoformat(),
    }
    assert (
        enrollment.client.post(decision, json={"decision": "approve"}, headers=enrollment.officer()).status_code == 409
    )
    assert enrollment.nominate(1).status_code == 201, "a withdrawn enrolment holds no place"


def test_transfer_needs_the_unit_then_the_federation_and_moves_the_student(enrollment):
    stack = enrollment.stack
    transferred, requested = stack.tap("enrollment.transferred"), stack.tap("enrollment.requested")
    stack.worker()
    other_fees = {**FEES, "tuition_or_training": "2100.00"}
    enrollment.publish_programme("SYG-DG", programme(institution_id="GZ-SYG", fee_standard=other_fees))
    [enrolment_id] = registered(enrollment, [1])
    collect(stack, requested, 1)  # the registration's own request
    path = f"/enrolments/{enrolment_id}/status-changes"
    ask = {"kind": "transfer", "reason": "人数不足30人，转入市一宫开班", "effective_on": today().isoformat()}
    for target, message in ((None, "必须填写"), (SKILLS, "就是当前的培训项目"), (ACADEMIC, "属于另一培训类别")):
        refused = enrollment.client.post(
            path, json={**ask, "to_programme_id": target} if target else ask, headers=enrollment.institution()
        )
        assert refused.status_code == 422 and message in str(refused.get_json()["errors"]), target
    assert (
        enrollment.client.post(
            path, json={**ask, "to_programme_id": "SYG-DG"}, headers=enrollment.grassroots()
        ).status_code
        == 403
    )

    change = enrollment.ok(
        enrollment.client.post(path, json={**ask, "to_programme_id": "SYG-DG"}, headers=enrollment.institution()), 201
    )
    decision = f"/status-changes/{change['change_id']}/decision"
    agreed = enrollment.ok(enrollment.client.post(decision, json={"decision": "approve"}, headers=enrollment.officer()))
    assert agreed["state"] == "unit_agreed"
    assert (
        enrollment.client.post(decision, json={"decision": "approve"}, headers=enrollment.officer()).status_code == 403
    )
    assert (
        enrollment.ok(enrollment.client.get("/status-changes/pending", headers=enrollment.admin()))[0]["change_id"]
        == change["change_id"]
    )
    assert (
        enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.institution()))[
            "institution_id"
        ]
        == "GZ-ZGJS"
    ), "nothing moves before the federation's review"
    waiting = enrollment.ok(
        enrollment.client.post(decision, json={"decision": "approve", "note": "同意转入"}, headers=enrollment.admin())
    )
    assert (waiting["state"], waiting["subsidy_requested"]) == ("awaiting_quota", "840.00"), "a cheaper subsidy"
    asked = event(stack, requested)
    assert asked == {
        "enrolment_id": enrolment_id,
        "revision": asked["revision"],
        "campaign_id": CAMPAIGN,
        "kind": "skills",
        "unit_id": UNIT,
        "grassroots_union_id": "GZ-GB-0231",
        "institution_id": "GZ-SYG",
        "programme_id": "SYG-DG",
        "amount": "840.00",
    }
    assert (
        enrollment.client.post(decision, json={"decision": "approve"}, headers=enrollment.admin()).status_code == 409
    ), "decided already"
    assert (
        enrollment.client.post(
            path, json={**ask, "to_programme_id": "SYG-DG"}, headers=enrollment.institution()
        ).status_code
        == 409
    ), "still the open change"
    answer = {"enrolment_id": enrolment_id, "campaign_id": CAMPAIGN, "unit_id": UNIT, "kind": "skills"}
    stack.publish("quota.reserved", {**answer, "amount": "940.00", "revision": asked["revision"] - 1})  # old news
    stack.publish("quota.reserved", {**answer, "amount": "840.00", "revision": asked["revision"]})
    wait_for(lambda: changes_of(enrollment, enrolment_id)[0]["state"] == "approved", message="quota's answer")

    assert enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.institution()).status_code == 404
    moved = enrollment.ok(
        enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.institution("GZ-SYG"))
    )
    assert (moved["programme_id"], moved["fees"], moved["status"], moved["subsidy_requested"]) == (
        "SYG-DG",
        other_fees,
        "registered",
        "840.00",
    )
    assert event(stack, transferred) == {
        "enrolment_id": enrolment_id,
        "revision": moved["revision"],
        "campaign_id": CAMPAIGN,
        "kind": "skills",
        "unit_id": UNIT,
        "from_institution_id": "GZ-ZGJS",
        "to_institution_id": "GZ-SYG",
        "from_programme_id": SKILLS,
        "to_programme_id": "SYG-DG",
        "fees": other_fees,
        "reason": ask["reason"],
        "transferred_on": today().isoformat(),
        "amount": "840.00",
    }

    declined = enrollment.ok(
        enrollment.client.post(
            path, headers=enrollment.officer(), json={**ask, "to_programme_id": SKILLS, "reason": "想回原机构"}
        ),
        201,
    )
    no = enrollment.ok(
        enrollment.client.post(
            f"/status-changes/{declined['change_id']}/decision",
            json={"decision": "decline", "note": "不同意"},
            headers=enrollment.officer(),
        )
    )
    assert no["state"] == "declined"
    assert (
        enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.officer()))[
            "programme_id"
        ]
        == "SYG-DG"
    )


def dearer_transfer(enrollment, requested) -> tuple[str, dict, dict]:
    """A registered skills student (as it was), and its approved transfer to a dearer programme, SYG-DG."""
    enrollment.stack.worker()
    enrollment.publish_programme(
        "SYG-DG", programme(institution_id="GZ-SYG", fee_standard={**FEES, "tuition_or_training": "2520.00"})
    )
    [enrolment_id] = registered(enrollment, [1])
    collect(enrollment.stack, requested, 1)  # the registration's own request
    before = enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.admin()))
    return enrolment_id, before, approved_transfer(enrollment, enrolment_id, "SYG-DG")


def test_a_dearer_transfer_waits_for_quota_and_a_refusal_changes_nothing(enrollment):
    stack = enrollment.stack
    transferred, requested = stack.tap("enrollment.transferred"), stack.tap("enrollment.requested")
    enrolment_id, before, change = dearer_transfer(enrollment, requested)
    assert (change["state"], change["subsidy_requested"]) == ("awaiting_quota", "1008.00")
    asked = event(stack, requested)
    assert (asked["amount"], asked["programme_id"], asked["revision"]) == ("1008.00", "SYG-DG", before["revision"] + 1)
    stack.publish(
        "quota.refused",
        {
            "enrolment_id": enrolment_id,
            "campaign_id": CAMPAIGN,
            "unit_id": UNIT,
            "kind": "skills",
            "amount": "1008.00",
            "revision": asked["revision"],
            "reason": "no_quota_left",
            "detail": "本单位技能补助额度已用完",
        },
    )
    wait_for(lambda: changes_of(enrollment, enrolment_id)[0]["state"] == "refused", message="the refusal")
    for headers in (enrollment.officer(), enrollment.institution(), enrollment.admin()):
        [seen] = changes_of(enrollment, enrolment_id, headers)
        assert (seen["refusal_reason"], seen["refusal_detail"]) == ("no_quota_left", "本单位技能补助额度已用完")
    after = enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}", headers=enrollment.admin()))
    assert {k: after[k] for k in ("institution_id", "programme_id", "fees", "subsidy_requested", "status")} == {
        k: before[k] for k in ("institution_id", "programme_id", "fees", "subsidy_requested", "status")
    }
    assert stack.drain(transferred) == []

    again = approved_transfer(enrollment, enrolment_id, "SYG-DG")  # quota has money again, say
    stack.publish(
        "quota.reserved",
        {
            "enrolment_id": enrolment_id,
            "campaign_id": CAMPAIGN,
            "unit_id": UNIT,
            "kind": "skills",
            "amount": "1008.00",
            "revision": event(stack, requested)["revision"],
        },
    )
    wait_for(lambda: changes_of(enrollment, enrolment_id)[-1]["state"] == "approved", message="the reservation")
    assert (event(stack, transferred)["amount"], again["change_id"]) == (
        "1008.00",
        changes_of(enrollment, enrolment_id)[-1]["change_id"],
    )


def test_a_transfer_keeping_the_subsidy_or_an_academic_one_applies_at_once(enrollment):
    stack = enrollment.stack
    transferred, requested = stack.tap("enrollment.transferred"), stack.tap("enrollment.requested")
    stack.worker()
    enrollment.publish_programme("SYG-DG", programme(institution_id="GZ-SYG"))
    enrollment.publish_programme("SYG-JD", programme("academic", institution_id="GZ-SYG"))
    [skills] = registered(enrollment, [1])
    [academic] = registered(enrollment, [2], ACADEMIC)
    collect(stack, requested, 2)

    assert approved_transfer(enrollment, skills, "SYG-DG")["state"] == "approved"
    assert event(stack, transferred)["amount"] == "940.00", "skills: the subsidy quota keeps holding"
    enrollment.ok(
        enrollment.client.post(
            f"/enrolments/{academic}/entrance-test",
            headers=enrollment.institution("GZ-GCJS"),
            json={"held_on": today().isoformat(), "score": "80.00", "passed": True},
        )
    )
    enrollment.ok(enrollment.client.post(f"/enrolments/{academic}/admit", headers=enrollment.institution("GZ-GCJS")))
    change = enrollment.ok(
        enrollment.client.post(
            f"/enrolments/{academic}/status-changes",
            json={
                "kind": "transfer",
                "reason": "转入市一宫",
                "effective_on": today().isoformat(),
                "to_programme_id": "SYG-JD",
            },
            headers=enrollment.officer(),
        ),
        201,
    )
    decision = f"/status-changes/{change['change_id']}/decision"
    enrollment.ok(enrollment.client.post(decision, json={"decision": "approve"}, headers=enrollment.officer()))
    assert (
        enrollment.ok(enrollment.client.post(decision, json={"decision": "approve"}, headers=enrollment.admin()))[
            "state"
        ]
        == "approved"
    )
    moved = event(stack, transferred)
    assert (moved["enrolment_id"], moved["to_programme_id"], "amount" in moved) == (academic, "SYG-JD", False)
    assert stack.drain(requested) == [], "no request to quota when the subsidy stays the same"
