"""Thin event handlers: what quota learns of enrolments, breakdowns and certificates (see reservations.py)."""

from __future__ import annotations

from servicekit.service import Batched

from . import allocations, reservations


def on_registered(uow, events) -> None:
    # Skills have no admission: registration is their enrolment. Academic seats are consumed on admission.
    reservations.consume(uow, [event for event in events if event.data["kind"] == "skills"])


HANDLERS = {
    "enrollment.requested": Batched(reservations.requests),
    "enrollment.registered": Batched(on_registered),
    "enrollment.admitted": Batched(reservations.consume),
    "enrollment.withdrawn": reservations.release,
    "enrollment.registration_rejected": reservations.release,  # the seat goes back for another nominee
    "enrollment.transferred": reservations.transfer,
    "certificate.issued": Batched(reservations.spend),
    "breakdown.settled": Batched(reservations.follow_breakdown),
    "funds.transferred": allocations.funds_moved,
    "funds.reclaimed": allocations.funds_moved,
}
