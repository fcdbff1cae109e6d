from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class SignalRow(SQLModel, table=True):
    """Read model of a signal, written by SignalWorkflow's activities at every transition."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_acknowledged_by_status", "acknowledged_by", "status"),)

    id: str = Field(primary_key=True, max_length=200)
    workflow_id: str = Field(max_length=220, unique=True)
    family: str = Field(max_length=64, index=True)
    severity: str = Field(max_length=16)
    account_id: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16, index=True)
    owner_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    escalated_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    acknowledged_by: str | None = Field(default=None, max_length=64)
    escalation_level: int = 0
    task_count: int = 0
    sla_due_at: datetime = Field(sa_type=UTCDateTime)
    routing_version: int
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    run_id: str | None = Field(default=None, max_length=64)  # the workflow run that wrote it (activities/read_models.py)
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    # The response analytics' columns (services/response_metrics.py), taken from the timeline by every save: the
    # first owner routed to, and when it was first acknowledged, first given a task, resolved.
    owner_id: str | None = Field(default=None, max_length=64)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_task_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SignalOwnerRow(SQLModel, table=True):
    """Who owns a signal now, so `GET /signals?owner_id=` is one indexed query on any database."""

    __tablename__ = "signal_owners"

    signal_id: str = Field(primary_key=True, foreign_key="signals.id", max_length=200)
    user_id: str = Field(primary_key=True, max_length=64, index=True)


class SignalEscalationRow(SQLModel, table=True):
    """Whom a signal has escalated to now, so the inbox finds a person's escalations with one indexed query."""

    __tablename__ = "signal_escalations"

    signal_id: str = Field(primary_key=True, foreign_key="signals.id", max_length=200)
    user_id: str = Field(primary_key=True, max_length=64, index=True)


class SignalToAcknowledgeRow(SQLModel, table=True):
    """Everyone an open or escalated signal waits on (its owners and whom it has escalated to), with its SLA, so an
    inbox draws the most urgent and counts them all from one index, without reading any signal it does not show."""

    __tablename__ = "signals_to_acknowledge"
    __table_args__ = (Index("ix_signals_to_acknowledge_user_sla", "user_id", "sla_due_at", "created_at"),)

    signal_id: str = Field(primary_key=True, foreign_key="signals.id", max_length=200)
    user_id: str = Field(primary_key=True, max_length=64)
    sla_due_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
