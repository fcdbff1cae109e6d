from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime


class PlayRunRow(SQLModel, table=True):
    """Read model of a play run, written by PlayWorkflow's activity at every transition.

    The manager's "where is each play stuck" view is one query on it: `stuck_*` describe the open step waited on
    longest, `next_due_at` is the earliest due date among open steps (a run is overdue once it has passed).
    The board orders and counts running runs from indexes, never from the rows: `board_group`
    (models.plays.BoardGroup) with the stuck step's due date and wait (in both orders), and, to count them,
    `current_step_keys` per play with all that the counts and the viewer's filter read."""

    __tablename__ = "play_runs"
    __table_args__ = (
        Index("ix_play_runs_status_next_due", "status", "next_due_at"),
        Index("ix_play_runs_board", "status", "board_group", "stuck_due_at", "stuck_since", "id"),
        Index("ix_play_runs_board_waiting", "status", "board_group", "stuck_since", "id", "stuck_due_at"),
        Index("ix_play_runs_at_step", "status", "play_key", "current_step_keys", "board_group", "stuck_due_at",
              "account_id", "id"),
    )

    id: str = Field(primary_key=True, max_length=200)
    workflow_id: str = Field(max_length=220, unique=True)
    play_key: str = Field(max_length=64, index=True)
    play_version: int
    account_id: str = Field(max_length=64, index=True)
    signal_id: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=16)
    outcome: str | None = Field(default=None, max_length=64)
    current_steps: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    current_step_keys: str = Field(default="", sa_column=Column(String, nullable=False, server_default=""))  # "a b"
    board_group: int | None = None
    stuck_step_key: str | None = Field(default=None, max_length=64)
    stuck_owner_id: str | None = Field(default=None, max_length=64)
    stuck_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stuck_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    stuck_failure: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    started_at: datetime = Field(sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    revision: int = 0
    run_id: str | None = Field(default=None, max_length=64)  # the workflow run that wrote it (activities/read_models.py)
    state: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class PlayRunOwnerRow(SQLModel, table=True):
    """Everyone who owns a step of a run, so `GET /play-runs?owner_id=` is one indexed query on any database."""

    __tablename__ = "play_run_owners"

    run_id: str = Field(primary_key=True, foreign_key="play_runs.id", max_length=200)
    user_id: str = Field(primary_key=True, max_length=64, index=True)


class PlayRunOpenStepRow(SQLModel, table=True):
    """Every open step of a running run (ready or overdue) and its owner, so an inbox reads only the steps waiting
    on its person, most urgent first, without reading every run's state."""

    __tablename__ = "play_run_open_steps"
    __table_args__ = (Index("ix_play_run_open_steps_owner_due", "owner_id", "due_at"),)

    run_id: str = Field(primary_key=True, foreign_key="play_runs.id", max_length=200)
    step_key: str = Field(primary_key=True, max_length=64)
    owner_id: str = Field(max_length=64)
    ready_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
