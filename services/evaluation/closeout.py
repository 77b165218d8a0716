"""Evaluation's part of a campaign's close-out: results in (checklist), passed and certified per unit and per
institution, and each institution's satisfaction score (anonymous answers: none per unit, none under MIN_GROUP)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit.closing import checklist_item

from . import rules
from .models import Certificate, Enrolment, ExamResult
from .scoring import survey_answers


def part(session: Session, campaign_id: str) -> dict:
    enrolments = list(
        session.scalars(select(Enrolment).where(Enrolment.campaign_id == campaign_id).order_by(Enrolment.enrolment_id))
    )
    ids = [e.enrolment_id for e in enrolments]
    attempts: dict[str, list] = {}
    for r in session.scalars(select(ExamResult).where(ExamResult.enrolment_id.in_(ids))):
        attempts.setdefault(r.enrolment_id, []).append((r.exam, r.attempt, r.passed, r.held_on))
    certified = set(
        session.scalars(
            select(Certificate.enrolment_id).where(Certificate.enrolment_id.in_(ids), Certificate.revoked_on.is_(None))
        )
    )
    active = [e for e in enrolments if e.status in rules.ACTIVE]
    without_result = [
        f"{e.institution_id} {e.holder_name_masked or ''} {e.enrolment_id}".replace("  ", " ")
        for e in active
        if e.enrolment_id not in attempts and e.enrolment_id not in certified
    ]
    units: dict[str, dict] = {}
    institutions: dict[str, dict] = {}
    for e in enrolments:
        for figures in (
            units.setdefault(e.unit_id, {"passed": 0, "certified": 0}),
            institutions.setdefault(e.institution_id, {"passed": 0, "certified": 0}),
        ):
            figures["passed"] += int(rules.has_passed(attempts.get(e.enrolment_id, [])))
            figures["certified"] += int(e.enrolment_id in certified)
    for institution_id, figures in institutions.items():
        answers = survey_answers(session, campaign_id, institution_id)
        score, _figures = rules.satisfaction(rules.summarise_answers(answers), len(answers))
        figures["satisfaction"] = None if score is None else str(score)
        figures["survey_answers"] = len(answers)
    return {
        "campaign_id": campaign_id,
        "checklist": [checklist_item("results_in", len(active), without_result)],
        "units": units,
        "institutions": institutions,
    }
