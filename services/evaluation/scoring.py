"""Use cases: inspections, scoring settings, institution scores with their figures, notices and sanctions."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Select, case, func, select

from servicekit.db import upsert, utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.refusals import Invalid, NotFound
from servicekit.workdays import CalendarMissing, WorkCalendar

from . import notices, rules
from .models import (
    CalendarYear,
    Campaign,
    Certificate,
    ClassOpening,
    Decision,
    Enrolment,
    ExamResult,
    FundTransfer,
    Inspection,
    Institution,
    InstitutionEvaluation,
    InstitutionStanding,
    Payment,
    Programme,
    Reimbursement,
    ScoringSettings,
    Survey,
    SurveyAnswer,
    as_dict,
)
from .problems import CALENDAR_MISSING, STANDING_UNCHANGED

ACTIONS = {"notified": None, "disqualified": True, "reinstated": False}  # action -> disqualified afterwards


def settings(session) -> dict:
    row = session.get(ScoringSettings, 1)
    if row is None:
        return {"weights": dict(rules.DEFAULT_WEIGHTS), "notice_threshold": rules.DEFAULT_NOTICE_THRESHOLD}
    return {"weights": {k: Decimal(v) for k, v in row.weights.items()}, "notice_threshold": row.notice_threshold}


def put_settings(uow, identity: Identity, weights: dict[str, Decimal], threshold: Decimal) -> dict:
    refusal = rules.check_weights(weights)
    if refusal:
        raise Invalid(refusal, errors={"weights": [refusal]})
    values = {
        "weights": {k: str(v) for k, v in weights.items()},
        "notice_threshold": threshold,
        "updated_by": identity.subject,
        "updated_at": utcnow(),
    }
    uow.session.execute(
        upsert(uow.session.bind, ScoringSettings)
        .values(id=1, **values)
        .on_conflict_do_update(index_elements=["id"], set_=values)
    )
    return {"weights": weights, "notice_threshold": threshold}


def record_inspection(uow, identity: Identity, data: dict) -> dict:
    inspection = Inspection(inspection_id=str(uuid.uuid4()), recorded_by=identity.subject, recorded_at=utcnow(), **data)
    uow.session.add(inspection)
    uow.session.flush()
    return as_dict(inspection)


def inspections_query(identity: Identity) -> Select:
    query = select(Inspection)
    if not identity.is_federation:
        query = query.where(Inspection.institution_id == identity.institution_id)
    return query


def work_calendar(session) -> WorkCalendar:
    """The working days as enrollment's loaded calendar says (calendar.loaded), else the official calendar."""
    return WorkCalendar(
        {
            row.year: {date.fromisoformat(day): workday for day, workday in row.days.items()}
            for row in session.scalars(select(CalendarYear))
        }
    )


def working_days_on(calendar: WorkCalendar):
    def working_days(start: date, end: date) -> int:
        try:
            return calendar.working_days(start, end)
        except CalendarMissing as exc:
            raise CALENDAR_MISSING(_("Rosters cannot be judged on time: {exc}").format(exc=exc)) from None

    return working_days


def report(session, campaign_id: str, institution_id: str) -> dict:
    """Each criterion's score with the figures it comes from, and the weighted score."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound("No such campaign (not published to evaluation yet).")
    institution = session.get(Institution, institution_id)
    config = settings(session)
    classes = [
        rules.ClassFacts(c.opens_on, start, c.roster_submitted_on)
        for c, start in session.execute(
            select(ClassOpening, Programme.start_date)
            .outerjoin(Programme, Programme.programme_id == ClassOpening.programme_id)
            .where(ClassOpening.campaign_id == campaign_id, ClassOpening.institution_id == institution_id)
        )
    ]
    active = select(Enrolment.enrolment_id).where(
        Enrolment.campaign_id == campaign_id,
        Enrolment.institution_id == institution_id,
        Enrolment.status.in_(rules.ACTIVE),
    )
    attempts: dict[str, list] = {}
    for r in session.scalars(select(ExamResult).where(ExamResult.enrolment_id.in_(active))):
        attempts.setdefault(r.enrolment_id, []).append((r.exam, r.attempt, r.passed, r.held_on))
    certified = set(
        session.scalars(
            select(Certificate.enrolment_id).where(
                Certificate.enrolment_id.in_(active), Certificate.revoked_on.is_(None)
            )
        )
    )
    paid = set(
        session.scalars(
            select(Payment.enrolment_id).where(Payment.enrolment_id.in_(active), Payment.status.in_(("full", "over")))
        )
    )
    reimbursed = set(
        session.scalars(
            select(Reimbursement.enrolment_id).where(
                Reimbursement.enrolment_id.in_(certified), Reimbursement.share == "federation"
            )
        )
    )
    answers = survey_answers(session, campaign_id, institution_id)
    sheets = list(
        session.scalars(
            select(Inspection.scores).where(
                Inspection.campaign_id == campaign_id, Inspection.institution_id == institution_id
            )
        )
    )

    criteria = {
        "plan_execution": rules.plan_execution(
            classes, campaign.roster_lead_working_days, working_days_on(work_calendar(session))
        ),
        "satisfaction": rules.satisfaction(rules.summarise_answers(answers), len(answers)),
        "results": rules.results([rules.has_passed(a) for a in attempts.values()]),
        "use_of_funds": rules.use_of_funds(
            len(session.scalars(active).all()),
            len(paid),
            len(certified),
            len(reimbursed),
            funds_transferred(session, campaign_id),
        ),
        "inspection": rules.inspection(sheets),
    }
    score = rules.overall({name: s for name, (s, _) in criteria.items()}, config["weights"])
    threshold = config["notice_threshold"]
    return {
        "campaign_id": campaign_id,
        "institution_id": institution_id,
        "institution_name": institution.name if institution else None,
        "score": score,
        "notice_threshold": threshold,
        "below_threshold": score is not None and score < threshold,
        "criteria": {
            name: {"score": s, "weight": config["weights"][name], "figures": figures}
            for name, (s, figures) in criteria.items()
        },
    }


def institutions_of(session, campaign_id: str) -> list[str]:
    known = set(session.scalars(select(Institution.institution_id)))
    known |= set(session.scalars(select(Enrolment.institution_id).where(Enrolment.campaign_id == campaign_id)))
    return sorted(known)


def report_rows(reports: list[dict]) -> list[dict]:
    """Reports flattened for a spreadsheet: one row per institution, a column per criterion."""
    return [
        {
            **jsonable(r),
            **{name: jsonable(c["score"]) for name, c in r["criteria"].items()},
            "figures": "; ".join(f"{name}: {c['figures']}" for name, c in r["criteria"].items()),
        }
        for r in reports
    ]


def evaluate(uow, identity: Identity, campaign_id: str, institution_id: str, respond_by: date | None = None) -> dict:
    """Keep the score with its figures; below the threshold, notify the institution (once per campaign) and ask
    for its rectification report by `respond_by` (default: 10 working days from today)."""
    session = uow.session
    found = report(session, campaign_id, institution_id)
    kept = jsonable(found)
    session.add(
        InstitutionEvaluation(
            evaluation_id=str(uuid.uuid4()),
            campaign_id=campaign_id,
            institution_id=institution_id,
            score=found["score"],
            report=kept,
            evaluated_by=identity.subject,
            evaluated_at=utcnow(),
        )
    )
    notice = rectification = None
    if found["below_threshold"]:
        standing = _standing(session, institution_id)
        already = session.scalar(
            select(Decision.revision).where(
                Decision.institution_id == institution_id,
                Decision.campaign_id == campaign_id,
                Decision.action == "notified",
            )
        )
        if already is None:
            notice = _decide(
                uow,
                identity,
                standing,
                "notified",
                campaign_id,
                f"综合评分 {found['score']} 低于通报线 {found['notice_threshold']} (score below the notice threshold)",
            )
            rectification = notices.issue(uow, notice, notices.due_date(work_calendar(session), respond_by))
    return {**found, "notice": notice, "rectification": rectification}


def jsonable(value):
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return str(value) if isinstance(value, Decimal) else value


def _standing(session, institution_id: str) -> InstitutionStanding:
    if session.get(Institution, institution_id) is None:
        raise NotFound("No such institution (not registered with evaluation yet).")
    session.execute(
        upsert(session.bind, InstitutionStanding)
        .values(institution_id=institution_id, revision=0, disqualified=False)
        .on_conflict_do_nothing()
    )
    return session.get(InstitutionStanding, institution_id, with_for_update=True, populate_existing=True)


def _decide(
    uow, identity: Identity, standing: InstitutionStanding, action: str, campaign_id: str | None, reason: str
) -> dict:
    standing.revision += 1
    if ACTIONS[action] is not None:
        standing.disqualified = ACTIONS[action]
    decision = Decision(
        institution_id=standing.institution_id,
        revision=standing.revision,
        action=action,
        campaign_id=campaign_id,
        reason=reason,
        decided_by=identity.subject,
        decided_at=utcnow(),
    )
    uow.session.add(decision)
    event = {
        "institution_id": standing.institution_id,
        "revision": standing.revision,
        "reason": reason,
        "decided_by": identity.subject,
        "decided_at": decision.decided_at.isoformat(),
    }
    if campaign_id:
        event["campaign_id"] = campaign_id
    uow.publish(f"institution.{action}", event)
    return as_dict(decision)


def sanction(
    uow, identity: Identity, institution_id: str, disqualify: bool, reason: str, campaign_id: str | None
) -> dict:
    standing = _standing(uow.session, institution_id)
    if standing.disqualified == disqualify:
        raise STANDING_UNCHANGED(_("Already disqualified.") if disqualify else _("Not disqualified."))
    return _decide(uow, identity, standing, "disqualified" if disqualify else "reinstated", campaign_id, reason)


def decisions(session, institution_id: str) -> dict:
    standing = session.get(InstitutionStanding, institution_id)
    trail = session.scalars(
        select(Decision).where(Decision.institution_id == institution_id).order_by(Decision.revision)
    )
    return {
        "institution_id": institution_id,
        "disqualified": bool(standing and standing.disqualified),
        "decisions": [as_dict(d) for d in trail],
    }


def survey_answers(session, campaign_id: str, institution_id: str) -> list[dict]:
    """The anonymous answers about an institution in a campaign: each question's mark."""
    return [
        {q: getattr(a, q) for q in rules.QUESTIONS}
        for a in session.scalars(
            select(SurveyAnswer)
            .join(Survey, Survey.survey_id == SurveyAnswer.survey_id)
            .where(Survey.campaign_id == campaign_id, Survey.institution_id == institution_id)
        )
    ]


def funds_transferred(session, campaign_id: str) -> Decimal:
    """The federation's money the units hold for the campaign: transferred less what was reclaimed."""
    signed = case((FundTransfer.direction == "reclaimed", -FundTransfer.amount), else_=FundTransfer.amount)
    return Decimal(
        session.scalar(select(func.coalesce(func.sum(signed), 0)).where(FundTransfer.campaign_id == campaign_id))
    ).quantize(Decimal("0.01"))
