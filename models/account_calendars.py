"""Account calendars: the phases of a customer's year that change what a signal means — academic terms (mid-term,
exams, summer break), accreditation or licensure windows, the fiscal year and its budget window. Versioned config;
an account gets its motion's calendars unless it has its own."""

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator

from models.common import Duration, Identifier
from models.rituals import TimeZoneName
from models.scoring import RiskTier

MAX_CALENDARS, MAX_PHASES = 50, 60
MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
ONE_DATE = re.compile(r"^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")


def _day(value: str) -> str:
    """`MM-DD` (every year) or `YYYY-MM-DD` (that year only); a day that exists (Feb 29 is a leap year's)."""
    if MONTH_DAY.match(value):
        date(2024, int(value[:2]), int(value[3:]))  # raises for 02-30
        return value
    if ONE_DATE.match(value):
        date.fromisoformat(value)
        return value
    raise ValueError(f"{value!r} is neither MM-DD (every year) nor YYYY-MM-DD (once, 2000-2099)")


CalendarDay = Annotated[str, Field(max_length=10), AfterValidator(_day)]


class CalendarKind(StrEnum):
    academic = "academic"
    accreditation = "accreditation"
    fiscal = "fiscal"
    custom = "custom"


class Phase(BaseModel):
    name: Identifier = Field(description="What signal definitions refer to: mid_term, exams, summer_break, budget_window …")
    start: CalendarDay = Field(description="First day: MM-DD every year, or YYYY-MM-DD once")
    end: CalendarDay = Field(description="Last day (inclusive), in the same form; MM-DD may wrap past December 31")

    @model_validator(mode="after")
    def _same_form(self) -> "Phase":
        if len(self.start) != len(self.end):
            raise ValueError(f"phase {self.name}: start and end must both be MM-DD or both YYYY-MM-DD")
        if len(self.start) == 10 and self.end < self.start:
            raise ValueError(f"phase {self.name}: ends ({self.end}) before it starts ({self.start})")
        return self


class AccountCalendar(BaseModel):
    key: Identifier
    name: str = Field(min_length=1, max_length=200)
    kind: CalendarKind
    timezone: TimeZoneName = Field(default="UTC", description="Days begin at midnight here")
    phases: list[Phase] = Field(min_length=1, max_length=MAX_PHASES)


class BudgetPlay(BaseModel):
    """A play started `lead` before a phase opens (a renewal save ahead of the customer's budget window), once per
    account and window, for the accounts it names: a renewal within `renewal_within_days` of the window opening, or a
    renewal risk tier at least `min_risk_tier` (either one; neither set: every account that follows the phase)."""

    play_key: Identifier = Field(description="The library's play, e.g. renewal_save")
    phase: Identifier = Field(default="budget_window", description="The calendar phase it starts relative to")
    lead: Duration = Field(description="How long before the phase opens it starts, e.g. P30D")
    renewal_within_days: int | None = Field(default=None, ge=0, le=730,
                                            description="Renewal on or before the window opening plus these days")
    min_risk_tier: RiskTier | None = Field(default=None, description="Renewal risk at least this tier")


class AccountCalendarsIn(BaseModel):
    calendars: list[AccountCalendar] = Field(default=[], max_length=MAX_CALENDARS)
    budget_plays: list[BudgetPlay] = Field(default=[], max_length=20, description="Plays started ahead of a phase")
    by_motion: dict[Identifier, list[Identifier]] = Field(default={}, max_length=50,
                                                          description="motion → calendar keys every account of it follows")
    by_account: dict[Identifier, list[Identifier]] = Field(default={}, max_length=10_000,
                                                           description="account → calendar keys, instead of its motion's")

    @model_validator(mode="after")
    def _known_keys(self) -> "AccountCalendarsIn":
        keys = [c.key for c in self.calendars]
        if len(set(keys)) != len(keys):
            raise ValueError(f"two calendars with key {next(k for k in keys if keys.count(k) > 1)!r}")
        for where, assigned in (("motion", self.by_motion), ("account", self.by_account)):
            for owner, names in assigned.items():
                if len(names) > MAX_CALENDARS:
                    raise ValueError(f"{where} {owner!r} follows more than {MAX_CALENDARS} calendars")
                unknown = sorted(set(names) - set(keys))
                if unknown:
                    raise ValueError(f"{where} {owner!r} follows unknown calendar(s): {', '.join(unknown)}")
        phases = {p.name for c in self.calendars for p in c.phases}
        for play in self.budget_plays:
            if play.phase not in phases:
                raise ValueError(f"budget play {play.play_key!r} starts before phase {play.phase!r}, which no calendar has")
        return self

    def calendar(self, key: str) -> AccountCalendar | None:
        return next((c for c in self.calendars if c.key == key), None)

    def for_account(self, account_id: str, motion: str | None) -> list[AccountCalendar]:
        keys = self.by_account.get(account_id, self.by_motion.get(motion or "", []))
        return [c for c in self.calendars if c.key in keys]


class AccountCalendars(AccountCalendarsIn):
    version: int
    created_at: datetime | None = None
    created_by: str | None = None


class PhaseWindow(BaseModel):
    calendar: str
    kind: CalendarKind
    phase: str
    starts_at: datetime
    ends_at: datetime = Field(description="The moment after its last day")


class AccountCalendarView(BaseModel):
    """GET /api/v1/accounts/{id}/calendar: where the account's year stands, and what that changes today."""

    account_id: str
    at: datetime
    calendars_version: int
    calendars: list[str]
    phases_now: list[PhaseWindow]
    next_windows: list[PhaseWindow] = Field(description="The next start of each phase of each calendar, soonest first")
    thresholds_today: dict[str, dict[str, float]] = Field(
        description="family → {metric: threshold} the account is held to now (phase, then motion, then default)")
    quiet_families: list[str] = Field(description="Families that do not fire in a phase the account is in now")
