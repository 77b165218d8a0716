"""Helpers for the enrollment tests: other services' events, callers, a ready catalogue, valid people."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

from servicekit.bus.envelope import Envelope
from servicekit.clock import china_today as today
from servicekit.resident_id import check_digit
from servicekit.testing import xlsx as workbook

CAMPAIGN = "5f1c2a4e-8a7b-4c1d-9e2f-3a4b5c6d7e80"
UNIT, OTHER_UNIT = "GZ-BY", "GZ-HZ"
UNION, OTHER_UNION = "GZ-GB-0231", "GZ-HZ-0007"
SKILLS, ACADEMIC = "ZGJS-DG", "GCJS-JD-ZK"
FEES = {
    "tuition_or_training": "2350.00",
    "appraisal_exam": "180.00",
    "textbook": "60.00",
    "registration": "0.00",
    "entrance_test": "0.00",
}


def resident_id(seq: int, born: str = "19850312", region: str = "440104") -> str:
    first17 = f"{region}{born}{seq:03d}"
    return first17 + check_digit(first17)


def person(seq: int, **change) -> dict:
    return {
        "name": f"职工{seq}",
        "resident_id": resident_id(seq),
        "phone": f"1380013{seq:04d}",
        "education": "高中",
        "attestation": "车间一线骨干，连续三年先进生产者",
        **change,
    }


def campaign(revision: int = 1, **change) -> dict:
    """A campaign whose registration window is open today."""
    day = today()
    return {
        "campaign_id": CAMPAIGN,
        "revision": revision,
        "name": "百万职工素质大提升计划（测试批次）",
        "year": day.year,
        "fund_pools": {"academic": "5000000.00", "skills": "5000000.00"},
        "academic_subsidy_per_student": "1500.00",
        "skills_federation_rate": "0.40",
        "skills_rate_overrides": {},
        "windows": {
            "registration_start": (day - timedelta(days=30)).isoformat(),
            "registration_end": (day + timedelta(days=30)).isoformat(),
            "study_start": day.isoformat(),
            "study_end": "2099-12-31",  # classes open in 2099, a year no working-day calendar covers
            "exams_from": (day + timedelta(days=100)).isoformat(),
        },
        "dedicated_class_threshold": 30,
        "public_notice_days": 5,
        "roster_lead_working_days": 5,
        **change,
    }


def unit(unit_id: str, revision: int = 1, parent: str | None = None, **change) -> dict:
    data = {
        "unit_id": unit_id,
        "revision": revision,
        "name": f"{unit_id} 工会",
        "level": "grassroots" if parent else "first_level",
        "category": "grassroots" if parent else "district",
        "headcount": 1200,
        "key_industry": False,
        **change,
    }
    return data | ({"parent_id": parent} if parent else {})


def programme(kind: str = "skills", **change) -> dict:
    data = {
        "institution_id": "GZ-ZGJS",
        "name": "电工（中级）",
        "kind": kind,
        "level": "中级",
        "trade": "电工",
        "teaching_sites": ["越秀区解放南路", "上门办学"],
        "start_date": "2027-03-01",
        "on_site_teaching": True,
        "fee_standard": FEES,
    }
    if kind == "academic":
        data = data | {
            "institution_id": "GZ-GCJS",
            "name": "机电一体化（大专）",
            "level": "大专",
            "major": "机电一体化技术",
            "fee_standard": FEES
            | {"tuition_or_training": "5600.00", "appraisal_exam": "0.00", "entrance_test": "50.00"},
        }
        del data["trade"]
    return data | change


def xlsx(rows: list[list]) -> io.BytesIO:
    return io.BytesIO(workbook(rows))


class Enrollment:
    """The service under test plus the ways a test talks to it."""

    def __init__(self, stack):
        self.stack, self.client = stack, stack.client

    def deliver(self, event_type: str, data: dict) -> None:
        """Handle an event in-process through the registered handler (the broker path has its own tests)."""
        event = Envelope.parse(Envelope.new(event_type, data, producer="test").to_json())
        with self.stack.runtime.unit_of_work() as uow:
            self.stack.service.handlers[event_type](uow, event)
            uow.commit()

    def quota_reserved(self, enrolment_id: str, amount: str, revision: int) -> None:
        """Quota's answer to a skills request, on the broker."""
        data = {"enrolment_id": enrolment_id, "campaign_id": CAMPAIGN, "unit_id": UNIT, "kind": "skills"}
        self.stack.publish("quota.reserved", {**data, "amount": amount, "revision": revision})

    def admin(self) -> dict:
        return self.stack.as_caller("federation_admin", subject="fed-1")

    def officer(self, unit_id: str = UNIT) -> dict:
        return self.stack.as_caller("unit_officer", subject=f"officer-{unit_id}", unit_id=unit_id)

    def grassroots(self, union: str = UNION, unit_id: str = UNIT) -> dict:
        return self.stack.as_caller(
            "grassroots_officer", subject=f"officer-{union}", grassroots_union_id=union, unit_id=unit_id
        )

    def institution(self, institution: str = "GZ-ZGJS") -> dict:
        return self.stack.as_caller("institution_operator", subject=f"op-{institution}", institution_id=institution)

    def employee(self, employee_id: str) -> dict:
        return self.stack.as_caller("employee", subject=f"user-{employee_id}", employee_id=employee_id)

    def ok(self, response, status: int = 200) -> dict:
        assert response.status_code == status, response.get_data(as_text=True)
        return response.get_json()

    def publish_programme(self, programme_id: str, body: dict) -> dict:
        self.ok(self.client.put(f"/programmes/{programme_id}", json=body, headers=self.admin()), 201)
        return self.ok(self.client.post(f"/programmes/{programme_id}/publish", headers=self.admin()))

    def ready(self) -> Enrollment:
        """A published campaign, two units with a grassroots union each, two programmes in GZ-BY's plan."""
        self.deliver("campaign.published", campaign())
        for unit_id, union in ((UNIT, UNION), (OTHER_UNIT, OTHER_UNION)):
            self.deliver("unit.upserted", unit(unit_id))
            self.deliver("unit.upserted", unit(union, parent=unit_id))
        self.publish_programme(SKILLS, programme("skills"))
        self.publish_programme(ACADEMIC, programme("academic"))
        self.ok(
            self.client.put(
                f"/units/{UNIT}/plans/{CAMPAIGN}", json={"programme_ids": [SKILLS, ACADEMIC]}, headers=self.officer()
            )
        )
        return self

    def nominate(self, seq: int, programme_id: str = SKILLS, days_ago: int = 0, **change):
        start = today() - timedelta(days=days_ago)
        body = {
            "campaign_id": CAMPAIGN,
            "programme_id": programme_id,
            "notice_start": start.isoformat(),
            "recommendation": recommended(start),
            **person(seq),
            **change,
        }
        return self.client.post("/enrolments", json=body, headers=self.grassroots())

    def sent(self, seq: int, programme_id: str = SKILLS) -> dict:
        """A nomination whose notice is over, with written consent, confirmed and sent to the institution."""
        enrolment = self.ok(self.nominate(seq, programme_id, days_ago=10), 201)
        path = f"/enrolments/{enrolment['enrolment_id']}"
        self.ok(
            self.client.post(
                f"{path}/consent", json={"written_consent_on": today().isoformat()}, headers=self.grassroots()
            )
        )
        self.ok(self.client.post(f"{path}/confirm", headers=self.grassroots()))
        self.send_list()
        return self.ok(self.client.get(path, headers=self.grassroots()))

    def send_list(self, union: str = UNION, unit_id: str = UNIT) -> dict:
        """The first-level unit sends the union's confirmed nominees to the institutions."""
        body = {"campaign_id": CAMPAIGN, "grassroots_union_id": union}
        return self.ok(self.client.post("/lists", json=body, headers=self.officer(unit_id)), 201)


def recommended(before, voters: int = 40) -> dict:
    """A democratic recommendation by vote, held on the notice's first day."""
    return {
        "meeting_on": before.isoformat(),
        "method": "vote",
        "voters": voters,
        "votes_for": voters - 2,
        "votes_against": 1,
        "votes_abstained": 1,
    }


def registered(enrollment: Enrollment, seqs, programme_id: str = SKILLS, paid: bool = True) -> list[str]:
    """Employees nominated in bulk, confirmed, registered with quota's seat or subsidy, and paid in full."""
    rows = [
        [
            "姓名 Name",
            "身份证号 Resident ID number",
            "手机号码 Mobile phone",
            "文化程度 Education",
            "推荐理由 Attestation",
            "项目编号 Programme id",
        ]
    ]
    rows += [
        [p["name"], p["resident_id"], p["phone"], p["education"], p["attestation"], programme_id]
        for p in map(person, seqs)
    ]
    created = enrollment.ok(
        enrollment.client.post(
            "/enrolments/import",
            headers=enrollment.grassroots(),
            data={
                "campaign_id": CAMPAIGN,
                "notice_start": (today() - timedelta(days=10)).isoformat(),
                "meeting_on": (today() - timedelta(days=12)).isoformat(),
                "method": "evaluation",
                "file": (xlsx(rows), "名单.xlsx"),
            },
        ),
        201,
    )
    institution = enrollment.institution(created[0]["institution_id"])
    for enrolment in created:
        path = f"/enrolments/{enrolment['enrolment_id']}"
        enrollment.ok(
            enrollment.client.post(
                f"{path}/consent", headers=enrollment.grassroots(), json={"written_consent_on": today().isoformat()}
            )
        )
        enrollment.ok(enrollment.client.post(f"{path}/confirm", headers=enrollment.grassroots()))
    enrollment.send_list()
    for enrolment in created:
        path = f"/enrolments/{enrolment['enrolment_id']}"
        asked = enrollment.ok(enrollment.client.post(f"{path}/register", headers=institution), 202)
        share = {"seats": 1} if asked["kind"] == "academic" else {"amount": asked["subsidy_requested"]}
        enrollment.deliver(
            "quota.reserved",
            {
                "enrolment_id": enrolment["enrolment_id"],
                "campaign_id": CAMPAIGN,
                "unit_id": UNIT,
                "kind": asked["kind"],
                **share,
            },
        )
        if paid:
            enrollment.deliver(
                "payment.recorded",
                {
                    "payment_id": str(uuid.uuid4()),
                    "enrolment_id": enrolment["enrolment_id"],
                    "amount": "2590.00",
                    "paid_on": today().isoformat(),
                    "status": "full",
                },
            )
    return [e["enrolment_id"] for e in created]
