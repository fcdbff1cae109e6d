"""On-call rotations and round robin as a routing rule's owners: the config, the rotation math, the choice made.

Pure Pydantic and the standard library (workflows import these models through models/routing.py)."""

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from models.common import EARLIEST, LATEST, MAX_DURATION, Identifier, Instant, Role, format_duration

ROTATION = "rotation:"
ROUND_ROBIN = "round_robin:"
ROTATION_KEY_PATTERN = r"[a-z][a-z0-9_-]{0,63}"
ROUND_ROBIN_ROLES = "|".join(r.value for r in Role if r not in (Role.admin, Role.integration))
# A routing rule's owner that is chosen when the signal starts: `rotation:<key>` or `round_robin:<role>`
ChosenOwner = Annotated[str, Field(
    pattern=rf"^({ROTATION}{ROTATION_KEY_PATTERN}|{ROUND_ROBIN}({ROUND_ROBIN_ROLES}))$", max_length=80,
    description="`rotation:<key>` (who is on call) or `round_robin:<role>` (the holder of the role with the "
                "fewest open items)")]


def is_chosen(owner: str) -> bool:
    return owner.startswith((ROTATION, ROUND_ROBIN))


class Handover(StrEnum):
    daily = "daily"
    weekly = "weekly"


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Paris or America/New_York") from None
    return value


def _naive_time(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("the handover time is a wall-clock time such as 09:00; the zone goes in time_zone")
    return value


def _in_years(value: date) -> date:
    if not EARLIEST.date() <= value < LATEST.date():
        raise ValueError(f"must be on or after {EARLIEST:%Y-%m-%d} and before {LATEST:%Y-%m-%d}")
    return value


TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_known_zone)]


class RotationOverride(BaseModel):
    """`user_id` covers for `covers` (a member) from `starts_at` until `ends_at`: leave, a swap, a sick day."""

    user_id: Identifier = Field(description="Who is on call instead")
    covers: Identifier = Field(description="The member whose turn it covers")
    starts_at: Instant
    ends_at: Instant
    reason: str = Field(default="leave", min_length=1, max_length=200)

    @model_validator(mode="after")
    def _a_real_span(self) -> "RotationOverride":
        if self.user_id == self.covers:
            raise ValueError(f"{self.user_id} cannot cover for themselves")
        if self.ends_at <= self.starts_at:
            raise ValueError("an override ends after it starts")
        if self.ends_at - self.starts_at > MAX_DURATION:
            raise ValueError(f"an override lasts at most {format_duration(MAX_DURATION)}")
        return self

    def applies(self, member: str, at: datetime) -> bool:
        return self.covers == member and self.starts_at <= at < self.ends_at


class OnCall(BaseModel):
    """Who is on call for a rotation at a moment, and why."""

    rotation: str
    at: datetime
    user_id: str
    scheduled_user_id: str = Field(description="Whose turn it is by the schedule (an override may cover it)")
    period_starts_at: datetime
    period_ends_at: datetime
    override: RotationOverride | None = None
    reason: str


class Rotation(BaseModel):
    """Members take turns in order, handing over every day or every week (on `start_date`'s weekday) at
    `handover_time` in `time_zone`; `start_date`'s handover opens the first member's turn."""

    key: str = Field(pattern=rf"^{ROTATION_KEY_PATTERN}$")
    members: list[Identifier] = Field(min_length=1, max_length=100)
    handover: Handover
    handover_time: Annotated[time, AfterValidator(_naive_time)] = Field(description="Local wall-clock time, e.g. 09:00")
    time_zone: TimeZone
    start_date: Annotated[date, AfterValidator(_in_years)]
    overrides: list[RotationOverride] = Field(default=[], max_length=200)

    @field_validator("members")
    @classmethod
    def _distinct_members(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a member is listed twice")
        return value

    @model_validator(mode="after")
    def _overrides_cover_members(self) -> "Rotation":
        strangers = sorted({o.covers for o in self.overrides} - set(self.members))
        if strangers:
            raise ValueError(f"an override covers {', '.join(strangers)}, not a member of rotation {self.key!r}")
        return self

    def users(self) -> set[str]:
        return set(self.members) | {o.user_id for o in self.overrides}

    def on_call(self, at: datetime) -> OnCall:
        """The turn that holds `at` (before the first handover: the first member's), then any override of it."""
        zone = ZoneInfo(self.time_zone)
        day = at.astimezone(zone).date()
        if at < self._handover_on(day, zone):
            day -= timedelta(days=1)
        step = 1 if self.handover == Handover.daily else 7
        turn = max(0, (day - self.start_date).days // step)
        starts = self._handover_on(self.start_date + timedelta(days=turn * step), zone)
        ends = self._handover_on(self.start_date + timedelta(days=(turn + 1) * step), zone)
        scheduled = self.members[turn % len(self.members)]
        override = next((o for o in self.overrides if o.applies(scheduled, at)), None)
        return OnCall(rotation=self.key, at=at.astimezone(UTC), user_id=override.user_id if override else scheduled,
                      scheduled_user_id=scheduled, period_starts_at=starts.astimezone(UTC),
                      period_ends_at=ends.astimezone(UTC), override=override,
                      reason=self._why(override, scheduled, starts, at))

    def _handover_on(self, day: date, zone: ZoneInfo) -> datetime:
        return datetime.combine(day, self.handover_time, tzinfo=zone)

    def _why(self, override: RotationOverride | None, scheduled: str, starts: datetime, at: datetime) -> str:
        if override is not None:
            return f"covering for {scheduled} ({override.reason}) on rotation {self.key}"
        if at < starts:
            return f"first on call for rotation {self.key}, which starts {starts:%a %Y-%m-%d %H:%M} {self.time_zone}"
        period = "today" if self.handover == Handover.daily else "this week"
        return f"on call for rotation {self.key} {period} (since {starts:%a %Y-%m-%d %H:%M} {self.time_zone})"


class RotationsConfigIn(BaseModel):
    rotations: list[Rotation] = Field(default=[], max_length=200)

    @field_validator("rotations")
    @classmethod
    def _distinct_keys(cls, value: list[Rotation]) -> list[Rotation]:
        keys = [r.key for r in value]
        twice = sorted({k for k in keys if keys.count(k) > 1})
        if twice:
            raise ValueError(f"rotation {', '.join(twice)} is defined twice")
        return value

    def rotation(self, key: str) -> Rotation | None:
        return next((r for r in self.rotations if r.key == key), None)


class RotationsConfig(RotationsConfigIn):
    version: int
    created_at: datetime | None = None
    created_by: str | None = None


class OnCallAt(OnCall):
    version: int = Field(description="The rotations config version read")


class OwnerChoice(BaseModel):
    """An owner chosen at the signal's start from a rotation or a round robin, and why (shown on its timeline)."""

    user_id: str
    via: str = Field(description="The rule's owner entry: rotation:<key> or round_robin:<role>")
    reason: str = Field(max_length=500)
