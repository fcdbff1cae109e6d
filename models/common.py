"""Shared vocabulary: roles, severities, durations, actors, timelines. Pure Pydantic (workflows import it)."""

import re
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, PlainSerializer


class Role(StrEnum):
    ae = "ae"
    csm = "csm"
    csm_lead = "csm_lead"
    sdr = "sdr"
    support = "support"
    manager = "manager"
    vp = "vp"
    revops = "revops"
    ops = "ops"
    admin = "admin"


class Severity(StrEnum):
    critical = "critical"
    warning = "warning"
    info = "info"


_ISO_DURATION = re.compile(
    r"^P(?!$)(\d+(?:\.\d+)?W)?(\d+(?:\.\d+)?D)?(T(?=\d)(\d+(?:\.\d+)?H)?(\d+(?:\.\d+)?M)?(\d+(?:\.\d+)?S)?)?$"
)


def _parse_duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str) or not _ISO_DURATION.match(value):
        raise ValueError(f"{value!r} is not an ISO-8601 duration such as PT4H, P3D or PT30S (years and months are not allowed)")
    return value


def format_duration(value: timedelta) -> str:
    """`timedelta(hours=4)` → `PT4H`: the shortest ISO-8601 form."""
    total = int(value.total_seconds())
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    time = "".join(f"{n}{u}" for n, u in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    if not days and not time:
        return "PT0S"
    return "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_parse_duration),
    AfterValidator(_not_negative),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]


class Actor(BaseModel):
    """Who is acting, as the API authenticated them; `reports` are everyone they manage, directly or not."""

    id: str
    role: Role
    reports: list[str] = []

    def manages(self, user_id: str | None) -> bool:
        return user_id is not None and user_id in self.reports


class TimelineEntry(BaseModel):
    at: datetime
    type: str
    actor: str | None = None
    detail: str = ""


State = TypeVar("State")


class Revision(BaseModel, Generic[State]):
    """A read-model write: `state` as of `revision` (a stale or repeated revision changes nothing)."""

    revision: int
    state: State
