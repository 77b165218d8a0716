"""Helpers for the evaluation tests: the events other services would send, callers, batches."""

from __future__ import annotations

import uuid

from servicekit.bus.envelope import Envelope

CAMPAIGN = "5f1c2a4e-8a7b-4c1d-9e2f-3a4b5c6d7e80"
FEES = {
    "tuition_or_training": "1800.00",
    "appraisal_exam": "180.00",
    "textbook": "60.00",
    "registration": "0.00",
    "entrance_test": "0.00",
}

# Scoring settings where the results alone count, with a notice threshold of 80.
RESULTS_ONLY = {
    "weights": {
        "plan_execution": "0.00",
        "satisfaction": "0.00",
        "results": "1.00",
        "use_of_funds": "0.00",
        "inspection": "0.00",
    },
    "notice_threshold": "80.00",
}


def campaign(revision: int = 1, **change) -> dict:
    return {
        "campaign_id": CAMPAIGN,
        "revision": revision,
        "name": "2013-2014年度百万职工素质大提升计划",
        "year": 2013,
        "fund_pools": {"academic": "5000000.00", "skills": "5000000.00"},
        "academic_subsidy_per_student": "1500.00",
        "skills_federation_rate": "0.40",
        "skills_rate_overrides": {},
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
        **change,
    }


def enrolment(institution: str = "GZ-ZGJS", kind: str = "skills", revision: int = 1, **change) -> dict:
    data = {
        "enrolment_id": str(uuid.uuid4()),
        "revision": revision,
        "campaign_id": CAMPAIGN,
        "kind": kind,
        "unit_id": "U-HAIZHU",
        "grassroots_union_id": "G-1",
        "institution_id": institution,
        "programme_id": f"{institution}-P1",
        "fees": FEES,
        "employee_id": f"E-{uuid.uuid4().hex[:8]}",
        "registered_on": "2013-11-20",
        **change,
    }
    if kind == "skills":
        data.setdefault("trade", "电工")
    return data


def admitted(student: dict, revision: int = 2, **change) -> dict:
    """The enrollment.admitted that follows a registration (it carries no registration date)."""
    data = {k: v for k, v in student.items() if k not in ("registered_on", "holder_name_masked")}
    return {**data, "revision": revision, "admitted_on": "2013-12-01", **change}


class Evaluation:
    """The service under test plus the ways a test talks to it."""

    def __init__(self, stack):
        self.stack = stack
        self.client = stack.client

    def deliver(self, event_type: str, data: dict) -> None:
        """Handle an event in-process through the registered handler (the broker path has its own tests)."""
        event = Envelope.parse(Envelope.new(event_type, data, producer="test").to_json())
        with self.stack.runtime.unit_of_work() as uow:
            self.stack.service.handlers[event_type](uow, event)
            uow.commit()

    def register(
        self,
        institution: str = "GZ-ZGJS",
        name: str = "广州市职工技术交流中心（职工技协）",
        start_date: str = "2013-12-01",
    ) -> None:
        """The institution and its programme P1 (skills, 电工), as enrollment announces them."""
        self.deliver("institution.registered", {"institution_id": institution, "revision": 1, "name": name})
        self.deliver(
            "programme.published",
            {
                "programme_id": f"{institution}-P1",
                "revision": 1,
                "institution_id": institution,
                "kind": "skills",
                "level": "中级",
                "trade": "电工",
                "teaching_sites": ["越秀"],
                "start_date": start_date,
                "on_site_teaching": False,
                "fee_standard": FEES,
            },
        )

    def enrol(self, institution: str = "GZ-ZGJS", kind: str = "skills", **change) -> dict:
        data = enrolment(institution, kind, **change)
        self.deliver("enrollment.registered", data)
        return data

    def institution(self, institution: str = "GZ-ZGJS", **scope) -> dict:
        return self.stack.as_caller(
            "institution_system", subject=f"system-{institution}", institution_id=institution, **scope
        )

    def employee(self, employee_id: str) -> dict:
        return self.stack.as_caller("employee", subject=f"user-{employee_id}", employee_id=employee_id)

    def admin(self) -> dict:
        return self.stack.as_caller("federation_admin", subject="user-fed-1")

    def post_batch(self, lines: list[dict], key: str | None = None, institution: str = "GZ-ZGJS"):
        headers = self.institution(institution)
        headers["Idempotency-Key"] = key or str(uuid.uuid4())
        return self.client.post("/results/batches", json={"lines": lines}, headers=headers)


def line(
    enrolment_data: dict,
    passed: bool = True,
    held_on: str = "2014-04-19",
    exam: str = "电工中级职业技能鉴定",
    score: str = "78.50",
) -> dict:
    return {
        "enrolment_id": enrolment_data["enrolment_id"],
        "exam": exam,
        "held_on": held_on,
        "score": score,
        "passed": passed,
    }
