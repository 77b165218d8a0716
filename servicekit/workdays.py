"""Chinese working days: the official calendar (chinesecalendar) or a year the federation loaded.

Enrollment owns the loaded years (PUT /api/enrollment/calendar/{year}) and announces each one
(`calendar.loaded`); every service that counts working days keeps its copy and counts on this.
A date in a year nobody has data for is an error, never a guess: counting plain weekdays would
silently accept a roster submitted over a public holiday.
"""

from __future__ import annotations

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

    def working_days(self, start: date, end: date) -> int:
        """The working days d with start <= d < end."""
        return sum(1 for n in range((end - start).days) if self.is_workday(start + timedelta(days=n)))

    def after(self, start: date, count: int) -> date:
        """The day `count` working days after `start` (the `count`-th working day following it)."""
        day, found = start, 0
        while found < count:
            day += timedelta(days=1)
            found += self.is_workday(day)
        return day
