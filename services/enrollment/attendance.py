"""The attendance summary an institution reports for a student (for the training ledger): hours planned and
attended, replaced by each later report."""

from __future__ import annotations

from datetime import date

from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.refusals import Forbidden, Invalid

from .access import find_enrolment
from .domain.enrolment import ADMITTED, REGISTERED, WITHDRAWN
from .models import AttendanceSummary

REPORTABLE = (REGISTERED, ADMITTED, WITHDRAWN)


def report(uow, identity: Identity, enrolment_id: str, body: dict, on: date) -> AttendanceSummary:
    if identity.institution_id is None:
        raise Forbidden("Only the institution reports attendance.")
    enrolment = find_enrolment(uow.session, identity, enrolment_id, lock=True)
    if enrolment.status not in REPORTABLE:
        raise Invalid(
            errors={"enrolment_id": [_("The enrolment is {status}.").format(status=enrolment.status)]},
        )
    if body["hours_attended"] > body["hours_planned"]:
        raise Invalid(errors={"hours_attended": [_("Must not be more than the hours planned.")]})
    summary = uow.session.get(AttendanceSummary, enrolment_id, with_for_update=True)
    if summary is None:
        summary = AttendanceSummary(enrolment_id=enrolment_id)
        uow.session.add(summary)
    summary.hours_planned, summary.hours_attended = body["hours_planned"], body["hours_attended"]
    summary.note, summary.reported_on, summary.reported_by = body.get("note"), on, identity.subject
    uow.session.flush()
    return summary
