"""Tasks (seam 02): what an acknowledged signal turns into, each with a structured outcome."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator, model_validator

from models.common import Actor, Identifier, Instant, is_filled


class Outcome(StrEnum):
    renewed = "renewed"
    churned = "churned"
    expanded = "expanded"
    lost = "lost"
    reassigned = "reassigned"
    blocked_waiting_on = "blocked_waiting_on"


FINAL_OUTCOMES = frozenset(Outcome) - {Outcome.blocked_waiting_on}
VALID_OUTCOMES = ", ".join(o.value for o in Outcome)


class Task(BaseModel):
    id: str
    signal_id: str
    template_key: str
    title: str
    owner_id: str
    due_at: datetime
    outcome: Outcome | None = None
    note: str | None = None
    blocked_on: str | None = None
    play_run_id: str | None = None
    created_at: datetime | None = None
    outcome_at: datetime | None = None
    outcome_by: str | None = None
    escalate_at: datetime | None = None
    overdue_paged: bool = False
    escalated_at: datetime | None = None
    escalated_to: list[str] = []
    unowned: bool = Field(default=False, description="No final outcome yet, and its owner is disabled")

    @property
    def is_final(self) -> bool:
        return self.outcome in FINAL_OUTCOMES


class TaskCandidate(BaseModel):
    template_key: str
    title: str
    due_at: datetime
    play_key: str | None = None


class TaskIn(BaseModel):
    template_key: str = Field(min_length=1, max_length=64)
    owner_id: Identifier | None = None
    due_at: Instant | None = None


class AddTaskInput(BaseModel):
    """SignalWorkflow.add_task's input: the template, owner and dates resolved by the API, and who asks."""

    actor: Actor
    template_key: str
    title: str
    owner_id: str
    due_at: datetime
    escalate_after_seconds: int
    play_run_id: str | None = None
    # the PlayStart (models/plays.py, which imports this module) of the play the template starts: the signal's
    # workflow starts it once the task is recorded
    play_start: dict[str, Any] | None = None


class OutcomeIn(BaseModel):
    outcome: str = Field(max_length=32, description=f"One of: {VALID_OUTCOMES}",
                         json_schema_extra={"enum": [o.value for o in Outcome]})
    note: str | None = Field(default=None, max_length=4000)
    blocked_on: str | None = Field(default=None, max_length=500)

    @field_validator("outcome")
    @classmethod
    def _known_outcome(cls, value: str) -> str:
        if value not in Outcome.__members__:
            raise ValueError(f"{value!r} is not an outcome; valid outcomes are {VALID_OUTCOMES}")
        return value

    @model_validator(mode="after")
    def _blocked_needs_blocked_on(self) -> "OutcomeIn":
        if self.outcome == Outcome.blocked_waiting_on and not is_filled(self.blocked_on):
            raise ValueError("blocked_waiting_on needs blocked_on: say who or what the task is waiting on")
        return self


class TaskOutcomeInput(BaseModel):
    """SignalWorkflow.set_task_outcome's input. `via_play_run` is set only by the play feedback activity."""

    task_id: str
    outcome: Outcome
    note: str | None = None
    blocked_on: str | None = None
    actor: Actor | None = None
    via_play_run: str | None = None


class SignalTasks(BaseModel):
    """A signal's tasks as its save activity writes them (rows carry the account)."""

    account_id: str
    tasks: list[Task]
