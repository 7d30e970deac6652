"""Working days: weekends, public holidays and make-up working weekends (调休), in China time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from marketplace.kit.workdays import CHINA_TZ, WorkCalendar, add_workdays

CST = CHINA_TZ


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=CST)


@pytest.mark.parametrize(
    ("start", "days", "end"),
    [
        ("2031-01-06", 5, "2031-01-13"),  # Monday + 5 -> next Monday
        ("2031-01-10", 1, "2031-01-13"),  # Friday + 1 -> Monday
        ("2031-01-10", 5, "2031-01-17"),  # Friday + 5 -> next Friday
        ("2031-01-11", 5, "2031-01-17"),  # Saturday: counting starts Monday
        ("2031-01-12", 0, "2031-01-13"),  # Sunday + 0 -> Monday
        ("2031-01-08", 0, "2031-01-08"),
    ],
)
def test_weekends_are_skipped(start: str, days: int, end: str) -> None:
    assert add_workdays(at(start), days) == at(end)


def test_holidays_and_makeup_days() -> None:
    # A holiday week from Thursday, with the Sunday before worked instead.
    holidays = [date(2031, 1, 16) + timedelta(days=i) for i in range(4)]
    calendar = WorkCalendar.of(holidays=holidays, makeup_workdays=[date(2031, 1, 12)])
    assert calendar.is_workday(date(2031, 1, 12)) and not calendar.is_workday(date(2031, 1, 16))
    assert calendar.add_workdays(at("2031-01-10"), 1) == at("2031-01-12")  # Friday -> the worked Sunday
    assert calendar.add_workdays(at("2031-01-14"), 3) == at("2031-01-21")  # Tue -> Wed, (Thu-Sun off), Mon, Tue


def test_days_are_counted_in_china_time_and_the_zone_is_kept() -> None:
    # Friday 23:00 UTC is already Saturday 07:00 in China.
    friday_night_utc = datetime(2031, 1, 10, 23, 0, tzinfo=UTC)
    result = add_workdays(friday_night_utc, 1)
    assert result.tzinfo is UTC
    assert result.astimezone(CST) == datetime(2031, 1, 13, 7, 0, tzinfo=CST)


def test_bad_input() -> None:
    with pytest.raises(ValueError):
        add_workdays(at("2031-01-06"), -1)
    with pytest.raises(ValueError):
        add_workdays(datetime(2031, 1, 6), 1)
