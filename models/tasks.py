"""Tasks (seam 02): what an acknowledged signal turns into, each with a structured outcome."""

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel


class Outcome(StrEnum):
    renewed = "renewed"
    churned = "churned"
    expanded = "expanded"
    lost = "lost"
    reassigned = "reassigned"
    blocked_waiting_on = "blocked_waiting_on"


FINAL_OUTCOMES = frozenset(Outcome) - {Outcome.blocked_waiting_on}


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


class TaskCandidate(BaseModel):
    template_key: str
    title: str
    due_at: datetime
