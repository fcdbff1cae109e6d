"""Team calendars (issue 19): working days and hours in a time zone, public holidays and closures; and the business
clock a signal's SLA counts on. Pure (stdlib and pydantic): workflows compute deadlines with `BusinessHours.add`."""

import importlib.resources
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator, model_validator

from models.common import LATEST, Identifier
from models.rituals import TimeZoneName, Weekday

HOLIDAY_YEARS = 3  # holidays are resolved for the signal's year and the two after it: far beyond any SLA ladder
WORKING_WEEK = [Weekday.monday, Weekday.tuesday, Weekday.wednesday, Weekday.thursday, Weekday.friday]


class SlaClock(StrEnum):
    wall = "wall"  # every hour counts
    business = "business"  # only the working hours of the owner's calendar


@lru_cache(maxsize=512)
def zone(key: str) -> ZoneInfo:
    """The zone from the pinned tzdata package, not the host's files: the API and every worker (and every replay)
    compute the same deadlines."""
    path = importlib.resources.files("tzdata.zoneinfo").joinpath(*key.split("/"))
    with path.open("rb") as data:
        return ZoneInfo.from_file(data, key=key)


def holiday_countries() -> dict[str, list[str]]:
    """Country → subdivisions the `holidays` package knows. Imported here, where a calendar is written or resolved
    (workflows get the dates as data); its first call takes ~0.5 s, so the API makes it at startup (api/warmup.py)."""
    import holidays

    return holidays.list_supported_countries()


class HolidaySource(BaseModel):
    """Public holidays from the `holidays` package: a country (ISO 3166-1) and optionally a subdivision."""

    country: str = Field(pattern=r"^[A-Z]{2,3}$", description="ISO 3166-1 code, e.g. US, DE, GB")
    subdivision: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,10}$", description="e.g. CA, BY, ENG")

    @model_validator(mode="after")
    def _supported(self) -> "HolidaySource":
        supported = holiday_countries()
        if self.country not in supported:
            raise ValueError(f"the holidays package has no country {self.country!r}")
        if self.subdivision is not None and self.subdivision not in supported[self.country]:
            raise ValueError(f"{self.country} has no subdivision {self.subdivision!r} "
                             f"(known: {', '.join(supported[self.country][:20]) or 'none'})")
        return self


class WorkingWeek(BaseModel):
    time_zone: TimeZoneName = Field(description="IANA time zone")
    working_days: list[Weekday] = Field(default=WORKING_WEEK, min_length=1, max_length=7)
    opens: time = Field(default=time(9), description="Local time the working day starts")
    closes: time = Field(default=time(17), description="Local time it ends (after `opens`, same day)")

    @field_validator("working_days")
    @classmethod
    def _distinct_days(cls, value: list[Weekday]) -> list[Weekday]:
        if len(set(value)) != len(value):
            raise ValueError("a working day is listed twice")
        return sorted(value, key=lambda day: day.index)

    @model_validator(mode="after")
    def _hours(self) -> "WorkingWeek":
        if self.opens.tzinfo or self.closes.tzinfo:
            raise ValueError("opens and closes are local times, without an offset: the time zone says where")
        if self.opens >= self.closes:
            raise ValueError("a working day must close after it opens")
        return self


class Calendar(WorkingWeek):
    name: Identifier
    holidays: HolidaySource | None = None
    closures: list[date] = Field(default=[], max_length=366, description="Extra closed days (local dates)")


DEFAULT_CALENDAR = "default"


class CalendarsConfigIn(BaseModel):
    calendars: list[Calendar] = Field(min_length=1, max_length=100)
    default: Identifier = Field(default=DEFAULT_CALENDAR, description="The calendar of anyone not assigned one")
    assignments: dict[Identifier, Identifier] = Field(
        default={}, max_length=10_000,
        description="user id → calendar name. A manager's entry covers their team (everyone under them) unless "
                    "someone below has their own; a routing rule's `calendar` overrides both")

    @model_validator(mode="after")
    def _names(self) -> "CalendarsConfigIn":
        names = [c.name for c in self.calendars]
        if len(set(names)) != len(names):
            raise ValueError("two calendars share a name")
        unknown = sorted({self.default, *self.assignments.values()} - set(names))
        if unknown:
            raise ValueError(f"no calendar named {', '.join(map(repr, unknown))}")
        return self

    def named(self, name: str) -> Calendar | None:
        return next((c for c in self.calendars if c.name == name), None)


class CalendarsConfig(CalendarsConfigIn):
    version: int
    created_at: datetime | None = None
    created_by: str | None = None


DEFAULT_CALENDARS = {"calendars": [{"name": DEFAULT_CALENDAR, "time_zone": "UTC"}], "default": DEFAULT_CALENDAR}


class BusinessHours(WorkingWeek):
    """A calendar resolved for one signal: its week and every closed date (holidays and closures) as data, recorded
    in the workflow's input, so its deadlines never change with a later calendar version or holidays release."""

    calendar: str
    calendar_version: int
    closed: list[date] = Field(default=[], description="Holidays of the covered years, and closures")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The time `duration` of working time after `start` (UTC). Counting starts at the next opening when
        `start` is outside working hours; a zero duration is `start` itself (an immediate escalation level)."""
        if duration <= timedelta(0):
            return start
        tz, closed, working = zone(self.time_zone), set(self.closed), {day.index for day in self.working_days}
        remaining, day = duration, start.astimezone(tz).date()
        while day < LATEST.date():
            if day.weekday() in working and day not in closed:
                opens = datetime.combine(day, self.opens, tz).astimezone(UTC)
                closes = datetime.combine(day, self.closes, tz).astimezone(UTC)
                begin = max(start, opens)
                if begin < closes:
                    if remaining <= closes - begin:
                        return begin + remaining
                    remaining -= closes - begin
            day += timedelta(days=1)
        return LATEST

    def local(self, at: datetime) -> str:
        """`at` as the team reads it: `Mon 12:55 Europe/Berlin`."""
        return f"{at.astimezone(zone(self.time_zone)):%a %H:%M} {self.time_zone}"

    def describe(self) -> str:
        return (f"business hours on calendar {self.calendar} v{self.calendar_version} "
                f"({self.opens:%H:%M}-{self.closes:%H:%M} {self.time_zone})")


def in_words(span: timedelta) -> str:
    """`timedelta(hours=26, minutes=5)` → `1d 2h 5m`: how long, for a person (to the nearest minute: a timer fires
    a moment after its time, and 59m 59.8s is an hour)."""
    minutes = max(round(span.total_seconds() / 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts) if parts else "under a minute"
