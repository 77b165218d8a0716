"""Status changes (学籍异动): withdrawal, transfer of institution, change of major; who decides each step."""

from __future__ import annotations

from servicekit.i18n import _

WITHDRAWAL, TRANSFER, MAJOR_CHANGE = "withdrawal", "transfer", "major_change"
KINDS = (WITHDRAWAL, TRANSFER, MAJOR_CHANGE)
REQUESTED_CHANGE, UNIT_AGREED, APPROVED, DECLINED = "requested", "unit_agreed", "approved", "declined"
# Approved, but the new programme's subsidy differs: quota is asked to hold the new amount first.
AWAITING_QUOTA, REFUSED = "awaiting_quota", "refused"
OPEN = (REQUESTED_CHANGE, UNIT_AGREED)  # waiting for someone's decision
UNFINISHED = (*OPEN, AWAITING_QUOTA)  # the enrolment's one open change
# Which enrolment statuses allow a change: the enrolment's lifecycle (domain/lifecycle.py).


def next_step(kind: str, state: str, role: str) -> str | None:
    """The state an approval by `role` leads to, or None when that role does not decide this step.

    The unit (which holds the quota) approves a withdrawal; a transfer or a change of major needs the
    unit's agreement and then the federation's review.
    """
    if state == REQUESTED_CHANGE and role == "unit_officer":
        return APPROVED if kind == WITHDRAWAL else UNIT_AGREED
    if state == UNIT_AGREED and role == "federation_admin":
        return APPROVED
    return None


def move_problem(
    kind: str, from_institution: str, to_institution: str, from_kind: str, to_kind: str, same_programme: bool
) -> str | None:
    """Why the target programme does not fit the change, or None."""
    if same_programme:
        return _("The target is the current programme.")
    if from_kind != to_kind:
        return _("The target programme is of another kind.")
    if kind == TRANSFER and from_institution == to_institution:
        return _("A transfer goes to another institution; within one it is a change of major.")
    if kind == MAJOR_CHANGE and (from_institution != to_institution or from_kind != "academic"):
        return _("A change of major stays at the same institution, for academic enrolments.")
    return None
