"""Shared vocabulary: roles, severities, durations, actors, timelines. Pure Pydantic (workflows import it)."""

import json
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Field, PlainSerializer


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
    cro = "cro"  # sees the whole book: board prep, territory decisions
    se = "se"  # a sales engineer allocated to critical saves and deals
    integration = "integration"  # a machine caller (CRM sync, detection feed): raises signals and posts events


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


# Bounds that keep every date computation a workflow makes (a due date plus an escalation delay, a deadline plus
# its levels) far from datetime's limits: bad input is a 422, never a workflow task that fails for ever.
MAX_DURATION = timedelta(days=400)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _bounded(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("a duration cannot be negative")
    if value > MAX_DURATION:
        raise ValueError(f"a duration can be at most {format_duration(MAX_DURATION)}")
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("this duration must be longer than zero")
    return value


def _in_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must be on or after {EARLIEST:%Y-%m-%d} and before {LATEST:%Y-%m-%d}")
    return value


Duration = Annotated[
    timedelta,
    BeforeValidator(_parse_duration),
    AfterValidator(_bounded),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
    Field(json_schema_extra={"format": "duration", "description": f"ISO-8601, from PT0S to {format_duration(MAX_DURATION)}"}),
]
# An SLA, a due period, a window: zero would make no sense
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
# A moment a caller gives: with its time zone, in 2000-2099
Instant = Annotated[AwareDatetime, AfterValidator(_in_range)]

Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:@-]+$")]

# --- bounded input (issue 15, item 5): each limit is in the model, so /openapi.json states it -----------------------
MAX_JSON_BYTES = 64 * 1024  # evidence, a handoff's or a step's fields: what a person or a feed sends, not a file
MAX_KEYS = 100
MAX_NUMBER = 1e12  # money, counts and thresholds: far beyond any book, and never inf or nan
MAX_POINTS = 10_000  # a score weight or a points value


def json_size(value: Any) -> int:
    """Bytes as compact JSON: what MAX_JSON_BYTES bounds."""
    return len(json.dumps(value, default=str, separators=(",", ":")).encode())


def _json_at_most(limit: int):
    def check(value: Any) -> Any:
        size = json_size(value)
        if size > limit:
            raise ValueError(f"{size} bytes as JSON: at most {limit // 1024} KB")
        return value

    return check


KEY_PATTERN_ANY = r"^[A-Za-z0-9_.:@-]+$"
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=KEY_PATTERN_ANY)]


def _keys_in_property_names(schema: dict[str, Any]) -> None:
    """JSON Schema's `patternProperties` does not refuse other keys: say it as `propertyNames`, which does."""
    for pattern in schema.pop("patternProperties", {}):
        schema.setdefault("propertyNames", {})["pattern"] = pattern
# A free-form JSON object (a signal's evidence, a handoff's or a play step's fields): at most MAX_KEYS keys, each an
# identifier, and MAX_JSON_BYTES in all, however deeply nested.
JsonObject = Annotated[
    dict[Key, Any],
    Field(max_length=MAX_KEYS, description=f"At most {MAX_KEYS} keys and {MAX_JSON_BYTES // 1024} KB as JSON",
          json_schema_extra=_keys_in_property_names),
    AfterValidator(_json_at_most(MAX_JSON_BYTES)),
]
Amount = Annotated[float, Field(ge=0, le=MAX_NUMBER)]  # dollars, counts: never negative
Number = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]  # a threshold a condition compares with
Points = Annotated[float, Field(ge=-MAX_POINTS, le=MAX_POINTS)]  # a weight or points in a score formula
Share = Annotated[float, Field(ge=0, le=1)]  # a probability or a fraction


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


def is_filled(value: Any) -> bool:
    """A field counts only when it carries content: None, blank strings (whitespace too) and empty lists or objects
    are missing. The one rule for a play step's output fields and a handoff's context fields."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict | tuple | set):
        return bool(value)
    return True


def missing_fields(required: list[str], fields: dict[str, Any]) -> list[str]:
    return [name for name in required if not is_filled(fields.get(name))]
