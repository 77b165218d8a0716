"""How long personal data of a campaign is kept (PIPL art. 19, 47), and what stays once it is anonymised.

The clock: quota's campaigns have no closed state yet, so a campaign's retention starts at the end of its study
window (`study_end`, the last day of training), or at the end of its registration window for a campaign published
before enrollment kept study_end. Its personal data is anonymised `retention_days` after that (default 3 years).
What stays: every enrolment with its status, fees, payments, results and shares (counts and money); what goes:
names, resident ID numbers, phones, the nominations' copies of them, free text about the person, and the keyed
pseudonym (replaced by a random id).
"""

from __future__ import annotations

from datetime import date, timedelta

DEFAULT_RETENTION_DAYS = 3 * 365 + 1  # three years after the campaign's end
ANONYMOUS_NAME = "已匿名"
ANONYMOUS_TEXT = "（已匿名）"
ANONYMOUS_RESIDENT_ID = "ANONYMISED"  # not a number: it never matches a real one
ANONYMOUS_PHONE = ""


def retention_start(study_end: date | None, registration_end: date) -> date:
    return study_end or registration_end


def expired_before(today: date, retention_days: int) -> date:
    """Campaigns whose retention started before this day are past their retention period."""
    if retention_days < 0:
        raise ValueError("retention_days")
    return today - timedelta(days=retention_days)
