"""The state machine of an enrolment, from nomination (人选推荐) through registration (学员建档) to admission.

Every change of an enrolment's status, and every step that needs the enrolment in a given status, is an
action here: the states it is allowed from, the state it leads to (None: the status stays), and the
integration event it announces (None: nobody outside enrollment needs to know). The use cases ask
`transition(status, action)` and apply what it answers; a refused one raises `TransitionRefused`, which
the HTTP layer answers 409 enrollment_wrong_status.

    nominated ──confirm──▶ confirmed ──send_list──▶ sent ──register──▶ requested ──quota_reserved──▶ registered ──admit──▶ admitted
        │                    ▲                    │                                        (academic only)
        └─uphold_objection─▶ rejected    refused ◀┘ quota_refused   (refused ──register──▶ requested again)
                                         refused ◀── reject_registration ── registered (the institution's)
    sent / requested / registered / admitted ──withdraw──▶ withdrawn
"""

from __future__ import annotations

from dataclasses import dataclass

from servicekit.i18n import _

from .enrolment import (
    ADMITTED,
    CONFIRMED,
    NOMINATED,
    REFUSED,
    REGISTERED,
    REJECTED,
    REQUESTED,
    SENT,
    STATUSES,
    WITHDRAWN,
)

# Nomination (the grassroots union's)
RECORD_OBJECTION = "record_objection"
DECIDE_OBJECTION = "decide_objection"  # dismissed: the nomination goes on
UPHOLD_OBJECTION = "uphold_objection"  # upheld: the employee is off the list
RECORD_CONSENT = "record_consent"
RECORD_RECOMMENDATION = "record_recommendation"
CONFIRM = "confirm"  # after the public notice: on the union's list
SEND_LIST = "send_list"  # the first-level unit sends the union's list to the institutions
# Registration (the institution's, then quota's answer)
REGISTER = "register"
QUOTA_RESERVED = "quota_reserved"
QUOTA_REFUSED = "quota_refused"
RECORD_ENTRANCE_TEST = "record_entrance_test"
REJECT_REGISTRATION = "reject_registration"  # the institution's: entrance test failed, documents missing
ADMIT = "admit"
ANNOUNCE = "announce"  # announced again, as it is, to a service that missed it
# Status changes (学籍异动)
REQUEST_WITHDRAWAL = "request_withdrawal"
REQUEST_MOVE = "request_move"  # a transfer of institution or a change of major
WITHDRAW = "withdraw"
MOVE = "move"  # the approved transfer or change of major: same status, another programme


@dataclass(frozen=True)
class Action:
    name: str
    sources: tuple[str, ...]
    target: str | None  # None: the status stays
    event: str | None  # the integration event the use case publishes, if any


@dataclass(frozen=True)
class Transition:
    action: str
    source: str
    target: str  # the status after the action
    event: str | None


ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action(RECORD_OBJECTION, (NOMINATED,), None, None),
        Action(DECIDE_OBJECTION, (NOMINATED,), None, None),
        Action(UPHOLD_OBJECTION, (NOMINATED,), REJECTED, None),
        Action(RECORD_CONSENT, (NOMINATED,), None, None),
        Action(RECORD_RECOMMENDATION, (NOMINATED,), None, None),
        Action(CONFIRM, (NOMINATED,), CONFIRMED, None),
        Action(SEND_LIST, (CONFIRMED,), SENT, None),
        Action(REGISTER, (SENT, REFUSED), REQUESTED, "enrollment.requested"),
        Action(QUOTA_RESERVED, (REQUESTED,), REGISTERED, "enrollment.registered"),
        Action(QUOTA_REFUSED, (REQUESTED,), REFUSED, None),
        Action(RECORD_ENTRANCE_TEST, (REQUESTED, REGISTERED), None, None),
        Action(ADMIT, (REGISTERED,), ADMITTED, "enrollment.admitted"),
        # before admission: the seat or subsidy goes back to the unit (registered again once the papers are in)
        Action(REJECT_REGISTRATION, (REGISTERED,), REFUSED, "enrollment.registration_rejected"),
        Action(ANNOUNCE, (REGISTERED, ADMITTED), None, None),  # the event is the status's own (see `announcement`)
        # A withdrawal may come while quota's answer is awaited; a move waits for the answer first.
        Action(REQUEST_WITHDRAWAL, (SENT, REQUESTED, REGISTERED, ADMITTED), None, None),
        Action(REQUEST_MOVE, (SENT, REGISTERED, ADMITTED), None, None),
        Action(WITHDRAW, (SENT, REQUESTED, REGISTERED, ADMITTED), WITHDRAWN, "enrollment.withdrawn"),
        Action(MOVE, (SENT, REGISTERED, ADMITTED), None, "enrollment.transferred"),
    )
}
FINAL = (REJECTED, WITHDRAWN)  # no action leads anywhere from these


class TransitionRefused(Exception):
    """The enrolment's status does not allow the action (a domain error: 409 at the HTTP layer)."""

    def __init__(self, status: str, action: str, needed: tuple[str, ...]):
        self.status, self.action, self.needed = status, action, needed
        super().__init__(
            _("The enrolment is {status}; this needs {needed}.").format(status=status, needed=" or ".join(needed))
        )


def allows(status: str, action: str) -> bool:
    return status in ACTIONS[action].sources


def transition(status: str, action: str) -> Transition:
    """What `action` does to an enrolment in `status`; TransitionRefused when the status does not allow it."""
    if status not in STATUSES:
        raise ValueError(f"unknown enrolment status {status!r}")
    rule = ACTIONS[action]
    if status not in rule.sources:
        raise TransitionRefused(status, action, rule.sources)
    return Transition(action, status, rule.target or status, rule.event)


def announcement(status: str) -> str:
    """The event that tells others of a registered or admitted enrolment as it is now."""
    transition(status, ANNOUNCE)
    return "enrollment.admitted" if status == ADMITTED else "enrollment.registered"
