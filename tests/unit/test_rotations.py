"""The rotation math: turns by handover in the rotation's own time zone (across DST), overrides, bounds."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from models.rotations import Rotation, RotationsConfigIn
from services.rotations import least_loaded_reason

PARIS = ZoneInfo("Europe/Paris")


def rotation(**change) -> Rotation:
    body = {"key": "csm-primary", "members": ["ana", "ben", "cy"], "handover": "weekly", "handover_time": "09:00",
            "time_zone": "Europe/Paris", "start_date": "2026-11-30"}  # a Monday
    return Rotation.model_validate({**body, **change})


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def test_a_weekly_turn_hands_over_at_the_local_handover_time():
    weekly = rotation()
    assert weekly.on_call(paris(2026, 12, 3, 15, 0)).user_id == "ana"
    before, at = weekly.on_call(paris(2026, 12, 7, 8, 59)), weekly.on_call(paris(2026, 12, 7, 9, 0))
    assert before.user_id == "ana" and at.user_id == "ben"
    assert at.period_starts_at == paris(2026, 12, 7, 9, 0) and at.period_ends_at == paris(2026, 12, 14, 9, 0)
    assert at.reason == "on call for rotation csm-primary this week (since Mon 2026-12-07 09:00 Europe/Paris)"
    assert weekly.on_call(paris(2026, 12, 21, 9, 0)).user_id == "ana"  # the fourth turn: back to the first


def test_before_the_first_handover_the_first_member_is_on_call():
    early = rotation().on_call(paris(2026, 11, 30, 8, 0))
    assert early.user_id == "ana"
    assert early.reason == "first on call for rotation csm-primary, which starts Mon 2026-11-30 09:00 Europe/Paris"
    assert rotation().on_call(paris(2026, 11, 1, 8, 0)).user_id == "ana"


def test_a_daily_handover_keeps_its_wall_clock_time_across_a_dst_change():
    daily = rotation(handover="daily", members=["ana", "ben"], start_date="2026-10-20")
    # Paris leaves summer time on 2026-10-25: its 09:00 handover is 07:00 UTC before, 08:00 UTC after
    assert daily.on_call(datetime(2026, 10, 24, 7, 0, tzinfo=UTC)).user_id == "ana"  # the fifth turn
    assert daily.on_call(datetime(2026, 10, 25, 7, 59, tzinfo=UTC)).user_id == "ana"
    assert daily.on_call(datetime(2026, 10, 25, 8, 0, tzinfo=UTC)).user_id == "ben"
    assert daily.on_call(datetime(2026, 10, 26, 7, 59, 59, tzinfo=UTC)).user_id == "ben"
    assert daily.on_call(datetime(2026, 10, 26, 8, 0, tzinfo=UTC)).user_id == "ana"
    longer = daily.on_call(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))
    assert longer.period_ends_at - longer.period_starts_at == timedelta(hours=25)
    found = daily.on_call(datetime(2026, 10, 25, 12, 0, tzinfo=UTC))
    assert found.period_ends_at - found.period_starts_at == timedelta(hours=24)
    assert found.reason.startswith("on call for rotation csm-primary today")


def test_an_override_covers_the_scheduled_member_only_while_it_lasts():
    leave = {"user_id": "dee", "covers": "ben", "starts_at": "2026-12-08T00:00:00+01:00",
             "ends_at": "2026-12-10T00:00:00+01:00", "reason": "leave"}
    weekly = rotation(overrides=[leave])
    covered = weekly.on_call(paris(2026, 12, 9, 12, 0))
    assert (covered.user_id, covered.scheduled_user_id) == ("dee", "ben")
    assert covered.reason == "covering for ben (leave) on rotation csm-primary"
    assert weekly.on_call(paris(2026, 12, 7, 23, 59)).user_id == "ben"
    assert weekly.on_call(paris(2026, 12, 10, 0, 0)).user_id == "ben"  # the end is exclusive
    assert weekly.on_call(paris(2026, 12, 3, 12, 0)).user_id == "ana"  # ana's turn: ben's cover does not apply


@pytest.mark.parametrize("change, words", [
    ({"members": ["ana", "ana"]}, "twice"),
    ({"members": []}, "at least 1"),
    ({"time_zone": "Mars/Olympus"}, "IANA"),
    ({"time_zone": "/etc/passwd"}, "IANA"),
    ({"handover": "hourly"}, "daily"),
    ({"handover_time": "09:00+02:00"}, "wall-clock"),
    ({"start_date": "1999-12-31"}, "2000"),
    ({"key": "Has Spaces"}, "pattern"),
    ({"overrides": [{"user_id": "dee", "covers": "zed", "starts_at": "2026-12-08T00:00:00Z",
                     "ends_at": "2026-12-09T00:00:00Z"}]}, "not a member"),
    ({"overrides": [{"user_id": "dee", "covers": "ana", "starts_at": "2026-12-08T00:00:00",
                     "ends_at": "2026-12-09T00:00:00Z"}]}, "timezone"),
    ({"overrides": [{"user_id": "dee", "covers": "ana", "starts_at": "2026-12-09T00:00:00Z",
                     "ends_at": "2026-12-08T00:00:00Z"}]}, "ends after"),
    ({"overrides": [{"user_id": "ana", "covers": "ana", "starts_at": "2026-12-08T00:00:00Z",
                     "ends_at": "2026-12-09T00:00:00Z"}]}, "themselves"),
    ({"overrides": [{"user_id": "dee", "covers": "ana", "starts_at": "2026-01-01T00:00:00Z",
                     "ends_at": "2028-01-01T00:00:00Z"}]}, "at most"),
])
def test_a_rotation_is_bounded(change, words):
    with pytest.raises(ValidationError) as refused:
        rotation(**change)
    assert words in str(refused.value)


def test_a_rotation_key_is_defined_once():
    one = rotation().model_dump(mode="json")
    with pytest.raises(ValidationError, match="defined twice"):
        RotationsConfigIn.model_validate({"rotations": [one, one]})


def test_the_round_robin_reason_names_the_loads_it_compared():
    load = Counter({"dee": 3, "ana": 5, "ben": 7})
    assert least_loaded_reason("csm", ["dee", "ana", "ben"], load) == "fewest open items among the csms: 3 vs 5 (ana), 7 (ben)"
    tied = Counter({"ana": 2, "ben": 2})
    assert least_loaded_reason("csm", ["ana", "ben"], tied).endswith("2 vs 2 (ben) (a tie, broken by user id)")
    assert least_loaded_reason("ae", ["alex"], Counter({"alex": 4})) == "the only ae in the account's pod (4 open items)"
