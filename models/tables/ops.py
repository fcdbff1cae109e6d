from datetime import datetime

from sqlmodel import Field, SQLModel

from models.tables.types import UTCDateTime, utcnow


class OpsAuditRow(SQLModel, table=True):
    """What ops did to an execution and why (append-only)."""

    __tablename__ = "ops_audit"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    actor_id: str = Field(max_length=64)
    action: str = Field(max_length=32)
    workflow_id: str = Field(max_length=220, index=True)
    run_id: str | None = Field(default=None, max_length=64)
    new_run_id: str | None = Field(default=None, max_length=64)
    reason: str


class WorkflowRunRow(SQLModel, table=True):
    """Every workflow run that has written a read-model row, and when it was first seen writing: of a workflow's
    runs, the one seen last is the newest (a reset terminates the old run before the new one runs anything), and
    only the newest may write (activities/read_models.py)."""

    __tablename__ = "workflow_runs"

    run_id: str = Field(primary_key=True, max_length=64)
    workflow_id: str = Field(max_length=220, index=True)
    seen_at: datetime = Field(sa_type=UTCDateTime)


class ExecutionFailureRow(SQLModel, table=True):
    """Why a closed execution failed, read once from its history (a closed history never changes), so listing
    failed executions reads this table instead of fetching a history per row."""

    __tablename__ = "execution_failures"

    workflow_id: str = Field(primary_key=True, max_length=220)
    run_id: str = Field(primary_key=True, max_length=64)
    workflow_type: str = Field(max_length=200)
    status: str = Field(max_length=16)
    failure: str | None = None
    failed_in: str | None = Field(default=None, max_length=200)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
