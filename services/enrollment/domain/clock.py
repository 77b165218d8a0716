"""The business day: Guangzhou time (UTC+8, no daylight saving)."""
from datetime import date, datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def today() -> date:
    return datetime.now(CHINA).date()
