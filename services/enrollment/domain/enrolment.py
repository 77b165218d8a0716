"""The life of an enrolment, from nomination to admission, as pure rules."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from servicekit.i18n import _
from servicekit.money import round_half_up

NOMINATED = "nominated"  # public notice running inside the unit
CONFIRMED = "confirmed"  # confirmed by the grassroots union after the notice; its unit has not sent the list yet
SENT = "sent"  # on a list the first-level unit sent to the institutions
REQUESTED = "requested"  # the institution registered it; waiting for quota's answer
REGISTERED = "registered"
ADMITTED = "admitted"  # academic only, after a passed entrance test
REFUSED = "refused"  # quota refused the seat or subsidy
REJECTED = "rejected"  # an objection during the public notice was upheld
WITHDRAWN = "withdrawn"  # an approved withdrawal (退学)
STATUSES = (NOMINATED, CONFIRMED, SENT, REQUESTED, REGISTERED, ADMITTED, REFUSED, REJECTED, WITHDRAWN)
INACTIVE = (REFUSED, REJECTED, WITHDRAWN)  # no longer holds the employee's one place per campaign and kind
SEEN_BY_INSTITUTION = (SENT, REQUESTED, REGISTERED, ADMITTED, REFUSED, WITHDRAWN)

UPHELD, DISMISSED = "upheld", "dismissed"
ENTRANCE_TEST_FAILED, DOCUMENTS_MISSING = "entrance_test_failed", "documents_missing"
REJECTIONS = (ENTRANCE_TEST_FAILED, DOCUMENTS_MISSING)  # why an institution rejects a registration

# How the democratic recommendation chose the nominee: a vote (表决: the votes are recorded), or a
# democratic evaluation or consultation of the workers (民主评议, 民主协商: no votes)
VOTE = "vote"
RECOMMENDATION_METHODS = (VOTE, "evaluation", "consultation")


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


def on_notice(today: date, notice_start: date, notice_ends_on: date) -> bool:
    """Whether the public notice is running: from its first day until the day before it is over."""
    return notice_start <= today < notice_ends_on


def recommendation_errors(record: dict, notice_start: date, today: date) -> dict[str, list[str]]:
    """What is wrong with a democratic recommendation record (meeting day, method, votes where voted)."""
    errors: dict[str, list[str]] = {}
    if record["meeting_on"] > min(notice_start, today):
        errors["meeting_on"] = [_("The meeting comes before the public notice (on or before its first day).")]
    given = [record.get(key) for key in ("voters", "votes_for", "votes_against", "votes_abstained")]
    counts = [count for count in given if count is not None]
    if record["method"] == VOTE:
        if len(counts) < len(given):
            errors["votes"] = [_("A vote records the voters present and the votes for, against and abstaining.")]
        elif sum(counts[1:]) > counts[0]:
            errors["votes"] = [_("More votes than voters present.")]
    elif counts:
        errors["votes"] = [_("Votes are recorded only where the nominee was chosen by vote.")]
    return errors


def confirmation_blockers(
    *, today: date, notice_ends_on: date, open_objections: int, consented: bool, recommended: bool = True
) -> list[str]:
    """Why a nomination cannot be confirmed yet; empty when it can."""
    blockers: list[str] = []
    if not recommended:
        blockers.append(_("The democratic recommendation (meeting, method, votes) is not recorded."))
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
