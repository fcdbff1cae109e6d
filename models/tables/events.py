from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime, utcnow


class EventRow(SQLModel, table=True):
    """A raw event as received (append-only). `id` derives from (account, external_id) when the source gave one."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_account_occurred", "account_id", "occurred_at"),)

    id: str = Field(primary_key=True, max_length=64)
    account_id: str = Field(max_length=64)
    kind: str = Field(max_length=32, index=True)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    external_id: str | None = Field(default=None, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AccountScoreRow(SQLModel, table=True):
    """An account's scores each time they were recomputed: the history a score's change is shown from."""

    __tablename__ = "account_scores"
    __table_args__ = (Index("ix_account_scores_account_as_of", "account_id", "as_of"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=64)
    as_of: datetime = Field(sa_type=UTCDateTime)
    computed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    weights_version: int
    health: float
    renewal_risk: float
    risk_tier: str = Field(max_length=16)
    forecast_confidence: float
    pipeline_quality: float
    detail: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
