"""Enrollment's audit trail: the decisions of nominations with who, old and new values and why, personal
data masked; reasons required for declines (PostgreSQL)."""

import json

import pytest

from servicekit.clock import china_today as today
from services.enrollment.tests.helpers import UNION, UNIT, person, resident_id

pytestmark = pytest.mark.servers


def trail(enrollment, **query) -> list[dict]:
    return enrollment.ok(
        enrollment.client.get("/audit", query_string=query, headers=enrollment.stack.as_caller("auditor"))
    )


def test_nomination_decisions_are_audited_without_personal_data_in_clear(enrollment):
    enrolment = enrollment.sent(1)
    objected = enrollment.ok(
        enrollment.client.post(
            f"/enrolments/{enrollment.ok(enrollment.nominate(2), 201)['enrolment_id']}/objections",
            json={"raised_on": today().isoformat(), "summary": "反映有违规记录"},
            headers=enrollment.grassroots(),
        ),
        201,
    )
    enrollment.ok(
        enrollment.client.post(
            f"/enrolments/{objected['enrolment_id']}/objections/{objected['objections'][0]['objection_id']}/outcome",
            json={"outcome": "upheld", "note": "经核实属实"},
            headers=enrollment.grassroots(),
        )
    )

    entries = trail(enrollment)
    actions = [e["action"] for e in entries]
    assert actions[:5] == [
        "enrolment.decide_objection",
        "enrolment.record_objection",
        "enrolment.nominate",
        "nomination_list.send_list",
        "enrolment.confirm",
    ]
    assert {"enrolment.record_consent", "plan.recorded", "programme.published"} <= set(actions)
    decided = entries[0]
    assert (decided["actor_id"], decided["actor_role"], decided["reason"]) == (
        f"officer-{UNION}",
        "grassroots_officer",
        "经核实属实",
    )
    assert decided["actor_unit_id"] and decided["entity_id"] == objected["enrolment_id"]
    assert (decided["before"]["status"], decided["after"]["status"]) == ("nominated", "rejected")
    assert any(o.startswith("objection ") for o in decided["after"]["others"])
    confirmed = next(e for e in entries if e["action"] == "enrolment.confirm")
    assert (confirmed["before"]["status"], confirmed["after"]["status"]) == ("nominated", "confirmed")
    assert confirmed["entity_id"] == enrolment["enrolment_id"]
    sent = next(e for e in entries if e["action"] == "nomination_list.send_list")
    assert (sent["actor_role"], sent["after"]["nominees"], sent["after"]["grassroots_union_id"]) == (
        "unit_officer",
        1,
        UNION,
    )
    assert sent["after"]["others"][f"enrolment {enrolment['enrolment_id']}"]["status"] == "sent"

    text = json.dumps(entries, ensure_ascii=False)
    for seq in (1, 2):
        assert resident_id(seq) not in text and person(seq)["phone"] not in text and person(seq)["name"] not in text
    nominated = next(e for e in entries if e["action"] == "enrolment.nominate")
    employee = next(v for k, v in nominated["after"]["others"].items() if k.startswith("employee "))
    assert employee["resident_id"] == resident_id(2)[:4] + "*" * 10 + resident_id(2)[-4:]
    assert employee["name"] == "职**"

    story = trail(enrollment, entity_type="enrolment", entity_id=enrolment["enrolment_id"])
    assert [e["action"] for e in story] == ["enrolment.confirm", "enrolment.record_consent", "enrolment.nominate"]
    assert trail(enrollment, actor_id="nobody") == []
    officer = enrollment.client.get("/audit", headers=enrollment.officer())
    assert officer.status_code == 403


def test_declining_a_status_change_needs_a_reason_in_chinese(enrollment):
    enrolment = enrollment.sent(3)
    change = enrollment.ok(
        enrollment.client.post(
            f"/enrolments/{enrolment['enrolment_id']}/status-changes",
            json={"kind": "withdrawal", "reason": "工作调动", "effective_on": today().isoformat()},
            headers=enrollment.grassroots(),
        ),
        201,
    )
    decision = f"/status-changes/{change['change_id']}/decision"
    refused = enrollment.client.post(decision, json={"decision": "decline"}, headers=enrollment.officer())
    assert refused.status_code == 422
    assert "此项决定须说明理由" in refused.get_json()["errors"]["note"][0]
    assert [e["action"] for e in trail(enrollment, entity_type="status_change")] == ["status_change.requested"]
    enrollment.ok(
        enrollment.client.post(decision, json={"decision": "decline", "note": "学期未满"}, headers=enrollment.officer())
    )
    declined = trail(enrollment, entity_type="status_change")[0]
    assert (declined["action"], declined["reason"], declined["actor_unit_id"]) == (
        "status_change.declined",
        "学期未满",
        UNIT,
    )
