"""Chinese working days counted for rosters: the calendar itself is servicekit.workdays (evaluation counts on it
too, from the years enrollment announces)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from servicekit.workdays import CalendarMissing, WorkCalendar

__all__ = ["CalendarMissing", "WorkCalendar", "roster_deadline"]


def roster_deadline(opens_on: date, lead_working_days: int, is_workday: Callable[[date], bool]) -> date:
    """The last day a roster may be submitted: `lead_working_days` working days before the opening day."""
    day, counted = opens_on, 0
    while counted < lead_working_days:
        day -= timedelta(days=1)
        counted += is_workday(day)
    return day
