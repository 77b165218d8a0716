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


# Schooling, lowest first ([decided]: the equivalent levels of China's system rank the same).
SCHOOLING = {
    "初中": 0,
    "高中": 1,
    "中专": 1,
    "职高": 1,
    "技校": 1,
    "大专": 2,
    "专科": 2,
    "本科": 3,
    "硕士": 4,
    "研究生": 4,
    "博士": 5,
}
ENTRY_LEVEL = {"大专": ("高中", 1), "本科": ("大专", 2)}  # academic level: the schooling it needs (or above)


def schooling_refusal(education: str, kind: str, level: str) -> str | None:
    """Why the employee's schooling does not admit them to an academic programme of `level`; None if it does."""
    if kind != "academic" or level not in ENTRY_LEVEL:
        return None
    needed, rank = ENTRY_LEVEL[level]
    held = SCHOOLING.get(education.strip())
    if held is None:
        return _("Unknown schooling {education}: one of {known}.").format(
            education=education, known="、".join(SCHOOLING)
        )
    if held < rank:
        return _("A {level} programme needs {needed} or above; the employee has {education}.").format(
            level=level, needed=needed, education=education
        )
    return None
