"""An employee's request to correct their personal data (PIPL art. 46): what may be corrected, and how a
requested value is checked before anyone decides on it. Pure rules: no Flask, no SQL."""

from __future__ import annotations

from servicekit.i18n import _
from servicekit.resident_id import InvalidPersonalData

from .people import SCHOOLING, normalise_mobile

FIELDS = ("name", "phone", "education")  # the resident ID number is the person: never corrected, re-registered
OPEN, ACCEPTED, REJECTED = "open", "accepted", "rejected"
DECISIONS = {"accept": ACCEPTED, "reject": REJECTED}
MAX_NAME = 50


def normalise_value(field: str, value: str) -> str:
    """The requested value in the form the record keeps, or InvalidPersonalData saying what is wrong."""
    value = value.strip()
    if field == "phone":
        return normalise_mobile(value)
    if field == "education":
        if value not in SCHOOLING:
            raise InvalidPersonalData(
                _("Unknown schooling {education}: one of {known}.").format(education=value, known="、".join(SCHOOLING))
            )
        return value
    if not value or len(value) > MAX_NAME:
        raise InvalidPersonalData(_("A name has 1 to {limit} characters.").format(limit=MAX_NAME))
    return value


def decided_state(state: str, decision: str) -> str:
    """The state a decision leads to; only an open request is decided (ValueError otherwise)."""
    if state != OPEN:
        raise ValueError(state)
    return DECISIONS[decision]
