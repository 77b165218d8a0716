"""The resident ID number (身份证号, GB 11643): its checks and its public mask.

Shared because enrollment identifies employees by it and the gateway links an
employee's account to the same person (servicekit.pseudonym): both must accept
exactly the same numbers, in the same normal form.
"""

from __future__ import annotations

import re
from datetime import date

from .i18n import _

# GB 11643: weights of the first 17 digits, and the check character for (sum mod 11).
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
# GB/T 2260 province-level codes (the first two digits of a region code).
PROVINCES = frozenset(
    {
        11,
        12,
        13,
        14,
        15,
        21,
        22,
        23,
        31,
        32,
        33,
        34,
        35,
        36,
        37,
        41,
        42,
        43,
        44,
        45,
        46,
        50,
        51,
        52,
        53,
        54,
        61,
        62,
        63,
        64,
        65,
        71,
        81,
        82,
    }
)
MIN_WORKING_AGE, MAX_WORKING_AGE = 16, 65


class InvalidPersonalData(ValueError):
    """Personal data that fails its checks; the message never repeats the value."""


def check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS)) % 11]


def birth_date(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def normalise_resident_id(value: str, today: date) -> str:
    """The 18-character number, upper-case X, or InvalidPersonalData saying what is wrong."""
    number = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", number):
        raise InvalidPersonalData(_("A resident ID number has 17 digits and a check digit or X (18 characters)."))
    if int(number[:2]) not in PROVINCES or number[2:4] == "00":
        raise InvalidPersonalData(_("The region code (first 6 digits) is not a Chinese region."))
    try:
        born = birth_date(number)
    except ValueError:
        raise InvalidPersonalData(_("The birth date (digits 7-14) is not a real date.")) from None
    if not MIN_WORKING_AGE <= age_on(born, today) <= MAX_WORKING_AGE:
        raise InvalidPersonalData(
            _("The birth date gives an age outside working age ({MIN_WORKING_AGE}-{MAX_WORKING_AGE}).").format(
                MIN_WORKING_AGE=MIN_WORKING_AGE, MAX_WORKING_AGE=MAX_WORKING_AGE
            )
        )
    if check_digit(number[:17]) != number[17]:
        raise InvalidPersonalData(_("The check digit does not match: the number is mistyped."))
    return number


def mask_resident_id(number: str) -> str:
    """4401**********123X: the start of the region and the last four stay visible."""
    return number[:4] + "*" * (len(number) - 8) + number[-4:]
