"""Operations: executions as ops sees them, replays and resets."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class ExecutionStatus(StrEnum):
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"
    terminated = "terminated"
    continued_as_new = "continued_as_new"
    timed_out = "timed_out"


class Execution(BaseModel):
    workflow_id: str
    run_id: str
    workflow_type: str
    status: ExecutionStatus
    start_time: datetime | None = None
    close_time: datetime | None = None
    account_id: str | None = None
    failure: str | None = Field(default=None, description="The failure message, for a failed, timed-out or terminated run")
    failed_in: str | None = Field(default=None, description="The activity whose failure ended the run, or failed its step")
    failed_step: str | None = Field(
        default=None, description="For a play run still running: the step whose action gave up (retry it through "
        "`POST /api/v1/play-runs/{id}/steps/{step_key}/retry`)")


class ReplayResult(BaseModel):
    workflow_id: str
    run_id: str
    workflow_type: str | None = None
    deterministic: bool
    error: str | None = None


class ResetRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)
    event_id: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="A WorkflowTaskCompleted event to reset to; default: the last one"
    )


class ReconcileResult(BaseModel):
    workflow_id: str
    run_id: str
    workflow_type: str
    rebuilt: bool = Field(description="False for a workflow that keeps no read model (nothing to rebuild), or on error")
    error: str | None = Field(default=None, description="In a bulk reconcile: why this execution was not rebuilt")


class ResetResult(BaseModel):
    workflow_id: str
    new_run_id: str
    reset_to_event_id: int
