"""Use case: record a batch of exam results (all or nothing; once per Idempotency-Key)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from servicekit.clock import china_today
from servicekit.db import among, utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.refusals import Conflict, NotFound

from .models import Campaign, Enrolment, ExamResult
from .problems import BATCH_REJECTED
from .rules import ACTIVE, Attempt, EnrolmentFacts, NewResult, plan_batch


def record_batch(uow, identity: Identity, key: str, lines: list[dict]) -> dict:
    """The answer to the batch (its Idempotency-Key makes it run once: servicekit.idempotency)."""
    session = uow.session
    institution_id = identity.institution_id
    lines = [{**line, "enrolment_id": str(line["enrolment_id"])} for line in lines]
    ids = sorted({line["enrolment_id"] for line in lines})
    # Locking the enrolments serialises attempt numbering with any concurrent batch for the same students.
    # Columns, not ORM rows, are read: a thousand lines' rows cost more to build than the statements do.
    rows = session.execute(
        select(
            Enrolment.enrolment_id,
            Enrolment.campaign_id,
            Enrolment.institution_id,
            Enrolment.kind,
            Enrolment.status,
            Campaign.exams_from,
        )
        .outerjoin(Campaign, Campaign.campaign_id == Enrolment.campaign_id)
        .where(among(session, Enrolment.enrolment_id, ids))
        .order_by(Enrolment.enrolment_id)
        .with_for_update(of=Enrolment)
    ).all()
    campaigns = {e.enrolment_id: e.campaign_id for e in rows}
    facts = {e.enrolment_id: EnrolmentFacts(e.institution_id, e.kind, e.status, e.exams_from) for e in rows}
    history: dict[tuple[str, str], list[Attempt]] = {}
    for r in session.execute(
        select(
            ExamResult.enrolment_id, ExamResult.exam, ExamResult.held_on, ExamResult.passed, ExamResult.attempt
        ).where(among(session, ExamResult.enrolment_id, ids))
    ):
        history.setdefault((r.enrolment_id, r.exam), []).append(Attempt(r.held_on, r.passed, r.attempt))

    planned, errors = plan_batch(lines, institution_id, facts, history, china_today())
    if errors:
        raise BATCH_REJECTED(
            _("{bad} of {total} lines have errors.").format(bad=len(errors), total=len(lines)),
            errors={"lines": {str(i): messages for i, messages in errors.items()}},
        )

    now = utcnow()
    results = [
        ExamResult(
            result_id=str(uuid.uuid4()),
            enrolment_id=p.enrolment_id,
            institution_id=institution_id,
            exam=p.exam,
            held_on=p.held_on,
            score=p.score,
            passed=p.passed,
            attempt=p.attempt,
            retake=p.retake,
            batch_key=key,
            recorded_at=now,
        )
        for p in planned
    ]
    session.add_all(results)
    try:  # the constraints are the last word when two batches race past the checks above
        session.flush()
    except IntegrityError:
        raise Conflict("Another batch recorded results for the same exams at the same time; resend.") from None
    uow.publish_many(
        "exam.result_recorded",
        [_recorded_event(p, result, campaigns[p.enrolment_id]) for p, result in zip(planned, results)],
    )
    recorded = [
        {
            "line": p.line,
            "result_id": result.result_id,
            "enrolment_id": p.enrolment_id,
            "exam": p.exam,
            "attempt": p.attempt,
            "passed": p.passed,
            "retake": p.retake,
        }
        for p, result in zip(planned, results)
    ]
    return {"idempotency_key": key, "recorded": len(recorded), "results": recorded}


def _recorded_event(p: NewResult, result: ExamResult, campaign_id: str) -> dict:
    event = {
        "result_id": result.result_id,
        "enrolment_id": p.enrolment_id,
        "institution_id": result.institution_id,
        "exam": p.exam,
        "held_on": p.held_on.isoformat(),
        "score": str(p.score),
        "passed": p.passed,
        "attempt": p.attempt,
        "campaign_id": campaign_id,
    }
    if p.retake:
        event["retake"] = p.retake
    return event


def template_rows(session, identity: Identity, campaign_id: str, programme_id: str | None) -> list[dict]:
    """The import's rows prefilled for the institution's active students in a campaign (a programme's): the
    enrolment id and the masked name evaluation holds, the exam and its outcome left for the institution."""
    if session.get(Campaign, campaign_id) is None:
        raise NotFound("No such campaign (not published to evaluation yet).")
    query = select(Enrolment).where(
        Enrolment.campaign_id == campaign_id,
        Enrolment.institution_id == identity.institution_id,
        Enrolment.status.in_(ACTIVE),
    )
    if programme_id:
        query = query.where(Enrolment.programme_id == programme_id)
    return [
        {"enrolment_id": e.enrolment_id, "holder_name_masked": e.holder_name_masked, "programme_id": e.programme_id}
        for e in session.scalars(query.order_by(Enrolment.programme_id, Enrolment.holder_name_masked))
    ]
