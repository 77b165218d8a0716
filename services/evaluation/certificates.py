"""Use cases: issue a certificate after a pass, revoke it, verify one publicly."""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from servicekit.clock import china_today
from servicekit import Problem
from servicekit.errors import CONFLICT, NOT_FOUND
from servicekit.identity import Identity

from .models import Certificate, Enrolment, ExamResult, Institution, Programme, as_dict
from .problems import ALREADY_REVOKED, CERTIFICATE_NUMBER_TAKEN, CERTIFICATE_REFUSED
from .rules import certificate_refusal


def _event(certificate: Certificate, campaign_id: str) -> dict:
    return {"certificate_id": certificate.certificate_id, "revision": certificate.revision,
            "number": certificate.number, "enrolment_id": certificate.enrolment_id,
            "institution_id": certificate.institution_id, "kind": certificate.kind, "campaign_id": campaign_id}


def issue(uow, identity: Identity, enrolment_id: str, number: str, issued_on: date) -> tuple[dict, bool]:
    """(the certificate, newly issued?): the same number for the same enrolment again is a harmless retry."""
    session = uow.session
    institution_id = identity.institution_id
    existing = session.scalar(select(Certificate).where(Certificate.institution_id == institution_id,
                                                        Certificate.number == number))
    if existing is not None:
        if existing.enrolment_id == enrolment_id and existing.issued_on == issued_on:
            return as_dict(existing), False
        raise Problem(CERTIFICATE_NUMBER_TAKEN, f"Certificate number {number} is already used.")
    # The lock orders this issue after any results batch still writing this student's attempts.
    enrolment = session.get(Enrolment, enrolment_id, with_for_update=True)
    if enrolment is not None and enrolment.institution_id != institution_id:
        enrolment = None
    attempts = [] if enrolment is None else [
        (r.exam, r.attempt, r.passed, r.held_on)
        for r in session.scalars(select(ExamResult).where(ExamResult.enrolment_id == enrolment_id))]
    refusal = certificate_refusal(attempts, enrolment and enrolment.status, issued_on, china_today())
    if refusal:
        raise Problem(CERTIFICATE_REFUSED, refusal)
    certificate = Certificate(certificate_id=str(uuid.uuid4()), revision=1, institution_id=institution_id,
                              number=number, enrolment_id=enrolment_id, kind=enrolment.kind, issued_on=issued_on,
                              issued_by=identity.subject)
    session.add(certificate)
    try:
        session.flush()
    except IntegrityError:
        raise Problem(CONFLICT, "The enrolment already has a certificate in force, or the number was just "
                                "used by a concurrent request.") from None
    uow.publish("certificate.issued", {**_event(certificate, enrolment.campaign_id),
                                       "issued_on": issued_on.isoformat()})
    return as_dict(certificate), True


def revoke(uow, identity: Identity, certificate_id: str, reason: str) -> dict:
    session = uow.session
    certificate = session.get(Certificate, certificate_id, with_for_update=True)
    if certificate is None or not (identity.is_federation or certificate.institution_id == identity.institution_id):
        raise Problem(NOT_FOUND, "No such certificate.")
    if certificate.revoked_on is not None:
        raise Problem(ALREADY_REVOKED, f"Revoked on {certificate.revoked_on.isoformat()}.")
    certificate.revision += 1
    certificate.revoked_on = china_today()
    certificate.revocation_reason = reason
    certificate.revoked_by = identity.subject
    enrolment = session.get(Enrolment, certificate.enrolment_id)
    uow.publish("certificate.revoked", {**_event(certificate, enrolment.campaign_id), "reason": reason,
                                        "revoked_on": certificate.revoked_on.isoformat()})
    return as_dict(certificate)


def verify(session, institution_id: str, number: str) -> dict:
    """What anyone may learn from a certificate number: status, programme, institution, dates; never the holder.

    The events evaluation receives carry no names, so there is no (masked) holder name to show.
    """
    row = session.execute(
        select(Certificate, Enrolment, Programme, Institution)
        .join(Enrolment, Enrolment.enrolment_id == Certificate.enrolment_id)
        .outerjoin(Programme, Programme.programme_id == Enrolment.programme_id)
        .outerjoin(Institution, Institution.institution_id == Certificate.institution_id)
        .where(Certificate.institution_id == institution_id, Certificate.number == number)).first()
    if row is None:
        raise Problem(NOT_FOUND, "No certificate with this number at this institution.")
    certificate, enrolment, programme, institution = row
    return {"number": certificate.number, "institution_id": certificate.institution_id,
            "institution_name": institution.name if institution else None,
            "status": "revoked" if certificate.revoked_on else "valid", "kind": certificate.kind,
            "programme": None if programme is None else {
                "programme_id": programme.programme_id, "level": programme.level, "trade": programme.trade,
                "major": programme.major},
            "issued_on": certificate.issued_on, "revoked_on": certificate.revoked_on}
