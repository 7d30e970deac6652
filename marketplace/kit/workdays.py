"""Working days in China: weekends off, plus optional public holidays and make-up working days (调休)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone

# Working days are counted on the China Standard Time calendar (UTC+8, no daylight saving).
CHINA_TZ = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Which calendar days are working days: Monday-Friday, minus holidays, plus make-up working weekends."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    makeup_workdays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def of(cls, *, holidays: Iterable[date] = (), makeup_workdays: Iterable[date] = ()) -> WorkCalendar:
        """A calendar from any iterables of dates."""
        return cls(frozenset(holidays), frozenset(makeup_workdays))

    def is_workday(self, day: date) -> bool:
        """Whether people work on this calendar day."""
        if day in self.makeup_workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def add_workdays(self, start: datetime, days: int) -> datetime:
        """The instant `days` working days after `start`'s China calendar day, at the same time of day.

        Only working days after that day count, so 5 working days from a Saturday end on the next Friday;
        the result always falls on a working day (0 days from a Sunday is Monday).
        """
        if days < 0:
            raise ValueError("days must not be negative")
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        local = start.astimezone(CHINA_TZ)
        day = local.date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        while not self.is_workday(day):
            day += timedelta(days=1)
        return datetime.combine(day, local.timetz()).astimezone(start.tzinfo)


WEEKENDS_ONLY = WorkCalendar()


def add_workdays(start: datetime, days: int, calendar: WorkCalendar = WEEKENDS_ONLY) -> datetime:
    """The instant `days` working days after `start` (see WorkCalendar.add_workdays)."""
    return calendar.add_workdays(start, days)
