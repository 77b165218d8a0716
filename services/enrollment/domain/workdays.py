"""Chinese working days: the official calendar (chinesecalendar) or a year the federation loaded.

A date in a year nobody has data for is an error, never a guess: counting plain
weekdays would silently accept a roster submitted over a public holiday.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import chinese_calendar


class CalendarMissing(LookupError):
    def __init__(self, year: int):
        self.year = year
        super().__init__(
            f"No working-day calendar for {year}: the federation must load that year's "
            "public holidays and make-up working days."
        )


class WorkCalendar:
    """`loaded` maps a year the federation loaded to its exceptions: day -> is it a working day."""

    def __init__(self, loaded: dict[int, dict[date, bool]]):
        self.loaded = loaded

    def is_workday(self, day: date) -> bool:
        if day.year in self.loaded:
            return self.loaded[day.year].get(day, day.weekday() < 5)
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            raise CalendarMissing(day.year) from None


def roster_deadline(opens_on: date, lead_working_days: int, is_workday: Callable[[date], bool]) -> date:
    """The last day a roster may be submitted: `lead_working_days` working days before the opening day."""
    day, counted = opens_on, 0
    while counted < lead_working_days:
        day -= timedelta(days=1)
        counted += is_workday(day)
    return day
