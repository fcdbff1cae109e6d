"""Paging channels per user (the inbox always; email, a Slack incoming webhook, the signed webhook), quiet hours, and
the delivery log: one entry per (page, channel)."""

from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, UrlConstraints, field_validator, model_validator

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+$"
ChannelUrl = Annotated[HttpUrl, UrlConstraints(max_length=2000)]
Channel = Literal["inbox", "email", "slack", "webhook"]
SentChannel = Literal["email", "slack", "webhook"]  # the channels an activity sends to (the inbox is a row)
DeliveryStatus = Literal["delivered", "suppressed", "pending", "deferred", "retrying", "failed"]


@lru_cache
def known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


class QuietHours(BaseModel):
    """Local times in `zone`; `start` after `end` spans midnight (22:00-07:00)."""

    start: time = Field(description="Local time quiet hours begin, e.g. 22:00")
    end: time = Field(description="Local time they end, e.g. 07:00")
    zone: str = Field(max_length=64, description="An IANA time zone, e.g. Europe/Berlin")

    @field_validator("start", "end")
    @classmethod
    def _local(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a local time without an offset (the zone says where)")
        return value

    @field_validator("zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if value not in known_zones():
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)")
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> "QuietHours":
        if self.start == self.end:
            raise ValueError("start and end are the same time")
        return self

    def end_after(self, at: datetime) -> datetime | None:
        """When the quiet hours that `at` falls in end (UTC), or None when `at` is outside them."""
        zone = ZoneInfo(self.zone)
        local = at.astimezone(zone)
        now = local.time().replace(tzinfo=None)
        if self.start < self.end:
            inside, day = self.start <= now < self.end, local.date()
        else:
            inside = now >= self.start or now < self.end
            day = local.date() + timedelta(days=0 if now < self.end else 1)
        return datetime.combine(day, self.end, tzinfo=zone).astimezone(UTC) if inside else None


class ChannelsIn(BaseModel):
    """Where the user's pages go besides the inbox. A channel left null is off."""

    model_config = ConfigDict(extra="forbid")  # a misspelt field would be a channel silently left as it was

    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=320,
                              description="Pages are emailed here (the server's PILLAR_SMTP_* settings)")
    slack_webhook_url: ChannelUrl | None = Field(
        default=None, description="A Slack incoming webhook: a secret, shown only to its owner (masked to others)")
    webhook_url: ChannelUrl | None = Field(default=None, description="The signed generic webhook (README, Webhooks)")
    quiet_hours: QuietHours | None = Field(
        default=None, description="Warning and info pages wait until these end; critical ones go through")


class ChannelsOut(BaseModel):
    user_id: str
    inbox: Literal[True] = True
    email: str | None = None
    slack_webhook_url: str | None = Field(default=None, description="Masked unless the caller is its owner")
    webhook_url: str | None = None
    quiet_hours: QuietHours | None = None


def masked(url: str | None) -> str | None:
    """The Slack URL's path is its credential: others see only the host."""
    return None if url is None else f"{url.split('/', 3)[0]}//{url.split('/', 3)[2]}/…"


class DeliveryOut(BaseModel):
    notification_id: str
    user_id: str
    kind: str
    at: datetime
    channel: Channel
    status: DeliveryStatus
    attempts: int
    last_error: str | None = None
    delivered_at: datetime | None = None
    deferred_until: datetime | None = Field(default=None, description="Held back by the user's quiet hours until then")


def signal_of_page(subject_type: str, subject_id: str) -> str | None:
    """The signal a page is about: its own, or its task's (`<signal id>-t<n>`)."""
    if subject_type == "signal":
        return subject_id
    signal_id, sep, number = subject_id.rpartition("-t")
    return signal_id if subject_type == "task" and sep and number.isdigit() else None
