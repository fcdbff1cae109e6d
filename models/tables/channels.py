from datetime import datetime, time

from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime, utcnow


class UserChannelsRow(SQLModel, table=True):
    """A user's paging channels besides the inbox and the signed webhook (`users.webhook_url`), and quiet hours."""

    __tablename__ = "user_channels"

    user_id: str = Field(primary_key=True, foreign_key="users.id", max_length=64)
    email: str | None = Field(default=None, max_length=320)
    slack_webhook_url: str | None = Field(default=None, max_length=2000)
    quiet_start: time | None = None
    quiet_end: time | None = None
    quiet_zone: str | None = Field(default=None, max_length=64)


class DeliveryRow(SQLModel, table=True):
    """The delivery log: one row per (page, channel). The send activity reads it first, so a retried activity never
    sends a delivered page twice."""

    __tablename__ = "page_deliveries"

    notification_id: str = Field(primary_key=True, max_length=320)
    channel: str = Field(primary_key=True, max_length=16)
    user_id: str = Field(max_length=64)
    signal_id: str | None = Field(default=None, max_length=200, index=True)  # the signal's page lists its deliveries
    status: str = Field(max_length=16)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    deferred_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
