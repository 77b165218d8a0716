"""Resident ID numbers encrypted at rest (AES-256-GCM, a key of their own), and every view of a full number
recorded: who, when, whose, why."""

import pytest
from sqlalchemy import text

from .helpers import person, resident_id

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


def test_phones_and_proposed_names_are_stored_encrypted_and_the_migration_encrypts_existing_rows(enrollment):
    from alembic import command

    from servicekit.migrations import alembic_config

    created = enrollment.ok(enrollment.nominate(3), 201)
    clear = (person(3)["phone"], person(3)["name"])

    def stored() -> list[str]:
        with enrollment.stack.runtime.engine.connect() as db:
            return [
                *db.scalars(text("SELECT phone FROM employees")),
                *(v for row in db.execute(text("SELECT nominated_name, nominated_phone FROM enrolments")) for v in row),
            ]

    assert all(value.startswith("v1:") for value in stored()) and not set(clear) & set(stored())
    shown = enrollment.ok(
        enrollment.client.get(f"/enrolments/{created['enrolment_id']}", headers=enrollment.grassroots())
    )
    assert (shown["phone"], shown["name"]) == clear
    # the name stays searchable (it is the employee's record that lists search, in clear)
    found = enrollment.ok(
        enrollment.client.get("/enrolments", query_string={"q": clear[1]}, headers=enrollment.admin())
    )
    assert [row["enrolment_id"] for row in found] == [created["enrolment_id"]]

    # rows written before the migration: back to clear (its downgrade), then encrypted again by its upgrade
    config = alembic_config(enrollment.stack.runtime)
    command.downgrade(config, "enrollment_0018")
    assert sorted(stored()) == sorted([clear[0], clear[1], clear[0]])
    command.upgrade(config, "enrollment_0019")
    assert all(value.startswith("v1:") for value in stored())
    shown = enrollment.ok(
        enrollment.client.get(f"/enrolments/{created['enrolment_id']}", headers=enrollment.grassroots())
    )
    assert (shown["phone"], shown["name"]) == clear
