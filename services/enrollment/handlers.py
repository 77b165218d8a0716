"""Enrollment's event handlers: thin, each one use case in the handler's transaction."""

from servicekit.bus.envelope import Envelope
from servicekit.service import Batched

from . import changes, classes, nominations, readmodels, registration


def on_quota_reserved(uow, events: list[Envelope]) -> None:
    registration.quota_reserved(uow, changes.quota_answered_all(uow, events, reserved=True))


def on_quota_refused(uow, events: list[Envelope]) -> None:
    registration.quota_refused(uow, changes.quota_answered_all(uow, events, reserved=False))


def on_unit_upserted(uow, event) -> None:
    readmodels.unit_upserted(uow.session, event.data)
    nominations.move_open_work(uow, event.data)  # a merge: open nominations go to the successor


def on_exam_results(uow, events: list[Envelope]) -> None:
    """Batched (an institution publishes a thousand results at once): the results of students in no class
    recorded in one statement; a class's student's one by one, in order, as each may send them out of the class
    and counts for the next."""
    results = [event.data for event in events]
    in_class = classes.in_a_class(uow.session, {data["enrolment_id"] for data in results})
    readmodels.exam_results_recorded(uow.session, [data for data in results if data["enrolment_id"] not in in_class])
    for data in results:
        if data["enrolment_id"] in in_class:
            readmodels.exam_results_recorded(uow.session, [data])
            classes.exam_result(uow.session, data)


HANDLERS = {
    "campaign.published": lambda uow, event: readmodels.campaign_published(uow.session, event.data),
    "campaign.closed": lambda uow, event: readmodels.campaign_closed(uow.session, event.data),
    "unit.upserted": on_unit_upserted,
    "institution.disqualified": lambda uow, event: readmodels.institution_standing(uow.session, event.data, True),
    "institution.reinstated": lambda uow, event: readmodels.institution_standing(uow.session, event.data, False),
    "institution.notified": lambda uow, event: readmodels.institution_notified(uow.session, event.data),
    "payment.recorded": lambda uow, event: readmodels.payment_recorded(uow.session, event.data, event.occurred_at),
    "quota.reserved": Batched(on_quota_reserved),
    "quota.refused": Batched(on_quota_refused),
    "exam.result_recorded": Batched(on_exam_results),
    "certificate.issued": Batched(
        lambda uow, events: readmodels.certificates_changed(uow.session, [e.data for e in events], False)
    ),
    "certificate.revoked": lambda uow, event: readmodels.certificates_changed(uow.session, [event.data], True),
    "reimbursement.paid": lambda uow, event: readmodels.reimbursement_paid(uow.session, event.data),
    # one a registration, on the saga's tail: a batch in one transaction
    "breakdown.settled": Batched(
        lambda uow, events: readmodels.breakdowns_settled(uow.session, [e.data for e in events])
    ),
    "reimbursement.recovered": lambda uow, event: readmodels.reimbursement_recovered(uow.session, event.data),
    "announcement.requested": lambda uow, event: registration.announce(uow, event.data["enrolment_id"]),
}
