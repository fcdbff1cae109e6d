from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime, utcnow


class DetectedSignalRow(SQLModel, table=True):
    """A signal that detection decided to open, written in the transaction that stored the events and scores that
    fired it (a transactional outbox). Keyed by the signal id its dedup key names, so one detection is one row
    however often it fires; `pending` until its workflow has started, whatever fails in between."""

    __tablename__ = "detected_signals"
    __table_args__ = (Index("ix_detected_signals_status_detected", "status", "detected_at"),)

    id: str = Field(primary_key=True, max_length=200)
    account_id: str = Field(max_length=64)
    family: str = Field(max_length=64)
    dedup_key: str = Field(max_length=200)
    request: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # the SignalIn to open
    actor: str = Field(max_length=64)
    detected_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status: str = Field(default="pending", max_length=16)  # pending, opened, refused
    attempts: int = 0
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
