"""Rituals' time arithmetic and config validation: pure functions, no server."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from models.rituals import FlywheelSettings, RitualDef, RitualKind, RitualsConfigIn
from services.rituals import (
    DEFAULT_RITUALS,
    agenda_id_for,
    build_slot,
    build_times,
    calendar_for,
    flywheel_times,
    meeting_for,
    motion_slug,
    next_meeting_after,
    previous_weekday_start,
)


def ritual(**fields) -> RitualDef:
    return RitualDef.model_validate({"key": "triage", "kind": "signal_triage", "name": "Triage", "day": "monday", "time": "09:00",
                                     "timezone": "America/New_York", **fields})


def test_the_build_slot_is_the_meeting_minus_the_lead_on_the_wall_clock():
    assert build_slot(ritual()) == (0, 8, 0, 0)
    assert build_slot(ritual(time="00:30")) == (6, 23, 30, 0)  # Monday 00:30 less an hour: Sunday 23:30
    assert build_slot(ritual(lead="P2DT30S")) == (5, 8, 59, 30)
    spec = calendar_for(ritual(time="00:30"))
    calendar = spec.calendars[0]
    assert spec.time_zone_name == "America/New_York"
    assert [(r.start, r.end) for r in calendar.day_of_week] == [(0, 0)]  # Temporal's Sunday
    assert (calendar.hour[0].start, calendar.minute[0].start, calendar.second[0].start) == (23, 30, 0)


def test_build_times_follow_the_time_zone_across_daylight_saving():
    # 2026-03-08: New York moves from UTC-5 to UTC-4. The 09:00 meeting stays at 09:00 local.
    times = build_times(ritual(), datetime(2026, 2, 28, tzinfo=UTC), datetime(2026, 3, 17, tzinfo=UTC))
    assert times == [datetime(2026, 3, 2, 13, tzinfo=UTC), datetime(2026, 3, 9, 12, tzinfo=UTC), datetime(2026, 3, 16, 12, tzinfo=UTC)]
    assert [meeting_for(ritual(), t) for t in times] == [t + timedelta(hours=1) for t in times]
    # a lead across the change: built Saturday 09:00 EST, meeting Monday 09:00 EDT (47 hours later, not 48)
    long = ritual(lead="P2D")
    built = build_times(long, datetime(2026, 3, 6, tzinfo=UTC), datetime(2026, 3, 8, tzinfo=UTC))
    assert built == [datetime(2026, 3, 7, 14, tzinfo=UTC)] and meeting_for(long, built[0]) == datetime(2026, 3, 9, 13, tzinfo=UTC)
    assert build_times(ritual(), datetime(2026, 3, 2, 13, tzinfo=UTC), datetime(2026, 3, 2, 13, tzinfo=UTC)) == []  # strictly after


def meetings(r: RitualDef, after: datetime, until: datetime) -> list[str]:
    return [meeting_for(r, at).astimezone(UTC).date().isoformat() for at in build_times(r, after, until)]


def test_a_ritual_meets_every_week_every_other_week_monthly_or_quarterly():
    year = (datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 12, 31, tzinfo=UTC))
    assert len(meetings(ritual(), *year)) == 52
    biweekly = meetings(ritual(every="biweekly", anchor="2027-01-04"), *year)
    assert biweekly[:3] == ["2027-01-04", "2027-01-18", "2027-02-01"] and len(biweekly) == 26
    # the anchor may be any day of a meeting week; the week after it is not one
    assert meetings(ritual(every="biweekly", anchor="2027-01-08"), *year)[:2] == ["2027-01-04", "2027-01-18"]
    assert meetings(ritual(every="biweekly", anchor="2027-01-11"), *year)[:2] == ["2027-01-11", "2027-01-25"]
    monthly = meetings(ritual(every="monthly", day="tuesday"), *year)
    assert monthly[:3] == ["2027-01-05", "2027-02-02", "2027-03-02"] and len(monthly) == 12
    assert meetings(ritual(every="quarterly"), *year) == ["2027-01-04", "2027-04-05", "2027-07-05", "2027-10-04"]


def test_the_next_meeting_of_a_recurrence_closes_the_agenda_before_it():
    at = datetime(2027, 1, 4, 14, tzinfo=UTC)  # Monday 09:00 in New York
    assert next_meeting_after(ritual(), at) == datetime(2027, 1, 11, 14, tzinfo=UTC)
    assert next_meeting_after(ritual(every="biweekly", anchor="2027-01-04"), at) == datetime(2027, 1, 18, 14, tzinfo=UTC)
    assert next_meeting_after(ritual(every="monthly"), at) == datetime(2027, 2, 1, 14, tzinfo=UTC)
    assert next_meeting_after(ritual(every="quarterly"), at) == datetime(2027, 4, 5, 13, tzinfo=UTC)  # EDT by then


def test_windows_and_ids():
    meeting = datetime(2026, 11, 30, 14, tzinfo=UTC)  # Monday 09:00 in New York
    assert previous_weekday_start(meeting, "America/New_York", 4) == datetime(2026, 11, 27, 5, tzinfo=UTC)  # Friday 00:00 local
    friday = datetime(2026, 11, 27, 20, tzinfo=UTC)
    assert previous_weekday_start(friday, "America/New_York", 4) == datetime(2026, 11, 20, 5, tzinfo=UTC)  # the Friday before
    assert previous_weekday_start(friday, "America/New_York", 0, strictly_before=False) == datetime(2026, 11, 23, 5, tzinfo=UTC)
    assert motion_slug("Higher Ed / K-12") == "higher-ed-k-12"
    assert agenda_id_for("signal_triage", "Higher Ed", meeting) == "agd-signal_triage-higher-ed-20261130T1400Z"


def test_flywheel_runs_on_its_day_of_each_month():
    settings = FlywheelSettings(day_of_month=1, time="06:00", timezone="UTC")
    assert flywheel_times(settings, datetime(2026, 11, 24, tzinfo=UTC), datetime(2027, 2, 1, 6, tzinfo=UTC)) == [
        datetime(2026, 12, 1, 6, tzinfo=UTC), datetime(2027, 1, 1, 6, tzinfo=UTC), datetime(2027, 2, 1, 6, tzinfo=UTC)]


@pytest.mark.parametrize("change, message", [
    ({"timezone": "Mars/Olympus"}, "is not an IANA time zone"),
    ({"time": "9am"}, "is not a time of day as HH:MM"),
    ({"lead": "P7D"}, "shorter than a week"),
    ({"lead": "PT0S"}, "longer than zero"),
    ({"motions": ["all", "academic"]}, "`all` already covers every account"),
    ({"motions": ["academic", "academic"]}, "listed twice"),
    ({"day": "someday"}, "day"),
    ({"webhook_url": "not a url"}, "webhook_url"),
])
def test_a_bad_ritual_is_refused_with_a_reason(change, message):
    with pytest.raises(ValidationError, match=message):
        ritual(**change)


def test_the_default_config_is_valid_and_keys_are_unique():
    config = RitualsConfigIn.model_validate(DEFAULT_RITUALS)
    assert [r.day.value for r in config.rituals[:5]] == ["monday", "tuesday", "wednesday", "thursday", "friday"]
    assert [(r.key, r.every.value, r.day.value) for r in config.rituals[5:]] == [  # every cadence the stack names (issue 16)
        ("renewal_triage", "biweekly", "tuesday"), ("pipeline_review", "weekly", "monday"), ("territory_review", "monthly", "wednesday"),
        ("business_review", "quarterly", "thursday"), ("board_prep", "weekly", "monday")]
    assert {r.kind for r in config.rituals} == set(RitualKind)  # every kind has a default ritual
    twice = {**DEFAULT_RITUALS, "rituals": DEFAULT_RITUALS["rituals"] + DEFAULT_RITUALS["rituals"][:1]}
    with pytest.raises(ValidationError, match="two rituals with key 'signal_triage'"):
        RitualsConfigIn.model_validate(twice)
