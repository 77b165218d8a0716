"""The finance service on the real PostgreSQL and RabbitMQ, fed with events as quota, enrollment and
evaluation would publish them."""

from __future__ import annotations

import copy
import json
import uuid

import pytest
from sqlalchemy import select

from tests.support.processes import wait_for

CAMPAIGN = "5f1c2a4e-8a7b-4c1d-9e2f-3a4b5c6d7e80"
UNIT, OTHER_UNIT = "GZ-BY", "GZ-TH"
INSTITUTION, OTHER_INSTITUTION = "GZ-ZGJS", "GZ-SYG"
SKILLS_FEES = {
    "tuition_or_training": "2350.00",
    "appraisal_exam": "180.00",
    "textbook": "0.00",
    "registration": "0.00",
    "entrance_test": "0.00",
}
ACADEMIC_FEES = {
    "tuition_or_training": "5600.00",
    "appraisal_exam": "0.00",
    "textbook": "300.00",
    "registration": "80.00",
    "entrance_test": "50.00",
}


def campaign_event(revision: int = 1, **changes) -> dict:
    return {
        "campaign_id": CAMPAIGN,
        "revision": revision,
        "name": "2013-14 百万职工素质提升工程",
        "year": 2013,
        "fund_pools": {"academic": "5000000.00", "skills": "5000000.00"},
        "academic_subsidy_per_student": "1500.00",
        "skills_federation_rate": "0.40",
        "skills_rate_overrides": {"电工": "0.50"},
        "windows": {
            "registration_start": "2013-11-01",
            "registration_end": "2014-01-15",
            "study_start": "2013-12-01",
            "study_end": "2014-06-30",
            "exams_from": "2014-03-01",
        },
        "dedicated_class_threshold": 30,
        "public_notice_days": 5,
        "roster_lead_working_days": 5,
        **changes,
    }


def unit_event(unit_id: str, name: str) -> dict:
    return {
        "unit_id": unit_id,
        "revision": 1,
        "name": name,
        "level": "first_level",
        "category": "district",
        "headcount": 50000,
        "key_industry": False,
    }


def allocation_event(unit_id: str, seats: int, skills: str, revision: int = 1, allocation_id: str | None = None):
    return {
        "campaign_id": CAMPAIGN,
        "allocation_id": allocation_id or str(uuid.uuid5(uuid.NAMESPACE_URL, unit_id)),
        "revision": revision,
        "unit_id": unit_id,
        "academic_seats": seats,
        "skills_money": skills,
        "reason": "initial" if revision == 1 else "edited",
    }


def registered_event(
    kind: str = "skills",
    *,
    enrolment_id: str | None = None,
    unit_id: str = UNIT,
    institution_id: str = INSTITUTION,
    employee_id: str = "emp-1",
    revision: int = 2,
    fees: dict | None = None,
    trade: str = "焊工",
) -> dict:
    data = {
        "enrolment_id": enrolment_id or str(uuid.uuid4()),
        "revision": revision,
        "campaign_id": CAMPAIGN,
        "kind": kind,
        "unit_id": unit_id,
        "grassroots_union_id": f"{unit_id}-G1",
        "institution_id": institution_id,
        "programme_id": f"{institution_id}-{kind}",
        "fees": copy.deepcopy(fees or (SKILLS_FEES if kind == "skills" else ACADEMIC_FEES)),
        "employee_id": employee_id,
        "registered_on": "2013-11-20",
    }
    if kind == "skills":
        data["trade"] = trade
    return data


def withdrawn_event(registered: dict, revision: int = 3) -> dict:
    return {name: registered[name] for name in ("enrolment_id", "campaign_id", "kind", "unit_id", "institution_id")} | {
        "revision": revision,
        "reason": "本人申请退学",
        "withdrawn_on": "2014-03-05",
    }


def transferred_event(registered: dict, tuition: str, revision: int = 3) -> dict:
    """The registered enrolment moved to the other institution, whose training fee is `tuition`."""
    return {
        "enrolment_id": registered["enrolment_id"],
        "revision": revision,
        "campaign_id": CAMPAIGN,
        "kind": registered["kind"],
        "unit_id": registered["unit_id"],
        "from_institution_id": registered["institution_id"],
        "to_institution_id": OTHER_INSTITUTION,
        "from_programme_id": registered["programme_id"],
        "to_programme_id": "SYG-DG-2013",
        "fees": {**registered["fees"], "tuition_or_training": tuition},
        "reason": "人数不足30人，转入市一宫开班",
        "transferred_on": "2014-02-10",
    }


def certificate_event(
    registered: dict, *, certificate_id: str | None = None, revision: int = 1, revoked: bool = False
) -> dict:
    data = {
        "certificate_id": certificate_id or str(uuid.uuid4()),
        "revision": revision,
        "number": f"C-{uuid.uuid4().hex[:8]}",
        "enrolment_id": registered["enrolment_id"],
        "institution_id": registered["institution_id"],
        "kind": registered["kind"],
    }
    return data | (
        {"reason": "鉴定成绩登记错误", "revoked_on": "2014-06-02"} if revoked else {"issued_on": "2014-05-06"}
    )


class Finance:
    """The finance stack with a running worker, and the calls each actor makes."""

    def __init__(self, stack):
        self.stack, self.client = stack, stack.client
        self.worker = None  # started by the first delivery: HTTP-only tests need none

    def deliver(self, *events: tuple[str, dict], timeout: float = 60.0) -> list:
        """Publish as other services would, in this order, and wait until the worker has handled them all."""
        self.worker = self.worker or self.stack.worker()
        sent = [self.stack.publish(event_type, data, producer="test") for event_type, data in events]
        self.wait_handled([event.id for event in sent], timeout)
        return sent

    def wait_handled(self, event_ids: list[str], timeout: float = 60.0) -> None:
        inbox = self.stack.runtime.inbox
        with_ids = select(inbox.c.event_id).where(inbox.c.event_id.in_(event_ids))

        def handled():
            with self.stack.runtime.engine.connect() as db:
                return len(db.execute(with_ids).all()) == len(set(event_ids))

        wait_for(handled, timeout, message=f"events handled:\n{self.worker.log()[-3000:]}")

    def caller(self, role: str, **scope) -> dict:
        return self.stack.as_caller(role, **scope)

    @property
    def federation(self) -> dict:
        return self.caller("federation_admin")

    def unit(self, unit_id: str = UNIT) -> dict:
        return self.caller("unit_officer", unit_id=unit_id)

    def institution(self, institution_id: str = INSTITUTION) -> dict:
        return self.caller("institution_operator", institution_id=institution_id)

    def get(self, path: str, headers: dict, expect: int = 200, **query):
        response = self.client.get(path, headers=headers, query_string=query)
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def post(self, path: str, body: dict, headers: dict, expect: int = 201, key: str | None = None):
        """Every finance POST moves money: each is sent with an Idempotency-Key (a new one unless given)."""
        response = self.client.post(path, json=body, headers={**headers, "Idempotency-Key": key or str(uuid.uuid4())})
        assert response.status_code == expect, response.get_data(as_text=True)
        return response.get_json()

    def transfer(
        self, amount: str, unit_id: str = UNIT, kind: str = "skills", expect: int = 201, key: str | None = None
    ):
        body = {
            "campaign_id": CAMPAIGN,
            "unit_id": unit_id,
            "kind": kind,
            "amount": amount,
            "transferred_on": "2013-12-20",
            "reference": "穗工财〔2013〕88号",
        }
        return self.post("/transfers", body, self.federation, expect, key)

    def owed(self, enrolment_id: str, share: str = "federation", unit_id: str = UNIT) -> list[dict]:
        rows = self.get("/reimbursements", self.unit(unit_id), share=share)
        return [row for row in rows if row["enrolment_id"] == enrolment_id]

    def pay(self, reimbursement_id: str, unit_id: str = UNIT, expect: int = 200, key: str | None = None):
        body = {
            "paid_on": "2014-05-12",
            "reference": "BY-2014-0042",
            "bank_name": "中国工商银行",
            "bank_account": "6222020200112233445",
        }
        return self.post(f"/reimbursements/{reimbursement_id}/payment", body, self.unit(unit_id), expect, key)

    def invariants(self) -> dict:
        return self.get("/invariants", self.caller("auditor"))


def published(stack, tap, count: int, timeout: float = 60.0) -> list[dict]:
    """The `count` events the service published on the tap (the relay sends them shortly after commit)."""
    seen: list[dict] = []

    def enough():
        seen.extend(json.loads(message.body) for message in stack.drain(tap))
        return len(seen) >= count

    wait_for(enough, timeout, message=f"{count} published events")
    return seen


@pytest.fixture
def finance(stack_of):
    stack = stack_of("finance")
    return Finance(stack)


@pytest.fixture
def funded(finance):
    """A published campaign with two first-level units, each allocated seats and skills money."""
    return fund(finance)


def fund(finance: Finance) -> Finance:
    finance.deliver(
        ("campaign.published", campaign_event()),
        *[
            ("unit.upserted", unit_event(unit_id, name))
            for unit_id, name in ((UNIT, "白云区总工会"), (OTHER_UNIT, "天河区总工会"))
        ],
        *[("allocation.published", allocation_event(unit_id, 2, "318000.00")) for unit_id in (UNIT, OTHER_UNIT)],
    )
    return finance
