"""Registration as a saga with quota, on the real broker: requested -> reserved/refused -> registered/refused."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from servicekit.bus.envelope import Envelope
from servicekit.clock import china_today as today
from services.enrollment.tests.helpers import ACADEMIC, CAMPAIGN, FEES, UNIT, campaign, programme
from tests.support.processes import wait_for

pytestmark = pytest.mark.servers
DECISION = {"reason": "学员满意度低于60%", "decided_by": "fed-7", "decided_at": "2027-07-01T10:00:00+08:00"}


def collect(stack, tap, count: int) -> list[dict]:
    seen = []
    wait_for(
        lambda: seen.extend(stack.drain(tap)) or len(seen) >= count,
        timeout=60,
        message=f"{count} events on {tap.routing_key}",
    )
    return [Envelope.parse(m.body).data for m in seen]


def status(enrollment, enrolment_id: str, headers: dict) -> dict:
    return enrollment.ok(enrollment.client.get(f"/enrolments/{enrolment_id}", headers=headers))


def test_skills_saga_reserved_registers_refused_tells_why(enrollment):
    stack = enrollment.stack
    requested, registered = stack.tap("enrollment.requested"), stack.tap("enrollment.registered")
    stack.worker()
    first, second, third = enrollment.sent(1), enrollment.sent(2), enrollment.sent(3)
    institution = enrollment.institution("GZ-ZGJS")

    asked = enrollment.ok(
        enrollment.client.post(f"/enrolments/{first['enrolment_id']}/register", headers=institution), 202
    )
    assert (asked["status"], asked["subsidy_requested"], asked["fees"]) == ("requested", "940.00", FEES)
    for other in (second, third):
        enrollment.ok(enrollment.client.post(f"/enrolments/{other['enrolment_id']}/register", headers=institution), 202)
    request = {e["enrolment_id"]: e for e in collect(stack, requested, 3)}[first["enrolment_id"]]
    assert request == {
        "enrolment_id": first["enrolment_id"],
        "revision": asked["revision"],
        "campaign_id": CAMPAIGN,
        "kind": "skills",
        "unit_id": UNIT,
        "grassroots_union_id": first["grassroots_union_id"],
        "institution_id": "GZ-ZGJS",
        "programme_id": first["programme_id"],
        "amount": "940.00",
        "requested_on": today().isoformat(),
    }

    answer = {"campaign_id": CAMPAIGN, "unit_id": UNIT, "kind": "skills", "amount": "940.00"}
    stack.publish("quota.reserved", {"enrolment_id": first["enrolment_id"], **answer})
    stack.publish("quota.reserved", {"enrolment_id": first["enrolment_id"], **answer})  # redelivered: no effect
    for other in (second, third):
        stack.publish(
            "quota.refused",
            {
                "enrolment_id": other["enrolment_id"],
                **answer,
                "reason": "no_quota_left",
                "detail": "本单位技能补助额度已用完",
            },
        )
    wait_for(
        lambda: status(enrollment, third["enrolment_id"], institution)["status"] == "refused",
        message="the refusals handled (after both reservations)",
    )

    done = status(enrollment, first["enrolment_id"], institution)
    assert (done["status"], done["registered_on"]) == ("registered", today().isoformat())
    [event] = collect(stack, registered, 1)
    assert event == {
        "enrolment_id": first["enrolment_id"],
        "revision": done["revision"],
        "campaign_id": CAMPAIGN,
        "kind": "skills",
        "unit_id": UNIT,
        "grassroots_union_id": first["grassroots_union_id"],
        "institution_id": "GZ-ZGJS",
        "programme_id": first["programme_id"],
        "trade": "电工",
        "fees": FEES,
        "employee_id": first["employee_id"],
        "holder_name_masked": "职*1",
        "registered_on": today().isoformat(),
    }
    assert stack.drain(registered) == [], "the duplicate reservation registered nothing twice"
    for headers in (institution, enrollment.officer()):
        refused = status(enrollment, second["enrolment_id"], headers)
        assert (refused["refusal_reason"], refused["refusal_detail"]) == ("no_quota_left", "本单位技能补助额度已用完")
    assert enrollment.nominate(2).status_code == 201, "a refused enrolment holds no place"
    again = enrollment.client.post(f"/enrolments/{second['enrolment_id']}/register", headers=institution)
    assert (again.status_code, again.get_json()["code"]) == (409, "enrollment_already_enrolled")

    retried = enrollment.ok(
        enrollment.client.post(f"/enrolments/{third['enrolment_id']}/register", headers=institution), 202
    )
    assert (retried["status"], retried["refusal_reason"]) == ("requested", None)
    [request] = collect(stack, requested, 1)
    assert (request["enrolment_id"], request["revision"]) == (third["enrolment_id"], retried["revision"])
    stack.publish("quota.reserved", {"enrolment_id": third["enrolment_id"], **answer})
    wait_for(
        lambda: status(enrollment, third["enrolment_id"], institution)["status"] == "registered",
        message="the quota reallocated, the retried request reserved",
    )

    payment = {"enrolment_id": first["enrolment_id"], "paid_on": today().isoformat()}
    stack.publish(
        "payment.recorded", {"payment_id": str(uuid.uuid4()), "amount": "1000.00", "status": "partial", **payment}
    )
    stack.publish(
        "payment.recorded", {"payment_id": str(uuid.uuid4()), "amount": "1590.00", "status": "full", **payment}
    )
    wait_for(
        lambda: status(enrollment, first["enrolment_id"], institution)["payment_status"] == "full",
        message="the payments",
    )


def test_academic_admission_only_after_a_passed_entrance_test(enrollment):
    stack = enrollment.stack
    admitted = stack.tap("enrollment.admitted")
    stack.worker()
    sent = enrollment.sent(1, ACADEMIC)
    institution = enrollment.institution("GZ-GCJS")
    path = f"/enrolments/{sent['enrolment_id']}"
    asked = enrollment.ok(enrollment.client.post(f"{path}/register", headers=institution), 202)
    assert asked["subsidy_requested"] is None
    stack.publish(
        "quota.reserved",
        {
            "enrolment_id": sent["enrolment_id"],
            "campaign_id": CAMPAIGN,
            "unit_id": UNIT,
            "kind": "academic",
            "seats": 1,
        },
    )
    wait_for(
        lambda: status(enrollment, sent["enrolment_id"], institution)["status"] == "registered",
        message="the seat reserved",
    )

    untested = enrollment.client.post(f"{path}/admit", headers=institution)
    assert (untested.status_code, untested.get_json()["code"]) == (409, "enrollment_entrance_test_not_passed")
    test = {"held_on": today().isoformat(), "score": "52.50", "passed": False}
    enrollment.ok(enrollment.client.post(f"{path}/entrance-test", json=test, headers=institution))
    assert enrollment.client.post(f"{path}/admit", headers=institution).status_code == 409
    retaken = enrollment.ok(
        enrollment.client.post(
            f"{path}/entrance-test", headers=institution, json={**test, "score": "71.00", "passed": True}
        )
    )
    assert (retaken["entrance_test_score"], retaken["entrance_test_passed"]) == ("71.00", True)
    done = enrollment.ok(enrollment.client.post(f"{path}/admit", headers=institution))
    assert (done["status"], done["admitted_on"]) == ("admitted", today().isoformat())
    [event] = collect(stack, admitted, 1)
    assert (event["kind"], event["revision"], event["admitted_on"], "trade" in event) == (
        "academic",
        done["revision"],
        today().isoformat(),
        False,
    )
    assert event["fees"] == programme("academic")["fee_standard"]
    assert event["holder_name_masked"] == "职*1"  # 职工1


def test_registration_refused_outside_the_window_by_a_disqualified_institution_or_out_of_turn(enrollment):
    sent = enrollment.sent(1)
    path = f"/enrolments/{sent['enrolment_id']}/register"
    institution = enrollment.institution("GZ-ZGJS")
    assert enrollment.client.post(path, headers=enrollment.institution("GZ-GCJS")).status_code == 404
    assert enrollment.client.post(path, headers=enrollment.officer()).status_code == 403

    past = {
        "registration_start": (today() - timedelta(days=90)).isoformat(),
        "registration_end": (today() - timedelta(days=1)).isoformat(),
    }
    enrollment.deliver("campaign.published", campaign(revision=2, windows={**campaign()["windows"], **past}))
    closed = enrollment.client.post(path, headers=institution)
    assert (closed.status_code, closed.get_json()["code"]) == (409, "enrollment_registration_window_closed")
    assert past["registration_end"] in closed.get_json()["detail"]
    enrollment.deliver("campaign.published", campaign(revision=3))

    enrollment.deliver("institution.disqualified", {"institution_id": "GZ-ZGJS", "revision": 1, **DECISION})
    barred = enrollment.client.post(path, headers=institution)
    assert (barred.status_code, barred.get_json()["code"]) == (409, "enrollment_institution_disqualified")
    assert barred.get_json()["detail"] == DECISION["reason"]
    enrollment.deliver("institution.reinstated", {"institution_id": "GZ-ZGJS", "revision": 2, **DECISION})

    first = enrollment.ok(enrollment.client.post(path, headers=institution), 202)
    assert first["status"] == "requested"
    again = enrollment.ok(enrollment.client.post(path, headers=institution), 202)  # a retry: the same outcome
    assert (again["status"], again["revision"]) == ("requested", first["revision"])
    nominated = enrollment.ok(enrollment.nominate(2), 201)
    unsent = enrollment.client.post(f"/enrolments/{nominated['enrolment_id']}/register", headers=institution)
    assert unsent.status_code == 404, "an institution does not see nominations not yet sent to it"


def test_a_closed_campaign_refuses_a_registration_and_writes_nothing(enrollment):
    """The registration reads its campaign beside the enrolment: the closed-campaign check answers from that read."""
    sent = enrollment.sent(1)
    enrollment.deliver(
        "campaign.closed",
        {
            "campaign_id": CAMPAIGN,
            "closed_at": "2027-07-01T10:00:00+08:00",
            "reason": "结项",
            "unspent_funds": "keep_with_units",
        },
    )
    institution = enrollment.institution("GZ-ZGJS")
    refused = enrollment.client.post(f"/enrolments/{sent['enrolment_id']}/register", headers=institution)
    assert (refused.status_code, refused.get_json()["code"]) == (409, "campaign_closed")
    after = status(enrollment, sent["enrolment_id"], institution)
    assert (after["status"], after["revision"]) == ("sent", sent["revision"])
    with enrollment.stack.runtime.engine.connect() as db:
        asked = db.execute(text("SELECT count(*) FROM outbox WHERE type = 'enrollment.requested'")).scalar()
    assert asked == 0
