from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class AgendaRow(SQLModel, table=True):
    """A ritual's agenda as built (the body never changes once built); `status` and `revision` follow its run."""

    __tablename__ = "agendas"
    __table_args__ = (Index("ix_agendas_ritual_motion_meeting", "ritual_key", "motion", "meeting_at"),)

    id: str = Field(primary_key=True, max_length=200)
    ritual_key: str = Field(max_length=40)
    kind: str = Field(max_length=32)
    motion: str = Field(max_length=64)
    meeting_at: datetime = Field(sa_type=UTCDateTime, index=True)
    built_at: datetime = Field(sa_type=UTCDateTime)
    workflow_id: str | None = Field(default=None, max_length=260)
    config_version: int
    status: str = Field(default="open", max_length=16)
    source: str = Field(default="workflow", max_length=16)
    revision: int = 0
    run_id: str | None = Field(default=None, max_length=64)  # the workflow run that wrote it (activities/read_models.py)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    decisions: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # its run's, as they stand


class ActionItemRow(SQLModel, table=True):
    """Read model of an action item, written by its RitualWorkflow (the workflow stays the truth)."""

    __tablename__ = "action_items"
    __table_args__ = (
        Index("ix_action_items_owner_open", "owner_id", "is_open"),
        Index("ix_action_items_ritual_meeting", "ritual_key", "meeting_at"),
    )

    id: str = Field(primary_key=True, max_length=220)
    agenda_id: str = Field(max_length=200, index=True)
    ritual_key: str = Field(max_length=40)
    motion: str = Field(max_length=64)
    meeting_at: datetime = Field(sa_type=UTCDateTime)
    owner_id: str = Field(max_length=64)
    is_open: bool = True
    outcome: str | None = Field(default=None, max_length=32)
    due_at: datetime = Field(sa_type=UTCDateTime)
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revision: int = 0
    run_id: str | None = Field(default=None, max_length=64)  # the workflow run that wrote it (activities/read_models.py)
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class FlywheelProposalRow(SQLModel, table=True):
    """A monthly flywheel proposal and what became of it (proposed → approved/rejected/superseded; approved ones
    name the config version they wrote, and the one that reverted them)."""

    __tablename__ = "flywheel_proposals"

    id: str = Field(primary_key=True, max_length=80)
    status: str = Field(max_length=16, index=True)
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    period_start: datetime = Field(sa_type=UTCDateTime)
    period_end: datetime = Field(sa_type=UTCDateTime)
    weights_version: int
    applied_version: int | None = None
    reverted_version: int | None = None
    decided_by: str | None = Field(default=None, max_length=64)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
