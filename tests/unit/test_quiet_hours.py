"""Quiet hours in a person's own zone: when a page that falls inside them may be sent (issue 19 item 5)."""

from datetime import UTC, datetime, time

import pytest
from pydantic import ValidationError

from models.channels import QuietHours, masked


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_overnight_quiet_hours_end_the_next_local_morning_and_pages_outside_them_are_not_held():
    berlin = QuietHours(start=time(22), end=time(7), zone="Europe/Berlin")
    assert berlin.end_after(at("2026-12-02T23:30:00+01:00")) == at("2026-12-03T07:00:00+01:00")
    assert berlin.end_after(at("2026-12-03T06:59:00+01:00")) == at("2026-12-03T07:00:00+01:00")
    assert berlin.end_after(at("2026-12-03T07:00:00+01:00")) is None
    assert berlin.end_after(at("2026-12-02T21:59:00+01:00")) is None


def test_daytime_quiet_hours_and_a_dst_change_inside_them():
    lunch = QuietHours(start=time(12), end=time(13, 30), zone="America/New_York")
    assert lunch.end_after(at("2026-07-01T12:10:00-04:00")) == at("2026-07-01T13:30:00-04:00")
    assert lunch.end_after(at("2026-07-01T13:31:00-04:00")) is None
    night = QuietHours(start=time(22), end=time(7), zone="Europe/Berlin")  # clocks go back at 03:00 on 25 October
    assert night.end_after(at("2026-10-24T23:00:00+02:00")) == at("2026-10-25T07:00:00+01:00")


@pytest.mark.parametrize("fields", [dict(start="22:00", end="22:00", zone="UTC"), dict(start="22:00", end="07:00", zone="Nowhere/City"),
                                    dict(start="22:00+01:00", end="07:00", zone="UTC")])
def test_empty_unknown_zone_or_offset_quiet_hours_are_refused(fields):
    with pytest.raises(ValidationError):
        QuietHours(**fields)


def test_a_masked_slack_url_keeps_only_its_host():
    assert masked("https://hooks.slack.com/services/T1/B2/secret") == "https://hooks.slack.com/…"
    assert masked(None) is None
