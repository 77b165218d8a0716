"""Use cases of status changes: request, the unit's and the federation's decisions, and their effects."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Select, select

from servicekit.audit import SYSTEM, Actor
from servicekit.bus.envelope import Envelope
from servicekit.db import utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import show
from servicekit.refusals import Forbidden, Invalid, NotFound

from . import registration
from .access import find_enrolment, sees_personal_data
from .catalogue import refuse_if_disqualified
from .classes import leave_class
from .domain import lifecycle
from .domain import status_changes as rules
from .models import Campaign, Enrolment, Programme, StatusChange
from .nominations import bump, move
from .problems import WRONG_STATUS, flush_or_conflict

SAGA = "transfer"  # an approved transfer waiting for quota to hold the new subsidy (servicekit.sagas)
# Who may ask for which change (besides being able to see the enrolment).
REQUESTERS = {
    rules.WITHDRAWAL: ("employee", "grassroots_officer", "unit_officer", "institution_operator"),
    rules.TRANSFER: ("unit_officer", "institution_operator"),
    rules.MAJOR_CHANGE: ("unit_officer", "institution_operator"),
}


def change_view(change: StatusChange) -> dict:
    return {column.key: getattr(change, column.key) for column in StatusChange.__table__.columns}


def request_change(uow, identity: Identity, enrolment_id: str, body: dict) -> StatusChange:
    session = uow.session
    enrolment = find_enrolment(session, identity, enrolment_id, lock=True)
    kind = body["kind"]
    if identity.role not in REQUESTERS[kind] or (
        identity.role in ("employee", "grassroots_officer") and not sees_personal_data(identity, enrolment)
    ):
        raise Forbidden(_("The role {role} does not ask for a {kind}.").format(role=identity.role, kind=kind))
    lifecycle.transition(
        enrolment.status, lifecycle.REQUEST_WITHDRAWAL if kind == rules.WITHDRAWAL else lifecycle.REQUEST_MOVE
    )
    target = body.get("to_programme_id")
    if kind == rules.WITHDRAWAL and target:
        raise Invalid(errors={"to_programme_id": [_("Not for a withdrawal.")]})
    if kind != rules.WITHDRAWAL:
        _check_target(session, kind, enrolment, target)
    change = StatusChange(
        change_id=str(uuid.uuid4()),
        enrolment_id=enrolment_id,
        kind=kind,
        reason=body["reason"],
        effective_on=body["effective_on"],
        to_programme_id=target,
        state=rules.REQUESTED_CHANGE,
        requested_by=identity.subject,
        requested_at=utcnow(),
    )
    session.add(change)
    flush_or_conflict(session, "Another status change of this enrolment is still open.")
    return change


def _check_target(session, kind: str, enrolment: Enrolment, target: str | None) -> Programme:
    programme = session.get(Programme, target) if target else None
    if programme is None or programme.status != "published":
        raise Invalid(errors={"to_programme_id": [_("Required: a published programme.")]})
    problem = rules.move_problem(
        kind,
        enrolment.institution_id,
        programme.institution_id,
        enrolment.kind,
        programme.kind,
        programme.programme_id == enrolment.programme_id,
    )
    if problem:
        raise Invalid(problem, errors={"to_programme_id": [problem]})
    refuse_if_disqualified(session, programme.institution_id)
    return programme


def changes_query(session, identity: Identity, enrolment_id: str) -> Select:
    find_enrolment(session, identity, enrolment_id)
    return select(StatusChange).where(StatusChange.enrolment_id == enrolment_id)


def pending_query(identity: Identity) -> Select:
    """The changes waiting for the caller's decision."""
    if identity.role == "unit_officer":
        query = (
            select(StatusChange)
            .join(Enrolment, Enrolment.enrolment_id == StatusChange.enrolment_id)
            .where(Enrolment.unit_id == identity.unit_id, StatusChange.state == rules.REQUESTED_CHANGE)
        )
    else:
        query = select(StatusChange).where(StatusChange.state == rules.UNIT_AGREED)
    return query


def decide(uow, identity: Identity, change_id: str, body: dict, today: date) -> StatusChange:
    session = uow.session
    change = session.get(StatusChange, change_id, with_for_update=True)
    if change is None:
        raise NotFound(_("No status change {change_id}.").format(change_id=change_id))
    enrolment = find_enrolment(session, identity, change.enrolment_id, lock=True)
    step = rules.next_step(change.kind, change.state, identity.role)
    if step is None:
        raise (Forbidden if change.state in rules.OPEN else WRONG_STATUS)(
            _("The {kind} is {state}; it is not for the role {role} to decide now.").format(
                kind=change.kind, state=change.state, role=identity.role
            ),
        )
    if identity.role == "unit_officer":
        change.unit_decision_by = identity.subject
    else:
        change.federation_decision_by = identity.subject
    change.decision_note, change.decided_on = body.get("note"), today
    if body["decision"] == "decline":
        change.state = rules.DECLINED
        return change
    change.state = step
    if step == rules.APPROVED:
        _apply(uow, change, enrolment)
    return change


def _apply(uow, change: StatusChange, enrolment: Enrolment) -> None:
    step = move(enrolment, lifecycle.WITHDRAW if change.kind == rules.WITHDRAWAL else lifecycle.MOVE)
    bump(enrolment)
    if change.kind == rules.WITHDRAWAL:
        enrolment.withdrawn_on = change.effective_on
        leave_class(uow.session, enrolment, change.effective_on, "withdrawal")
        uow.publish(
            step.event,
            {
                "enrolment_id": enrolment.enrolment_id,
                "revision": enrolment.revision,
                "campaign_id": enrolment.campaign_id,
                "kind": enrolment.kind,
                "unit_id": enrolment.unit_id,
                "institution_id": enrolment.institution_id,
                "reason": change.reason,
                "withdrawn_on": change.effective_on.isoformat(),
            },
        )
        return
    programme = _check_target(uow.session, change.kind, enrolment, change.to_programme_id)
    if enrolment.fees is None:  # not registered yet: nobody else knows of it, the nomination simply goes elsewhere
        _move(uow.session, change, enrolment, programme)
        return
    subsidy = enrolment.subsidy_requested
    if enrolment.kind == "skills":
        subsidy = registration.federation_subsidy(uow.session.get(Campaign, enrolment.campaign_id), programme)
    if subsidy != enrolment.subsidy_requested:
        # quota holds the old subsidy: it must agree to hold the new one before the student moves
        change.state, change.subsidy_requested, change.quota_revision = (
            rules.AWAITING_QUOTA,
            subsidy,
            enrolment.revision,
        )
        _ask_quota(uow, change, enrolment, programme)
        uow.await_answer(SAGA, change.change_id)
        return
    _transfer(uow, change, enrolment, programme)


def _ask_quota(uow, change: StatusChange, enrolment: Enrolment, programme: Programme) -> None:
    uow.publish(
        "enrollment.requested",
        {
            **registration.saga_fields(enrolment),
            "institution_id": programme.institution_id,
            "programme_id": programme.programme_id,
            "amount": show(change.subsidy_requested),
            "revision": change.quota_revision,
        },
    )


def ask_again(uow, change_id: str) -> bool:
    """The sweeper's re-ask of a late answer: the same request (same revision), which quota answers again."""
    session = uow.session
    change = session.get(StatusChange, change_id, with_for_update=True)
    if change is None or change.state != rules.AWAITING_QUOTA:
        return False
    enrolment = session.get(Enrolment, change.enrolment_id)
    _ask_quota(uow, change, enrolment, session.get(Programme, change.to_programme_id))
    return True


def _move(session, change: StatusChange, enrolment: Enrolment, programme: Programme) -> tuple[str, str]:
    moved_from = (enrolment.institution_id, enrolment.programme_id)
    enrolment.institution_id, enrolment.programme_id = programme.institution_id, programme.programme_id
    leave_class(session, enrolment, change.effective_on, "transfer")
    return moved_from


def _transfer(uow, change: StatusChange, enrolment: Enrolment, programme: Programme) -> None:
    """The student moves; finance, evaluation and quota learn the new programme's fees (skills: the subsidy)."""
    moved_from = _move(uow.session, change, enrolment, programme)
    enrolment.fees = {line: show(amount) for line, amount in programme.fees().items()}
    data = {
        "enrolment_id": enrolment.enrolment_id,
        "revision": enrolment.revision,
        "campaign_id": enrolment.campaign_id,
        "kind": enrolment.kind,
        "unit_id": enrolment.unit_id,
        "from_institution_id": moved_from[0],
        "to_institution_id": programme.institution_id,
        "from_programme_id": moved_from[1],
        "to_programme_id": programme.programme_id,
        "fees": enrolment.fees,
        "reason": change.reason,
        "transferred_on": change.effective_on.isoformat(),
    }
    if enrolment.subsidy_requested is not None:
        data["amount"] = show(enrolment.subsidy_requested)
    uow.publish(lifecycle.ACTIONS[lifecycle.MOVE].event, data)


QUOTA_ANSWER = Actor("service:quota", SYSTEM)  # a transfer's new subsidy is quota's answer


def quota_answered_all(uow, events: list[Envelope], reserved: bool) -> list[Envelope]:
    """Quota's answers to transfers' requests handled (`_quota_answered`, one by one: transfers are few); the
    other answers, to registrations, returned in order. One read tells the two apart for the whole batch."""
    asked = {(e.data["enrolment_id"], e.data["revision"]) for e in events if "revision" in e.data}
    waiting = set()
    if asked:
        awaiting_quota = select(StatusChange.enrolment_id, StatusChange.quota_revision).where(
            StatusChange.enrolment_id.in_({enrolment_id for enrolment_id, _ in asked}),
            StatusChange.state == rules.AWAITING_QUOTA,
        )
        waiting = set(uow.session.execute(awaiting_quota).tuples()) & asked
    return [
        event
        for event in events
        if (event.data["enrolment_id"], event.data.get("revision")) not in waiting
        or not _quota_answered(uow, event.data, reserved)
    ]


def _quota_answered(uow, data: dict, reserved: bool) -> bool:
    """Quota's answer to a transfer's request for another subsidy: reserved, the student moves; refused, the
    change is refused with quota's reason and nothing moves. False when the answer is not for a waiting change."""
    session = uow.session
    change = session.scalar(
        select(StatusChange)
        .where(
            StatusChange.enrolment_id == data["enrolment_id"],
            StatusChange.state == rules.AWAITING_QUOTA,
            StatusChange.quota_revision == data["revision"],
        )
        .with_for_update()
    )
    if change is None:
        return False
    uow.answered(SAGA, change.change_id)
    enrolment = session.get(Enrolment, change.enrolment_id, with_for_update=True)
    if not reserved:
        change.state, change.refusal_reason, change.refusal_detail = rules.REFUSED, data["reason"], data.get("detail")
        uow.audit(
            "status_change.refused",
            "status_change",
            change.change_id,
            before={"state": rules.AWAITING_QUOTA},
            after={"state": change.state, "refusal_reason": data["reason"]},
            reason=data.get("detail") or data["reason"],
            actor=QUOTA_ANSWER,
        )
        return True
    change.state = rules.APPROVED
    uow.audit(
        "status_change.approved",
        "status_change",
        change.change_id,
        before={"state": rules.AWAITING_QUOTA, "programme_id": enrolment.programme_id},
        after={"state": change.state, "programme_id": change.to_programme_id},
        actor=QUOTA_ANSWER,
    )
    enrolment.subsidy_requested = change.subsidy_requested
    bump(enrolment)
    _transfer(uow, change, enrolment, session.get(Programme, change.to_programme_id))
    return True
