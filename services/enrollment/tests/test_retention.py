"""Personal data of a campaign past its retention period is anonymised by an operator's command (PIPL art. 19,
47): a campaign closed longer ago than the retention period loses names, ID numbers and phones, enrolments and
their money stay; a dry run changes nothing; running it
again changes nothing; it is audited."""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, text

from servicekit.clock import CHINA
from servicekit.clock import china_today as today
from services.enrollment.models import Employee

from .helpers import ACADEMIC, CAMPAIGN, UNIT, campaign, person, resident_id

LATER = "6f1d2b3c-4a5e-4f60-9b7a-8c9d0e1f2a3b"  # a later campaign

pytestmark = pytest.mark.servers


def anonymise(enrollment, *args: str, **env) -> dict:
    done = enrollment.stack.cli("anonymise", *args, **env)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def people(enrollment) -> list[tuple]:
    """(name, phone, anonymised_on) of every employee, as the service reads them (phones are stored encrypted)."""
    with enrollment.stack.runtime.sessions() as session:
        found = session.execute(select(Employee.name, Employee.phone, Employee.anonymised_on).order_by(Employee.name))
        return [tuple(row) for row in found]


def test_a_campaign_past_its_retention_period_is_anonymised_keeping_counts_and_money(enrollment):
    first = enrollment.ok(enrollment.nominate(1), 201)
    second = enrollment.ok(enrollment.nominate(2), 201)
    admin = enrollment.admin()
    before = enrollment.ok(enrollment.client.get("/enrolments", headers=admin))

    # live (not closed) campaign: nothing to do, however often it runs
    assert anonymise(enrollment, "--retention-days", "0")["employees"] == 0
    # the federation closed it 4 years ago
    closed = datetime.now(CHINA) - timedelta(days=4 * 365)
    enrollment.deliver(
        "campaign.closed",
        {
            "campaign_id": CAMPAIGN,
            "closed_at": closed.isoformat(),
            "reason": "结项",
            "unspent_funds": "keep_with_units",
        },
    )
    assert anonymise(enrollment, "--retention-days", str(5 * 365))["employees"] == 0  # kept 5 years: not yet
    assert anonymise(enrollment, PERSONAL_DATA_RETENTION_DAYS=str(5 * 365))["employees"] == 0

    dry = anonymise(enrollment, "--dry-run")  # the default: 3 years
    assert (dry["dry_run"], dry["employees"], dry["enrolments"], dry["campaigns_past_retention"]) == (True, 2, 2, 1)
    assert [name for name, *_ in people(enrollment)] == sorted([person(1)["name"], person(2)["name"]])

    done = anonymise(enrollment)
    assert (done["dry_run"], done["employees"], done["enrolments"]) == (False, 2, 2)
    assert people(enrollment) == [("已匿名", "", today())] * 2
    after = enrollment.ok(enrollment.client.get("/enrolments", headers=admin))
    assert len(after) == len(before)
    assert [(r["enrolment_id"], r["status"], r["fees"]) for r in after] == [
        (r["enrolment_id"], r["status"], r["fees"]) for r in before
    ]
    own = enrollment.ok(enrollment.client.get(f"/enrolments/{first['enrolment_id']}", headers=enrollment.grassroots()))
    assert (own["name"], own["resident_id"]) == ("已匿名", "ANONYMISED")
    with enrollment.stack.runtime.engine.connect() as db:
        stored = " ".join(str(v) for row in db.execute(text("SELECT * FROM enrolments")) for v in row)
        trail = list(db.execute(text("SELECT action, after FROM audit_entries WHERE action LIKE 'personal_data.%'")))
    assert person(1)["name"] not in stored and person(1)["phone"] not in stored and resident_id(1) not in stored
    assert [action for action, _ in trail] == ["personal_data.anonymised"]
    # the pseudonymous ids (keyed hashes of the ID numbers) are replaced, and the other services told
    with enrollment.stack.runtime.engine.connect() as db:
        ids = set(db.scalars(text("SELECT employee_id FROM employees")))
        bodies = db.scalars(text("SELECT body FROM outbox WHERE type = 'employee.anonymised'"))
        told = [json.loads(body)["data"] for body in bodies]
    assert first["employee_id"] not in ids and all(i.startswith("anon-") for i in ids) and len(ids) == 2
    assert sorted(t["employee_id"] for t in told) == sorted([first["employee_id"], second["employee_id"]])
    assert {t["anonymised_id"] for t in told} == ids

    again = anonymise(enrollment)
    assert again["employees"] == 0  # idempotent
    # nominated again in a later (live) campaign, the record starts afresh
    enrollment.deliver("campaign.published", campaign(campaign_id=LATER))
    plan = {"programme_ids": [ACADEMIC]}
    enrollment.ok(enrollment.client.put(f"/units/{UNIT}/plans/{LATER}", json=plan, headers=enrollment.officer()))
    enrollment.ok(enrollment.nominate(1, programme_id=ACADEMIC, campaign_id=LATER), 201)
    assert (person(1)["name"], person(1)["phone"], None) in people(enrollment)
    assert anonymise(enrollment, "--retention-days", "0")["employees"] == 0  # in a live campaign: kept whole
