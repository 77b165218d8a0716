"""Use cases: issue a certificate after a pass (one, or a batch all or nothing), revoke it, verify one publicly."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from servicekit.clock import china_today
from servicekit.db import among
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.refusals import IMPORT_REJECTED, Conflict, DomainError, NotFound

from .models import Certificate, Enrolment, ExamResult, Institution, Programme, as_dict
from .problems import ALREADY_CERTIFIED, ALREADY_REVOKED, CERTIFICATE_NUMBER_TAKEN, CERTIFICATE_REFUSED
from .rules import Refusal, certificate_refusal, repeated_in_batch

BATCH_LIMIT = 1000  # certificates per batch or file: one transaction, well inside the gateway's timeout


def _event(certificate: Certificate, campaign_id: str) -> dict:
    return {
        "certificate_id": certificate.certificate_id,
        "revision": certificate.revision,
        "number": certificate.number,
        "enrolment_id": certificate.enrolment_id,
        "institution_id": certificate.institution_id,
        "kind": certificate.kind,
        "campaign_id": campaign_id,
    }


def issue(uow, identity: Identity, request: dict) -> tuple[dict, bool]:
    """(the certificate, newly issued?): the same number for the same enrolment again is a harmless retry."""
    planned, refused = _plan(uow.session, identity, [(0, request)])
    if refused:
        raise refused[0][1]
    return _record(uow, planned)[0]


def issue_many(uow, identity: Identity, rows: list[tuple[int, dict]]) -> list[tuple[dict, bool]]:
    """Every row issued, each checked as a single issue, or none and every bad row reported by its number.

    A row that matches a certificate already issued (same number, enrolment and date) is a retry, as for a
    single issue: replaying a whole file issues nothing twice and announces nothing twice.
    """
    if not 1 <= len(rows) <= BATCH_LIMIT:
        raise IMPORT_REJECTED(
            _("Send 1 to {BATCH_LIMIT} certificates per batch (split a longer list).").format(BATCH_LIMIT=BATCH_LIMIT),
        )
    planned, refused = _plan(uow.session, identity, rows)
    if refused:
        raise IMPORT_REJECTED(
            _("{bad} of {total} rows cannot be issued; none was.").format(bad=len(refused), total=len(rows)),
            errors={"rows": [{"row": number, "errors": problem.errors} for number, problem in refused]},
        )
    return _record(uow, planned)


@dataclass(frozen=True)
class _Planned:
    certificate: Certificate
    new: bool
    campaign_id: str | None


def _plan(
    session, identity: Identity, rows: list[tuple[int, dict]]
) -> tuple[list[_Planned], list[tuple[int, DomainError]]]:
    """The certificates the rows issue (or already issued), and the problem of every row that cannot be issued."""
    institution_id = identity.institution_id
    requests = [(number, str(row["enrolment_id"]), row["number"].strip(), row["issued_on"]) for number, row in rows]
    ids = sorted({enrolment_id for _, enrolment_id, _, _ in requests})
    # The locks order this issue after any results batch still writing these students' attempts. Columns, not
    # ORM rows, are read where nothing is changed: a thousand rows cost more to build than the statements do.
    enrolments = {
        e.enrolment_id: e
        for e in session.execute(
            select(Enrolment.enrolment_id, Enrolment.status, Enrolment.kind, Enrolment.campaign_id)
            .where(among(session, Enrolment.enrolment_id, ids), Enrolment.institution_id == institution_id)
            .order_by(Enrolment.enrolment_id)
            .with_for_update()
        )
    }
    attempts: dict[str, list] = {enrolment_id: [] for enrolment_id in enrolments}
    for r in session.execute(
        select(
            ExamResult.enrolment_id, ExamResult.exam, ExamResult.attempt, ExamResult.passed, ExamResult.held_on
        ).where(among(session, ExamResult.enrolment_id, list(enrolments)))
    ):
        attempts[r.enrolment_id].append((r.exam, r.attempt, r.passed, r.held_on))
    by_number = {
        c.number: c
        for c in session.scalars(
            select(Certificate).where(
                Certificate.institution_id == institution_id,
                among(session, Certificate.number, [n for _, _, n, _ in requests]),
            )
        )
    }
    in_force = {
        enrolment_id: number
        for enrolment_id, number in session.execute(
            select(Certificate.enrolment_id, Certificate.number).where(
                among(session, Certificate.enrolment_id, list(enrolments)), Certificate.revoked_on.is_(None)
            )
        )
    }
    repeated = repeated_in_batch([(number, enrolment_id, n) for number, enrolment_id, n, _ in requests])
    today = china_today()

    planned, refused = [], []
    for number, enrolment_id, certificate_number, issued_on in requests:
        existing = by_number.get(certificate_number)
        enrolment = enrolments.get(enrolment_id)
        if number in repeated:
            problem = _refused(Conflict, repeated[number])
        elif existing is not None and (existing.enrolment_id, existing.issued_on) == (enrolment_id, issued_on):
            planned.append(_Planned(existing, False, None))  # a retry
            continue
        elif existing is not None:
            problem = _refused(
                CERTIFICATE_NUMBER_TAKEN,
                Refusal(
                    "number",
                    _("Certificate number {certificate_number} is already used.").format(
                        certificate_number=certificate_number
                    ),
                ),
            )
        elif enrolment_id in in_force:
            problem = _refused(
                ALREADY_CERTIFIED,
                Refusal(
                    "enrolment_id",
                    _("The enrolment already has certificate {number} in force.").format(number=in_force[enrolment_id]),
                ),
            )
        else:
            refusal = certificate_refusal(
                attempts.get(enrolment_id, []), enrolment and enrolment.status, issued_on, today
            )
            problem = refusal and _refused(CERTIFICATE_REFUSED, refusal)
        if problem:
            refused.append((number, problem))
            continue
        planned.append(
            _Planned(
                Certificate(
                    certificate_id=str(uuid.uuid4()),
                    revision=1,
                    institution_id=institution_id,
                    number=certificate_number,
                    enrolment_id=enrolment_id,
                    kind=enrolment.kind,
                    issued_on=issued_on,
                    issued_by=identity.subject,
                ),
                True,
                enrolment.campaign_id,
            )
        )
    return planned, refused


def _refused(error: type[DomainError], refusal: Refusal) -> DomainError:
    return error(refusal.message, errors={refusal.field: [refusal.message]})


def _record(uow, planned: list[_Planned]) -> list[tuple[dict, bool]]:
    """Adds the new certificates and announces each; the constraints decide a race with a concurrent issue."""
    session = uow.session
    session.add_all([p.certificate for p in planned if p.new])
    try:
        session.flush()
    except IntegrityError:
        raise Conflict(
            "An enrolment already has a certificate in force, or a number was just used by a concurrent request.",
        ) from None
    uow.publish_many(
        "certificate.issued",
        [
            {**_event(p.certificate, p.campaign_id), "issued_on": p.certificate.issued_on.isoformat()}
            for p in planned
            if p.new
        ],
    )
    return [(as_dict(p.certificate), p.new) for p in planned]


def revoke(uow, identity: Identity, certificate_id: str, reason: str) -> dict:
    session = uow.session
    certificate = session.get(Certificate, certificate_id, with_for_update=True)
    if certificate is None or not (identity.is_federation or certificate.institution_id == identity.institution_id):
        raise NotFound("No such certificate.")
    if certificate.revoked_on is not None:
        raise ALREADY_REVOKED(_("Revoked on {revoked_on}.").format(revoked_on=certificate.revoked_on.isoformat()))
    certificate.revision += 1
    certificate.revoked_on = china_today()
    certificate.revocation_reason = reason
    certificate.revoked_by = identity.subject
    enrolment = session.get(Enrolment, certificate.enrolment_id)
    uow.publish(
        "certificate.revoked",
        {
            **_event(certificate, enrolment.campaign_id),
            "reason": reason,
            "revoked_on": certificate.revoked_on.isoformat(),
        },
    )
    return as_dict(certificate)


def verify(session, institution_id: str, number: str) -> dict:
    """What anyone may learn from a certificate number: status, the holder's masked name (as enrollment sent
    it; null when it did not), programme, institution, dates; never an id that leads to the holder."""
    row = session.execute(
        select(Certificate, Enrolment, Programme, Institution)
        .join(Enrolment, Enrolment.enrolment_id == Certificate.enrolment_id)
        .outerjoin(Programme, Programme.programme_id == Enrolment.programme_id)
        .outerjoin(Institution, Institution.institution_id == Certificate.institution_id)
        .where(Certificate.institution_id == institution_id, Certificate.number == number)
    ).first()
    if row is None:
        raise NotFound("No certificate with this number at this institution.")
    certificate, enrolment, programme, institution = row
    return {
        "number": certificate.number,
        "holder_name_masked": enrolment.holder_name_masked,
        "institution_id": certificate.institution_id,
        "institution_name": institution.name if institution else None,
        "status": "revoked" if certificate.revoked_on else "valid",
        "kind": certificate.kind,
        "programme": None
        if programme is None
        else {
            "programme_id": programme.programme_id,
            "level": programme.level,
            "trade": programme.trade,
            "major": programme.major,
        },
        "issued_on": certificate.issued_on,
        "revoked_on": certificate.revoked_on,
    }
