"""The business clock's pure arithmetic (models/calendars.py): weekends, holidays, DST changes, closures; and the
calendar and routing-rule inputs it refuses."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from pydantic import ValidationError

from models.calendars import BusinessHours, CalendarsConfigIn, HolidaySource, in_words, zone
from models.routing import RoutingRule
from services.calendars import holiday_dates

BERLIN, NEW_YORK = "Europe/Berlin", "America/New_York"


def hours(time_zone: str, opens: int = 9, closes: int = 17, closed: list[date] = ()) -> BusinessHours:
    return BusinessHours(time_zone=time_zone, opens=time(opens), closes=time(closes), calendar="team",
                         calendar_version=1, closed=list(closed))


def local(time_zone: str, *fields: int) -> datetime:
    return datetime(*fields, tzinfo=zone(time_zone))


def due(clock: BusinessHours, start: datetime, span: timedelta) -> datetime:
    return clock.add(start.astimezone(UTC), span).astimezone(zone(clock.time_zone))


def test_friday_evening_with_a_four_hour_sla_is_due_monday_at_the_issue_s_time():
    # Issue 19's example: raised Friday 17:55, due Monday 12:55 (five minutes counted Friday: the day ends at 18:00)
    assert due(hours(BERLIN, 9, 18), local(BERLIN, 2026, 6, 12, 17, 55), timedelta(hours=4)) == local(BERLIN, 2026, 6, 15, 12, 55)
    # with 9-17 hours nothing counts on Friday evening: four hours from Monday's opening
    assert due(hours(BERLIN), local(BERLIN, 2026, 6, 12, 17, 55), timedelta(hours=4)) == local(BERLIN, 2026, 6, 15, 13, 0)


def test_hours_inside_a_day_and_across_nights():
    clock = hours(BERLIN)
    assert due(clock, local(BERLIN, 2026, 6, 10, 10, 0), timedelta(hours=4)) == local(BERLIN, 2026, 6, 10, 14, 0)
    assert due(clock, local(BERLIN, 2026, 6, 10, 15, 0), timedelta(hours=4)) == local(BERLIN, 2026, 6, 11, 11, 0)
    assert due(clock, local(BERLIN, 2026, 6, 10, 6, 0), timedelta(hours=1)) == local(BERLIN, 2026, 6, 10, 10, 0)
    assert due(clock, local(BERLIN, 2026, 6, 10, 6, 0), timedelta(0)) == local(BERLIN, 2026, 6, 10, 6, 0)
    # exactly a working day's worth ends at closing time, not at the next opening
    assert due(clock, local(BERLIN, 2026, 6, 10, 9, 0), timedelta(hours=8)) == local(BERLIN, 2026, 6, 10, 17, 0)


def test_a_holiday_is_skipped_like_a_weekend():
    independence_day = date(2026, 7, 3)  # the observed day: July 4th 2026 is a Saturday
    assert independence_day in holiday_dates(HolidaySource(country="US"), 2026)
    clock = hours(NEW_YORK, closed=holiday_dates(HolidaySource(country="US"), 2026))
    assert due(clock, local(NEW_YORK, 2026, 7, 2, 16, 0), timedelta(hours=4)) == local(NEW_YORK, 2026, 7, 6, 12, 0)
    assert due(hours(NEW_YORK), local(NEW_YORK, 2026, 7, 2, 16, 0), timedelta(hours=4)) == local(NEW_YORK, 2026, 7, 3, 12, 0)


def test_a_subdivision_has_its_own_holidays():
    bavaria = holiday_dates(HolidaySource(country="DE", subdivision="BY"), 2026)
    berlin = holiday_dates(HolidaySource(country="DE", subdivision="BE"), 2026)
    assert date(2026, 1, 6) in bavaria and date(2026, 1, 6) not in berlin  # Epiphany


def test_working_hours_stay_local_across_a_dst_change():
    clock = hours(BERLIN)
    # Berlin moves to summer time on Sunday 29 March 2026: Friday 9:00 is 08:00 UTC, Monday 9:00 is 07:00 UTC
    start = local(BERLIN, 2026, 3, 27, 15, 0)
    assert start.astimezone(UTC).hour == 14
    end = clock.add(start.astimezone(UTC), timedelta(hours=4))
    assert end.astimezone(zone(BERLIN)) == local(BERLIN, 2026, 3, 30, 11, 0)
    assert end == datetime(2026, 3, 30, 9, 0, tzinfo=UTC)
    assert end - start == timedelta(days=2, hours=19)  # one hour shorter than the same span a week earlier
    week_before = clock.add((start - timedelta(days=7)).astimezone(UTC), timedelta(hours=4))
    assert week_before - (start - timedelta(days=7)) == timedelta(days=2, hours=20)


def test_closures_and_a_shorter_working_week():
    clock = BusinessHours.model_validate({**hours(BERLIN, closed=[date(2026, 6, 15)]).model_dump(),
                                          "working_days": ["monday", "tuesday", "wednesday", "thursday"]})
    # Thursday 16:00 + 2h: one hour Thursday, Friday is not a working day, Monday is closed → Tuesday 10:00
    assert due(clock, local(BERLIN, 2026, 6, 11, 16, 0), timedelta(hours=2)) == local(BERLIN, 2026, 6, 16, 10, 0)


def test_a_calendar_with_bad_input_is_refused():
    good = {"name": "emea", "time_zone": BERLIN}
    CalendarsConfigIn.model_validate({"calendars": [good], "default": "emea"})
    for bad in ({"time_zone": "Mars/Olympus"}, {"time_zone": "../../etc/passwd"}, {"opens": "18:00", "closes": "09:00"},
                {"working_days": []}, {"working_days": ["monday", "monday"]}, {"working_days": ["mon"]},
                {"holidays": {"country": "XX"}}, {"holidays": {"country": "DE", "subdivision": "ZZ"}},
                {"closures": ["2026-01-01"] * 367}):
        with pytest.raises(ValidationError):
            CalendarsConfigIn.model_validate({"calendars": [{**good, **bad}], "default": "emea"})
    with pytest.raises(ValidationError, match="no calendar named 'apac'"):
        CalendarsConfigIn.model_validate({"calendars": [good], "default": "emea", "assignments": {"lee": "apac"}})
    with pytest.raises(ValidationError, match="share a name"):
        CalendarsConfigIn.model_validate({"calendars": [good, good], "default": "emea"})


@pytest.mark.parametrize("fields", [{"warn_at": 0}, {"warn_at": 1}, {"warn_at": 1.5}, {"repage_after": "PT0S"},
                                    {"repage_after": "P500D"}, {"clock": "lunar"}])
def test_a_routing_rule_with_bad_clock_fields_is_refused(fields):
    rule = {"family": "renewal_risk", "severity": "critical", "owners": ["ae"], "sla": "PT4H"}
    RoutingRule.model_validate({**rule, "clock": "business", "warn_at": 0.75, "repage_after": "PT2H"})
    with pytest.raises(ValidationError):
        RoutingRule.model_validate({**rule, **fields})


def test_due_in_words_to_the_nearest_minute():
    assert in_words(timedelta(minutes=59, seconds=59.8)) == "1h"
    assert in_words(timedelta(days=2, hours=15, minutes=5)) == "2d 15h 5m"
    assert in_words(timedelta(seconds=10)) == "under a minute" == in_words(timedelta(seconds=-5))
