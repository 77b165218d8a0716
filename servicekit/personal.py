"""Personal data kept out of logs, dead-letter headers and error details (PIPL).

`scrub(text)` masks what looks like a resident ID number (18 characters, GB 11643), a mainland mobile
number, and the value of a name field (`"name": "张三丰"`, `(name)=(张三丰)` as PostgreSQL reports a
conflicting key), the way lists show them: 4401**********123X, 138****0001, 张*丰. Every log line passes
through it (servicekit.logging), and so does every reason a message is parked with.
"""

from __future__ import annotations

import re

from .resident_id import mask_resident_id

RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
NAME_KEYS = r"name|full_name|holder_name|student_name|employee_name|contact_name"
NAME_FIELD = re.compile(
    rf"""(?P<key>["']?\b(?:{NAME_KEYS})["']?\s*[:=]\s*["'])(?P<value>[^"'\n]{{1,60}})(?P<end>["'])"""
    rf"""|(?P<pgkey>\((?:{NAME_KEYS})\)=\()(?P<pgvalue>[^)\n]{{1,60}})\)"""
)


def mask_name(name: str) -> str:
    """张* / 张*丰 / 欧**娜: the first character, and for names of three or more the last, stay visible."""
    name = name.strip()
    if len(name) < 3:
        return name[:1] + "*"
    return name[0] + "*" * min(len(name) - 2, 28) + name[-1]


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:]


def _name(match: re.Match) -> str:
    if match.group("key"):
        return f"{match.group('key')}{mask_name(match.group('value'))}{match.group('end')}"
    return f"{match.group('pgkey')}{mask_name(match.group('pgvalue'))})"


def scrub(text: str) -> str:
    """`text` with resident ID numbers, mobile numbers and name fields masked."""
    if not text:
        return text
    text = RESIDENT_ID.sub(lambda m: mask_resident_id(m.group(0)), text)
    text = MOBILE.sub(lambda m: mask_phone(m.group(0)), text)
    return NAME_FIELD.sub(_name, text)
