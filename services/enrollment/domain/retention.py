"""How long personal data of a campaign is kept (PIPL art. 19, 47), and what stays once it is anonymised.

The clock: a campaign's retention starts when the federation closes it (quota's campaign.closed, 结项); its
personal data is anonymised `retention_days` after that (default 3 years). A campaign not closed is live.
What stays: every enrolment with its status, fees, payments, results and shares (counts and money); what goes:
names, resident ID numbers, phones, the nominations' copies of them, free text about the person, and the keyed
pseudonym (replaced by a random id).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from servicekit.clock import CHINA

DEFAULT_RETENTION_DAYS = 3 * 365 + 1  # three years after the campaign's close
ANONYMOUS_NAME = "已匿名"
ANONYMOUS_TEXT = "（已匿名）"
ANONYMOUS_RESIDENT_ID = "ANONYMISED"  # not a number: it never matches a real one
ANONYMOUS_PHONE = ""


def closed_before(today: date, retention_days: int) -> datetime:
    """Campaigns closed before this moment (the start of that day in Guangzhou) are past their retention period."""
    if retention_days < 0:
        raise ValueError("retention_days")
    return datetime.combine(today - timedelta(days=retention_days), time.min, tzinfo=CHINA)
