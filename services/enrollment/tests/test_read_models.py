"""Campaigns, units and institutions' standing, learnt from other services' events on the real broker."""

from datetime import date

import pytest

from services.enrollment.tests.helpers import (
    CAMPAIGN,
    OTHER_UNIT,
    SKILLS,
    UNION,
    UNIT,
    Enrollment,
    campaign,
    programme,
    unit,
)
from tests.support.processes import wait_for

pytestmark = pytest.mark.servers
DECISION = {"reason": "学员满意度低于60%", "decided_by": "fed-7", "decided_at": "2027-07-01T10:00:00+08:00"}


def test_read_models_follow_events_and_ignore_stale_revisions(stack_of):
    service = Enrollment(stack_of("enrollment"))
    stack = service.stack
    stack.worker()
    stack.publish("campaign.published", campaign(revision=2, public_notice_days=7))
    stack.publish("campaign.published", campaign(revision=1, public_notice_days=3))
    stack.publish("unit.upserted", unit(UNIT))
    stack.publish("unit.upserted", unit(OTHER_UNIT))
    stack.publish("unit.upserted", unit(UNION, revision=3, parent=UNIT))
    stack.publish("unit.upserted", unit(UNION, revision=2, parent=OTHER_UNIT))
    stack.publish("institution.disqualified", {"institution_id": "GZ-ZGJS", "revision": 2, **DECISION})
    stack.publish("institution.reinstated", {"institution_id": "GZ-ZGJS", "revision": 1, **DECISION})
    stack.publish("institution.disqualified", {"institution_id": "GZ-FCG", "revision": 1, **DECISION})
    stack.publish(
        "institution.reinstated", {"institution_id": "GZ-FCG", "revision": 2, **DECISION, "reason": "整改合格"}
    )
    stack.publish("institution.disqualified", {"institution_id": "GZ-YCG", "revision": 1, **DECISION})  # the last

    def standing():
        listed = service.ok(service.client.get("/institutions", headers=service.admin()))
        return {i["institution_id"]: i["disqualified"] for i in listed}

    wait_for(lambda: standing().get("GZ-YCG"), message="every event handled, the last one included")
    assert {k for k, v in standing().items() if v} == {"GZ-ZGJS", "GZ-YCG"}
    listed = {i["institution_id"]: i for i in service.ok(service.client.get("/institutions", headers=service.admin()))}
    assert (listed["GZ-ZGJS"]["disqualification_reason"], listed["GZ-FCG"]["disqualification_reason"]) == (
        DECISION["reason"],
        None,
    )

    service.publish_programme(SKILLS, programme())
    plan = f"/units/{UNIT}/plans/{CAMPAIGN}"
    refused = service.client.put(plan, json={"programme_ids": [SKILLS]}, headers=service.officer())
    assert (refused.status_code, refused.json["code"]) == (409, "enrollment_institution_disqualified")
    service.publish_programme("FCG-DG", programme(institution_id="GZ-FCG"))  # reinstated: it takes plans again
    service.ok(service.client.put(plan, json={"programme_ids": ["FCG-DG"]}, headers=service.officer()))
    nominated = service.ok(service.nominate(1, "FCG-DG"), 201)
    assert nominated["unit_id"] == UNIT, "the stale revision 2 did not move the union to another unit"
    notice = date.fromisoformat(nominated["notice_end"]) - date.fromisoformat(nominated["notice_start"])
    assert notice.days == 7, "the campaign's revision 2 holds, not the stale revision 1"


def test_notices_given_to_institutions_are_kept_once_and_each_institution_sees_its_own(stack_of):
    service = Enrollment(stack_of("enrollment"))
    stack = service.stack
    stack.worker()
    notices = [
        ("GZ-FCG", 1, "2027-07-01T10:00:00+08:00", "学员满意度低于60%"),
        ("GZ-ZGJS", 1, "2027-07-02T10:00:00+08:00", "鉴定通过率低于通报线"),
        ("GZ-FCG", 3, "2027-09-01T10:00:00+08:00", "整改后满意度仍不达标"),
    ]
    for institution_id, revision, decided_at, reason in [*notices, notices[0]]:  # the first one redelivered
        stack.publish(
            "institution.notified",
            {
                "institution_id": institution_id,
                "revision": revision,
                "campaign_id": CAMPAIGN,
                "reason": reason,
                "decided_by": "fed-7",
                "decided_at": decided_at,
            },
        )

    def listed(headers, **query) -> list[tuple]:
        rows = service.ok(service.client.get("/institution-notices", headers=headers, query_string=query))
        return [(r["institution_id"], r["revision"], r["reason"]) for r in rows]

    newest_first = [(i, r, reason) for i, r, _, reason in reversed(notices)]
    wait_for(lambda: listed(service.admin()) == newest_first, message="the notices kept")
    assert listed(stack.as_caller("auditor", subject="a-1"), sort="decided_at") == newest_first[::-1]
    assert listed(service.institution("GZ-FCG")) == [n for n in newest_first if n[0] == "GZ-FCG"]
    assert listed(service.institution("GZ-FCG"), institution_id="GZ-ZGJS") == []  # never another's
    assert listed(service.admin(), campaign_id=CAMPAIGN, limit=1) == newest_first[:1]
    assert service.client.get("/institution-notices", headers=service.officer()).status_code == 403
