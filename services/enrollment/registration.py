"""Use cases of registration (学员建档), a saga with quota: request, reserved/refused, entrance test, admission."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from servicekit.audit import SYSTEM, Actor, entry
from servicekit.bus.envelope import Envelope
from servicekit.clock import china_today as today
from servicekit.db import among, hold, rows_by_key
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.money import show
from servicekit.refusals import Forbidden

from .access import WithRelated, find_enrolment, know_history
from .catalogue import refuse_standing
from .classes import leave_class
from .domain import enrolment as rules
from .domain import lifecycle
from .domain.people import mask_name
from .models import Campaign, Employee, Enrolment, InstitutionStanding, Programme
from .nominations import bump, move
from .problems import (
    ENTRANCE_TEST_NOT_PASSED,
    OUTSIDE_STUDY_WINDOW,
    WINDOW_CLOSED,
    WRONG_STATUS,
    flush_or_conflict,
    refuse_outside,
)

log = logging.getLogger(__name__)
SAGA = "registration"  # waiting for quota's answer (servicekit.sagas)


def _institution_enrolment(uow, identity: Identity, enrolment_id: str) -> Enrolment:
    _institution_only(identity)
    return find_enrolment(uow.session, identity, enrolment_id, lock=True)


def _institution_only(identity: Identity) -> None:
    if identity.role != "institution_operator":
        raise Forbidden("Only the institution's operator does this.")


def _academic(enrolment: Enrolment) -> None:
    if enrolment.kind != "academic":
        raise WRONG_STATUS("Entrance tests and admission are for academic enrolments.")


# What a registration needs, with the employee its answer shows, in the one read that locks the enrolment.
REGISTRATION_READ = WithRelated(
    (Campaign, Campaign.campaign_id == Enrolment.campaign_id),
    (Programme, Programme.programme_id == Enrolment.programme_id),
    (InstitutionStanding, InstitutionStanding.institution_id == Enrolment.institution_id),
    (Employee, Employee.employee_id == Enrolment.employee_id),
)


def request_registration(uow, identity: Identity, enrolment_id: str, on: date) -> Enrolment:
    """The institution registers a sent nomination and asks quota for the seat or subsidy.

    A refused one may be asked again (quota reallocated after the deadline, say): quota answers a request
    with a higher revision afresh. Registering one already requested or registered is a retry and answers
    it as it stands, so a caller who never heard the first answer may safely send it again.
    """
    session = uow.session
    _institution_only(identity)
    enrolment, campaign, programme, standing, employee, history = REGISTRATION_READ.find(
        session, identity, enrolment_id
    )
    hold(session, employee)
    know_history(session, enrolment_id, history)  # registering adds neither objections nor placements
    if enrolment.status in (rules.REQUESTED, rules.REGISTERED):
        # A retry (the first answer was lost, a 504 at the gateway): the same outcome, nothing asked twice.
        return enrolment
    step = lifecycle.transition(enrolment.status, lifecycle.REGISTER)
    refuse_standing(standing)
    refuse_outside(
        on,
        "registration",
        campaign.registration_start,
        campaign.registration_end,
        WINDOW_CLOSED,
        _("Registration for {name} is open from {registration_start} to {registration_end}.").format(
            name=campaign.name,
            registration_start=campaign.registration_start.isoformat(),
            registration_end=campaign.registration_end.isoformat(),
        ),
    )
    enrolment.fees = {line: show(amount) for line, amount in programme.fees().items()}
    if enrolment.kind == "skills":
        enrolment.subsidy_requested = federation_subsidy(campaign, programme)
    enrolment.status, enrolment.requested_on = step.target, on
    enrolment.refusal_reason = enrolment.refusal_detail = None
    bump(enrolment)
    flush_or_conflict(session)  # a refused enrolment holds no place: the employee may hold another by now
    _ask_quota(uow, enrolment)
    uow.await_answer(SAGA, enrolment.enrolment_id)
    return enrolment


def _ask_quota(uow, enrolment: Enrolment) -> None:
    data = {
        **saga_fields(enrolment),
        "revision": enrolment.revision,
        "requested_on": enrolment.requested_on.isoformat(),
    }
    if enrolment.kind == "skills":
        data["amount"] = show(enrolment.subsidy_requested)
    uow.publish(lifecycle.ACTIONS[lifecycle.REGISTER].event, data)


def ask_again(uow, enrolment_id: str) -> bool:
    """The sweeper's re-ask of a late answer: the same request (same revision), which quota answers again."""
    enrolment = uow.session.get(Enrolment, enrolment_id, with_for_update=True)
    if enrolment is None or not lifecycle.allows(enrolment.status, lifecycle.QUOTA_RESERVED):
        return False
    _ask_quota(uow, enrolment)
    return True


def federation_subsidy(campaign: Campaign, programme: Programme) -> Decimal:
    """What a skills enrolment in this programme asks quota for: the federation's share of the training fee."""
    rate = rules.federation_rate(campaign.skills_federation_rate, campaign.skills_rate_overrides, programme.trade)
    subsidy = rules.federation_skills_share(programme.fee_tuition_or_training, rate)
    if subsidy <= 0:
        raise WRONG_STATUS("The programme has no training fee for the federation to share.")
    return subsidy


def saga_fields(enrolment: Enrolment) -> dict:
    return {
        "enrolment_id": enrolment.enrolment_id,
        "campaign_id": enrolment.campaign_id,
        "kind": enrolment.kind,
        "unit_id": enrolment.unit_id,
        "grassroots_union_id": enrolment.grassroots_union_id,
        "institution_id": enrolment.institution_id,
        "programme_id": enrolment.programme_id,
    }


def _names(session, employee_ids: set[str]) -> dict[str, str]:
    """The employees' names, the one personal column an announcement carries (masked): a batch's ID numbers
    and phones are not decrypted for nothing (PIPL's minimum necessary)."""
    if not employee_ids:
        return {}
    found = select(Employee.employee_id, Employee.name).where(among(session, Employee.employee_id, employee_ids))
    return dict(session.execute(found).all())


def _enrolment_event(session, enrolment: Enrolment) -> dict:
    """What finance and evaluation need of a registered or admitted enrolment."""
    skills = enrolment.kind == "skills"
    return _announced(
        enrolment,
        _names(session, {enrolment.employee_id})[enrolment.employee_id],
        session.get(Programme, enrolment.programme_id) if skills else None,
    )


def _announced(enrolment: Enrolment, name: str, programme: Programme | None) -> dict:
    data = {
        **saga_fields(enrolment),
        "revision": enrolment.revision,
        "fees": enrolment.fees,
        "employee_id": enrolment.employee_id,
        "holder_name_masked": mask_name(name),
    }
    if programme is not None:
        data["trade"] = programme.trade
    return data


def _awaiting_answers(uow, events: list[Envelope]) -> list[tuple[Envelope, Enrolment]]:
    """Each answer beside its enrolment, locked (in key order: two workers cannot deadlock), if that still
    waits for quota's answer; the wait ends. An answer to a request no longer waited for (redelivered, the
    enrolment moved on, the same answer twice in the batch) is ignored."""
    session = uow.session
    ids = sorted({event.data["enrolment_id"] for event in events})
    locked = {
        enrolment.enrolment_id: enrolment
        for enrolment in session.scalars(
            select(Enrolment)
            .where(among(session, Enrolment.enrolment_id, ids))
            .order_by(Enrolment.enrolment_id)
            .with_for_update()
        )
    }
    waiting, answered = [], set()
    for event in events:
        enrolment = locked.get(event.data["enrolment_id"])
        if (
            enrolment is None
            or enrolment.enrolment_id in answered
            or not lifecycle.allows(enrolment.status, lifecycle.QUOTA_RESERVED)
        ):
            log.info(
                "quota answer ignored",
                extra={"enrolment_id": event.data["enrolment_id"], "status": enrolment.status if enrolment else None},
            )
            continue
        answered.add(enrolment.enrolment_id)
        waiting.append((event, enrolment))
    uow.answered_all(SAGA, sorted(answered))
    return waiting


def announce(uow, enrolment_id: str) -> None:
    """Announce a registered or admitted enrolment again, as it is now (another service asked: it missed it).
    Consumers ignore what they know already (the revision is not newer)."""
    enrolment = uow.session.get(Enrolment, enrolment_id)
    if enrolment is None or not lifecycle.allows(enrolment.status, lifecycle.ANNOUNCE):
        log.info(
            "announcement not due: the enrolment is not registered",
            extra={"enrolment_id": enrolment_id, "status": enrolment.status if enrolment else None},
        )
        return
    data = _enrolment_event(uow.session, enrolment)
    if enrolment.status == rules.ADMITTED:
        data["admitted_on"] = enrolment.admitted_on.isoformat()
    else:
        data["registered_on"] = enrolment.registered_on.isoformat()
    uow.publish(lifecycle.announcement(enrolment.status), data)


# Registrations are decided by quota's answer (an event the worker handles).
QUOTA_ANSWER = Actor("service:quota", SYSTEM)


def quota_reserved(uow, events: list[Envelope]) -> None:
    """Quota reserved the seats or subsidies asked for: each enrolment is registered and announced
    (enrollment.registered, caused by quota's answer), in one statement per table for the whole batch."""
    session = uow.session
    waiting = _awaiting_answers(uow, events)
    registered = [enrolment for _, enrolment in waiting]
    names = _names(session, {e.employee_id for e in registered})
    programmes = rows_by_key(session, Programme, (e.programme_id for e in registered if e.kind == "skills"))
    entries, announcements = [], []
    for event, enrolment in waiting:
        before = enrolment.status
        step = move(enrolment, lifecycle.QUOTA_RESERVED)
        enrolment.registered_on = today()
        bump(enrolment)
        entries.append(
            entry(
                "enrolment.registered",
                "enrolment",
                enrolment.enrolment_id,
                before={"status": before},
                after={"status": enrolment.status, "registered_on": enrolment.registered_on},
                actor=QUOTA_ANSWER,
            )
        )
        name, programme = names[enrolment.employee_id], programmes.get(enrolment.programme_id)
        data = {**_announced(enrolment, name, programme), "registered_on": enrolment.registered_on.isoformat()}
        announcements.append((step.event, data, event))
    uow.audit_all(entries)
    uow.publish_caused(announcements)


def quota_refused(uow, events: list[Envelope]) -> None:
    """Quota refused the seats or subsidies asked for (its reason kept): each enrolment is refused."""
    entries = []
    for event, enrolment in _awaiting_answers(uow, events):
        data = event.data
        before = enrolment.status
        move(enrolment, lifecycle.QUOTA_REFUSED)
        enrolment.refusal_reason = data["reason"]
        enrolment.refusal_detail = data.get("detail")
        bump(enrolment)
        entries.append(
            entry(
                "enrolment.registration_refused",
                "enrolment",
                enrolment.enrolment_id,
                before={"status": before},
                after={"status": enrolment.status, "refusal_reason": data["reason"]},
                reason=data.get("detail") or data["reason"],
                actor=QUOTA_ANSWER,
            )
        )
    uow.audit_all(entries)


def record_entrance_test(uow, identity: Identity, enrolment_id: str, body: dict, on: date) -> Enrolment:
    enrolment = _institution_enrolment(uow, identity, enrolment_id)
    _academic(enrolment)
    lifecycle.transition(enrolment.status, lifecycle.RECORD_ENTRANCE_TEST)
    if body["held_on"] > on:
        raise WRONG_STATUS("An entrance test cannot be recorded before it is held.")
    campaign = uow.session.get(Campaign, enrolment.campaign_id)
    if campaign.study_end is not None:  # entrance tests: from registration to the end of the study service
        refuse_outside(
            body["held_on"],
            "entrance_tests",
            campaign.registration_start,
            campaign.study_end,
            OUTSIDE_STUDY_WINDOW,
            _("Entrance tests of {name} are held from {registration_start} to {study_end}.").format(
                name=campaign.name,
                registration_start=campaign.registration_start.isoformat(),
                study_end=campaign.study_end.isoformat(),
            ),
            "held_on",
        )
    enrolment.entrance_test_on, enrolment.entrance_test_passed = body["held_on"], body["passed"]
    enrolment.entrance_test_score = Decimal(body["score"])
    bump(enrolment)
    return enrolment


def reject_registration(uow, identity: Identity, enrolment_id: str, body: dict, on: date) -> Enrolment:
    """The institution rejects a registration before admission: the seat or subsidy goes back to the unit
    (quota releases it on enrollment.registration_rejected), which may register another nominee on it."""
    enrolment = _institution_enrolment(uow, identity, enrolment_id)
    step = lifecycle.transition(enrolment.status, lifecycle.REJECT_REGISTRATION)
    if body["reason"] == rules.ENTRANCE_TEST_FAILED and not (
        enrolment.kind == "academic" and enrolment.entrance_test_passed is False
    ):
        raise WRONG_STATUS(
            "No failed entrance test is recorded for this student.",
            errors={"reason": [_("No failed entrance test is recorded for this student.")]},
        )
    if enrolment.class_id is not None:
        leave_class(uow.session, enrolment, on, "withdrawal")  # the placement ends as on a withdrawal
    enrolment.status, enrolment.refusal_reason = step.target, body["reason"]
    enrolment.refusal_detail = body.get("note")
    bump(enrolment)  # audited by the HTTP layer: the old and new status, the reason
    uow.publish(
        step.event,
        {
            **{key: getattr(enrolment, key) for key in ("enrolment_id", "revision", "campaign_id", "kind")},
            "unit_id": enrolment.unit_id,
            "institution_id": enrolment.institution_id,
            "reason": body["reason"],
            **({"note": body["note"]} if body.get("note") else {}),
            "rejected_on": on.isoformat(),
        },
    )
    return enrolment


def admit(uow, identity: Identity, enrolment_id: str, on: date) -> Enrolment:
    enrolment = _institution_enrolment(uow, identity, enrolment_id)
    _academic(enrolment)
    step = lifecycle.transition(enrolment.status, lifecycle.ADMIT)
    if not enrolment.entrance_test_passed:
        raise ENTRANCE_TEST_NOT_PASSED("No passed entrance test is recorded for this student.")
    enrolment.status, enrolment.admitted_on = step.target, on
    bump(enrolment)
    uow.publish(step.event, {**_enrolment_event(uow.session, enrolment), "admitted_on": on.isoformat()})
    return enrolment
