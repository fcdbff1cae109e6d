"""Views only the MCP tools answer with (the pages render the same data as HTML)."""

from pydantic import BaseModel

from models.plays import RunStep
from models.signals import SignalDetail
from models.tasks import Task, TaskCandidate


class SignalNeedingTask(BaseModel):
    signal: SignalDetail
    candidates: list[TaskCandidate]


class StepWaiting(BaseModel):
    run_id: str
    play_key: str
    account_id: str
    step: RunStep


class InboxView(BaseModel):
    """What waits on the caller now, most urgent first (the first 50 of each section; `counts` covers all)."""

    to_acknowledge: list[SignalDetail]
    needs_task: list[SignalNeedingTask]
    steps: list[StepWaiting]
    tasks: list[Task]
    counts: dict[str, int]
