"""Enrollment's part of a campaign's close-out: classes finished and objections decided (checklist), and per
first-level unit and per institution how many were nominated, registered, trained and withdrew.

Trained: placed in a class that opened (ran). A class is finished for the checklist once it has opened: one
still forming, submitted, returned, approved or published never ran.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicekit.closing import checklist_item

from .domain.enrolment import WITHDRAWN
from .models import ClassPlacement, Enrolment, Objection, TrainingClass

FIGURES = ("nominated", "registered", "trained", "withdrawn")


def part(session: Session, campaign_id: str) -> dict:
    classes = list(
        session.scalars(
            select(TrainingClass)
            .where(TrainingClass.campaign_id == campaign_id)
            .order_by(TrainingClass.opens_on, TrainingClass.class_id)
        )
    )
    not_run = [
        f"{c.institution_id} {c.programme_id} {c.opens_on.isoformat()} ({c.status}) {c.class_id}"
        for c in classes
        if c.status != "opened"
    ]
    undecided = [
        f"{enrolment.grassroots_union_id} {objection.raised_on.isoformat()} {objection.objection_id}"
        for objection, enrolment in session.execute(
            select(Objection, Enrolment)
            .join(Enrolment, Enrolment.enrolment_id == Objection.enrolment_id)
            .where(Enrolment.campaign_id == campaign_id)
            .order_by(Objection.raised_on, Objection.objection_id)
        )
        if objection.outcome is None
    ]
    objections = session.scalars(
        select(Objection.objection_id)
        .join(Enrolment, Enrolment.enrolment_id == Objection.enrolment_id)
        .where(Enrolment.campaign_id == campaign_id)
    ).all()
    trained = set(
        session.scalars(
            select(ClassPlacement.enrolment_id)
            .join(TrainingClass, TrainingClass.class_id == ClassPlacement.class_id)
            .where(TrainingClass.campaign_id == campaign_id, TrainingClass.status == "opened")
        )
    )
    units: dict[str, dict] = {}
    institutions: dict[str, dict] = {}
    for e in session.scalars(select(Enrolment).where(Enrolment.campaign_id == campaign_id)):
        for figures in (
            units.setdefault(e.unit_id, dict.fromkeys(FIGURES, 0)),
            institutions.setdefault(e.institution_id, dict.fromkeys(FIGURES, 0)),
        ):
            figures["nominated"] += 1
            figures["registered"] += int(e.registered_on is not None)
            figures["trained"] += int(e.enrolment_id in trained)
            figures["withdrawn"] += int(e.status == WITHDRAWN)
    return {
        "campaign_id": campaign_id,
        "checklist": [
            checklist_item("classes_finished", len(classes), not_run),
            checklist_item("objections_decided", len(objections), undecided),
        ],
        "units": units,
        "institutions": institutions,
    }
