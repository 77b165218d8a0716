"""The life of an enrolment, from nomination to admission, as pure rules."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from servicekit.i18n import _
from servicekit.money import round_half_up

NOMINATED = "nominated"  # public notice running inside the unit
SENT = "sent"  # confirmed by the grassroots union and sent to the institution
REQUESTED = "requested"  # the institution registered it; waiting for quota's answer
REGISTERED = "registered"
ADMITTED = "admitted"  # academic only, after a passed entrance test
REFUSED = "refused"  # quota refused the seat or subsidy
REJECTED = "rejected"  # an objection during the public notice was upheld
WITHDRAWN = "withdrawn"  # an approved withdrawal (退学)
STATUSES = (NOMINATED, SENT, REQUESTED, REGISTERED, ADMITTED, REFUSED, REJECTED, WITHDRAWN)
INACTIVE = (REFUSED, REJECTED, WITHDRAWN)  # no longer holds the employee's one place per campaign and kind
SEEN_BY_INSTITUTION = (SENT, REQUESTED, REGISTERED, ADMITTED, REFUSED, WITHDRAWN)

UPHELD, DISMISSED = "upheld", "dismissed"
ENTRANCE_TEST_FAILED, DOCUMENTS_MISSING = "entrance_test_failed", "documents_missing"
REJECTIONS = (ENTRANCE_TEST_FAILED, DOCUMENTS_MISSING)  # why an institution rejects a registration


class UnitRetired(Exception):
    """The employee's first-level unit is retired: it takes no new nominations (a domain error: 409)."""

    def __init__(self, unit_id: str):
        self.unit_id = unit_id
        super().__init__(_("Unit {parent_id} is retired: it takes no new nominations.").format(parent_id=unit_id))


def check_takes_nominations(unit_id: str, status: str) -> None:
    """A retired (or merged) first-level unit keeps its students but takes no new nomination."""
    if status == "retired":
        raise UnitRetired(unit_id)


def notice_end(start: date, days: int) -> date:
    """The day the public notice is over (start + days): confirmation is possible from that day."""
    return start + timedelta(days=days)


def confirmation_blockers(*, today: date, notice_ends_on: date, open_objections: int, consented: bool) -> list[str]:
    """Why a nomination cannot be confirmed yet; empty when it can."""
    blockers: list[str] = []
    if today < notice_ends_on:
        blockers.append(
            _("The public notice runs until {notice_ends_on}.").format(notice_ends_on=notice_ends_on.isoformat())
        )
    if open_objections:
        blockers.append(
            _("{open_objections} objection(s) still without an outcome.").format(open_objections=open_objections)
        )
    if not consented:
        blockers.append(_("The employee's consent (voluntary participation) is not recorded."))
    return blockers


def in_window(day: date, start: date, end: date) -> bool:
    return start <= day <= end


def federation_rate(default_rate: Decimal, overrides: dict[str, str], trade: str | None) -> Decimal:
    """The campaign's skills rate, or the raised rate of this trade."""
    return Decimal(overrides[trade]) if trade in overrides else default_rate


def federation_skills_share(training_fee: Decimal, rate: Decimal) -> Decimal:
    """The subsidy a skills enrolment asks quota for: the federation's share of the training fee only."""
    return round_half_up(training_fee * rate)
