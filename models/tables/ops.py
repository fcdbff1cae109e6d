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
