"""Resident ID numbers encrypted at rest (AES-256-GCM, a key of their own), and every view of a full number
recorded: who, when, whose, why."""

import pytest
from sqlalchemy import text

from .helpers import resident_id

pytestmark = pytest.mark.servers


def stored(enrollment) -> list[str]:
    with enrollment.stack.runtime.engine.connect() as db:
        return list(db.scalars(text("SELECT resident_id FROM employees")))


def views_recorded(enrollment) -> list[dict]:
    with enrollment.stack.runtime.engine.connect() as db:
        rows = db.execute(text("SELECT actor_id, actor_role, employee_id, purpose FROM personal_data_views"))
        return [dict(row._mapping) for row in rows]


def test_resident_ids_are_stored_encrypted_and_each_full_view_is_recorded(enrollment):
    created = enrollment.ok(enrollment.nominate(1), 201)
    # the same person again (another programme): found by the keyed pseudonym, not by the encrypted value
    again = enrollment.nominate(1, programme_id="GCJS-JD-ZK", education="大专")
    assert again.status_code in (201, 409, 422), again.get_data(as_text=True)

    (value,) = stored(enrollment)
    assert value.startswith("v1:") and resident_id(1) not in value and resident_id(1)[-4:] not in value
    assert created["resident_id"] == resident_id(1)  # the nominating union reads it clear

    before = len(views_recorded(enrollment))
    path = f"/enrolments/{created['enrolment_id']}"
    shown = enrollment.ok(enrollment.client.get(path, headers={**enrollment.grassroots(), "X-Purpose": "核对学员信息"}))
    assert shown["resident_id"] == resident_id(1)
    masked = enrollment.ok(enrollment.client.get(path, headers=enrollment.officer()))
    assert masked["resident_id"] != resident_id(1)
    listed = enrollment.ok(enrollment.client.get("/enrolments", headers=enrollment.grassroots()))
    assert [row["resident_id"] for row in listed] == [resident_id(1)] * len(listed)

    recorded = views_recorded(enrollment)[before:]
    # the union still finds the person by the number's last digits (kept apart, the number is encrypted)
    enrollment.ok(enrollment.nominate(2), 201)  # another person, who is not found
    for q in (resident_id(1)[-4:], resident_id(1)[-6:]):
        found = enrollment.ok(
            enrollment.client.get("/enrolments", query_string={"q": q}, headers=enrollment.grassroots())
        )
        assert {row["enrolment_id"] for row in found} == {row["enrolment_id"] for row in listed} != set()
    assert recorded == [
        {
            "actor_id": "officer-GZ-GB-0231",
            "actor_role": "grassroots_officer",
            "employee_id": created["employee_id"],
            "purpose": "GET /enrolments/<enrolment_id>: 核对学员信息",
        },
        {
            "actor_id": "officer-GZ-GB-0231",
            "actor_role": "grassroots_officer",
            "employee_id": created["employee_id"],
            "purpose": "GET /enrolments",
        },
    ]
