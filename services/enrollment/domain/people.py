"""Personal data of employees: resident ID numbers (身份证号), mobile phones, names, and their masks."""

from __future__ import annotations

import re

# The resident ID number's checks are shared with the gateway (accounts of employees).
from servicekit.i18n import _
from servicekit.personal import mask_name, mask_phone  # noqa: F401
from servicekit.resident_id import InvalidPersonalData, mask_resident_id, normalise_resident_id  # noqa: F401

MOBILE = re.compile(r"^1[3-9]\d{9}$")


def normalise_mobile(value: str) -> str:
    """A mainland mobile number (11 digits starting 13-19), with an optional +86 and separators removed."""
    digits = re.sub(r"[\s-]", "", value.strip())
    digits = re.sub(r"^(\+?86)(?=1\d{10}$)", "", digits)
    if not MOBILE.match(digits):
        raise InvalidPersonalData(_("Not a mainland mobile number (11 digits starting with 13-19)."))
    return digits
