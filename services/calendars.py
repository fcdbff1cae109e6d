"""Team calendars as versioned config, and the business clock a signal starts with (resolved once, at its start)."""

from datetime import date, datetime
from functools import lru_cache

from sqlmodel import Session

from core import config_store
from core.errors import PillarError
from models.calendars import (
    DEFAULT_CALENDARS,
    HOLIDAY_YEARS,
    BusinessHours,
    Calendar,
    CalendarsConfig,
    HolidaySource,
    zone,
)
from models.routing import RoutingConfigIn, RoutingRule, SlaClock
from services.directory import management_chain

def current_calendars(session: Session) -> CalendarsConfig:
    return config_store.current(session, config_store.CALENDARS, CalendarsConfig, DEFAULT_CALENDARS)


def check_rule_calendars(session: Session, routing: RoutingConfigIn) -> None:
    """A routing matrix naming a calendar the calendars config in force does not have is refused (422)."""
    known = {c.name for c in current_calendars(session).calendars}
    unknown = sorted({r.calendar for r in routing.rules if r.calendar is not None} - known)
    if unknown:
        raise PillarError("invalid", f"no calendar named {', '.join(map(repr, unknown))}: add it with "
                          "PUT /api/v1/config/calendars first", {"unknown_calendars": unknown})


def calendar_for(session: Session, config: CalendarsConfig, rule: RoutingRule, owner_id: str) -> Calendar:
    """The rule's calendar; else the owner's own, else their team's (the nearest manager above them with one);
    else the default. A rule naming a calendar a later version dropped falls back the same way."""
    assigned = config.assignments
    names = [rule.calendar, assigned.get(owner_id), *(assigned.get(m.id) for m in management_chain(session, owner_id))]
    for name in names:
        if name is not None and (calendar := config.named(name)) is not None:
            return calendar
    return config.named(config.default)


def business_hours(session: Session, rule: RoutingRule, owners: list[str], now: datetime) -> BusinessHours | None:
    """The clock a signal's SLA counts on: None for wall time (a rule's default), else its calendar as data."""
    if rule.clock != SlaClock.business:
        return None
    config = current_calendars(session)
    calendar = calendar_for(session, config, rule, owners[0])
    first_year = now.astimezone(zone(calendar.time_zone)).year
    closed = sorted(set(holiday_dates(calendar.holidays, first_year)) | set(calendar.closures))
    return BusinessHours(time_zone=calendar.time_zone, working_days=calendar.working_days, opens=calendar.opens,
                         closes=calendar.closes, calendar=calendar.name, calendar_version=config.version, closed=closed)


def holiday_dates(source: HolidaySource | None, first_year: int) -> list[date]:
    if source is None:
        return []
    return _holidays(source.country, source.subdivision, first_year)


@lru_cache(maxsize=256)
def _holidays(country: str, subdivision: str | None, first_year: int) -> list[date]:
    """Computing a country's holidays takes the package ~0.1 s: once per country, subdivision and year."""
    import holidays

    years = range(first_year, first_year + HOLIDAY_YEARS)
    return sorted(holidays.country_holidays(country, subdiv=subdivision, years=years))
