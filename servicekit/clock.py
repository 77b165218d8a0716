"""The business day: Guangzhou time (UTC+8, no daylight saving), whatever the server's time zone.

Windows, notice periods and "not in the future" checks are dates in Guangzhou;
every service must agree on them, so none uses the server's local date.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def china_date(moment: datetime) -> date:
    """The calendar day in Guangzhou at an instant."""
    return moment.astimezone(CHINA).date()


def china_today() -> date:
    return datetime.now(CHINA).date()
