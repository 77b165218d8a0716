"""Use cases of the working-day calendar: the federation loads a year (announced as calendar.loaded); rosters
are counted on it."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import delete, select

from servicekit.db import utcnow
from servicekit.i18n import _
from servicekit.refusals import Invalid

from .domain.workdays import CalendarMissing, WorkCalendar
from .models import CalendarDay, CalendarYear


def work_calendar(session) -> WorkCalendar:
    loaded: dict[int, dict] = defaultdict(dict)
    for year in session.scalars(select(CalendarYear.year)):
        loaded[year] = {}
    for day in session.scalars(select(CalendarDay)):
        loaded[day.year][day.day] = day.workday
    return WorkCalendar(dict(loaded))


def _plausible(year: int) -> None:
    if not 2000 <= year <= 2100:
        raise Invalid(errors={"year": [_("Must be between 2000 and 2100.")]})


def load_year(uow, year: int, days: list[dict], loaded_by: str) -> dict:
    """Replace a year's exceptions: public holidays on weekdays and make-up working days at weekends."""
    _plausible(year)
    wrong = [d["day"].isoformat() for d in days if d["day"].year != year]
    if wrong:
        raise Invalid(_("Every day must be in {year}.").format(year=year), errors={"days": wrong})
    listed = [d["day"] for d in days]
    twice = sorted({d.isoformat() for d in listed if listed.count(d) > 1})
    if twice:
        raise Invalid("A day is listed twice.", errors={"days": twice})
    session = uow.session
    session.execute(delete(CalendarDay).where(CalendarDay.year == year))
    loaded_at = utcnow()
    session.merge(CalendarYear(year=year, loaded_by=loaded_by, loaded_at=loaded_at))
    session.flush()
    session.add_all(CalendarDay(year=year, **d) for d in days)
    view = year_view(session, year)
    uow.publish(  # evaluation counts working days on the same calendar
        "calendar.loaded",
        {
            "year": year,
            "loaded_at": loaded_at.isoformat(),
            "days": [{"day": d["day"].isoformat(), "workday": d["workday"], "name": d["name"]} for d in view["days"]],
        },
    )
    return view


def year_view(session, year: int) -> dict:
    _plausible(year)
    days = list(session.scalars(select(CalendarDay).where(CalendarDay.year == year).order_by(CalendarDay.day)))
    loaded = session.get(CalendarYear, year)
    return {
        "year": year,
        "source": "federation" if loaded else _builtin_source(year),
        "days": [{"day": d.day, "workday": d.workday, "name": d.name} for d in days],
    }


def _builtin_source(year: int) -> str:
    try:
        WorkCalendar({}).is_workday(date(year, 1, 1))
        return "chinesecalendar"
    except CalendarMissing:
        return "missing"
