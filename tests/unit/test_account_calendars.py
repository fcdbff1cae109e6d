"""Account calendars as pure functions: phases that wrap the new year, one-off windows, Feb 29, the calendar's own
time zone, the next windows, and the thresholds a phase puts in force (phase, then motion, then default)."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from models.account_calendars import AccountCalendarsIn
from models.detection import SignalDefinitions
from services.account_calendars import DEFAULT_ACCOUNT_CALENDARS, next_windows, phase_names, phases_at
from services.layer_config import DEFAULT_SIGNAL_DEFINITIONS

DEFAULTS = AccountCalendarsIn.model_validate(DEFAULT_ACCOUNT_CALENDARS)
DEFINITIONS = SignalDefinitions.model_validate({**DEFAULT_SIGNAL_DEFINITIONS, "version": 1})


def names(at: datetime, motion: str = "academic", calendars: AccountCalendarsIn = DEFAULTS) -> list[str]:
    return sorted(phase_names(calendars, "some-account", motion, at))


def test_the_academic_year_wraps_the_new_year_and_days_begin_in_the_calendars_zone():
    assert names(datetime(2027, 1, 5, 12, tzinfo=UTC)) == ["winter_break"]  # began December 21, 2026
    assert names(datetime(2026, 12, 20, 12, tzinfo=UTC)) == ["exams"]
    # exams end with December 20 in New York: 04:59 UTC on the 21st is still the 20th there
    assert names(datetime(2026, 12, 21, 4, 59, tzinfo=UTC)) == ["exams"]
    assert names(datetime(2026, 12, 21, 5, 0, tzinfo=UTC)) == ["winter_break"]
    assert names(datetime(2027, 3, 15, tzinfo=UTC)) == ["budget_window", "mid_term"]  # the fiscal calendar too
    assert names(datetime(2027, 7, 4, tzinfo=UTC)) == ["summer_break"]
    assert names(datetime(2027, 3, 15, tzinfo=UTC), motion="credentialed") == ["budget_window", "pre_assessment"]
    assert names(datetime(2027, 3, 15, tzinfo=UTC), motion="corporate") == []  # a motion with no calendar


def test_one_off_windows_feb_29_and_an_accounts_own_calendars():
    calendars = AccountCalendarsIn.model_validate({
        "calendars": [{"key": "visit", "name": "Accreditation visit", "kind": "accreditation",
                       "phases": [{"name": "site_visit", "start": "2027-04-10", "end": "2027-04-12"},
                                  {"name": "leap_day", "start": "02-29", "end": "02-29"}]}],
        "by_motion": {"academic": []}, "by_account": {"some-account": ["visit"]}})
    assert names(datetime(2027, 4, 12, 23, tzinfo=UTC), calendars=calendars) == ["site_visit"]
    assert names(datetime(2027, 4, 13, tzinfo=UTC), calendars=calendars) == []
    assert names(datetime(2028, 4, 11, tzinfo=UTC), calendars=calendars) == []  # once, not every year
    assert names(datetime(2027, 2, 28, 12, tzinfo=UTC), calendars=calendars) == ["leap_day"]  # Feb 28 in other years
    assert names(datetime(2028, 2, 29, 12, tzinfo=UTC), calendars=calendars) == ["leap_day"]


def test_next_windows_give_each_phases_next_start_soonest_first():
    upcoming = next_windows(DEFAULTS.for_account("a", "academic"), datetime(2027, 1, 5, tzinfo=UTC))
    assert [(w.phase, w.starts_at.date().isoformat()) for w in upcoming][:4] == [
        ("term_start", "2027-01-11"), ("mid_term", "2027-02-01"), ("budget_window", "2027-02-01"), ("exams", "2027-04-20")]
    assert {w.phase for w in upcoming} == {"term_start", "mid_term", "exams", "winter_break", "summer_break",
                                          "budget_window", "fiscal_year_end"}


def test_a_phase_overrides_the_motions_threshold_and_a_quiet_phase_silences_the_family():
    decay = next(d for d in DEFINITIONS.definitions if d.family == "adoption_decay")
    [condition] = decay.conditions
    assert decay.threshold(condition, "academic") == 45
    assert decay.threshold(condition, "academic", frozenset({"exams"})) == 60
    assert decay.threshold(condition, None, frozenset({"exams"})) == 60
    assert decay.quiet_in(frozenset({"summer_break"})) and not decay.quiet_in(frozenset({"exams"}))


def test_config_naming_an_unknown_calendar_or_a_bad_day_is_refused():
    with pytest.raises(ValidationError, match="unknown calendar"):
        AccountCalendarsIn.model_validate({"calendars": [], "by_motion": {"academic": ["nope"]}})
    for start, end in (("02-30", "03-01"), ("2027-05-01", "2027-04-01"), ("04-01", "2027-04-02"), ("13-01", "01-01")):
        with pytest.raises(ValidationError):
            AccountCalendarsIn.model_validate({"calendars": [{"key": "c", "name": "c", "kind": "custom",
                                                              "phases": [{"name": "p", "start": start, "end": end}]}]})
    with pytest.raises(ValidationError, match="phase 'nowhere' names metric"):
        SignalDefinitions.model_validate({**DEFAULT_SIGNAL_DEFINITIONS, "version": 1, "definitions": [
            {**DEFAULT_SIGNAL_DEFINITIONS["definitions"][2], "phase_overrides": {"nowhere": {"health": 10}}}]})
