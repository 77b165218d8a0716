"""Thin event handlers: keep the read models, then run the use case the event calls for.

A handler raising LookupError (the event refers to something not known yet)
is retried with growing delay, then parked in the dead letters.
"""

from __future__ import annotations

from servicekit.bus.envelope import Envelope
from servicekit.db import UnitOfWork
from servicekit.service import Batched, each_once

from . import fees, funds, readmodels, reimbursements


def on_campaign_published(uow: UnitOfWork, event: Envelope) -> None:
    campaign = readmodels.campaign(uow.session, event.data)
    if campaign is not None:
        funds.fund_campaign(uow.session, campaign, f"event:{event.id}")


def on_campaign_closed(uow: UnitOfWork, event: Envelope) -> None:
    funds.close_campaign(uow, event.data, f"event:{event.id}")


def on_unit_upserted(uow: UnitOfWork, event: Envelope) -> None:
    readmodels.unit(uow.session, event.data)


def on_allocation_published(uow: UnitOfWork, event: Envelope) -> None:
    readmodels.allocation(uow.session, event.data)


def on_programme_published(uow: UnitOfWork, event: Envelope) -> None:
    readmodels.programme(uow.session, event.data)


def on_enrollment_registered(uow: UnitOfWork, events: list[Envelope]) -> None:
    _enrolled(uow, events, "registered", "registered_on")


def on_enrollment_admitted(uow: UnitOfWork, events: list[Envelope]) -> None:
    _enrolled(uow, events, "admitted", "admitted_on")


def _enrolled(uow: UnitOfWork, events: list[Envelope], status: str, status_on: str) -> None:
    """Batched (servicekit.service.Batched): a registration saga settles thousands of breakdowns a minute.
    An enrolment twice in the batch starts a new group, so its later event sees what the earlier one wrote."""
    for group in each_once(events):
        enrolments = readmodels.enrolments(uow.session, [(e.data, status, e.data[status_on]) for e in group])
        applied = [(row, e) for row, e in zip(enrolments, group, strict=True) if row is not None]
        settled = fees.settle_breakdowns(uow, [(row, e.data["fees"], e) for row, e in applied])
        changed = [(row, f"event:{e.id}") for (row, e), done in zip(applied, settled, strict=True) if done]
        if changed:
            reimbursements.owe_unit_shares(uow.session, [row for row, _ in changed], "on_enrolment")
            reimbursements.follow_breakdowns(uow.session, changed)
            reimbursements.facts_arrived(uow, changed)


def on_enrollment_withdrawn(uow: UnitOfWork, event: Envelope) -> None:
    _ended(uow, event, event.data)


def on_registration_rejected(uow: UnitOfWork, event: Envelope) -> None:
    """The institution rejected the registration before admission: for the money, the enrolment ends as on a
    withdrawal (no share is owed; the breakdown is cancelled)."""
    _ended(uow, event, {**event.data, "withdrawn_on": event.data["rejected_on"]})


def _ended(uow: UnitOfWork, event: Envelope, data: dict) -> None:
    enrolment = readmodels.withdrawal(uow.session, data)
    if enrolment is not None:
        fees.cancel_breakdown(uow, enrolment)
        reimbursements.facts_arrived(uow, [(enrolment, f"event:{event.id}")])


def on_enrollment_transferred(uow: UnitOfWork, event: Envelope) -> None:
    enrolment = readmodels.transfer(uow.session, event.data)
    if (
        enrolment is not None
        and enrolment.status != "withdrawn"
        and fees.settle_breakdowns(uow, [(enrolment, event.data["fees"], event)])[0] is not None
    ):
        reimbursements.follow_breakdown(uow.session, enrolment, f"event:{event.id}")


def on_certificates_issued(uow: UnitOfWork, events: list[Envelope]) -> None:
    """Batched (servicekit.service.Batched): the certificates of a batch owe their shares together, one statement
    per table (the results pipeline: thousands of certificates a minute from institution systems)."""
    certificates = readmodels.certificates(uow.session, [(e.data, "issued", e.data["issued_on"]) for e in events])
    issued = [(row, f"event:{e.id}") for row, e in zip(certificates, events, strict=True) if row is not None]
    reimbursements.certificates_issued(uow, issued)


def on_certificate_revoked(uow: UnitOfWork, event: Envelope) -> None:
    certificate = readmodels.certificate(uow.session, event.data, "revoked", event.data["revoked_on"])
    if certificate is not None:
        reimbursements.on_revoked(uow.session, certificate, f"event:{event.id}")


def on_employee_anonymised(uow: UnitOfWork, event: Envelope) -> None:
    readmodels.employee_anonymised(uow.session, event.data)


HANDLERS = {
    "campaign.published": on_campaign_published,
    "campaign.closed": on_campaign_closed,
    "unit.upserted": on_unit_upserted,
    "allocation.published": on_allocation_published,
    "programme.published": on_programme_published,
    "enrollment.registered": Batched(on_enrollment_registered),
    "enrollment.admitted": Batched(on_enrollment_admitted),
    "enrollment.withdrawn": on_enrollment_withdrawn,
    "enrollment.registration_rejected": on_registration_rejected,
    "enrollment.transferred": on_enrollment_transferred,
    "certificate.issued": Batched(on_certificates_issued),
    "certificate.revoked": on_certificate_revoked,
    "employee.anonymised": on_employee_anonymised,
}
