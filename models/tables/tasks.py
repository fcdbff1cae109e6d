from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class TaskRow(SQLModel, table=True):
    """Read model of a signal's task, written by SignalWorkflow's activities (the workflow stays the truth)."""

    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_owner_open", "owner_id", "is_open"),)

    id: str = Field(primary_key=True, max_length=220)
    signal_id: str = Field(max_length=200, index=True)
    account_id: str = Field(max_length=64, index=True)
    owner_id: str = Field(max_length=64)
    outcome: str | None = Field(default=None, max_length=32)
    is_open: bool = True
    due_at: datetime = Field(sa_type=UTCDateTime)
    revision: int = 0
    run_id: str | None = Field(default=None, max_length=64)  # the workflow run that wrote it (activities/read_models.py)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
