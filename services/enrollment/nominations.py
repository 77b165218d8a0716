"""Use cases of nomination (人选推荐): nominate, the democratic recommendation record, public notice and
objections, consent, confirmation."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func, select

from servicekit.audit import SYSTEM, Actor
from servicekit.db import utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.pseudonym import employee_id
from servicekit.refusals import Forbidden, Invalid, NotFound

from .access import find_enrolment
from .catalogue import refuse_if_disqualified
from .domain import enrolment as rules
from .domain import lifecycle
from .domain.people import schooling_refusal
from .models import Campaign, Employee, Enrolment, Objection, PlanProgramme, Programme, Unit
from .problems import (
    ALREADY_ENROLLED,
    NOT_CONFIRMABLE,
    NOT_IN_PLAN,
    UNKNOWN_REFERENCE,
    WRONG_STATUS,
    every_row_or_none,
    flush_or_conflict,
)


def move(enrolment: Enrolment, action: str) -> lifecycle.Transition:
    """Apply the lifecycle's transition to the enrolment's status (TransitionRefused when its status forbids it)."""
    step = lifecycle.transition(enrolment.status, action)
    enrolment.status = step.target
    return step


def bump(enrolment: Enrolment) -> None:
    enrolment.revision += 1


def _context(session, identity: Identity, campaign_id: str, programme_id: str) -> tuple[Campaign, Unit, Programme]:
    """The campaign, the officer's grassroots union and the programme, checked against the unit's plan."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise UNKNOWN_REFERENCE(
            _("No published campaign {campaign_id}.").format(campaign_id=campaign_id),
            errors={"campaign_id": [_("Unknown campaign.")]},
        )
    union = session.get(Unit, identity.grassroots_union_id)
    if union is None or union.level != "grassroots":
        raise UNKNOWN_REFERENCE(
            _("Grassroots union {grassroots_union_id} is not known yet.").format(
                grassroots_union_id=identity.grassroots_union_id
            ),
        )
    parent = session.get(Unit, union.parent_id)
    if parent is not None:
        rules.check_takes_nominations(parent.unit_id, parent.status)
    programme = session.get(Programme, programme_id)
    if programme is None or programme.status != "published":
        raise UNKNOWN_REFERENCE(
            _("No published programme {programme_id}.").format(programme_id=programme_id),
            errors={"programme_id": [_("Not a published programme.")]},
        )
    refuse_if_disqualified(session, programme.institution_id)
    planned = session.get(PlanProgramme, (union.parent_id, campaign_id, programme_id))
    if planned is None:
        raise NOT_IN_PLAN(
            _("Unit {parent_id} has not chosen {programme_id} for this campaign.").format(
                parent_id=union.parent_id, programme_id=programme_id
            ),
            errors={"programme_id": [_("Not in the unit's plan for this campaign.")]},
        )
    return campaign, union, programme


def _employee(session, person: dict, employee_key: bytes) -> Employee:
    """The person's record, made at their first nomination and never changed by a later one.

    A nomination answers the same whether or not the resident ID number is known (no oracle of who
    is on record), and another office's name or phone is never overwritten: what this nomination
    gave is kept on its enrolment (nominated_name, nominated_phone), a proposed change for review.
    """
    # the keyed pseudonym finds the person: the stored number is encrypted, differently each time
    employee = session.get(Employee, employee_id(person["resident_id"], employee_key))
    if employee is None:
        # the id the gateway computes too when it opens this employee's account
        employee = Employee(employee_id=employee_id(person["resident_id"], employee_key), **person)
        session.add(employee)
    return employee


def nominate(uow, identity: Identity, body: dict, today: date, employee_key: bytes) -> Enrolment:
    session = uow.session
    campaign, union, programme = _context(session, identity, body["campaign_id"], body["programme_id"])
    refusal = schooling_refusal(body["education"], programme.kind, programme.level)
    if refusal:
        raise Invalid(refusal, errors={"education": [refusal]})
    notice_start = body.get("notice_start") or today
    if notice_start > today:
        raise Invalid(
            "The public notice must already be posted.",
            errors={"notice_start": [_("Must not be in the future.")]},
        )
    employee = _employee(session, {key: body[key] for key in ("name", "resident_id", "phone")}, employee_key)
    flush_or_conflict(session)
    active = session.scalar(
        select(Enrolment.enrolment_id).where(
            Enrolment.campaign_id == campaign.campaign_id,
            Enrolment.kind == programme.kind,
            Enrolment.employee_id == employee.employee_id,
            Enrolment.status.not_in(rules.INACTIVE),
        )
    )
    if active is not None:
        raise ALREADY_ENROLLED(
            "The employee already has an active enrolment of this kind in this campaign.",
            errors={
                "resident_id": [
                    _("Already has an active {kind} enrolment in this campaign.").format(kind=programme.kind)
                ]
            },
        )
    enrolment = Enrolment(
        enrolment_id=str(uuid.uuid4()),
        revision=1,
        status=rules.NOMINATED,
        campaign_id=campaign.campaign_id,
        kind=programme.kind,
        employee_id=employee.employee_id,
        unit_id=union.parent_id,
        grassroots_union_id=union.unit_id,
        institution_id=programme.institution_id,
        programme_id=programme.programme_id,
        education=body["education"],
        attestation=body["attestation"],
        nominated_by=identity.subject,
        nominated_name=body["name"],
        nominated_phone=body["phone"],
        nominated_at=utcnow(),
        notice_start=notice_start,
        notice_end=rules.notice_end(notice_start, campaign.public_notice_days),
    )
    if body.get("recommendation"):
        _recommend(enrolment, body["recommendation"], today)
    session.add(enrolment)
    flush_or_conflict(session)
    return enrolment


def _recommend(enrolment: Enrolment, record: dict, today: date) -> None:
    """The democratic recommendation that chose the nominee: held before the notice, votes where voted."""
    errors = rules.recommendation_errors(record, enrolment.notice_start, today)
    if errors:
        raise Invalid(_("The democratic recommendation record is not valid."), errors=errors)
    enrolment.recommended_on, enrolment.recommendation_method = record["meeting_on"], record["method"]
    for key in ("voters", "votes_for", "votes_against", "votes_abstained"):
        setattr(enrolment, key, record.get(key))


def record_recommendation(uow, identity: Identity, enrolment_id: str, body: dict, today: date) -> Enrolment:
    """Record (or correct, while the notice runs) how the union's democratic recommendation chose the nominee."""
    enrolment = find_enrolment(uow.session, identity, enrolment_id, lock=True)
    _own_union(identity, enrolment)
    move(enrolment, lifecycle.RECORD_RECOMMENDATION)
    _recommend(enrolment, body, today)
    bump(enrolment)
    return enrolment


def nominate_many(
    uow, identity: Identity, common: dict, rows: list[tuple[int, dict]], today: date, employee_key: bytes
) -> list[Enrolment]:
    """A spreadsheet of nominations (row number, row): all are nominated, or none and each bad row is reported."""
    return every_row_or_none(
        rows,
        lambda row: nominate(uow, identity, {**common, **row}, today, employee_key),
        _("{bad} of {total} rows cannot be nominated."),
    )


def _on_notice(session, enrolment_id: str, today: date) -> Enrolment:
    """A nominee on a running public notice (what anyone may read on the public route), locked; 404 otherwise."""
    enrolment = session.get(Enrolment, enrolment_id, with_for_update=True)
    if (
        enrolment is None
        or enrolment.status != rules.NOMINATED
        or not rules.on_notice(today, enrolment.notice_start, enrolment.notice_end)
    ):
        raise NotFound(_("No nominee {enrolment_id} on a running public notice.").format(enrolment_id=enrolment_id))
    return enrolment


def _own_union(identity: Identity, enrolment: Enrolment) -> None:
    if identity.role != "grassroots_officer" or identity.grassroots_union_id != enrolment.grassroots_union_id:
        raise Forbidden("Only the nominating grassroots union does this.")


def record_objection(uow, identity: Identity, enrolment_id: str, body: dict, today: date) -> Enrolment:
    """An objection to a nominee on the public notice: an employee's own (identified by their account), or one
    the union records (who raised it, when). Only the union and the federation see who objected."""
    body = dict(body)
    if identity.role == "employee":
        enrolment = _on_notice(uow.session, enrolment_id, today)
        if enrolment.employee_id == identity.employee_id:
            raise Forbidden(_("An employee does not object to their own nomination."))
        if not body.get("objector_name"):
            raise Invalid(errors={"objector_name": [_("Give your name: objections are identified.")]})
        body["raised_on"], body["objector_employee_id"] = today, identity.employee_id
    else:
        enrolment = find_enrolment(uow.session, identity, enrolment_id, lock=True)
        _own_union(identity, enrolment)
        raised_on = body.get("raised_on") or today
        if raised_on > today:
            raise Invalid(errors={"raised_on": [_("Must not be in the future.")]})
        body["raised_on"] = raised_on
    move(enrolment, lifecycle.RECORD_OBJECTION)
    objection = Objection(
        objection_id=str(uuid.uuid4()), enrolment_id=enrolment_id, recorded_by=identity.subject, **body
    )
    uow.session.add(objection)
    bump(enrolment)
    return enrolment


def decide_objection(
    uow, identity: Identity, enrolment_id: str, objection_id: str, body: dict, today: date
) -> Enrolment:
    """An upheld objection takes the employee off the list; a dismissed one lets the nomination go on."""
    enrolment = find_enrolment(uow.session, identity, enrolment_id, lock=True)
    _own_union(identity, enrolment)
    upheld = body["outcome"] == rules.UPHELD
    step = lifecycle.transition(enrolment.status, lifecycle.UPHOLD_OBJECTION if upheld else lifecycle.DECIDE_OBJECTION)
    objection = uow.session.get(Objection, objection_id)
    if objection is None or objection.enrolment_id != enrolment_id:
        raise NotFound(_("No objection {objection_id} on this enrolment.").format(objection_id=objection_id))
    if objection.outcome is not None:
        raise WRONG_STATUS(_("The objection was already {outcome}.").format(outcome=objection.outcome))
    objection.outcome, objection.outcome_note, objection.decided_on = body["outcome"], body["note"], today
    enrolment.status = step.target  # rejected when upheld
    bump(enrolment)
    return enrolment


def record_consent(uow, identity: Identity, enrolment_id: str, body: dict, today: date) -> Enrolment:
    """The employee confirms themself, or the union records the written consent it holds and its date."""
    enrolment = find_enrolment(uow.session, identity, enrolment_id, lock=True)
    move(enrolment, lifecycle.RECORD_CONSENT)
    if identity.role == "employee":
        method, on = "employee", today
    else:
        _own_union(identity, enrolment)
        on = body.get("written_consent_on")
        if on is None or on > today:
            raise Invalid(
                "The union records the date of the employee's written consent.",
                errors={"written_consent_on": [_("Required, and not in the future.")]},
            )
        method = "written"
    enrolment.consent_method, enrolment.consent_on, enrolment.consent_recorded_by = method, on, identity.subject
    bump(enrolment)
    return enrolment


def confirm(uow, identity: Identity, enrolment_id: str, today: date) -> Enrolment:
    """Confirm the nomination after the notice: it is on the union's list, which the first-level unit sends."""
    session = uow.session
    enrolment = find_enrolment(session, identity, enrolment_id, lock=True)
    _own_union(identity, enrolment)
    step = lifecycle.transition(enrolment.status, lifecycle.CONFIRM)
    open_objections = session.scalar(
        select(func.count())
        .select_from(Objection)
        .where(Objection.enrolment_id == enrolment_id, Objection.outcome.is_(None))
    )
    blockers = rules.confirmation_blockers(
        today=today,
        notice_ends_on=enrolment.notice_end,
        open_objections=open_objections,
        consented=enrolment.consent_method is not None,
        recommended=enrolment.recommended_on is not None,
    )
    if blockers:
        raise NOT_CONFIRMABLE(_("The nomination cannot be confirmed yet."), errors={"blockers": blockers})
    enrolment.status, enrolment.confirmed_on = step.target, today
    bump(enrolment)
    return enrolment


# Work of a merged unit that is still open moves to its successor (quota's unit.upserted with a successor):
# nominations not yet registered (on notice, confirmed, sent, or refused and registrable again). Registered and later
# students stay with the retired unit, which keeps its history; so do the finished ones.
OPEN_WORK = (rules.NOMINATED, rules.CONFIRMED, rules.SENT, rules.REFUSED)
MERGER = Actor("service:quota", SYSTEM)


def move_open_work(uow, data: dict) -> None:
    """The merged unit's open nominations and its plans' programmes go to the successor, audited once per merge;
    a redelivered event finds nothing left to move."""
    successor_id = data.get("successor_id")
    if data.get("status") != "retired" or not successor_id:
        return
    session, unit_id = uow.session, data["unit_id"]
    moved = list(
        session.scalars(
            select(Enrolment)
            .where(Enrolment.unit_id == unit_id, Enrolment.status.in_(OPEN_WORK))
            .order_by(Enrolment.enrolment_id)
            .with_for_update()
        )
    )
    for enrolment in moved:
        enrolment.unit_id = successor_id
        bump(enrolment)
    planned = set(
        session.execute(
            select(PlanProgramme.campaign_id, PlanProgramme.programme_id).where(PlanProgramme.unit_id == successor_id)
        ).tuples()
    )
    added = sorted(
        key
        for key in session.execute(
            select(PlanProgramme.campaign_id, PlanProgramme.programme_id).where(PlanProgramme.unit_id == unit_id)
        ).tuples()
        if key not in planned
    )
    session.add_all(PlanProgramme(unit_id=successor_id, campaign_id=c, programme_id=p) for c, p in added)
    if moved or added:
        uow.audit(
            "unit.open_work_moved",
            "unit",
            unit_id,
            before={"unit_id": unit_id},
            after={
                "successor_id": successor_id,
                "enrolments": [e.enrolment_id for e in moved],
                "planned_programmes": [f"{c}:{p}" for c, p in added],
            },
            reason="merged into " + successor_id,  # quota's audit entry of the merge has the federation's reason
            actor=MERGER,
        )
