"""Notices (通报) and their rectification (整改): the federation gives the institution a date to report by, the
institution reports what it corrected (again, as a revision, until the report is accepted), the federation accepts
the report or not (saying why). Every step is audited by the API (who, when, old, new, why); the row is locked while
it changes, and the database refuses a verdict without a report."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import Select, and_, case, select

from servicekit.clock import CHINA, china_today
from servicekit.db import utcnow
from servicekit.i18n import _
from servicekit.identity import Identity
from servicekit.paging import Listing
from servicekit.refusals import Invalid, NotFound
from servicekit.workdays import CalendarMissing

from .models import Notice, as_dict
from .problems import DEADLINE_NEEDED, NO_REPORT_YET, RECTIFICATION_CLOSED, VERDICT_GIVEN
from .schemas import NoticeQuery

RESPOND_WITHIN_WORKING_DAYS = 10
AWAITING_REPORT = ("open", "overdue", "not_accepted")

NOTICES = Listing(
    "Notices",
    id=Notice.notice_id,
    sorts={"issued_at": Notice.issued_at},
    default_sort="-issued_at",
    filters={"campaign_id": Notice.campaign_id, "institution_id": Notice.institution_id},
    ranges={"issued_at": Notice.issued_at},
    base=NoticeQuery,
)


def state_of(today: date):
    """The notice's state as SQL: the verdict, else answered (a report), else overdue / open by the due date."""
    return case(
        (Notice.verdict.is_not(None), Notice.verdict),
        (Notice.report.is_not(None), "answered"),
        (and_(Notice.respond_by.is_not(None), Notice.respond_by < today), "overdue"),
        else_="open",
    )


def notices_query(identity: Identity, args: dict) -> Select:
    query = select(Notice)
    if not identity.is_federation:
        query = query.where(Notice.institution_id == identity.institution_id)
    wanted = args.get("state")
    if wanted:
        states = AWAITING_REPORT if wanted == "awaiting_report" else (wanted,)
        query = query.where(state_of(china_today()).in_(states))
    return query


def view(notice: Notice, today: date | None = None) -> dict:
    today = today or china_today()
    row = as_dict(notice)
    if notice.verdict:
        state = notice.verdict
    elif notice.report is not None:
        state = "answered"
    elif notice.respond_by is not None and notice.respond_by < today:
        state = "overdue"
    else:
        state = "open"
    due = notice.respond_by
    return {
        **row,
        "state": state,
        "overdue": state == "overdue",
        "days_left": (due - today).days if due else None,
        "reported_late": (notice.reported_at.astimezone(CHINA).date() > due) if (due and notice.reported_at) else None,
    }


def due_date(calendar, respond_by: date | None) -> date:
    """The date given (today or later), else 10 working days from today by the calendar evaluation holds."""
    today = china_today()
    if respond_by is not None:
        if respond_by < today:
            raise Invalid(errors={"respond_by": [_("The due date cannot be in the past.")]})
        return respond_by
    try:
        return calendar.after(today, RESPOND_WITHIN_WORKING_DAYS)
    except CalendarMissing as exc:
        raise DEADLINE_NEEDED(
            _("No working-day calendar for {year}: give the date the report is due.").format(year=exc.year),
            errors={"respond_by": [_("Give the date the report is due.")]},
        ) from None


def issue(uow, decision: dict, respond_by: date) -> dict:
    """The rectification of a notice just given (its `notified` decision)."""
    uow.session.flush()  # the decision first: the notice refers to it
    notice = Notice(
        notice_id=str(uuid.uuid4()),
        institution_id=decision["institution_id"],
        revision=decision["revision"],
        campaign_id=decision["campaign_id"],
        reason=decision["reason"],
        issued_at=decision["decided_at"],
        respond_by=respond_by,
        report_revision=0,
    )
    uow.session.add(notice)
    uow.session.flush()
    return view(notice)


def _locked(session, identity: Identity, notice_id: str) -> Notice:
    notice = session.get(Notice, notice_id, with_for_update=True, populate_existing=True)
    if notice is None or (not identity.is_federation and notice.institution_id != identity.institution_id):
        raise NotFound("No such notice among yours.")
    return notice


def get(session, identity: Identity, notice_id: str) -> dict:
    notice = session.get(Notice, notice_id)
    if notice is None or (not identity.is_federation and notice.institution_id != identity.institution_id):
        raise NotFound("No such notice among yours.")
    return view(notice)


def report(uow, identity: Identity, notice_id: str, text: str) -> tuple[Notice, bool]:
    """The institution's rectification report: the first, or a revision (which clears a refusal's verdict)."""
    notice = _locked(uow.session, identity, notice_id)
    if notice.verdict == "accepted":
        raise RECTIFICATION_CLOSED(_("The rectification was accepted on {day}.").format(day=notice.verdict_at.date()))
    revised = notice.report is not None
    notice.report = text
    notice.report_revision += 1
    notice.reported_by = identity.subject
    notice.reported_at = utcnow()
    notice.verdict = notice.verdict_reason = notice.verdict_by = notice.verdict_at = None
    return notice, revised


def judge(uow, identity: Identity, notice_id: str, accepted: bool, reason: str | None) -> Notice:
    notice = _locked(uow.session, identity, notice_id)
    if notice.report is None:
        raise NO_REPORT_YET()
    if notice.verdict is not None:
        raise VERDICT_GIVEN()
    notice.verdict = "accepted" if accepted else "not_accepted"
    notice.verdict_reason = reason
    notice.verdict_by = identity.subject
    notice.verdict_at = utcnow()
    return notice


def set_due_date(uow, identity: Identity, notice_id: str, respond_by: date) -> Notice:
    notice = _locked(uow.session, identity, notice_id)
    if notice.verdict == "accepted":
        raise RECTIFICATION_CLOSED()
    notice.respond_by = due_date(None, respond_by)
    return notice
