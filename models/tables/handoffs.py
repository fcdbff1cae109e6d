from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class HandoffRow(SQLModel, table=True):
    """Read model of a handoff, written by HandoffWorkflow's activities at every transition."""

    __tablename__ = "handoffs"

    id: str = Field(primary_key=True, max_length=200)
    workflow_id: str = Field(max_length=220, unique=True)
    kind: str = Field(max_length=64, index=True)
    account_id: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16, index=True)
    from_user_id: str = Field(max_length=64, index=True)
    to_user_id: str = Field(max_length=64, index=True)
    revision: int = 0
    run_id: str | None = Field(default=None, max_length=64)  # the workflow run that wrote it (activities/read_models.py)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class HandoffAuditRow(SQLModel, table=True):
    """One row per handoff transition (append-only). `(handoff_id, run_id, seq)` is unique, so a retried write is a
    no-op, and a run reset (`ops reset`), which counts `seq` again from the reset point, records its own transitions.
    Rows written before runs were recorded have no `run_id`."""

    __tablename__ = "handoff_audit"
    __table_args__ = (UniqueConstraint("handoff_id", "run_id", "seq", name="uq_handoff_audit_run_transition"),)

    id: int | None = Field(default=None, primary_key=True)
    handoff_id: str = Field(max_length=200, index=True)
    run_id: str | None = Field(default=None, max_length=64)
    seq: int
    at: datetime = Field(sa_type=UTCDateTime)
    actor_id: str | None = Field(default=None, max_length=64)
    action: str = Field(max_length=32)
    from_user_id: str = Field(max_length=64)
    to_user_id: str = Field(max_length=64)
    fields_transferred: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    detail: str = ""
