from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime, utcnow


class ProposalRow(SQLModel, table=True):
    """An act an agent asked for, and who decided it (append-only but for its one decision)."""

    __tablename__ = "agent_proposals"

    id: str = Field(primary_key=True, max_length=40)
    tool: str = Field(max_length=64)
    operation: str = Field(max_length=200)
    arguments: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    stated_reason: str
    agent: str = Field(max_length=200)
    requested_by: str = Field(max_length=64, index=True)
    account_id: str | None = Field(default=None, max_length=64, index=True)
    status: str = Field(max_length=16, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = None
    result: Any | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class AgentSettingsRow(SQLModel, table=True):
    """Per user: which low-risk acts their agents may perform without approval."""

    __tablename__ = "agent_settings"

    user_id: str = Field(primary_key=True, max_length=64)
    auto_approve: list[str] = Field(default=[], sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
