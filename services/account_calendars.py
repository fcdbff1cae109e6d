"""Account calendars: which phases an account is in at a moment, when each comes next, and what that changes for
detection today. The phase math is pure (no clock): callers pass the moment."""

import calendar as gregorian
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from core import config_store
from core.errors import PillarError
from models.account_calendars import (
    AccountCalendar, AccountCalendars, AccountCalendarsIn, AccountCalendarView, Phase, PhaseWindow,
)
from models.detection import SignalDefinitions
from models.tables import Account

ACCOUNT_CALENDARS = "account_calendars"

# The shipped calendars: a northern-hemisphere academic year, a credentialing body's assessment windows, and a fiscal
# year from July with its budget window. Academic and credentialed accounts follow theirs; edit or replace them.
DEFAULT_ACCOUNT_CALENDARS = {
    "calendars": [
        {"key": "academic_year", "name": "Academic year (two semesters)", "kind": "academic", "timezone": "America/New_York",
         "phases": [{"name": "term_start", "start": "08-20", "end": "09-15"}, {"name": "mid_term", "start": "09-16", "end": "11-30"},
                    {"name": "exams", "start": "12-01", "end": "12-20"}, {"name": "winter_break", "start": "12-21", "end": "01-10"},
                    {"name": "term_start", "start": "01-11", "end": "01-31"}, {"name": "mid_term", "start": "02-01", "end": "04-19"},
                    {"name": "exams", "start": "04-20", "end": "05-10"}, {"name": "summer_break", "start": "06-01", "end": "08-19"}]},
        {"key": "credentialing", "name": "Licensure assessments (spring and fall)", "kind": "accreditation",
         "timezone": "America/New_York",
         "phases": [{"name": "pre_assessment", "start": "03-01", "end": "03-31"}, {"name": "assessment", "start": "04-01", "end": "04-15"},
                    {"name": "pre_assessment", "start": "09-01", "end": "09-30"}, {"name": "assessment", "start": "10-01", "end": "10-15"}]},
        {"key": "fiscal_july", "name": "Fiscal year from July 1", "kind": "fiscal", "timezone": "America/New_York",
         "phases": [{"name": "budget_window", "start": "02-01", "end": "04-30"},
                    {"name": "fiscal_year_end", "start": "06-01", "end": "06-30"}]},
    ],
    "by_motion": {"academic": ["academic_year", "fiscal_july"], "credentialed": ["credentialing", "fiscal_july"]},
}


def load_default(session: Session) -> None:
    config_store.seed(session, ACCOUNT_CALENDARS,
                      AccountCalendarsIn.model_validate(DEFAULT_ACCOUNT_CALENDARS).model_dump(mode="json"))


def current_account_calendars(session: Session) -> AccountCalendars:
    return config_store.current(session, ACCOUNT_CALENDARS, AccountCalendars, {})


# --- the phase math ------------------------------------------------------------------------------------------------

def _on(year: int, month_day: str) -> date:
    month, day = int(month_day[:2]), int(month_day[3:])
    return date(year, month, min(day, gregorian.monthrange(year, month)[1]))  # Feb 29 is Feb 28 in other years


def _spans(phase: Phase, year: int) -> list[tuple[date, date]]:
    """The phase's [first, last] days that may touch `year` (a wrapping MM-DD phase starts the year before)."""
    if len(phase.start) == 10:
        return [(date.fromisoformat(phase.start), date.fromisoformat(phase.end))]
    spans = []
    for y in (year - 1, year, year + 1):
        first, last = _on(y, phase.start), _on(y, phase.end)
        spans.append((first, last if last >= first else _on(y + 1, phase.end)))
    return spans


def _window(cal: AccountCalendar, phase: Phase, first: date, last: date) -> PhaseWindow:
    zone = ZoneInfo(cal.timezone)
    return PhaseWindow(calendar=cal.key, kind=cal.kind, phase=phase.name,
                       starts_at=datetime.combine(first, time(), zone).astimezone(UTC),
                       ends_at=datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC))


def phases_at(calendars: list[AccountCalendar], at: datetime) -> list[PhaseWindow]:
    """The phases `at` falls in, calendar by calendar."""
    found = []
    for cal in calendars:
        for phase in cal.phases:
            for first, last in _spans(phase, at.astimezone(ZoneInfo(cal.timezone)).year):
                window = _window(cal, phase, first, last)
                if window.starts_at <= at < window.ends_at:
                    found.append(window)
    return found


def next_windows(calendars: list[AccountCalendar], at: datetime) -> list[PhaseWindow]:
    """Each phase's next start after `at` (one per calendar and phase name), soonest first."""
    soonest: dict[tuple[str, str], PhaseWindow] = {}
    for cal in calendars:
        year = at.astimezone(ZoneInfo(cal.timezone)).year
        for phase in cal.phases:
            for first, last in _spans(phase, year) + _spans(phase, year + 1):
                window = _window(cal, phase, first, last)
                key = (cal.key, phase.name)
                if window.starts_at > at and (key not in soonest or window.starts_at < soonest[key].starts_at):
                    soonest[key] = window
    return sorted(soonest.values(), key=lambda w: (w.starts_at, w.calendar, w.phase))


def phase_names(calendars: AccountCalendarsIn, account_id: str, motion: str | None, at: datetime) -> frozenset[str]:
    return frozenset(w.phase for w in phases_at(calendars.for_account(account_id, motion), at))


# --- what it changes today ---------------------------------------------------------------------------------------

def calendar_view(session: Session, account: Account, at: datetime, definitions: SignalDefinitions) -> AccountCalendarView:
    config = current_account_calendars(session)
    followed = config.for_account(account.id, account.motion)
    now = phases_at(followed, at)
    names = frozenset(w.phase for w in now)
    return AccountCalendarView(
        account_id=account.id, at=at, calendars_version=config.version, calendars=[c.key for c in followed],
        phases_now=now, next_windows=next_windows(followed, at),
        thresholds_today={d.family: {c.metric.value: d.threshold(c, account.motion, names) for c in d.conditions}
                          for d in definitions.definitions if not d.quiet_in(names)},
        quiet_families=[d.family for d in definitions.definitions if d.quiet_in(names)],
    )


def account_calendar(session: Session, account_id: str, at: datetime | None, definitions: SignalDefinitions) -> AccountCalendarView:
    account = session.get(Account, account_id)
    if account is None:
        raise PillarError("not_found", f"no account {account_id!r}")
    return calendar_view(session, account, at or datetime.now(UTC), definitions)
